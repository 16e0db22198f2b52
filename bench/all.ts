// All five benchmarks in one command: fast path, ledger, reasoner, webhooks, audit, one after another, each as its
// own process (exactly as `npm run bench:<name>` runs it: same environment, its output shown as it comes). A benchmark
// that fails does not stop the others. At the end it prints one table of every target row (benchmark, metric, target,
// same-run baseline, result, ratio, met) from the summaries the runs wrote to .local/bench/summary-<name>.json, and a
// line for each benchmark that failed or wrote no summary. Each run also writes its section of docs/benchmarks.md,
// as when run alone. bench:chaos is not part of it.
//
//   npm run bench                                  (bench/all.ts, run by Node 24's type stripping)
//   BENCH_ONLY=fast-path,ledger npm run bench
//   NO_DOCS=1 npm run bench                        (the summaries are written even so)
//
// Options (environment variables):
//   BENCH_ONLY             a comma-separated subset of fast-path, ledger, reasoner, webhooks, audit (in that order
//                          whatever the list's order)
//   Every other variable reaches every benchmark: N=500 applies to each one that reads N (fast-path and webhooks).
//   Per-benchmark options are best given by running that benchmark alone (npm run bench:<name> -- --help).
// Exits 1 when a benchmark exited non-zero (fast-path and ledger do so for failed checks, such as a lost task or an
// overspend) or wrote no summary, else 0: a missed target shows in the table. Ctrl-C stops the running benchmark
// (it removes what it started) and runs no more; a SIGTERM sent to this process is passed on to the running one.

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { helpFromHeader } from './lib/options.ts';
import { log, root } from './lib/run.ts';
import {
  BENCHMARKS,
  type BenchName,
  type BenchSummary,
  formatSummaryTable,
  readSummary,
  summaryFile,
} from './lib/summary.ts';

helpFromHeader(import.meta.url);

function selected(): (typeof BENCHMARKS)[number][] {
  const only = (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (only.length === 0) return [...BENCHMARKS];
  const names: readonly string[] = BENCHMARKS.map((b) => b.name);
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length)
    throw new Error(
      `BENCH_ONLY names unknown benchmarks: ${unknown.join(', ')} (known: ${names.join(', ')})`,
    );
  return BENCHMARKS.filter((b) => only.includes(b.name));
}

interface Outcome {
  name: BenchName;
  /** `exit code 1`, or `signal SIGKILL` when a signal ended it. */
  exit: string;
  ok: boolean;
  seconds: number;
}

let stopping: string | null = null;
let running: ReturnType<typeof spawn> | null = null;
// The terminal sends Ctrl-C to the whole process group, so the running benchmark has it already: sending it again
// would end it before it removes what it started. A SIGTERM aimed at this process alone is passed on.
process.on('SIGINT', () => {
  stopping ??= 'SIGINT';
});
process.on('SIGTERM', () => {
  stopping ??= 'SIGTERM';
  running?.kill('SIGTERM');
});

function runOne(script: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bench', script)], {
      cwd: root,
      env: process.env,
      stdio: 'inherit',
    });
    running = child;
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      running = null;
      resolve({ code, signal });
    });
  });
}

async function main(): Promise<number> {
  // Arguments would be dropped silently (and they mean different things to different benchmarks): refuse them.
  if (process.argv.length > 2)
    throw new Error(
      `bench/all.ts takes no arguments (got '${process.argv.slice(2).join(' ')}'); its options are environment variables (--help)`,
    );
  const benches = selected();
  log(`running ${benches.map((b) => b.name).join(', ')}, one after another`);
  const outcomes: Outcome[] = [];
  for (const b of benches) {
    if (stopping) break;
    // A summary left by an earlier run must not pass for this run's.
    rmSync(summaryFile(b.name), { force: true });
    log(`${b.name}: node bench/${b.script}`);
    const t0 = performance.now();
    const { code, signal } = await runOne(b.script);
    const seconds = (performance.now() - t0) / 1000;
    const exit = signal ? `signal ${signal}` : `exit code ${code}`;
    outcomes.push({ name: b.name, exit, ok: code === 0, seconds });
    log(`${b.name}: ${code === 0 ? 'done' : `ended with ${exit}`} after ${seconds.toFixed(0)} s`);
  }

  const summaries: BenchSummary[] = [];
  const problems: string[] = [];
  for (const o of outcomes) {
    const s = readSummary(o.name);
    if ('error' in s) problems.push(`${o.name}: ${o.exit} after ${o.seconds.toFixed(0)} s; ${s.error}`);
    else {
      summaries.push(s);
      if (!o.ok)
        problems.push(`${o.name}: ${o.exit} after ${o.seconds.toFixed(0)} s (its summary is in the table)`);
    }
  }
  const notRun = benches.slice(outcomes.length).map((b) => b.name);
  if (notRun.length) problems.push(`not run (${stopping}): ${notRun.join(', ')}`);

  console.log(`\n${formatSummaryTable(summaries)}\n`);
  for (const p of problems) console.log(`- ${p}`);
  if (problems.length === 0)
    console.log(
      `- all ${outcomes.length} benchmarks ran and wrote their summaries (${summaryFile('<name>')})`,
    );
  return stopping ? 130 : problems.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
