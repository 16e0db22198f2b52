// Process control of one benchmark run: progress log, child processes and their logs, the hard time limit, abort on
// SIGINT/SIGTERM, and a cleanup that removes everything the run started (clients, services, topics, database,
// broker), once, whichever way the run ends.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { errorMessage } from './stats.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const HOST = '127.0.0.1';
export const logDir = join(root, '.local/bench');

const started = performance.now();
export const elapsedS = (): number => (performance.now() - started) / 1000;
export const log = (msg: string): void =>
  console.log(`[bench +${elapsedS().toFixed(1).padStart(6)}s] ${msg}`);

// kafkajs 2.2.4 schedules a timer with a negative delay on every connection, which Node 24 reports as a
// TimeoutNegativeWarning (harmless; https://github.com/tulios/kafkajs/issues/1751). Keep every other warning.
export function hideKafkajsTimerWarnings(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name !== 'TimeoutNegativeWarning') console.warn(`(warning) ${w.name}: ${w.message}`);
  });
}

export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  /** The event-loop probe's output file, when the probe is loaded. */
  eldFile: string | null;
  /** The HTTP request probe's output file, when the probe is loaded. */
  requestCountFile: string | null;
  exit: { code: number | null; signal: NodeJS.Signals | null; atS: number } | null;
  stopping: boolean;
  /** A broker: stopped after the services and the topic cleanup. */
  broker: boolean;
  /** Byte offset of the log where the measurement started. */
  measureFrom?: number;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  /** Log file name under .local/bench (default `<name>.log`). */
  logName?: string;
  broker?: boolean;
  eldFile?: string | null;
  /** Loads the HTTP request probe (REQUEST_COUNT_PROBE), which writes its counts to this file. */
  requestCountFile?: string | null;
}

type Step = () => unknown;

export class BenchRun {
  readonly children: Child[] = [];
  aborted: string | null = null;
  private cleaningUp: Promise<void> | null = null;
  private readonly closers: Step[] = [];
  private readonly afterServices: Step[] = [];
  private readonly afterBroker: Step[] = [];
  private readonly tickers = new Set<NodeJS.Timeout>();
  private readonly hardLimit: NodeJS.Timeout;

