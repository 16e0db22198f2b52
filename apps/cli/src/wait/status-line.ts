import type { TaskStatus, TokenUsage } from '@deliberate/contracts';
import { formatUsd } from '../format-usd';

// What `submit --wait` shows on stderr while it polls: on a terminal one line rewritten in place (elapsed time, the
// statuses so far, tokens once known, the cost booked so far when the key may read it); elsewhere (a log, a pipe) one
// plain line per status change.

export interface WaitState {
  taskId: string;
  /** Statuses in the order they were seen, each with the elapsed time it was first seen at. */
  changes: { status: TaskStatus; atMs: number }[];
  elapsedMs: number;
  usage: TokenUsage | null;
  /** What the ledger has booked for the task's calls so far; null when unknown (or the key may not read spend). */
  costMicroUsd: number | null;
}

/** `7s`, `1m 05s`, `2h 03m`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

const n = (v: number) => v.toLocaleString('en');

export function formatUsage(u: TokenUsage): string {
  const reasoning = u.reasoningTokens > 0 ? ` (${n(u.reasoningTokens)} reasoning)` : '';
  return `${n(u.inputTokens)} in / ${n(u.outputTokens)} out tokens${reasoning}`;
}

export const formatCost = (microUsd: number): string => `${formatUsd(microUsd)} booked`;

const short = (taskId: string) => taskId.slice(0, 8);

/** The line a terminal shows, rewritten at each poll. */
export function statusLine(s: WaitState): string {
  const current = s.changes[s.changes.length - 1]?.status ?? 'submitted';
  const path = s.changes.map((c) => c.status).join(' → ');
  const parts = [`task ${short(s.taskId)}`, current, formatElapsed(s.elapsedMs), path];
  if (s.usage) parts.push(formatUsage(s.usage));
  if (s.costMicroUsd !== null) parts.push(formatCost(s.costMicroUsd));
  return parts.join('  ·  ');
}

/** The line written once per status change where stderr is not a terminal. */
export function changeLine(
  taskId: string,
  status: TaskStatus,
  atMs: number,
  usage: TokenUsage | null,
  costMicroUsd: number | null = null,
): string {
  const figures = [
    ...(usage ? [formatUsage(usage)] : []),
    ...(costMicroUsd !== null ? [formatCost(costMicroUsd)] : []),
  ];
  return `task ${short(taskId)} ${status} after ${formatElapsed(atMs)}${figures.map((f) => `, ${f}`).join('')}`;
}

export interface StatusSink {
  isTTY: boolean;
  write(text: string): void;
}

// Erase the line, back to its start.
const CLEAR_LINE = '\r\x1b[2K';

export class StatusReporter {
  private readonly state: WaitState;

  constructor(
    private readonly sink: StatusSink,
    taskId: string,
  ) {
    this.state = { taskId, changes: [], elapsedMs: 0, usage: null, costMicroUsd: null };
  }

  /** Whether `status` would be a change: the moment to read the cost again, before `update` shows it. */
  isChange(status: TaskStatus): boolean {
    return this.state.changes[this.state.changes.length - 1]?.status !== status;
  }

  /**
   * Records one poll's answer, with the cost booked so far when it was read (null keeps the last one known);
   * returns whether the status changed.
   */
  update(
    status: TaskStatus,
    elapsedMs: number,
    usage: TokenUsage | null,
    costMicroUsd: number | null = null,
  ): boolean {
    const changed = this.isChange(status);
    if (changed) this.state.changes.push({ status, atMs: elapsedMs });
    this.state.elapsedMs = elapsedMs;
    this.state.usage = usage;
    if (costMicroUsd !== null) this.state.costMicroUsd = costMicroUsd;
    const s = this.state;
    if (this.sink.isTTY) this.sink.write(`${CLEAR_LINE}${statusLine(s)}`);
    else if (changed) this.sink.write(`${changeLine(s.taskId, status, elapsedMs, usage, s.costMicroUsd)}\n`);
    return changed;
  }

  /** The cost last read; null when none was. */
  get costMicroUsd(): number | null {
    return this.state.costMicroUsd;
  }

  /** Ends the live line so that what follows starts on a line of its own. */
  finish(): void {
    if (this.sink.isTTY && this.state.changes.length > 0) this.sink.write('\n');
  }

  get statuses(): TaskStatus[] {
    return this.state.changes.map((c) => c.status);
  }
}
