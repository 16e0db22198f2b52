// The headline figures of a benchmark run (its target rows), written to .local/bench/summary-<bench>.json whatever
// NO_DOCS says, so that `npm run bench` (bench/all.ts) can print one table over the runs it started.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, logDir } from './run.ts';

/** The benchmarks `npm run bench` runs, in its order: the name of their summary and their script under bench/. */
export const BENCHMARKS = [
  { name: 'fast-path', script: 'fast-path.ts' },
  { name: 'ledger', script: 'ledger-reserve.ts' },
  { name: 'reasoner', script: 'reasoner-inflight.ts' },
  { name: 'webhooks', script: 'webhooks-delivery.ts' },
  { name: 'audit', script: 'audit.ts' },
] as const;
export type BenchName = (typeof BENCHMARKS)[number]['name'];

export interface SummaryRow {
  metric: string;
  target: string;
  /** The same run's baseline figure, when the benchmark measures one for this metric. */
  baseline: string | null;
  result: string;
  /** Result / baseline as the benchmark reports it, when it does. */
  ratio: string | null;
  /** Whether the target was met; null when the row has no pass/fail target. */
  met: boolean | null;
}

export interface BenchSummary {
  bench: string;
  /** ISO 8601, UTC. */
  startedAt: string | null;
  writtenAt: string;
  commit: string | null;
  rows: SummaryRow[];
}

export const summaryFile = (bench: string): string => join(logDir, `summary-${bench}.json`);

/** Writes the run's summary (replacing the previous one; written whole, then renamed into place). */
export function writeSummary(
  bench: BenchName,
  rows: readonly SummaryRow[],
  extra?: { commit?: string; startedAt: string },
): void {
  const summary: BenchSummary = {
    bench,
    startedAt: extra?.startedAt ?? null,
    writtenAt: new Date().toISOString(),
    commit: extra?.commit ?? null,
    rows: [...rows],
  };
  mkdirSync(logDir, { recursive: true });
  const file = summaryFile(bench);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(summary, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`wrote the summary to ${file}`);
}

/** The summary a run wrote, or why there is none usable. */
export function readSummary(bench: string): BenchSummary | { error: string } {
  const file = summaryFile(bench);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { error: `no summary (${file} missing)` };
  }
  try {
    const parsed = JSON.parse(text) as Partial<BenchSummary>;
    if (!Array.isArray(parsed.rows)) return { error: `${file} has no rows array` };
    return parsed as BenchSummary;
  } catch (e) {
    return { error: `${file} is not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

// ✅ and ❌ take two columns in a terminal; every other character the cells use takes one.
export const displayWidth = (s: string): number =>
  [...s].reduce((w, ch) => w + (/[✅❌]/u.test(ch) ? 2 : 1), 0);
const pad = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - displayWidth(s)));

const metCell = (met: boolean | null): string => (met === null ? '—' : met ? '✅' : '❌');
// A cell must stay on one line and must not end the Markdown cell early.
const cell = (v: string | null): string =>
  v === null || v === '' ? '—' : v.replaceAll('|', '\\|').replace(/\s+/g, ' ');

/**
 * One Markdown table (padded, so it reads in a terminal as well) over the summaries, in their order: benchmark,
 * metric, target, baseline, result, ratio, met (✅ / ❌ / — for a row without a pass/fail target).
 */
export function formatSummaryTable(summaries: readonly Pick<BenchSummary, 'bench' | 'rows'>[]): string {
  const header = ['Benchmark', 'Metric', 'Target', 'Baseline', 'Result', 'Ratio', 'Met'];
  const rows = summaries.flatMap((s) =>
    s.rows.length === 0
      ? [[cell(s.bench), '(no rows)', '—', '—', '—', '—', '—']]
      : s.rows.map((r, i) => [
          // The benchmark's name on its first row only: the rows below belong to it.
          i === 0 ? cell(s.bench) : '',
          cell(r.metric),
          cell(r.target),
          cell(r.baseline),
          cell(r.result),
          cell(r.ratio),
          metCell(r.met),
        ]),
  );
  if (rows.length === 0) return '(no benchmark summaries)';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => pad(c, widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}