  constructor(timeoutS: number) {
    hideKafkajsTimerWarnings();
    mkdirSync(logDir, { recursive: true });
    process.on('exit', () => this.killChildrenNow());
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        log(`${sig}: stopping everything started by this run`);
        this.abort(sig);
        void this.cleanup().finally(() => process.exit(130));
      });
    }
    this.hardLimit = setTimeout(() => {
      log(`BENCH_TIMEOUT_S=${timeoutS} exceeded: aborting`);
      this.abort('BENCH_TIMEOUT_S');
      void this.cleanup().finally(() => process.exit(2));
    }, timeoutS * 1000);
    this.hardLimit.unref();
  }

  get isCleaningUp(): boolean {
    return this.cleaningUp !== null;
  }

  /** Closes a client or pool first at cleanup (newest first, at most 10 s each). */
  onCleanup(close: Step): void {
    this.closers.push(close);
  }
  /** Forgets the newest cleanup closer (its resource was closed by the script). */
  dropLastCleanup(): void {
    this.closers.pop();
  }
  /** Runs after the services stopped (deleting topics, dropping the database), in order. */
  afterServicesStop(step: Step): void {
    this.afterServices.push(step);
  }
  /** Runs last, after any broker of the run stopped (removing its data, stopping the local broker), in order. */
  atTheEnd(step: Step): void {
    this.afterBroker.push(step);
  }

  checkAborted(): void {
    if (this.aborted) throw new Error(`aborted (${this.aborted})`);
  }

  abort(reason: string): void {
    this.aborted ??= reason;
    for (const t of this.tickers) clearInterval(t);
    this.tickers.clear();
  }

  /** Calls fn() every `everyMs` until the returned stop() is called (or the run is aborted). */
  ticker(fn: () => void, everyMs = 2000): () => void {
    const t = setInterval(fn, everyMs);
    t.unref();
    this.tickers.add(t);
    return () => {
      clearInterval(t);
      this.tickers.delete(t);
    };
  }

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Child {
    const logFile = join(logDir, options.logName ?? `${name}.log`);
    const fd = openSync(logFile, 'w');
    const proc = spawn(command, args, {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', ...options.env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const child: Child = {
      name,
      proc,
      logFile,
      eldFile: options.eldFile ?? null,
      requestCountFile: options.requestCountFile ?? null,
      exit: null,
      stopping: false,
      broker: options.broker ?? false,
    };
    this.children.push(child);
    proc.on('exit', (code, signal) => {
      child.exit = { code, signal, atS: elapsedS() };
      if (!this.cleaningUp && !child.stopping)
        log(
          `!! ${name} exited unexpectedly (code ${code}, signal ${signal}); see ${logFile}:\n${tail(logFile, 15)}`,
        );
    });
    return child;
  }

  /** A service of this repository (its compiled `dist/main.js`), with warn-level logs and no trace export. */
  spawnService(
    name: string,
    script: string,
    env: Record<string, string | undefined>,
    options: SpawnOptions = {},
  ): Child {
    const args = [
      '--enable-source-maps',
      ...(options.eldFile ? ['--import', ELD_IMPORT] : []),
      ...(options.requestCountFile ? ['--import', REQUEST_COUNT_IMPORT] : []),
      ...cpuProfileArgs(name),
      join(root, script),
    ];
    return this.spawn(name, process.execPath, args, {
      ...options,
      env: {
        NODE_ENV: 'production',
        OTEL_TRACES_EXPORTER: 'none',
        LOG_LEVEL: 'warn',
        ...(options.eldFile ? { BENCH_ELD_FILE: options.eldFile } : {}),
        ...(options.requestCountFile ? { BENCH_REQUEST_COUNT_FILE: options.requestCountFile } : {}),
        ...env,
      },
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; returns how long the stop took (ms). */
  async stopChild(c: Child, graceMs = 20_000): Promise<number> {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return 0;
    const exited = new Promise((resolve) => c.proc.once('exit', resolve));
    const t0 = performance.now();
    c.stopping = true;
    c.proc.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    const took = performance.now() - t0;
    if (!done) {
      log(`${c.name} (pid ${c.proc.pid}) did not stop within ${graceMs / 1000} s of SIGTERM; killing it`);
      c.proc.kill('SIGKILL');
      await Promise.race([exited, sleep(3000)]);
    } else if (took > 2000) {
      log(`${c.name} took ${(took / 1000).toFixed(1)} s to stop after SIGTERM`);
    }
    return took;
  }

  private killChildrenNow(): void {
    for (const c of this.children)
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  }

  cleanup(): Promise<void> {
    this.cleaningUp ??= (async () => {
      const run = async (step: Step, timeoutMs?: number) => {
        const p = Promise.resolve()
          .then(step)
          .catch((e: unknown) => log(`cleanup: ${errorMessage(e)}`));
        await (timeoutMs ? Promise.race([p, sleep(timeoutMs)]) : p);
      };
      for (const close of this.closers.splice(0).reverse()) await run(close, 10_000);
      for (const c of [...this.children].reverse()) if (!c.broker) await run(() => this.stopChild(c, 15_000));
      for (const step of this.afterServices.splice(0)) await run(step);
      for (const c of this.children) if (c.broker) await run(() => this.stopChild(c, 30_000));
      for (const step of this.afterBroker.splice(0)) await run(step);
    })();
    return this.cleaningUp;
  }

  /**
   * Runs the benchmark: cleans up after it, prints the children's last log lines if it failed, and exits 0 when it
   * returned true (or nothing), 1 when it returned false or failed.
   */
  main(body: () => Promise<boolean | void>): void {
    body()
      .then(async (ok) => {
        await this.cleanup();
        clearTimeout(this.hardLimit);
        log(ok === false ? 'done, with failed checks (see above)' : 'done');
        process.exit(ok === false ? 1 : 0);
      })
      .catch(async (e: unknown) => {
        if (this.aborted) {
          await this.cleanup(); // already under way; the signal handler exits
          return;
        }
        log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        for (const c of this.children) {
          const t = tail(c.logFile, 10);
          if (t.trim()) console.log(`--- last lines of ${c.logFile}\n${t}`);
        }
        await this.cleanup();
        process.exit(1);
      });
  }
}

/** Waits until `url` answers 2xx (returns its body), asking every `pollMs`; fails when the child exits or after `timeoutMs`. */
export async function waitHealthy(
  run: BenchRun,
  child: Child,
  url: string,
  timeoutMs = 90_000,
  pollMs = 250,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    run.checkAborted();
    if (child.proc.exitCode !== null)
      throw new Error(`${child.name} exited during start-up:\n${tail(child.logFile, 20)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) {
        const body = await r.text();
        log(`${child.name} is up (pid ${child.proc.pid}, ${url})`);
        return body;
      }
    } catch {
      // not listening yet
    }
    await sleep(pollMs);
  }
  throw new Error(
    `${child.name} did not answer ${url} within ${timeoutMs / 1000}s:\n${tail(child.logFile, 20)}`,
  );
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Test runs and other benchmarks that would compete for the CPU (their `pgrep -af` lines), except this one. */
export function competitors(pattern: string, self: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', pattern], { timeout: 10_000 })
      .toString()
      .trim()
      .split('\n')
      .filter((l) => l && !l.includes(self) && !l.includes('pgrep') && !l.startsWith(`${process.pid} `));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Waits up to `waitS` for the competitors to finish; returns those still running. */
export async function waitForCompetitors(
  run: BenchRun,
  pattern: string,
  self: string,
  waitS: number,
): Promise<string[]> {
  let busy = competitors(pattern, self);
  if (!busy.length) return busy;
  log(`waiting up to ${waitS} s for other benchmarks/tests to finish:\n  ${busy.join('\n  ')}`);
  const until = performance.now() + waitS * 1000;
  while (busy.length && performance.now() < until) {
    run.checkAborted();
    await sleep(5000);
    busy = competitors(pattern, self);
  }
  log(
    busy.length
      ? '!! still running; measuring anyway (the report says so)'
      : 'no other benchmark or test is running now',
  );
  return busy;
}

// The event-loop probe, loaded into a service with `node --import data:…` (no service code change): two
// monitorEventLoopDelay histograms, one over the last second and one since `<file>.start` appeared (the start of
// the measured phase), written to <file> every second. The histograms record whole timer intervals: the reader
// subtracts the resolution.
export const ELD_RESOLUTION_MS = 10;
const ELD_PROBE = `
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
const file = process.env.BENCH_ELD_FILE;
if (file) {
  const total = monitorEventLoopDelay({ resolution: ${ELD_RESOLUTION_MS} });
  const second = monitorEventLoopDelay({ resolution: ${ELD_RESOLUTION_MS} });
  total.enable();
  second.enable();
  let since = null;
  const ms = (h, p) => (p === 'max' ? h.max : h.percentile(p)) / 1e6;
  setInterval(() => {
    if (since === null && existsSync(file + '.start')) { total.reset(); since = Date.now(); }
    const out = {
      at: Date.now(), since,
      total: { count: total.count, p50: ms(total, 50), p99: ms(total, 99), p999: ms(total, 99.9), max: ms(total, 'max') },
      second: { p99: ms(second, 99), max: ms(second, 'max') },
      mem: Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, v / 1048576])),
    };
    second.reset();
    try { writeFileSync(file + '.tmp', JSON.stringify(out)); renameSync(file + '.tmp', file); } catch {}
  }, 1000).unref();
}
`;
const ELD_IMPORT = `data:text/javascript,${encodeURIComponent(ELD_PROBE)}`;

// The HTTP request probe, loaded the same way into a server (the model simulator): counts the requests it receives
// by method and path, response ids in the path replaced by {id} (see lib/sim-traffic.ts), from Node's
// http.server.request.start diagnostics channel, and writes the running totals to <file> every second.
const REQUEST_COUNT_PROBE = `
import { subscribe } from 'node:diagnostics_channel';
import { renameSync, writeFileSync } from 'node:fs';
const file = process.env.BENCH_REQUEST_COUNT_FILE;
if (file) {
  const counts = {};
  let keys = 0;
  subscribe('http.server.request.start', ({ request }) => {
    let key = request.method + ' ' + String(request.url ?? '').split('?')[0].replace(/\\/resp_[A-Za-z0-9]+/g, '/{id}');
    if (counts[key] === undefined && ++keys > 100) key = 'other';
    counts[key] = (counts[key] ?? 0) + 1;
  });
  const write = () => {
    try { writeFileSync(file + '.tmp', JSON.stringify({ at: Date.now(), counts })); renameSync(file + '.tmp', file); } catch {}
  };
  write();
  setInterval(write, 1000).unref();
}
`;
const REQUEST_COUNT_IMPORT = `data:text/javascript,${encodeURIComponent(REQUEST_COUNT_PROBE)}`;

/** Where `BENCH_CPU_PROF` profiles are written: `<service>-<ms since epoch>.cpuprofile`, read by `npm run bench:profile`. */
export const profileDir = join(logDir, 'prof');

/**
 * `BENCH_CPU_PROF=gateway,triage` (or `all`): the named services run with `node --cpu-prof`, so each writes a V8 CPU
 * profile of its whole life when it stops after SIGTERM (a SIGKILLed one writes none). Sampling costs a few percent
 * of CPU: compare headline figures from runs without it.
 */
export function cpuProfileArgs(service: string): string[] {
  const wanted = String(process.env.BENCH_CPU_PROF ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!wanted.includes('all') && !wanted.includes(service)) return [];
  mkdirSync(profileDir, { recursive: true });
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${profileDir}`,
    `--cpu-prof-name=${service}-${Date.now()}.cpuprofile`,
  ];
}
