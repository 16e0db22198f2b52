// Reasoner in-flight benchmark: how many slow reasoning calls ONE reasoner process holds at once, and what it costs,
// against the naive design it replaces — in one run, everything on 127.0.0.1:
//   1. executor: a fresh database, a unique topic prefix, the model simulator at SIM_TIME_SCALE=1 (real thinking
//      time), a ledger (every call is reserved and settled through it; no budget is set, so reservations are
//      approved) and one reasoner (apps/reasoner/dist/main.js) with REASONER_CONCURRENCY=CONCURRENCY and a queue
//      capacity above it. TASKS reasoning requests, each asking the model to think THINK_MS, are published on
//      reasoning.task.requested.v1 in steps of STEP every STEP_INTERVAL_S; the run waits until every task has a
//      terminal event (or EXECUTOR_TIMEOUT_S after the first publish). Sampled every second: the reasoner's RSS, its
//      /health (in-flight, queued, group joins, and the time /health takes to answer), its event-loop delay, the
//      model calls in flight by its own record (attempts started; background ones: started with a response_id), the
//      open connections to the simulator, the requests the simulator received by route, and the intake group's
//      state. MODE says how the reasoner calls the model:
//        sync        chat completions, one request open per call for its whole thinking time (the default)
//        background  the Responses API in background mode (LLM_REASONING_API=responses,
//                    LLM_REASONING_BACKGROUND=true): the call is submitted, its response id recorded, and it is
//                    polled with backoff (POLL_FIRST_MS, ×POLL_FACTOR after each poll, at most POLL_MAX_MS)
//        both        the executor phase in background mode, then again in sync mode as its same-run baseline, each
//                    with its own fresh database, topic prefix, ledger and reasoner
//   2. baseline: bench/baseline/awaiting-consumer.ts — a plain NestJS Kafka microservice whose @EventPattern handler
//      awaits the model call — on its own topic prefix with TASKS new requests, for BASELINE_S seconds.
// The results (a column per executor phase, then the baseline) are printed and appended as a dated section to
// docs/benchmarks.md.
//
//   npm run bench:reasoner              (bench/reasoner-inflight.ts, run by Node 24's type stripping)
//   TASKS=2000 STEP=500 BASELINE_S=120 npm run bench:reasoner
//   MODE=both npm run bench:reasoner    (10,000 background calls beside 10,000 sync calls, then the baseline)
//
// Options (flag --tasks=… or environment variable):
//   MODE (sync)                 sync, background or both (see above)
//   TASKS (10000)               reasoning requests per phase
//   STEP (2000)                 requests published per step
//   STEP_INTERVAL_S (5)         seconds between steps
//   THINK_MS (60000)            [[sim:think_ms=…]] in every prompt; with SIM_TIME_SCALE=1 that is real time
//   POLL_FIRST_MS (2000)        background mode: LLM_BACKGROUND_POLL_FIRST_MS, the wait before a call's first poll
//   POLL_FACTOR (2)             background mode: LLM_BACKGROUND_POLL_FACTOR, the wait's growth after each poll
//   POLL_MAX_MS (15000)         background mode: LLM_BACKGROUND_POLL_MAX_MS, the longest wait between two polls
//                               (the defaults poll a call 2, 6, 14, 29, 44, 59, 74 … s after it was accepted: 7
//                               polls at THINK_MS=60000, whose answers come a little after 60 s)
//   CONCURRENCY (10000)         REASONER_CONCURRENCY
//   QUEUE_CAPACITY (12000)      REASONER_QUEUE_CAPACITY (must be above CONCURRENCY to let it fill)
//   TENANTS (16)                requests spread round-robin over this many tenants
//   MAX_THINKING_TOKENS (8000)  spec.maxThinkingTokens of every request (bounds each call's reservation)
//   LEDGER_TIMEOUT_MS (30000)   the reasoner's wait for a ledger answer (the harness value; the default is 5000)
//   LEDGER_COMMAND_CONCURRENCY (18)  the ledger serves all 3 × 6 command partitions at once (as the load test)
//   DATABASE_POOL_SIZE (20)     of the reasoner and of the ledger (as the load test)
//   EXECUTOR_TIMEOUT_S (300)    bound of the executor phase, from its first publish
//   BASELINE_S (180)            length of the baseline phase, from its first publish
//   BASELINE_PARTITIONS (12)    the baseline's kafkajs partitionsConsumedConcurrently (Nest's default is 1)
//   WAIT_IDLE_S (900)           wait this long for jest / other benchmarks to finish before measuring
//   BENCH_TIMEOUT_S (780)       hard limit for the whole run, the wait for WAIT_IDLE_S included (1140 with
//                               MODE=both)
//   REASONER_LOG_LEVEL (warn)   LOG_LEVEL of the reasoner
//   NO_BASELINE=1               skip phase 2     NO_DOCS=1  do not append to docs/benchmarks.md
//   NO_BUILD=1                  do not run `tsc -b apps/reasoner/tsconfig.json` first
//   NO_ELD=1                    do not load the event-loop probe into the reasoner and the baseline (see below)
//   HEAP_SNAPSHOTS=1            the reasoner writes a heap snapshot (--heapsnapshot-signal=SIGWINCH) to
//                               .local/bench/heap/<reasoner>-<runId>-{idle,held-<n>,after}.heapsnapshot (<reasoner>:
//                               reasoner, or reasoner-background for a background phase): before the first
//                               publish, once n model calls are in flight for each n of HEAP_SNAPSHOT_CALLS, and
//                               after the last outcome, once its connections to the simulator have closed (at most
//                               30 s later). Held minus after, over the calls held, is what one call costs; the
//                               difference of two held snapshots leaves out what the first calls warm up as well
//                               (STEP=1000 STEP_INTERVAL_S=30 HEAP_SNAPSHOT_CALLS=1000,2000: no intake under way at
//                               either). Writing one stops the process for seconds and raises its RSS: not for runs
//                               whose numbers count
//   HEAP_SNAPSHOT_CALLS (TASKS) comma-separated counts of model calls in flight, e.g. 1000,2000
//   PRIVATE_KAFKA=1             do not use the shared broker on 127.0.0.1:9092: start a throwaway single-node broker
//                               (the same 3.9.1 jars from .local/kafka/libs, the same settings as deploy/local/kafka.sh)
//                               on free 127.0.0.1 ports with its data in a temporary directory, removed at the end
// With a background phase, the simulator is started with SIM_MAX_STORED_RESPONSES = max(20000, 2 × TASKS): it holds
// every response of the run (running ones are never dropped, and none is forgotten before its last poll).
// Event-loop lag is measured two ways: (a) the time /health (reasoner; it runs a SELECT 1) or /stats (baseline; no
// I/O) takes to answer, from this process, once a second; (b) with node:perf_hooks monitorEventLoopDelay inside the
// process, loaded by `node --import data:…` (no service code changes), which writes its histogram to
// .local/bench/*.eld.json every second.
// Requests to the simulator are counted inside it by route (creates, polls, cancels, chat completions) with Node's
// http.server.request.start diagnostics channel, loaded the same way (node --import data:…), into
// .local/bench/model-simulator.requests.json.
// Child logs: .local/bench/<name>.log (the reasoner and the ledger of a background phase: reasoner-background.log,
// ledger-background.log). Kafka is started if it is not running, and stopped only if started here.
// Every child process, the databases, the topics and the consumer groups are removed at the end, on error and on
// SIGINT/SIGTERM.

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { byComponent, cpuDelta, cpuSnapshot, type CpuSnapshot, memoryOf, ticksToMs } from './lib/cpu.ts';
import { builtContracts } from './lib/built.ts';
import {
  createTopicsReady,
  kafkaJarVersion,
  removeTopicsAtCleanup,
  startPrivateKafka,
  taskIdOf,
  useLocalKafka,
} from './lib/kafka.ts';
import { codeVersion, machine, machineLine, type Machine } from './lib/machine.ts';
import { choiceOption, flagOn, helpFromHeader, numberOption } from './lib/options.ts';
import { createDatabase } from './lib/pg.ts';
import { appendSection } from './lib/report.ts';
import {
  peakRate,
  type RequestCounts,
  type RequestSample,
  requestsBetween,
  SIM_ROUTES,
  socketsWhileHeld,
} from './lib/sim-traffic.ts';
import { type SummaryRow, writeSummary } from './lib/summary.ts';
import {
  BenchRun,
  type Child,
  competitors as competingProcesses,
  ELD_RESOLUTION_MS,
  freePort,
  HOST,
  log,
  logDir,
  root,
  tail,
  waitForCompetitors,
  waitHealthy,
} from './lib/run.ts';
import { bump, errorMessage, maxOf, ms as ms1, num, summary } from './lib/stats.ts';

const { Kafka, logLevel } = kafkajs;
const execFileP = promisify(execFile);
type Contracts = ReturnType<typeof builtContracts>;

helpFromHeader(import.meta.url);
const runId = randomBytes(3).toString('hex');

// How the reasoner calls the model in an executor phase.
const CALL_MODES = ['sync', 'background'] as const;
type CallMode = (typeof CALL_MODES)[number];

const mode = choiceOption('MODE', [...CALL_MODES, 'both'], 'sync');
const opts = {
  mode,
  tasks: Math.floor(numberOption('TASKS', 10_000, { max: 100_000, integer: false })),
  step: Math.floor(numberOption('STEP', 2_000, { max: 100_000, integer: false })),
  stepIntervalS: numberOption('STEP_INTERVAL_S', 5, { min: 0, max: 600, integer: false }),
  thinkMs: Math.floor(numberOption('THINK_MS', 60_000, { min: 0, max: 3_600_000, integer: false })),
  pollFirstMs: numberOption('POLL_FIRST_MS', 2_000, { max: 3_600_000 }),
  pollFactor: numberOption('POLL_FACTOR', 2, { max: 10, integer: false }),
  pollMaxMs: numberOption('POLL_MAX_MS', 15_000, { max: 3_600_000 }),
  concurrency: Math.floor(numberOption('CONCURRENCY', 10_000, { max: 100_000, integer: false })),
  queueCapacity: Math.floor(numberOption('QUEUE_CAPACITY', 12_000, { max: 1_000_000, integer: false })),
  tenants: Math.floor(numberOption('TENANTS', 16, { max: 1_000, integer: false })),
  maxThinkingTokens: Math.floor(
    numberOption('MAX_THINKING_TOKENS', 8_000, { min: 16, max: 1_000_000, integer: false }),
  ),
  ledgerTimeoutMs: Math.floor(
    numberOption('LEDGER_TIMEOUT_MS', 30_000, { min: 100, max: 120_000, integer: false }),
  ),
  ledgerCommandConcurrency: Math.floor(
    numberOption('LEDGER_COMMAND_CONCURRENCY', 18, { max: 64, integer: false }),
  ),
  dbPoolSize: Math.floor(numberOption('DATABASE_POOL_SIZE', 20, { max: 200, integer: false })),
  executorTimeoutS: numberOption('EXECUTOR_TIMEOUT_S', 300, { min: 10, max: 3_600, integer: false }),
  baselineS: numberOption('BASELINE_S', 180, { min: 10, max: 3_600, integer: false }),
  baselinePartitions: Math.floor(numberOption('BASELINE_PARTITIONS', 12, { max: 64, integer: false })),
  waitIdleS: numberOption('WAIT_IDLE_S', 900, { min: 0, max: 7_200, integer: false }),
  // A second executor phase takes up to EXECUTOR_TIMEOUT_S more, plus its start and stop.
  benchTimeoutS: numberOption('BENCH_TIMEOUT_S', mode === 'both' ? 1_140 : 780, {
    min: 60,
    max: 7_200,
    integer: false,
  }),
  reasonerLogLevel: process.env.REASONER_LOG_LEVEL || 'warn',
  baseline: !flagOn('NO_BASELINE'),
  build: !flagOn('NO_BUILD'),
  eld: !flagOn('NO_ELD'),
  heapSnapshots: flagOn('HEAP_SNAPSHOTS'),
  privateKafka: flagOn('PRIVATE_KAFKA'),
};
// The executor phases of the run, in order: with MODE=both, background first, then sync as its same-run baseline.
const modes: CallMode[] = opts.mode === 'both' ? ['background', 'sync'] : [opts.mode];
if (opts.pollMaxMs < opts.pollFirstMs)
  throw new Error(`POLL_MAX_MS (${opts.pollMaxMs}) must not be below POLL_FIRST_MS (${opts.pollFirstMs})`);
