import type { TaskStatus, TokenUsage } from '@deliberate/contracts';

// What `submit --wait` shows on stderr while it polls: on a terminal one line rewritten in place (elapsed time, the
// statuses so far, tokens once known); elsewhere (a log, a pipe) one plain line per status change.

export interface WaitState {
  taskId: string;
  /** Statuses in the order they were seen, each with the elapsed time it was first seen at. */
  changes: { status: TaskStatus; atMs: number }[];
  elapsedMs: number;
  usage: TokenUsage | null;
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

const short = (taskId: string) => taskId.slice(0, 8);

/** The line a terminal shows, rewritten at each poll. */
export function statusLine(s: WaitState): string {
  const current = s.changes[s.changes.length - 1]?.status ?? 'submitted';
  const path = s.changes.map((c) => c.status).join(' → ');
  const parts = [`task ${short(s.taskId)}`, current, formatElapsed(s.elapsedMs), path];
  if (s.usage) parts.push(formatUsage(s.usage));
  return parts.join('  ·  ');
}

/** The line written once per status change where stderr is not a terminal. */
export function changeLine(
  taskId: string,
  status: TaskStatus,
  atMs: number,
  usage: TokenUsage | null,
): string {
  return `task ${short(taskId)} ${status} after ${formatElapsed(atMs)}${usage ? `, ${formatUsage(usage)}` : ''}`;
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
    this.state = { taskId, changes: [], elapsedMs: 0, usage: null };
  }

  /** Records one poll's answer; returns whether the status changed. */
  update(status: TaskStatus, elapsedMs: number, usage: TokenUsage | null): boolean {
    const last = this.state.changes[this.state.changes.length - 1];
    const changed = last?.status !== status;
    if (changed) this.state.changes.push({ status, atMs: elapsedMs });
    this.state.elapsedMs = elapsedMs;
    this.state.usage = usage;
    if (this.sink.isTTY) this.sink.write(`${CLEAR_LINE}${statusLine(this.state)}`);
    else if (changed) this.sink.write(`${changeLine(this.state.taskId, status, elapsedMs, usage)}\n`);
    return changed;
  }

  /** Ends the live line so that what follows starts on a line of its own. */
  finish(): void {
    if (this.sink.isTTY && this.state.changes.length > 0) this.sink.write('\n');
  }

  get statuses(): TaskStatus[] {
    return this.state.changes.map((c) => c.status);
  }
}