// The simulator's response store: every response of the run fits, so none is refused or forgotten while polled.
const simMaxStoredResponses = Math.max(20_000, 2 * opts.tasks);
const heapSnapshotCalls = (process.env.HEAP_SNAPSHOT_CALLS || String(opts.tasks))
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
if (!heapSnapshotCalls.every((n) => Number.isInteger(n) && n > 0))
  throw new Error(`HEAP_SNAPSHOT_CALLS must be positive integers, got '${process.env.HEAP_SNAPSHOT_CALLS}'`);
if (opts.queueCapacity <= opts.concurrency)
  console.warn(
    `(note) QUEUE_CAPACITY ${opts.queueCapacity} ≤ CONCURRENCY ${opts.concurrency}: intake pauses first`,
  );

const run = new BenchRun(opts.benchTimeoutS);
// The shared local broker (deploy/local/kafka.sh); PRIVATE_KAFKA=1 starts a throwaway one instead.
let KAFKA_BROKER = '';
const prefixes: string[] = []; // topic prefixes created here
const COMPETITORS = 'jest|fast-path|ledger-reserve';
const competitors = () => competingProcesses(COMPETITORS, 'reasoner-inflight');

const spawnService = (
  name: string,
  script: string,
  env: Record<string, string | undefined>,
  { eld = false } = {},
): Child => {
  const eldFile = eld ? join(logDir, `${name}.eld.json`) : null;
  if (eldFile) for (const f of [eldFile, `${eldFile}.start`]) rmSync(f, { force: true });
  return run.spawnService(name, script, env, { eldFile });
};

const heapDir = join(logDir, 'heap');
// With HEAP_SNAPSHOTS=1 the reasoner writes a snapshot on SIGWINCH into heapDir, its diagnostic directory; not on
// SIGUSR2, which Nest's shutdown hooks take as a signal to stop.
const heapSnapshotEnv = (): Record<string, string> => {
  if (!opts.heapSnapshots) return {};
  mkdirSync(heapDir, { recursive: true });
  return { NODE_OPTIONS: `--heapsnapshot-signal=SIGWINCH --diagnostic-dir=${heapDir}` };
};

/**
 * Has the reasoner write a heap snapshot and returns its path once it is complete. Node writes it synchronously in
 * the signal's handler, so the first /health answer after the file appeared means it is whole.
 */
async function heapSnapshot(child: Child, healthUrl: string, label: string): Promise<string> {
  const before = new Set(readdirSync(heapDir));
  const t = performance.now();
  child.proc.kill('SIGWINCH');
  for (;;) {
    run.checkAborted();
    const file = readdirSync(heapDir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file) {
      // A connection kept from before the snapshot may be closed under the request: asked again until it answers.
      while (
        !(await fetch(healthUrl, { signal: AbortSignal.timeout(60_000) }).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (performance.now() - t > 600_000)
          throw new Error(`the reasoner did not answer after heap snapshot ${label}`);
        await sleep(500);
      }
      const path = join(heapDir, `${child.name}-${runId}-${label}.heapsnapshot`);
      renameSync(join(heapDir, file), path);
      log(`heap snapshot ${label}: ${path} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      return path;
    }
    if (performance.now() - t > 120_000) throw new Error(`no heap snapshot ${label} within 120 s`);
    await sleep(200);
  }
}

/** Log lines of a child from byte offset `from`, by level, with a few distinct examples of warnings and errors. */
function logSummary(file: string, from = 0) {
  let text = '';
  try {
    text = readFileSync(file).subarray(from).toString('utf8');
  } catch {
    return { lines: 0, warn: 0, error: 0, examples: [] };
  }
  const lines = text.split('\n').filter(Boolean);
  let warn = 0;
  let error = 0;
  const examples = new Map<string, string>();
  for (const l of lines) {
    let level: string | null = /\b(error|ERROR|Error)\b/.test(l)
      ? 'error'
      : /\b(warn|WARN)\b/.test(l)
        ? 'warn'
        : null;
    let msg = l;
    try {
      const j = JSON.parse(l) as {
        level?: string;
        context?: string;
        msg?: unknown;
        message?: string;
        error?: unknown;
      };
      level = j.level ?? level;
      msg = `${j.level ?? ''} ${j.context ?? ''}: ${typeof j.msg === 'string' ? j.msg : (j.message ?? l)}${j.error ? ` — ${(typeof j.error === 'string' ? j.error : JSON.stringify(j.error)).slice(0, 200)}` : ''}`;
    } catch {
      // not JSON
    }
    if (level === 'warn') warn++;
    if (level === 'error' || level === 'fatal') error++;
    if ((level === 'warn' || level === 'error' || level === 'fatal') && examples.size < 4) {
      const key = msg
        .replace(/[0-9a-f-]{36}/g, '…')
        .replace(/\d+/g, 'N')
        .slice(0, 160);
      if (!examples.has(key)) examples.set(key, msg.slice(0, 300));
    }
  }
  return { lines: lines.length, warn, error, examples: [...examples.values()] };
}
const fileSize = (f: string): number => {
  try {
    return readFileSync(f).length;
  } catch {
    return 0;
  }
};

// CPU time by component, from /proc: our children by pid, Kafka and Postgres by process name, everything else
// (kernel threads included) as "other".
const snapshot = (): CpuSnapshot =>
  cpuSnapshot(
    byComponent(new Map([...run.children.map((c) => [c.proc.pid, c.name] as const), [process.pid, 'bench']])),
  );
interface CpuUsage {
  cores: Record<string, number>;
  busy: number;
  seconds: number;
}
/** Share of one core used by each component between two snapshots, and the machine's busy share. */
function cpuUsage(a: CpuSnapshot, b: CpuSnapshot): CpuUsage {
  const d = cpuDelta(a, b);
  const cores: Record<string, number> = {};
  for (const [g, t] of [...d.byGroup, ['other', d.foreign + d.kernel] as const])
    cores[g] = ticksToMs(t) / 1000 / d.seconds;
  return { cores, busy: d.busy, seconds: d.seconds };
}
const cpuLine = (u: CpuUsage): string =>
  `machine ${(u.busy * 100).toFixed(0)}% busy of ${os.availableParallelism()} CPUs over ${u.seconds.toFixed(0)} s; share of one core: ` +
  Object.entries(u.cores)
    .filter(([, v]) => v >= 0.005)
    .sort((x, y) => y[1] - x[1])
    .map(([g, v]) => `${g} ${(v * 100).toFixed(0)}%`)
    .join(', ');

// ---------------------------------------------------------------- requests

const DECISION = {
  route: 'reasoning',
  decidedBy: 'rule',
  rule: 'explicit-mode',
  classification: null,
  reason: 'the client asked for the reasoning tier',
};

function requestMessage(i: number, taskId: string) {
  const now = new Date().toISOString();
  const tenantId = `bench-tenant-${i % opts.tenants}`;
  const data = {
    spec: {
      input: `Benchmark reasoning task ${i} (bench-task ${taskId}): plan it step by step. [[sim:think_ms=${opts.thinkMs}]]`,
      context: [],
      mode: 'reasoning',
      latencyBudgetMs: null,
      maxCostMicroUsd: null,
      maxThinkingTokens: opts.maxThinkingTokens,
      reasoningEffort: null,
      webhookUrl: null,
      metadata: { bench: 'reasoner-inflight' },
    },
    decision: DECISION,
    contextSelection: null,
    requestedAt: now,
  };
  return {
    key: taskId,
    value: JSON.stringify(data),
    headers: {
      ce_specversion: '1.0',
      ce_id: randomUUID(),
      ce_type: 'reasoning.task.requested.v1',
      ce_source: 'deliberate/bench-reasoner-inflight',
      ce_time: now,
      ce_tenantid: tenantId,
      ce_taskid: taskId,
      'content-type': 'application/json',
    },
    data,
  };
}

/** Publishes opts.tasks requests in steps; calls onStep after each. Returns the task ids and publish times. */
async function publishRamp(
  producer: kafkajs.Producer,
  topic: string,
  label: string,
  onStep: (n: number) => void = () => {},
) {
  const taskIds: string[] = [];
  const steps: { at: number; n: number; tookMs: number }[] = [];
  const t0 = performance.now();
  for (let from = 0, s = 0; from < opts.tasks; from += opts.step, s++) {
    const due = t0 + s * opts.stepIntervalS * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    run.checkAborted();
    const to = Math.min(opts.tasks, from + opts.step);
    const stepStart = performance.now();
    for (let b = from; b < to; b += 500) {
      const messages = [];
      for (let i = b; i < Math.min(to, b + 500); i++) {
        const id = randomUUID();
        taskIds.push(id);
        const { key, value, headers } = requestMessage(i, id);
        messages.push({ key, value, headers });
      }
      await producer.send({ topic, messages, acks: -1 });
    }
    steps.push({ at: stepStart, n: to - from, tookMs: performance.now() - stepStart });
    log(
      `${label}: published ${to}/${opts.tasks} (${to - from} in ${(performance.now() - stepStart).toFixed(0)} ms)`,
    );
    onStep(to);
  }
  return { taskIds, steps, t0 };
}

// ---------------------------------------------------------------- sampling

/**
 * Once a second: RSS of the process, the time its status URL takes and what it says, the event-loop probe's file, an
 * optional database query, open connections to the simulator, and the consumer group's state. Each probe runs on
 * its own; one still running when the next second comes is not started again (and the gap is counted).
 */
// What the reasoner's /health says (and the baseline's /stats): loosely typed JSON.
interface StatusBody {
  inFlight?: number;
  queued?: number;
  intakePaused?: boolean;
  groupJoins?: { intake: number; cancels: number };
}
interface BaselineStats {
  inFlight?: number;
  peakInFlight?: number;
  calls: number;
  answered: number;
  failed: number;
  uniqueAnswered: number;
  duplicateCalls: number;
  distinctTasksCalled: number;
  maxCallsOfOneTask: number;
  groupJoins: number;
  rebalancing: number;
  crashes: number;
  lastError?: string | null;
}
interface DbSample {
  executions: number;
  published: number;
  calls_in_flight: number;
  /** Background calls the provider accepted and the reasoner polls: attempts started with a response id. */
  background_in_flight: number;
  calls_started: number;
  skipped: number;
}
interface EldProbe {
  total: { count: number; p50: number; p99: number; p999: number; max: number };
  second: { p99: number; max: number };
  mem?: Record<string, number>;
}
interface MemSample {
  t: number;
  [k: string]: number;
}
interface GroupSample {
  t: number;
  state: string;
  members: string[];
}
interface SamplerOptions {
  child: Child;
  statusUrl: string;
  simPort: number;
  groupId: string;
  admin: kafkajs.Admin;
  dbQuery?: () => Promise<DbSample | undefined>;
  /** The simulator's HTTP request probe file, read each second. */
  requestCountFile?: string | null;
  t0: number;
}
interface Sampler<B> {
  rss: { t: number; mib: number }[];
  status: { t: number; ms: number; body: B | null }[];
  statusSkipped: number;
  statusErrors: number;
  statusErrorSample: string | null;
  db: ({ t: number } & DbSample)[];
  sim: { t: number; n: number }[];
  group: GroupSample[];
  eld: EldProbe | null;
  eldSecond: { t: number; p99: number; max: number }[];
  mem: MemSample[];
  requests: RequestSample[];
  latest: {
    rss?: number;
    eldSecondMax?: number;
    status?: B | null;
    statusMs?: number;
    db?: DbSample;
    sim?: number;
    group?: string;
    requests?: RequestCounts;
  };
  stop: () => void;
}

function startSampler<B>({
  child,
  statusUrl,
  simPort,
  groupId,
  admin,
  dbQuery,
  requestCountFile,
  t0,
}: SamplerOptions): Sampler<B> {
  const s: Sampler<B> = {
    rss: [], // { t, mib }
    status: [], // { t, ms, body }
    statusSkipped: 0,
    statusErrors: 0,
    statusErrorSample: null,
    db: [], // { t, ...row }
    sim: [], // { t, n }
    group: [], // { t, state, members }
    eld: null, // last probe file content
    eldSecond: [], // { t, p99, max }
    mem: [], // { t, rss, heapTotal, heapUsed, external, arrayBuffers } (MiB), from the probe
    requests: [], // { t, at, counts }, from the simulator's request probe
    latest: {},
    stop: () => {},
  };
  const pending = { status: false, db: false, sim: false, group: false };
  const tNow = () => (performance.now() - t0) / 1000;
  const tick = () => {
    const t = tNow();
    const m = memoryOf(child.proc.pid);
    if (Number.isFinite(m.rssMiB)) {
      s.rss.push({ t, mib: m.rssMiB });
      s.latest.rss = m.rssMiB;
    }
    if (child.eldFile) {
      try {
        const e = JSON.parse(readFileSync(child.eldFile, 'utf8')) as EldProbe;
        s.eld = e;
        s.eldSecond.push({ t, p99: e.second.p99 - ELD_RESOLUTION_MS, max: e.second.max - ELD_RESOLUTION_MS });
        if (e.mem) s.mem.push({ t, ...e.mem });
        s.latest.eldSecondMax = e.second.max - ELD_RESOLUTION_MS;
      } catch {
        // not written yet
      }
    }
    const requests = requestCountFile ? readRequestCounts(requestCountFile) : null;
    if (requests) {
      s.requests.push({ t, ...requests });
      s.latest.requests = requests.counts;
    }
    if (statusUrl) {
      if (pending.status) s.statusSkipped++;
      else {
        pending.status = true;
        const a = performance.now();
        void fetch(statusUrl, { signal: AbortSignal.timeout(15_000) })
          .then(async (r) => {
            const text = await r.text();
            const took = performance.now() - a;
            let body: B | null = null;
            try {
              body = JSON.parse(text) as B;
            } catch {
              // not JSON
            }
            if (!r.ok) throw new Error(`${r.status} ${text.slice(0, 200)}`);
            s.status.push({ t, ms: took, body });
            s.latest.status = body;
            s.latest.statusMs = took;
          })
          .catch((e: unknown) => {
            s.statusErrors++;
            const cause =
              e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
            s.statusErrorSample ??= `${errorMessage(e)}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
          })
          .finally(() => (pending.status = false));
      }
    }
    if (dbQuery && !pending.db) {
      pending.db = true;
      void dbQuery()
        .then((row) => {
          if (!row) return;
          s.db.push({ t, ...row });
          s.latest.db = row;
        })
        .catch(() => {})
        .finally(() => (pending.db = false));
    }
    if (simPort && !pending.sim) {
      pending.sim = true;
      void execFileP('ss', ['-Htn', 'state', 'established', `( dport = :${simPort} )`], {
        maxBuffer: 64 * 1024 * 1024,
      })
        .then(({ stdout }) => {
          const n = stdout.split('\n').filter(Boolean).length;
          s.sim.push({ t, n });
          s.latest.sim = n;
        })
        .catch(() => {})
        .finally(() => (pending.sim = false));
    }
    if (groupId && admin && !pending.group) {
      pending.group = true;
      void admin
        .describeGroups([groupId])
        .then(({ groups }) => {
          const g = groups[0];
          if (!g) return;
          const members = g.members.map((x) => x.memberId);
          s.group.push({ t, state: g.state, members });
          s.latest.group = `${g.state}/${members.length}`;
        })
        .catch(() => {})
        .finally(() => (pending.group = false));
    }
  };
  tick();
  const timer = setInterval(tick, 1000);
  s.stop = () => clearInterval(timer);
  return s;
}

/** The simulator's request probe file: its running totals by route and when it wrote them; null before its first write. */
function readRequestCounts(file: string): { at: number; counts: RequestCounts } | null {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as { at: number; counts: RequestCounts };
    return { at: r.at, counts: r.counts };
  } catch {
    return null;
  }
}

/** Group state changes seen by describeGroups: entries into a rebalance, and the distinct member ids. */
function groupHistory(samples: GroupSample[]) {
  let rebalances = 0;
  let notStable = 0;
  let prev: string | null = null;
  const members = new Set<string>();
  const transitions: string[] = [];
  for (const g of samples) {
    for (const m of g.members) members.add(m);
    if (g.state !== 'Stable') notStable++;
    if (prev !== null && g.state !== prev) {
      transitions.push(`${prev}→${g.state}@${g.t.toFixed(0)}s`);
      // Leaving Stable: a rebalance started (with one member, the group may show Empty until it rejoins).
      if (prev === 'Stable') rebalances++;
    }
    prev = g.state;
  }
  return { rebalances, notStable, samples: samples.length, members: members.size, transitions };
}

/** p50, p99 and max of a status endpoint's response times, and how many answered. */
function responseTimes(samples: readonly { ms: number }[]) {
  const { p50, p99, max, count } = summary(samples.map((x) => x.ms));
  return { p50, p99, max, n: count };
}

/** The peak of a series and the first time it was reached. */
function peakOf<K extends string>(series: readonly ({ t: number } & Partial<Record<K, number>>)[], key: K) {
  let peak = -Infinity;
  let at = NaN;
  for (const x of series) {
    const v = x[key];
    if (v !== undefined && Number.isFinite(v) && v > peak) {
      peak = v;
      at = x.t;
    }
  }
  return { peak: Number.isFinite(peak) ? peak : NaN, at };
}
/** The process's own memory split (from the probe) nearest to time t, and the peak heap used. */
function heapAt(samples: MemSample[], t: number): (Record<string, number> & { peakHeapUsed: number }) | null {
  if (!samples.length || !Number.isFinite(t)) return null;
  const near = samples.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a));
  return { ...near, peakHeapUsed: maxOf(samples.map((x) => x.heapUsed ?? NaN)) };
}
/** First time a series reached `value`. */
function firstReach<K extends string>(
  series: readonly ({ t: number } & Partial<Record<K, number>>)[],
  key: K,
  value: number,
): number {
  return series.find((x) => (x[key] ?? -Infinity) >= value)?.t ?? NaN;
}

// ---------------------------------------------------------------- phase 1: the executor

interface PhaseEnv {
  contracts: Contracts;
  simUrl: string;
  simPort: number;
  /** The simulator's request probe file. */
  simRequestsFile: string;
}

// What the reasoner's environment adds for a mode: background mode calls the reasoning tier through the Responses
// API in background mode and polls it with the run's backoff; sync mode keeps the defaults (chat completions).
const modeEnv = (mode: CallMode): Record<string, string> =>
  mode === 'background'
    ? {
        LLM_REASONING_API: 'responses',
        LLM_REASONING_BACKGROUND: 'true',
        LLM_BACKGROUND_POLL_FIRST_MS: String(opts.pollFirstMs),
        LLM_BACKGROUND_POLL_FACTOR: String(opts.pollFactor),
        LLM_BACKGROUND_POLL_MAX_MS: String(opts.pollMaxMs),
      }
    : {};

/** One executor phase: its own database (dbUrl, fresh), topic prefix, ledger and reasoner, calling the model in `mode`. */
async function runExecutor(env: PhaseEnv, mode: CallMode, dbUrl: string) {
  // A sync phase's processes and prefix keep the plain names (reasoner, ledger: their logs, CPU shares, BENCH_CPU_PROF).
  const suffix = mode === 'sync' ? '' : `-${mode}`;
  const prefix = `bench.reasoner-inflight.${runId}${suffix}.`;
  prefixes.push(prefix);
  const { contracts, simUrl } = env;
  const internalToken = `bench-ledger-${randomBytes(16).toString('hex')}`;
  const common = {
    DATABASE_URL: dbUrl,
    DATABASE_POOL_SIZE: String(opts.dbPoolSize),
    KAFKA_BROKERS: KAFKA_BROKER,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_HANDLER_MAX_ATTEMPTS: '3',
  };

  const ledgerPort = await freePort();
  const ledger = spawnService(`ledger${suffix}`, 'apps/ledger/dist/main.js', {
    ...common,
    LEDGER_HOST: HOST,
    LEDGER_PORT: String(ledgerPort),
    LEDGER_INTERNAL_TOKEN: internalToken,
    LEDGER_COMMAND_CONCURRENCY: String(opts.ledgerCommandConcurrency),
  });
  await waitHealthy(run, ledger, `http://${HOST}:${ledgerPort}/health`);

  // The reasoner's topics are created first, as the stack and the test harness do: on topics created a moment
  // before, kafkajs consumers hit NOT_LEADER on ListOffsets and rejoin their group once per error (seen: ~200
  // joins in 1.5 s), which would count as rebalances.
  const kafka = new Kafka({ clientId: `bench-${runId}`, brokers: [KAFKA_BROKER], logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  run.onCleanup(() => admin.disconnect());
  {
    const reasonerTopics = [
      'reasoningRequestedEvent',
      'taskCancelRequestedEvent',
      'taskReasoningStartedEvent',
      'reasoningTraceRecordedEvent',
      'taskCompletedEvent',
      'taskFailedEvent',
      'taskEscalatedEvent',
      'taskCancelledEvent',
      'modelCallRecordedEvent',
      'budgetBreakerOpenedEvent',
      'budgetBreakerClosedEvent',
    ].map((k) => contracts[k as keyof Contracts] as Contracts['reasoningRequestedEvent']);
    const t = performance.now();
    const names = await createTopicsReady(KAFKA_BROKER, prefix, reasonerTopics);
    log(
      `${names.length} reasoner topics created and ready in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }

  const reasonerPort = await freePort();
  const reasonerEnv = {
    ...common,
    LOG_LEVEL: opts.reasonerLogLevel,
    LLM_FAST_BASE_URL: simUrl,
    LLM_REASONING_BASE_URL: simUrl,
    LLM_STANDARD_BASE_URL: simUrl,
    LEDGER_TIMEOUT_MS: String(opts.ledgerTimeoutMs),
    REASONER_HOST: HOST,
    REASONER_HEALTH_PORT: String(reasonerPort),
    REASONER_CONCURRENCY: String(opts.concurrency),
    REASONER_QUEUE_CAPACITY: String(opts.queueCapacity),
    ...modeEnv(mode),
    ...heapSnapshotEnv(),
  };
  const reasoner = spawnService(`reasoner${suffix}`, 'apps/reasoner/dist/main.js', reasonerEnv, {
    eld: opts.eld,
  });
  const healthUrl = `http://${HOST}:${reasonerPort}/health`;
  const firstHealth = JSON.parse(await waitHealthy(run, reasoner, healthUrl, 120_000)) as StatusBody;
  log(`reasoner health: ${JSON.stringify(firstHealth)}`);
  const rssIdle = memoryOf(reasoner.proc.pid).rssMiB;

  const requestTopic = `${prefix}${contracts.reasoningRequestedEvent.topic}`;
  const outcomeDefs = {
    completed: contracts.taskCompletedEvent,
    failed: contracts.taskFailedEvent,
    escalated: contracts.taskEscalatedEvent,
    cancelled: contracts.taskCancelledEvent,
  };
  type Kind = keyof typeof outcomeDefs;
  const outcomeTopics: Record<string, Kind> = Object.fromEntries(
    Object.entries(outcomeDefs).map(([k, d]) => [`${prefix}${d.topic}`, k as Kind]),
  );
  for (let i = 0; ; i++) {
    const have = new Set(await admin.listTopics());
    const missing = [requestTopic, ...Object.keys(outcomeTopics)].filter((t) => !have.has(t));
    if (!missing.length) break;
    if (i > 120) throw new Error(`the reasoner did not create ${missing.join(', ')}`);
    await sleep(500);
  }

  // Terminal events, by task: what a downstream subscriber sees.
  const outcomes = new Map<string, { kind: Kind; t: number; by: string | null }>();
  let duplicateOutcomes = 0;
  const answeredBy = new Map<string, number>();
  let t0 = performance.now();
  const consumer = kafka.consumer({ groupId: `${prefix}bench-outcomes`, maxWaitTimeInMs: 200 });
  run.onCleanup(() => consumer.disconnect());
  const joined = new Promise((r) => consumer.on(consumer.events.GROUP_JOIN, r));
  await consumer.connect();
  await consumer.subscribe({ topics: Object.keys(outcomeTopics), fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachBatch: ({ batch }) => {
      const kind = outcomeTopics[batch.topic];
      if (!kind) return Promise.resolve();
      for (const m of batch.messages) {
        const id = taskIdOf(m);
        if (!id) continue;
        if (outcomes.has(id)) {
          duplicateOutcomes++;
          continue;
        }
        let by: string | null = null;
        if (kind === 'completed') {
          try {
            by =
              (JSON.parse(m.value?.toString() ?? 'null') as { result?: { answeredBy?: string } } | null)
                ?.result?.answeredBy ?? 'unknown';
          } catch {
            by = 'unparseable';
          }
          bump(answeredBy, by);
        }
        outcomes.set(id, { kind, t: (performance.now() - t0) / 1000, by });
      }
      return Promise.resolve();
    },
  });
  await Promise.race([
    joined,
    sleep(30_000).then(() => Promise.reject(new Error('outcome consumer did not join'))),
  ]);

  const db = new pg.Pool({ connectionString: dbUrl, max: 2 });
  run.onCleanup(() => db.end());
  const dbQuery = async () => {
    const { rows } = await db.query<DbSample>(`
      SELECT (SELECT count(*) FROM reasoner.executions)::int AS executions,
             (SELECT count(*) FILTER (WHERE published_at IS NOT NULL) FROM reasoner.outbox)::int AS published,
             count(*) FILTER (WHERE status = 'started')::int AS calls_in_flight,
             count(*) FILTER (WHERE status = 'started' AND response_id IS NOT NULL)::int AS background_in_flight,
             count(*) FILTER (WHERE status <> 'skipped')::int AS calls_started,
             count(*) FILTER (WHERE status = 'skipped')::int AS skipped
        FROM reasoner.attempts`);
    return rows[0];
  };

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  run.onCleanup(() => producer.disconnect());
  // Sanity: the request must pass the contract's own schema.
  const sample = requestMessage(0, randomUUID());
  const check = contracts.reasoningRequestedEvent.schema.safeParse(sample.data);
  if (!check.success)
    throw new Error(`the benchmark's request is invalid: ${JSON.stringify(check.error.issues)}`);

  const logFrom = fileSize(reasoner.logFile);
  const ledgerLogFrom = fileSize(ledger.logFile);
  log(
    `executor phase (${mode}): ${opts.tasks} requests (think ${opts.thinkMs / 1000} s each) on ${requestTopic}, ` +
      `${opts.step} every ${opts.stepIntervalS} s; reasoner pid ${reasoner.proc.pid}, REASONER_CONCURRENCY=${opts.concurrency}, QUEUE_CAPACITY=${opts.queueCapacity}` +
      `${mode === 'background' ? `, polls ${opts.pollFirstMs} ms ×${opts.pollFactor} up to ${opts.pollMaxMs} ms` : ''}`,
  );
  const healthAtStart = (await fetch(healthUrl, { signal: AbortSignal.timeout(15_000) }).then((r) =>
    r.json(),
  )) as StatusBody;
  if (opts.heapSnapshots) await heapSnapshot(reasoner, healthUrl, 'idle');
  if (reasoner.eldFile) writeFileSync(`${reasoner.eldFile}.start`, '');
  const requestsAtStart = readRequestCounts(env.simRequestsFile);
  const cpuA = snapshot();
  t0 = performance.now();
  const sampler = startSampler<StatusBody>({
    child: reasoner,
    statusUrl: healthUrl,
    simPort: env.simPort,
    groupId: `${prefix}deliberate.reasoner.intake`,
    admin,
    dbQuery,
    requestCountFile: env.simRequestsFile,
    t0,
  });
  const competingDuring = new Set<string>();
  const progress = () => {
    for (const c of competitors()) competingDuring.add(c.replace(/^\d+ /, '').slice(0, 120));
    const l = sampler.latest;
    const h = l.status ?? {};
    const kinds: Record<Kind, number> = { completed: 0, failed: 0, escalated: 0, cancelled: 0 };
    for (const o of outcomes.values()) kinds[o.kind]++;
    const simRequests = requestsBetween(requestsAtStart?.counts ?? null, l.requests ?? null);
    log(
      `executor (${mode}): in flight ${h.inFlight ?? '?'} (queued ${h.queued ?? '?'}${h.intakePaused ? ', intake paused' : ''}), ` +
        `model calls in flight ${l.db?.calls_in_flight ?? '?'} (started ${l.db?.calls_started ?? '?'}${mode === 'background' ? `, background ${l.db?.background_in_flight ?? '?'}, polls ${simRequests.polls}` : ''}), sim connections ${l.sim ?? '?'}, ` +
        `executions ${l.db?.executions ?? '?'}, done ${kinds.completed}/${kinds.failed}/${kinds.escalated}/${kinds.cancelled} (completed/failed/escalated/cancelled), ` +
        `RSS ${num(l.rss)} MiB, /health ${ms1(l.statusMs)} ms, loop delay max ${ms1(l.eldSecondMax)} ms/s, joins ${h.groupJoins ? `${h.groupJoins.intake}/${h.groupJoins.cancels}` : '?'}, group ${l.group ?? '?'}`,
    );
  };
  const progressTimer = setInterval(progress, 5000);
  // The held snapshots are taken alongside the ramp, each as soon as its count of calls is in flight.
  let phaseOver = false;
  const heldSnapshots = (async () => {
    for (const n of opts.heapSnapshots ? heapSnapshotCalls : []) {
      while ((sampler.latest.db?.calls_in_flight ?? 0) < n) {
        if (phaseOver) return log(`heap snapshot held-${n}: never ${n} model calls in flight`);
        await sleep(200);
      }
      await heapSnapshot(reasoner, healthUrl, `held-${n}`);
    }
  })().catch((e: unknown) => log(`heap snapshots: ${errorMessage(e)}`));
  let ramp: Awaited<ReturnType<typeof publishRamp>>;
  try {
    ramp = await publishRamp(producer, requestTopic, `executor (${mode})`);
    const deadline = t0 + opts.executorTimeoutS * 1000;
    const wanted = new Set(ramp.taskIds);
    for (;;) {
      run.checkAborted();
      let have = 0;
      for (const id of wanted) if (outcomes.has(id)) have++;
      if (have >= wanted.size) break;
      if (performance.now() > deadline) {
        log(
          `executor: EXECUTOR_TIMEOUT_S=${opts.executorTimeoutS} reached with ${wanted.size - have} tasks without an outcome`,
        );
        break;
      }
      if (reasoner.exit) {
        log(`executor (${mode}): the reasoner exited (${JSON.stringify(reasoner.exit)}); stopping the phase`);
        break;
      }
      await sleep(500);
    }
    await sleep(2000); // one more sample of the settled state
    phaseOver = true;
    await heldSnapshots;
    if (opts.heapSnapshots) {
      // Once the pool has closed its idle connections to the simulator, the snapshot holds only what stays.
      for (let i = 0; i < 60 && sampler.latest.sim !== 0; i++) await sleep(500);
      await heapSnapshot(reasoner, healthUrl, 'after');
    }
  } finally {
    phaseOver = true;
    clearInterval(progressTimer);
    sampler.stop();
  }
  progress();
  const phaseS = (performance.now() - t0) / 1000;
  const cpu = cpuUsage(cpuA, snapshot());
  log(`executor (${mode}) CPU: ${cpuLine(cpu)}`);
  // The simulator's counts once its probe has written after the phase's end (it writes every second).
  const phaseEndAt = Date.now();
  let requestsAtEnd = readRequestCounts(env.simRequestsFile);
  for (let i = 0; i < 30 && (requestsAtEnd?.at ?? 0) < phaseEndAt; i++) {
    await sleep(100);
    requestsAtEnd = readRequestCounts(env.simRequestsFile);
  }

  const finalHealth = await fetch(healthUrl, { signal: AbortSignal.timeout(15_000) })
    .then((r) => r.json() as Promise<StatusBody>)
    .catch(() => sampler.latest.status ?? null);
  const mem = memoryOf(reasoner.proc.pid);
  const ledgerMem = memoryOf(ledger.proc.pid);
  const dbFinal = await db
    .query<{ status: string; n: number; unpublished: number }>(
      `SELECT e.status, count(*)::int AS n, count(*) FILTER (WHERE o.published_at IS NULL)::int AS unpublished
         FROM reasoner.executions e LEFT JOIN reasoner.outbox o ON o.task_id = e.task_id
        GROUP BY e.status ORDER BY e.status`,
    )
    .then((r) => r.rows)
    .catch((e: unknown) => [{ status: `error: ${errorMessage(e)}`, n: 0, unpublished: 0 }]);
  const failReasons = await db
    .query<{ reason: string; tier: string; n: number }>(
      `SELECT coalesce(reason, outcome, status) AS reason, tier, count(*)::int AS n FROM reasoner.attempts
        WHERE status <> 'finished' OR outcome <> 'answered' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 6`,
    )
    .then((r) => r.rows)
    .catch(() => []);
  const reservations = await db
    .query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM ledger.reservations GROUP BY status ORDER BY status`,
    )
    .then((r) => r.rows)
    .catch(() => []);

  // The reasoner's stop: intake stops, nothing in flight should be left.
  const stopMs = await run.stopChild(reasoner, 30_000);
  log(`reasoner stopped in ${(stopMs / 1000).toFixed(1)} s (exit ${JSON.stringify(reasoner.exit)})`);
  await run.stopChild(ledger, 20_000);
  await consumer.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  await admin.disconnect().catch(() => {});

  const kinds: Record<Kind, number> = { completed: 0, failed: 0, escalated: 0, cancelled: 0 };
  const wanted = new Set(ramp.taskIds);
  for (const [id, o] of outcomes) if (wanted.has(id)) kinds[o.kind]++;
  const withOutcome = Object.values(kinds).reduce((a, b) => a + b, 0);
  const rowsTotal = dbFinal.reduce((a, r) => a + r.n, 0);
  const unpublished = dbFinal.reduce((a, r) => a + r.unpublished, 0);
  const lastDb = sampler.db.at(-1) ?? {};
  const completionTimes = [...outcomes.values()].map((o) => o.t).sort((a, b) => a - b);
  const lagWindow = (x: { t: number }) => x.t <= (completionTimes.at(-1) ?? phaseS) + 1;
  const statusWin = sampler.status.filter(lagWindow);
  const inflightSeries = sampler.status.map((x) => ({ t: x.t, v: x.body?.inFlight }));
  const callSeries = sampler.db.map((x) => ({
    t: x.t,
    v: x.calls_in_flight,
    started: x.calls_started,
    ex: x.executions,
  }));
  const pHealth = peakOf(inflightSeries, 'v');
  const pCalls = peakOf(callSeries, 'v');
  const pBackground = peakOf(
    sampler.db.map((x) => ({ t: x.t, v: x.background_in_flight })),
    'v',
  );
  const pSim = peakOf(
    sampler.sim.map((x) => ({ t: x.t, v: x.n })),
    'v',
  );
  const pRss = peakOf(
    sampler.rss.map((x) => ({ t: x.t, v: x.mib })),
    'v',
  );
  // How fast the calls started: from the first to the last model call started.
  const firstCallT = callSeries.find((x) => x.started > 0)?.t ?? NaN;
  const allStartedT = firstReach(callSeries, 'started', opts.tasks);
  const intakeDoneT = firstReach(callSeries, 'ex', opts.tasks);
  const startedAtFirstCompletion = (() => {
    const tFirst = completionTimes[0];
    if (tFirst === undefined || !Number.isFinite(tFirst)) return NaN;
    const before = callSeries.filter((x) => x.t <= tFirst).at(-1);
    return before?.started ?? NaN;
  })();
  return {
    mode,
    prefix,
    phaseS,
    publishS: ((ramp.steps.at(-1)?.at ?? ramp.t0) - ramp.t0) / 1000,
    published: ramp.taskIds.length,
    peakHealthInFlight: pHealth,
    peakCalls: pCalls,
    peakBackground: pBackground,
    timeToAllBackground: firstReach(
      sampler.db.map((x) => ({ t: x.t, v: x.background_in_flight })),
      'v',
      opts.tasks,
    ),
    peakSim: pSim,
    simHeld: socketsWhileHeld(
      sampler.sim,
      callSeries.map((x) => ({ t: x.t, v: x.v })),
    ),
    simRequests: requestsBetween(requestsAtStart?.counts ?? null, requestsAtEnd?.counts ?? null),
    peakPollRate: peakRate(sampler.requests, SIM_ROUTES.poll),
    timeToTasksInFlight: firstReach(inflightSeries, 'v', opts.tasks),
    timeToAllCalls: firstReach(callSeries, 'v', opts.tasks),
    firstCallT,
    allStartedT,
    intakeDoneT,
    startedAtFirstCompletion,
    firstCompletionT: completionTimes[0],
    lastCompletionT: completionTimes.at(-1),
    rssIdle,
    peakRss: pRss,
    heap: heapAt(sampler.mem, pRss.at),
    // RSS while the calls are held: the highest sample before the first completion.
    rssHold: peakOf(
      sampler.rss.filter((x) => x.t < (completionTimes[0] ?? Infinity)).map((x) => ({ t: x.t, v: x.mib })),
      'v',
    ),
    hwm: mem.hwmMiB,
    rssEnd: mem.rssMiB,
    ledgerHwm: ledgerMem.hwmMiB,
    health: {
      ...responseTimes(statusWin),
      skipped: sampler.statusSkipped,
      errors: sampler.statusErrors,
      errorSample: sampler.statusErrorSample,
    },
    eld: sampler.eld
      ? {
          p50: sampler.eld.total.p50 - ELD_RESOLUTION_MS,
          p99: sampler.eld.total.p99 - ELD_RESOLUTION_MS,
          p999: sampler.eld.total.p999 - ELD_RESOLUTION_MS,
          max: sampler.eld.total.max - ELD_RESOLUTION_MS,
          worstSecond: peakOf(
            sampler.eldSecond.map((x) => ({ t: x.t, v: x.max })),
            'v',
          ),
        }
      : null,
    joins: finalHealth?.groupJoins ?? null,
    joinsFirst: firstHealth.groupJoins ?? { intake: NaN, cancels: NaN },
    joinsAtStart: healthAtStart.groupJoins ?? { intake: NaN, cancels: NaN },
    group: groupHistory(sampler.group),
    kinds,
    answeredBy: Object.fromEntries(answeredBy),
    duplicateOutcomes,
    withOutcome,
    rowsTotal,
    unpublished,
    noRow: ramp.taskIds.length - rowsTotal,
    lastDb,
    dbFinal,
    failReasons,
    reservations,
    cpu,
    stopMs,
    logs: logSummary(reasoner.logFile, logFrom),
    logFile: relative(root, reasoner.logFile),
    ledgerLogs: logSummary(ledger.logFile, ledgerLogFrom),
    ledgerLogFile: relative(root, ledger.logFile),
    exit: reasoner.exit,
    competingDuring: [...competingDuring],
    series: { inflightSeries, callSeries, sim: sampler.sim, rss: sampler.rss, requests: sampler.requests },
  };
}

// ---------------------------------------------------------------- phase 2: the baseline

async function runBaseline(env: PhaseEnv) {
  const prefix = `bench.reasoner-inflight-baseline.${runId}.`;
  prefixes.push(prefix);
  const { contracts, simUrl } = env;
  const topic = `${prefix}${contracts.reasoningRequestedEvent.topic}`;
  const kafka = new Kafka({ clientId: `bench-${runId}-b`, brokers: [KAFKA_BROKER], logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  run.onCleanup(() => admin.disconnect());
  await createTopicsReady(KAFKA_BROKER, prefix, [contracts.reasoningRequestedEvent]);
  const statsPort = await freePort();
  const baseline = spawnService(
    'baseline-awaiting-consumer',
    'bench/baseline/awaiting-consumer.ts',
    {
      KAFKA_BROKERS: KAFKA_BROKER,
      TOPIC_PREFIX: prefix,
      SIM_BASE_URL: simUrl,
      STATS_PORT: String(statsPort),
      PARTITIONS_CONCURRENTLY: String(opts.baselinePartitions),
      SESSION_TIMEOUT_MS: '30000',
      MAX_COMPLETION_TOKENS: String(opts.maxThinkingTokens),
      NO_COLOR: '1',
    },
    { eld: opts.eld },
  );
  const statsUrl = `http://${HOST}:${statsPort}/stats`;
  await waitHealthy(run, baseline, statsUrl, 60_000);
  for (let i = 0; ; i++) {
    const st = (await fetch(statsUrl).then((r) => r.json())) as BaselineStats;
    if (st.groupJoins >= 1) break;
    if (i > 120) throw new Error(`the baseline did not join its group:\n${tail(baseline.logFile, 20)}`);
    await sleep(500);
  }
  const rssIdle = memoryOf(baseline.proc.pid).rssMiB;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  run.onCleanup(() => producer.disconnect());
  const groupId = `${prefix}baseline-server`;
  log(
    `baseline phase: ${opts.tasks} requests on ${topic} for ${opts.baselineS} s; consumer group ${groupId}, ` +
      `sessionTimeout 30 s, partitionsConsumedConcurrently ${opts.baselinePartitions}, pid ${baseline.proc.pid}`,
  );
  if (baseline.eldFile) writeFileSync(`${baseline.eldFile}.start`, '');
  const requestsAtStart = readRequestCounts(env.simRequestsFile);
  const cpuA = snapshot();
  const t0 = performance.now();
  const sampler = startSampler<BaselineStats>({
    child: baseline,
    statusUrl: statsUrl,
    simPort: env.simPort,
    groupId,
    admin,
    requestCountFile: env.simRequestsFile,
    t0,
  });
  const competingDuring = new Set<string>();
  const progress = () => {
    for (const c of competitors()) competingDuring.add(c.replace(/^\d+ /, '').slice(0, 120));
    const st: Partial<BaselineStats> = sampler.latest.status ?? {};
    log(
      `baseline: in flight ${st.inFlight ?? '?'} (peak ${st.peakInFlight ?? '?'}), calls ${st.calls ?? '?'}, answered ${st.answered ?? '?'} ` +
        `(distinct tasks ${st.uniqueAnswered ?? '?'}), duplicate calls ${st.duplicateCalls ?? '?'}, group joins ${st.groupJoins ?? '?'}, ` +
        `sim connections ${sampler.latest.sim ?? '?'}, RSS ${num(sampler.latest.rss)} MiB, group ${sampler.latest.group ?? '?'}`,
    );
  };
  const progressTimer = setInterval(progress, 10_000);
  let ramp: Awaited<ReturnType<typeof publishRamp>>;
  try {
    ramp = await publishRamp(producer, topic, 'baseline');
    const end = t0 + opts.baselineS * 1000;
    while (performance.now() < end) {
      run.checkAborted();
      if (baseline.exit) {
        log(`baseline: the consumer exited (${JSON.stringify(baseline.exit)})`);
        break;
      }
      await sleep(500);
    }
  } finally {
    clearInterval(progressTimer);
    sampler.stop();
  }
  progress();
  const cpu = cpuUsage(cpuA, snapshot());
  const requestsAtEnd = readRequestCounts(env.simRequestsFile);
  const final = await fetch(statsUrl, { signal: AbortSignal.timeout(10_000) })
    .then((r) => r.json() as Promise<BaselineStats>)
    .catch(() => sampler.latest.status ?? ({} as BaselineStats));
  const mem = memoryOf(baseline.proc.pid);
  // Committed offsets of the group: how far Kafka considers the requests consumed.
  let committed = NaN;
  try {
    const offs = await admin.fetchOffsets({ groupId, topics: [topic] });
    committed = (offs[0]?.partitions ?? []).reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
  } catch {
    // group gone
  }
  await run.stopChild(baseline, 5_000);
  await producer.disconnect().catch(() => {});
  await admin.disconnect().catch(() => {});
  const stats = sampler.status;
  const inFlightSeries = stats.map((x) => ({ t: x.t, v: x.body?.inFlight }));
  const pIn = peakOf(inFlightSeries, 'v');
  const pSim = peakOf(
    sampler.sim.map((x) => ({ t: x.t, v: x.n })),
    'v',
  );
  const pRss = peakOf(
    sampler.rss.map((x) => ({ t: x.t, v: x.mib })),
    'v',
  );
  const joinsLog = readFileSync(baseline.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"group join"'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as { at: string }];
      } catch {
        return [];
      }
    });
  // kafkajs lines about membership, as "<message>: <error>" without the Nest prefix and the timestamps.
  const kafkajsErrors = readFileSync(baseline.logFile, 'utf8')
    .split('\n')
    .filter(
      (l) =>
        /rebalanc|not a member|not aware of this member|UNKNOWN_MEMBER|heartbeat|session/i.test(l) &&
        !l.includes('"group join"'),
    )
    .map((l) => {
      const text = l.replace(/^\[Nest\] \d+\s+-\s+.*?(AM|PM)\s+/, '');
      const brace = text.indexOf(' {');
      let error: unknown = null;
      try {
        error = brace > 0 ? (JSON.parse(text.slice(brace + 1)) as { error?: unknown }).error : null;
      } catch {
        // not JSON
      }
      return `${(brace > 0 ? text.slice(0, brace) : text).trim()}${error ? `: ${typeof error === 'string' ? error : JSON.stringify(error)}` : ''}`;
    });
  return {
    prefix,
    windowS: opts.baselineS,
    published: ramp.taskIds.length,
    peakInFlight: pIn,
    peakInFlightSelf: final.peakInFlight,
    peakSim: pSim,
    simHeld: socketsWhileHeld(
      sampler.sim,
      inFlightSeries.map((x) => ({ t: x.t, v: x.v ?? 0 })),
    ),
    simRequests: requestsBetween(requestsAtStart?.counts ?? null, requestsAtEnd?.counts ?? null),
    rssIdle,
    peakRss: pRss,
    heap: heapAt(sampler.mem, pRss.at),
    hwm: mem.hwmMiB,
    final,
    committed,
    joins: final.groupJoins,
    joinsLog,
    kafkajsErrorLines: kafkajsErrors.length,
    kafkajsErrorExamples: [
      ...kafkajsErrors.reduce(
        (m, l) => m.set(l.slice(0, 260), (m.get(l.slice(0, 260)) ?? 0) + 1),
        new Map<string, number>(),
      ),
    ]
      .slice(0, 3)
      .map(([l, n]) => `${l} (×${n})`),
    group: groupHistory(sampler.group),
    stats: responseTimes(stats),
    eld: sampler.eld
      ? {
          p50: sampler.eld.total.p50 - ELD_RESOLUTION_MS,
          p99: sampler.eld.total.p99 - ELD_RESOLUTION_MS,
          max: sampler.eld.total.max - ELD_RESOLUTION_MS,
        }
      : null,
    cpu,
    competingDuring: [...competingDuring],
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  log(
    `reasoner in-flight benchmark ${runId}: MODE=${opts.mode}, TASKS=${opts.tasks}, STEP=${opts.step}/${opts.stepIntervalS}s, THINK_MS=${opts.thinkMs}, ` +
      `CONCURRENCY=${opts.concurrency}, QUEUE_CAPACITY=${opts.queueCapacity}, EXECUTOR_TIMEOUT_S=${opts.executorTimeoutS}, BASELINE_S=${opts.baseline ? opts.baselineS : 'skipped'}`,
  );

  // Nothing else may compete for the CPU while measuring; the reasoner may still be being built by someone else.
  const competing = await waitForCompetitors(run, COMPETITORS, 'reasoner-inflight', opts.waitIdleS);
  if (opts.build) {
    log('building the reasoner (tsc -b apps/reasoner/tsconfig.json)');
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'apps/reasoner/tsconfig.json'],
      {
        cwd: root,
        stdio: 'inherit',
        timeout: 300_000,
      },
    );
  }
  for (const f of [
    'apps/reasoner/dist/main.js',
    'apps/ledger/dist/main.js',
    'apps/model-simulator/dist/main.js',
  ]) {
    if (!existsSync(join(root, f)))
      throw new Error(`${f} is missing: build first (npx tsc -b tsconfig.build.json)`);
  }
  const contracts = builtContracts();

  KAFKA_BROKER = opts.privateKafka
    ? await startPrivateKafka(run, {
        dir: join(os.tmpdir(), `bench-kafka-${runId}`),
        logName: 'kafka-private.log',
        extraProperties: ['log.retention.hours=168', 'log.segment.bytes=67108864'],
      })
    : await useLocalKafka(run);
  removeTopicsAtCleanup(run, () => KAFKA_BROKER, prefixes);
  const machineAtStart = machine();
  const codeAtStart = codeVersion();

  const simPort = await freePort();
  const simRequestsFile = join(logDir, 'model-simulator.requests.json');
  rmSync(simRequestsFile, { force: true });
  const sim = run.spawnService(
    'model-simulator',
    'apps/model-simulator/dist/main.js',
    {
      SIM_PORT: String(simPort),
      SIM_HOST: HOST,
      SIM_TIME_SCALE: '1',
      ...(modes.includes('background') && { SIM_MAX_STORED_RESPONSES: String(simMaxStoredResponses) }),
    },
    { requestCountFile: simRequestsFile },
  );
  await waitHealthy(run, sim, `http://${HOST}:${simPort}/health`);
  const env: PhaseEnv = { contracts, simUrl: `http://${HOST}:${simPort}/v1`, simPort, simRequestsFile };

  // Each executor phase on a database of its own, created fresh right before it.
  const executors: ExecutorPhase[] = [];
  let postgres = '';
  for (const mode of modes) {
    const database = await createDatabase(run, `bench_reasoner_inflight_${runId}_${mode}`);
    postgres ||= database.version.split(' on ')[0] ?? database.version;
    log(`database ${database.name} created`);
    const executor = await runExecutor(env, mode, database.url);
    executors.push({ ...executor, simAfter: memoryOf(sim.proc.pid) });
  }
  const baseline = opts.baseline ? await runBaseline(env) : null;
  const simMem = memoryOf(sim.proc.pid);

  const m: ReportMachine = {
    ...machineAtStart,
    kafka: opts.privateKafka
      ? `${kafkaJarVersion()} (throwaway single node, KRaft, started by the benchmark with the jars and settings of deploy/local/kafka.sh, PRIVATE_KAFKA=1)`
      : `${kafkaJarVersion()} (local single node, KRaft, deploy/local/kafka.sh)`,
    postgres,
    code: codeAtStart,
    fdLimit: (() => {
      try {
        return /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${process.pid}/limits`, 'utf8'))?.[1] ?? '?';
      } catch {
        return '?';
      }
    })(),
  };
  const report = render({ machine: m, competing, executors, baseline, simMem });
  console.log(`\n${report.table}\n`);
  for (const l of report.notes) console.log(l);
  console.log('');
  appendSection({ heading: INTRO_HEADING, intro: INTRO }, report.section);
  writeSummary('reasoner', report.headline, { commit: codeAtStart, startedAt });
  writeFileSync(
    join(logDir, `reasoner-inflight-${runId}.json`),
    JSON.stringify({ opts, machine: m, executors, baseline }, null, 1),
  );
  log(`raw samples: ${join(logDir, `reasoner-inflight-${runId}.json`)}`);
}

// ---------------------------------------------------------------- the report

const INTRO_HEADING = '## Reasoner in flight (`npm run bench:reasoner`)';
const INTRO = `${INTRO_HEADING}

\`bench/reasoner-inflight.ts\` measures how many slow reasoning calls one reasoner process holds in flight, against
the naive design it replaces, in one run on 127.0.0.1: the local Kafka broker (started if none is running), a fresh
Postgres database per executor phase (dropped at the end), the model simulator at \`SIM_TIME_SCALE=1\` (real thinking
time), and logs in \`.local/bench/\`.

- **Executor**: a ledger and ONE reasoner (\`apps/reasoner/dist/main.js\`, \`REASONER_CONCURRENCY\` = the target) on a
  unique topic prefix; TASKS requests with \`[[sim:think_ms=THINK_MS]]\` are published on
  \`reasoning.task.requested.v1\` in steps, and the run waits for every task's terminal event. Every call is reserved
  and settled in the ledger (no budget set, so reservations are approved). Sampled every second: the reasoner's
  RSS (\`/proc/<pid>/status\` VmRSS), its \`/health\` (in flight = executions the pool runs, including those waiting
  for the ledger; group joins), model calls in flight by the reasoner's own record (attempts with status
  \`started\`, i.e. reserved and sent to the model, not yet answered), open connections to the simulator (\`ss\`), and
  the intake group's state (kafkajs \`describeGroups\`). **Lost** = a published task with neither a terminal event
  nor an execution row at the end.
- **Modes** (\`MODE\`): \`sync\` (the default) calls the model through chat completions, one request open for the whole
  thinking time of each call; \`background\` starts the reasoner with \`LLM_REASONING_API=responses\` and
  \`LLM_REASONING_BACKGROUND=true\`: each call is submitted in the Responses API's background mode, its response id
  recorded, and it is polled with backoff (\`POLL_FIRST_MS\` 2 s, ×\`POLL_FACTOR\` 2 after each poll, at most
  \`POLL_MAX_MS\` 15 s), so between polls the reasoner holds only the poll state. \`both\` runs the background phase,
  then the sync phase as its same-run baseline, each with a fresh database, topic prefix, ledger and reasoner, and
  the report has a column per phase. A background phase also counts the **background calls in flight** (attempts
  \`started\` with a \`response_id\`: accepted by the provider and polled). Every phase counts the **requests the
  simulator received**, by route (creates, polls, cancels, chat completions), inside the simulator from Node's
  \`http.server.request.start\` diagnostics channel (loaded with \`node --import data:…\`, no service code change),
  and gives the open sockets to it as the peak and as the median of the samples taken while calls were in flight.
  With a background phase the simulator is started with \`SIM_MAX_STORED_RESPONSES\` = max(20,000, 2 × TASKS), so
  no response of the run is refused or forgotten before its last poll.
- **Event-loop lag**, two ways: the time \`/health\` takes to answer (it runs a \`SELECT 1\`, so it includes any wait
  for a pooled connection), and the delay measured inside the process by \`monitorEventLoopDelay\` (10 ms resolution,
  subtracted), loaded with \`node --import data:…\` (no service code change), over the measured phase.
- **Baseline**: \`bench/baseline/awaiting-consumer.ts\`, a plain NestJS microservice (\`Transport.KAFKA\`,
  \`@EventPattern\`) whose handler awaits the model call (openai SDK → simulator, \`sim-reasoner\`, same thinking
  time), kafkajs session timeout 30 s, on its own prefix with the same number of requests for BASELINE_S seconds.
  Its in-flight count, answers, duplicate calls (a task called again after a redelivery) and group joins are its own
  counters; its lag is the time its \`/stats\` (no I/O) takes plus the same in-process probe.
- Targets: 10,000 calls in flight in one process, 10,000 background calls in flight in one process, peak RSS
  ≤ 512 MiB, no rebalance, nothing lost.`;

type ReportMachine = Machine & { kafka: string; postgres: string; code: string; fdLimit: string };
type ExecutorPhase = Awaited<ReturnType<typeof runExecutor>> & {
  /** The simulator's memory after this phase. */
  simAfter: { hwmMiB: number };
};
interface ReportInput {
  machine: ReportMachine;
  competing: string[];
  /** The executor phases in the order they ran; the first is the one the Result column judges. */
  executors: ExecutorPhase[];
  baseline: Awaited<ReturnType<typeof runBaseline>> | null;
  simMem: { hwmMiB: number } | null;
}

// A row of the report: the metric, one cell per executor phase, the baseline's cell, the target and whether the
// first executor phase met it (null: no pass/fail target).
interface ReportRow {
  metric: string;
  cell: (e: ExecutorPhase) => string;
  baseline: string;
  target: string;
  met: (e: ExecutorPhase) => boolean | null;
}

function render({ machine: m, competing, executors, baseline: b, simMem }: ReportInput) {
  const [first] = executors;
  if (!first) throw new Error('no executor phase ran');
  const ok = (cond: boolean) => (cond ? '✅ met' : '❌ missed');
  const tsec = (v: number | undefined) =>
    v !== undefined && Number.isFinite(v) ? `${v.toFixed(0)} s` : 'n/a';
  const label = (e: ExecutorPhase) => `Executor (${e.mode})`;
  const inText = (e: ExecutorPhase) => `executor (${e.mode})`;
  // Rebalances while measuring: group joins between the phase's start and its end (start-up joins are reported apart).
  const rebalOf = (e: ExecutorPhase) =>
    e.joins && e.joinsAtStart
      ? e.joins.intake - e.joinsAtStart.intake + (e.joins.cancels - e.joinsAtStart.cancels)
      : NaN;
  const rebalBase = b ? Math.max(0, b.joins - 1) : NaN;
  const eldCell = (x: { p99: number; max: number } | null) =>
    x ? `${ms1(x.p99)} ms (max ${ms1(x.max)})` : 'not measured';
  const metOf = (e: ExecutorPhase) => ({
    inFlight: e.peakHealthInFlight.peak >= opts.tasks,
    calls: e.peakCalls.peak >= opts.tasks,
    // The issue's target for background mode: every call held as a poll state at once.
    background: e.mode === 'background' ? e.peakBackground.peak >= opts.tasks : null,
    rss: e.peakRss.peak <= 512 && e.hwm <= 512,
    rebalances: rebalOf(e) === 0,
    // The issue's target; eldCell shows the same p99 (the probe's resolution already subtracted).
    lag: e.eld ? e.eld.p99 <= 50 : null,
    lost: e.noRow === 0 && e.withOutcome === e.published,
    completed: e.kinds.completed >= opts.tasks,
  });
  const lostCell = (e: ExecutorPhase) =>
    `${num(e.noRow)}${e.withOutcome < e.published ? ` (+${num(e.published - e.withOutcome - e.noRow)} unfinished at the end)` : ''}`;
  const socketsCell = (peak: number, held: { p50: number; p90: number }) =>
    `${num(peak)} / ${num(held.p50)} (p90 ${num(held.p90)})`;
  const requestsCell = (r: ExecutorPhase['simRequests'], pollRate?: ExecutorPhase['peakPollRate']) => {
    const parts: string[] = [];
    if (r.creates || r.polls || r.cancels)
      parts.push(
        `responses: ${num(r.creates)} created, ${num(r.polls)} polls` +
          `${r.creates ? ` (${num(r.polls / r.creates, 1)} per call${pollRate && Number.isFinite(pollRate.perS) ? `, peak ${num(pollRate.perS)}/s at +${tsec(pollRate.at)}` : ''})` : ''}` +
          `, ${num(r.cancels)} cancels`,
      );
    if (r.chat) parts.push(`${num(r.chat)} chat completions`);
    if (r.other) parts.push(`${num(r.other)} other`);
    return parts.join('; ') || 'none counted';
  };
  const heapCell = (h: ReturnType<typeof heapAt>) =>
    h
      ? `${num(h.heapUsed)} of ${num(h.heapTotal)} MiB / ${num(h.peakHeapUsed)} MiB`
      : 'not measured (probe off)';

  const anyBackground = executors.some((e) => e.mode === 'background');
  const rows: ReportRow[] = [
    {
      metric: 'Peak in flight (executor: /health inFlight; baseline: handlers awaiting)',
      cell: (e) => `${num(e.peakHealthInFlight.peak)} at +${tsec(e.peakHealthInFlight.at)}`,
      baseline: b ? `${num(b.peakInFlight.peak)} (its own peak counter ${num(b.peakInFlightSelf)})` : '—',
      target: '10,000',
      met: (e) => metOf(e).inFlight,
    },
    {
      metric: 'Peak model calls in flight (executor: attempts `started`; open sockets to the simulator)',
      cell: (e) => `${num(e.peakCalls.peak)} at +${tsec(e.peakCalls.at)} (sockets ${num(e.peakSim.peak)})`,
      baseline: b ? `${num(b.peakInFlight.peak)} (sockets ${num(b.peakSim.peak)})` : '—',
      target: '10,000',
      met: (e) => metOf(e).calls,
    },
    ...(anyBackground
      ? [
          {
            metric: 'Peak background calls in flight (attempts `started` with a `response_id`)',
            cell: (e: ExecutorPhase) =>
              e.mode === 'background'
                ? `${num(e.peakBackground.peak)} at +${tsec(e.peakBackground.at)}`
                : '— (sync calls)',
            baseline: '—',
            target: '10,000',
            met: (e: ExecutorPhase) => metOf(e).background,
          },
        ]
      : []),
    {
      metric: 'Time from first publish to the peak / to all TASKS in flight',
      cell: (e) =>
        `${tsec(e.peakCalls.at)} / ${Number.isFinite(e.timeToAllCalls) ? tsec(e.timeToAllCalls) : 'never'}`,
      baseline: b ? `— / never` : '—',
      target: '—',
      met: () => null,
    },
    {
      metric: 'Open sockets to the simulator: peak / while calls are in flight (median)',
      cell: (e) => socketsCell(e.peakSim.peak, e.simHeld),
      baseline: b ? socketsCell(b.peakSim.peak, b.simHeld) : '—',
      target: '—',
      met: () => null,
    },
    {
      metric: 'Requests the simulator received during the phase (its own count, by route)',
      cell: (e) => requestsCell(e.simRequests, e.peakPollRate),
      baseline: b ? requestsCell(b.simRequests) : '—',
      target: '—',
      met: () => null,
    },
    {
      metric: 'Peak RSS (VmRSS sampled each second; VmHWM at the end)',
      cell: (e) =>
        `${num(e.peakRss.peak)} MiB at +${tsec(e.peakRss.at)} (HWM ${num(e.hwm)}; idle ${num(e.rssIdle)}; ${num(e.rssHold.peak)} before the first completion)`,
      baseline: b ? `${num(b.peakRss.peak)} MiB (HWM ${num(b.hwm)} MiB; idle ${num(b.rssIdle)} MiB)` : '—',
      target: '≤ 512 MiB',
      met: (e) => metOf(e).rss,
    },
    {
      metric: 'Heap used at the RSS peak / highest heap used (in-process probe)',
      cell: (e) => heapCell(e.heap),
      baseline: b ? heapCell(b.heap) : '—',
      target: '—',
      met: () => null,
    },
    {
      metric: 'Event-loop lag p99 — in-process monitorEventLoopDelay',
      cell: (e) => eldCell(e.eld),
      baseline: b ? eldCell(b.eld) : '—',
      target: '≤ 50 ms',
      met: (e) => metOf(e).lag,
    },
    {
      metric:
        'Event-loop lag p99 — status endpoint response time (executor /health incl. SELECT 1; baseline /stats)',
      cell: (e) => `${ms1(e.health.p99)} ms (p50 ${ms1(e.health.p50)}, max ${ms1(e.health.max)})`,
      baseline: b ? `${ms1(b.stats.p99)} ms (p50 ${ms1(b.stats.p50)}, max ${ms1(b.stats.max)})` : '—',
      target: '—',
      met: () => null,
    },
    {
      metric: 'Rebalances during the phase (group joins; describeGroups rebalances seen)',
      cell: (e) =>
        `${num(rebalOf(e))} (joins since start: intake ${e.joins?.intake ?? '?'}, cancels ${e.joins?.cancels ?? '?'}; seen ${e.group.rebalances})`,
      baseline: b
        ? `${num(rebalBase)} (joins ${b.joins}; seen ${b.group.rebalances}; ${b.group.members} member ids)`
        : '—',
      target: '0',
      met: (e) => metOf(e).rebalances,
    },
    {
      metric: `Completed of ${num(opts.tasks)}`,
      cell: (e) =>
        `${num(e.kinds.completed)} (failed ${e.kinds.failed}, escalated ${e.kinds.escalated}, cancelled ${e.kinds.cancelled}) in ${tsec(e.lastCompletionT)}`,
      baseline: b
        ? `${num(b.final.uniqueAnswered)} tasks answered in ${b.windowS} s (${num(b.final.answered)} calls answered; Kafka offsets committed ${num(b.committed)})`
        : '—',
      target: num(opts.tasks),
      met: (e) => metOf(e).completed,
    },
    {
      metric: 'Duplicate model calls (same task called again)',
      cell: (e) => `${num(e.duplicateOutcomes)} duplicate terminal events`,
      baseline: b ? `${num(b.final.duplicateCalls)} of ${num(b.final.calls)} calls` : '—',
      target: '0',
      met: () => null,
    },
    {
      metric: 'Lost (published, no terminal event and no execution row)',
      cell: lostCell,
      baseline: b
        ? `not measured (${num(b.published - b.final.uniqueAnswered)} never answered in the window; still in Kafka)`
        : '—',
      target: '0',
      met: (e) => metOf(e).lost,
    },
  ];
  const resultCell = (v: boolean | null) => (v === null ? '—' : ok(v));
  const header = [
    'Metric',
    ...executors.map((e) => `${label(e)}, one reasoner`),
    'Baseline (awaiting @EventPattern consumer)',
    'Target',
    executors.length > 1 ? `Result (${first.mode})` : 'Result',
  ];
  const cells = rows.map((r) => [
    r.metric,
    ...executors.map((e) => r.cell(e)),
    r.baseline,
    r.target,
    resultCell(r.met(first)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => String(r[i]).length)));
  const line = (row: readonly (string | number)[]) =>
    `| ${row.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const table = [
    line(header),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...cells.map(line),
  ].join('\n');

  // The headline rows, for `npm run bench`'s table, per executor phase (named by its mode unless the run had only
  // the sync one); the baseline is the awaiting @EventPattern consumer.
  const named = executors.length > 1 || first.mode !== 'sync';
  const headline: SummaryRow[] = executors.flatMap((e) => {
    const met = metOf(e);
    const metric = (name: string) => (named ? `${name} — ${e.mode}` : name);
    return [
      {
        metric: metric('Peak in flight (/health inFlight)'),
        target: '10,000',
        baseline: b ? num(b.peakInFlight.peak) : null,
        result: num(e.peakHealthInFlight.peak),
        ratio: null,
        met: met.inFlight,
      },
      {
        metric: metric('Peak model calls in flight'),
        target: '10,000',
        baseline: b ? num(b.peakInFlight.peak) : null,
        result: num(e.peakCalls.peak),
        ratio: null,
        met: met.calls,
      },
      ...(e.mode === 'background'
        ? [
            {
              metric: metric('Peak background calls in flight'),
              target: '10,000',
              baseline: null,
              result: num(e.peakBackground.peak),
              ratio: null,
              met: met.background,
            },
          ]
        : []),
      {
        metric: metric('Peak RSS (MiB)'),
        target: '≤ 512 MiB',
        baseline: b ? `${num(b.peakRss.peak)} (HWM ${num(b.hwm)})` : null,
        result: `${num(e.peakRss.peak)} (HWM ${num(e.hwm)})`,
        ratio: null,
        met: met.rss,
      },
      {
        metric: metric('Event-loop lag p99 (in-process)'),
        target: '≤ 50 ms',
        baseline: b ? eldCell(b.eld) : null,
        result: eldCell(e.eld),
        ratio: null,
        met: met.lag,
      },
      {
        metric: metric('Rebalances during the phase'),
        target: '0',
        baseline: b ? num(rebalBase) : null,
        result: num(rebalOf(e)),
        ratio: null,
        met: met.rebalances,
      },
      {
        metric: metric('Lost'),
        target: '0',
        baseline: null,
        result: lostCell(e),
        ratio: null,
        met: met.lost,
      },
    ];
  });

  const notes: string[] = [];
  const pollLine = `polled ${opts.pollFirstMs} ms after it is accepted, then with the wait ×${opts.pollFactor} after each poll up to ${opts.pollMaxMs} ms`;
  const phases = executors
    .map((e) =>
      e.mode === 'background'
        ? `the executor in background mode (LLM_REASONING_API=responses, LLM_REASONING_BACKGROUND=true; each call ${pollLine})`
        : `the executor in sync mode (chat completions, one request open per call)${executors.length > 1 ? ' as its same-run baseline' : ''}`,
    )
    .join(', then ');
  notes.push(
    `- Method: one run; ${phases}${executors.length > 1 ? ', each with a fresh database, topic prefix, ledger and reasoner' : ''} (TASKS requests published ${opts.step} every ${opts.stepIntervalS} s, all within ${first.publishS.toFixed(0)} s, each asking for ${opts.thinkMs / 1000} s of real thinking)${b ? `, then the baseline on its own prefix with the same requests for ${opts.baselineS} s` : ''}; every figure sampled once a second from outside the process (RSS from /proc, /health, the reasoner's attempts table, ss, describeGroups) plus the in-process event-loop probe, and the simulator's own count of the requests it received by route; lag p99 over the phase until the last completion.`,
  );
  const perS = (n: number, s: number) => (Number.isFinite(n) && s > 0 ? `${num(n / s, 0)}/s` : 'n/a');
  for (const e of executors) {
    notes.push(
      `- ${label(e)} timeline (s after the first publish): executions stored for all ${num(opts.tasks)} at ${tsec(e.intakeDoneT)}; first model call ${tsec(e.firstCallT)}; all calls started ${tsec(e.allStartedT)}` +
        `${Number.isFinite(e.allStartedT) && Number.isFinite(e.firstCallT) ? ` (${perS(opts.tasks, e.allStartedT - e.firstCallT)})` : ''}` +
        `${e.mode === 'background' ? `; all ${num(opts.tasks)} accepted by the provider and held as a poll state at once ${Number.isFinite(e.timeToAllBackground) ? `at ${tsec(e.timeToAllBackground)}` : 'never'}` : ''}` +
        `; first completion ${tsec(e.firstCompletionT)}, by which ${num(e.startedAtFirstCompletion)} calls had started; last completion ${tsec(e.lastCompletionT)}.`,
    );
    if (Object.keys(e.answeredBy).length)
      notes.push(
        `- ${label(e)} answers by: ${Object.entries(e.answeredBy)
          .map(([k, v]) => `${k} ${num(v)}`)
          .join(', ')}.`,
      );
    notes.push(
      `- ${label(e)} database at the end: executions ${e.dbFinal.map((r) => `${r.status} ${num(r.n)}${r.unpublished ? ` (${r.unpublished} unpublished)` : ''}`).join(', ')}; ledger reservations ${e.reservations.map((r) => `${r.status} ${num(r.n)}`).join(', ') || 'n/a'}` +
        `${e.failReasons.length ? `; attempts not answered: ${e.failReasons.map((r) => `${r.reason} (${r.tier}) ${r.n}`).join(', ')}` : ''}.`,
    );
    notes.push(
      `- ${label(e)} event loop: in-process delay ${e.eld ? `p50 ${ms1(e.eld.p50)} ms, p99 ${ms1(e.eld.p99)} ms, p99.9 ${ms1(e.eld.p999)} ms, max ${ms1(e.eld.max)} ms (worst second at +${tsec(e.eld.worstSecond.at)})` : 'not measured'}; /health answered ${e.health.n} times, ${e.health.skipped} seconds skipped because the previous /health had not answered yet, ${e.health.errors} errors${e.health.errorSample ? ` (${e.health.errorSample})` : ''}.`,
    );
    notes.push(
      `- ${label(e)} group joins reported by /health: ${e.joinsFirst.intake}/${e.joinsFirst.cancels} (intake/cancels) when it first answered, ${e.joinsAtStart.intake}/${e.joinsAtStart.cancels} when the phase started, ${e.joins ? `${e.joins.intake}/${e.joins.cancels}` : '?'} at the end; intake group (describeGroups each second): ${e.group.samples} samples, ${e.group.notStable} not Stable, ${e.group.members} member id(s)${e.group.transitions.length ? `, transitions ${e.group.transitions.slice(0, 6).join(', ')}` : ''}.`,
    );
    notes.push(`- CPU, ${inText(e)} phase: ${cpuLine(e.cpu)}.`);
    const heapLine = (h: ReturnType<typeof heapAt>) =>
      h
        ? `at the peak: heap used ${num(h.heapUsed)} of ${num(h.heapTotal)} MiB, external ${num(h.external)} MiB (array buffers ${num(h.arrayBuffers)}); highest heap used ${num(h.peakHeapUsed)} MiB`
        : 'no heap split (probe off)';
    notes.push(
      `- Memory, ${inText(e)}: reasoner peak RSS ${num(e.peakRss.peak)} MiB at +${tsec(e.peakRss.at)} — ${heapLine(e.heap)}; RSS at the end ${num(e.rssEnd)} MiB; ledger HWM ${num(e.ledgerHwm)} MiB; simulator HWM ${num(e.simAfter.hwmMiB)} MiB after the phase.`,
    );
    notes.push(
      `- ${label(e)} reasoner stop after the phase: ${(e.stopMs / 1000).toFixed(1)} s (exit ${e.exit ? `code ${e.exit.code}, signal ${e.exit.signal}` : '?'}). Logs during the phase (${e.logFile}, LOG_LEVEL=${opts.reasonerLogLevel}): ${e.logs.lines} lines, ${e.logs.warn} warn, ${e.logs.error} error` +
        `${e.logs.examples.length ? `; e.g. ${e.logs.examples.map((x) => `\`${x.replaceAll('`', "'")}\``).join('; ')}` : ''}. Ledger (${e.ledgerLogFile}): ${e.ledgerLogs.lines} lines, ${e.ledgerLogs.warn} warn, ${e.ledgerLogs.error} error` +
        `${e.ledgerLogs.examples.length ? `; e.g. ${e.ledgerLogs.examples.map((x) => `\`${x.replaceAll('`', "'")}\``).join('; ')}` : ''}.`,
    );
    if (e.competingDuring.length)
      notes.push(
        `- ⚠ Seen running during the ${inText(e)} phase (they competed for the CPU): ${e.competingDuring.join('; ')}.`,
      );
  }
  if (simMem) notes.push(`- Simulator HWM at the end of the run: ${num(simMem.hwmMiB)} MiB.`);
  if (b) {
    const joinTimes = b.joinsLog.map((j) => j.at.slice(11, 19)).join(', ');
    notes.push(
      `- Baseline: ${num(b.final.calls)} model calls started, ${num(b.final.answered)} answered, ${num(b.final.failed)} failed${b.final.lastError ? ` (last error: ${b.final.lastError})` : ''}; ${num(b.final.distinctTasksCalled)} distinct tasks called, the most-called task ${b.final.maxCallsOfOneTask} times; ` +
        `kafkajs REBALANCING events ${b.final.rebalancing}, crashes ${b.final.crashes}; group joins at ${joinTimes || 'n/a'} (UTC); describeGroups: ${b.group.notStable} of ${b.group.samples} samples not Stable${b.group.transitions.length ? `, ${b.group.transitions.slice(0, 8).join(', ')}` : ''}.`,
    );
    if (b.kafkajsErrorExamples.length)
      notes.push(
        `- Baseline kafkajs log (${b.kafkajsErrorLines} lines about rebalances/heartbeats/membership in .local/bench/baseline-awaiting-consumer.log), e.g. ${b.kafkajsErrorExamples.map((x) => `\`${x.replaceAll('`', "'")}\``).join('; ')}.`,
      );
    notes.push(`- CPU, baseline phase: ${cpuLine(b.cpu)}.`);
  }
  if (competing.length)
    notes.push(`- ⚠ Still running when the measurement started: ${competing.join('; ')}.`);
  if (b?.competingDuring.length)
    notes.push(`- ⚠ Seen running during the baseline phase: ${b.competingDuring.join('; ')}.`);

  const params = [
    `MODE=${opts.mode}`,
    `TASKS=${opts.tasks}`,
    `STEP=${opts.step} every ${opts.stepIntervalS} s`,
    `THINK_MS=${opts.thinkMs} (SIM_TIME_SCALE=1)`,
    ...(anyBackground
      ? [
          `background polls LLM_BACKGROUND_POLL_FIRST_MS=${opts.pollFirstMs}, LLM_BACKGROUND_POLL_FACTOR=${opts.pollFactor}, LLM_BACKGROUND_POLL_MAX_MS=${opts.pollMaxMs}`,
          `simulator SIM_MAX_STORED_RESPONSES=${simMaxStoredResponses}`,
        ]
      : []),
    `REASONER_CONCURRENCY=${opts.concurrency}`,
    `REASONER_QUEUE_CAPACITY=${opts.queueCapacity}`,
    `TENANTS=${opts.tenants}`,
    `maxThinkingTokens=${opts.maxThinkingTokens}`,
    `reasoner LEDGER_TIMEOUT_MS=${opts.ledgerTimeoutMs}`,
    `ledger LEDGER_COMMAND_CONCURRENCY=${opts.ledgerCommandConcurrency}`,
    `DATABASE_POOL_SIZE=${opts.dbPoolSize} (reasoner and ledger)`,
    `other reasoner settings default (lease 30 s, intake concurrency 64)`,
    `reasoner LOG_LEVEL=${opts.reasonerLogLevel}`,
    `EXECUTOR_TIMEOUT_S=${opts.executorTimeoutS}`,
    opts.baseline
      ? `BASELINE_S=${opts.baselineS}, baseline partitionsConsumedConcurrently=${opts.baselinePartitions}, sessionTimeout 30 s`
      : 'baseline skipped',
    `open-file limit ${m.fdLimit}`,
  ];
  const section = [
    `### Reasoner in flight — ${new Date().toISOString()}`,
    '',
    `- Machine: ${machineLine(m)}; Kafka ${m.kafka}; ${m.postgres}`,
    `- Code: ${m.code}`,
    `- Parameters: ${params.join(', ')}`,
    '',
    table,
    '',
    ...notes,
  ].join('\n');
  return { table, notes, section, headline };
}

run.main(main);
