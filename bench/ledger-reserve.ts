// Ledger reserve/settle benchmark: what the cost ledger's authorize-then-capture costs through its real path
// (LedgerClient → Kafka request-reply → ledger → Postgres), and what it buys, against the naive check-then-write
// that gateways use (SELECT the spend, compare with the limit, then UPDATE the spend in a separate statement),
// measured in the same run on the same Postgres. Everything runs on 127.0.0.1:
//   1. ledger throughput: CONCURRENCY callers loop reserve (sim-fast, 1000 input + 1000 output tokens = 750 micro-USD
//      worst case) then, if approved, settle with a smaller actual usage (1000 input + 500 output = 450 micro-USD,
//      a unique usageEventId each), until PAIRS reserves were attempted or TIME_CAP_S passed; the tenant's daily
//      budget fits BUDGET_K worst cases (by default about 90% of the pairs, so it runs out near the end);
//   2. ledger exactly-N: STAMPEDE reserves at once, no settle, against a daily budget that fits exactly FIT worst
//      cases: exactly FIT must be approved, nothing spent or held past the limit;
//   3. naive baseline: the same two phases against the benchmark's own one-row table (bench_naive.spend), with
//      CONCURRENCY callers each on its own connection: SELECT spent; if spent + worst case ≤ limit, UPDATE
//      spent = spent + cost (no lock, no conditional update, no transaction).
// The results are printed and appended as a dated section to docs/benchmarks.md.
//
//   npm run bench:ledger [-- --pairs=N --concurrency=N]    (bench/ledger-reserve.ts, run by Node 24's type stripping)
// Options (flag or environment variable):
//   PAIRS (5000)           reserves attempted in each throughput phase (ledger and naive)
//   CONCURRENCY (64)       callers in the throughput phases, and naive callers in the exactly-N phase
//   BUDGET_K (derived)     throughput budget = BUDGET_K worst cases; default round(0.9 × PAIRS × 450 / 750)
//   STAMPEDE (1000)        concurrent reserves in the exactly-N phase
//   FIT (100)              worst cases the exactly-N budget fits
//   WARMUP (300)           unmeasured reserve+settle pairs on a tenant without a budget, before the ledger phases
//   TIME_CAP_S (120)       each throughput phase stops starting pairs after this long
//   WAIT_IDLE_S (900)      wait this long for other benchmarks and test runs (pgrep 'jest|fast-path') to finish,
//                          then for other processes to use < 25% of the CPU (the report flags a busy machine)
//   BENCH_TIMEOUT_S (1200) hard limit for the whole run
//   LEDGER_COMMAND_CONCURRENCY, DATABASE_POOL_SIZE   passed to the ledger (its defaults otherwise: 6, 10)
//   NO_DOCS=1              do not append to docs/benchmarks.md
// Child log: .local/bench/ledger.log (the benchmark's own LedgerClient log: .local/bench/ledger-bench-client.log).
// Kafka is started if it is not running, and stopped only if started here. The ledger process, the database, the
// topics and the consumer groups are removed at the end, on error and on SIGINT/SIGTERM.

import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { byComponent, cpuDelta, cpuSnapshot, type CpuSnapshot, ticksToMs, topForeign } from './lib/cpu.ts';
import { requireFromRoot } from './lib/built.ts';
import { signedIdentity } from './lib/internal-auth.ts';
import { kafkaJarVersion, removeTopicsAtCleanup, useLocalKafka } from './lib/kafka.ts';
import { codeVersion, machine, machineLine, type Machine } from './lib/machine.ts';
import { helpFromHeader, numberOption } from './lib/options.ts';
import { createDatabase, oneRow } from './lib/pg.ts';
import { appendSection } from './lib/report.ts';
import { type SummaryRow, writeSummary } from './lib/summary.ts';
import { BenchRun, freePort, HOST, log, logDir, root, waitForCompetitors, waitHealthy } from './lib/run.ts';
import { bump, errorMessage, ms, num, summary, type Summary } from './lib/stats.ts';

type LedgerClientModule = typeof import('@deliberate/ledger-client');
type LedgerClient = InstanceType<LedgerClientModule['LedgerClient']>;
type NestCommon = typeof import('@nestjs/common');

helpFromHeader(import.meta.url);
const APP_NAME = 'ledger-bench'; // application_name of the benchmark's own connections
const runId = randomBytes(4).toString('hex');
const INTERNAL_KEY = `bench-internal-${randomBytes(16).toString('hex')}`;
const CLIENT_TIMEOUT_MS = 30_000;

// One call: sim-fast at 0.15 USD/M input and 0.60 USD/M output (seeded prices).
const MODEL = 'sim-fast';
const EST_INPUT = 1_000;
const MAX_OUTPUT = 1_000;
const WORST = 750; // 1000 × 0.15 + 1000 × 0.60 micro-USD
const ACTUAL_USAGE = { inputTokens: 1_000, cachedInputTokens: 0, outputTokens: 500, reasoningTokens: 0 };
const ACTUAL = 450; // 1000 × 0.15 + 500 × 0.60 micro-USD

const pairs = numberOption('PAIRS', 5000, { max: 1_000_000 });
const opts = {
  pairs,
  concurrency: numberOption('CONCURRENCY', 64, { max: 1000 }),
  budgetK: numberOption('BUDGET_K', Math.max(1, Math.round((0.9 * pairs * ACTUAL) / WORST)), {
    max: 100_000_000,
  }),
  stampede: numberOption('STAMPEDE', 1000, { max: 20_000 }),
  fit: numberOption('FIT', 100, { max: 20_000 }),
  warmup: numberOption('WARMUP', 300, { min: 0, max: 100_000 }),
  timeCapS: numberOption('TIME_CAP_S', 120, { max: 3600 }),
  waitIdleS: numberOption('WAIT_IDLE_S', 900, { min: 0, max: 7200 }),
  benchTimeoutS: numberOption('BENCH_TIMEOUT_S', 1200, { min: 60, max: 7200 }),
  commandConcurrency: process.env.LEDGER_COMMAND_CONCURRENCY || undefined,
  poolSize: process.env.DATABASE_POOL_SIZE || undefined,
};
if (opts.fit > opts.stampede) throw new Error('FIT must not exceed STAMPEDE');

const run = new BenchRun(opts.benchTimeoutS);

function logLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------- CPU by component, from /proc

const GROUPS = ['ledger', 'kafka', 'postgres', 'bench', 'other'] as const;
type Group = (typeof GROUPS)[number];
interface CpuUsage {
  busy: number;
  perUnit: Record<Group, number>;
  cores: Record<Group, number>;
  seconds: number;
  topOthers: string[];
}
const snapshot = (): CpuSnapshot =>
  cpuSnapshot(
    byComponent(new Map([...run.children.map((c) => [c.proc.pid, c.name] as const), [process.pid, 'bench']])),
  );
/** CPU ms per unit (pair/attempt) by component and the machine's busy share between two snapshots. */
function cpuUsage(a: CpuSnapshot, b: CpuSnapshot, units: number): CpuUsage {
  const d = cpuDelta(a, b);
  const perUnit = {} as Record<Group, number>;
  const cores = {} as Record<Group, number>;
  for (const g of GROUPS) {
    const cpuMs = ticksToMs(g === 'other' ? d.foreign : (d.byGroup.get(g) ?? 0));
    perUnit[g] = units > 0 ? cpuMs / units : NaN;
    cores[g] = d.seconds > 0 ? cpuMs / 1000 / d.seconds : NaN; // share of one core
  }
  const topOthers = topForeign(d).map(
    ([label, v]) => `${label} ${(ticksToMs(v) / 10 / d.seconds).toFixed(0)}%`,
  );
  return { busy: d.busy, perUnit, cores, seconds: d.seconds, topOthers };
}

// ---------------------------------------------------------------- the ledger, through LedgerClient

// The benchmark's LedgerClient logs (Nest Logger) go to a file, counted, not to the progress output.
const clientLogFile = join(logDir, 'ledger-bench-client.log');
let clientLogFd: number | null = null;
const clientLogCounts = { warn: 0, error: 0 };
function benchNestLogger() {
  const write =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) => {
      if (level === 'warn' || level === 'error') clientLogCounts[level] += 1;
      if (clientLogFd === null) return;
      const line = JSON.stringify({ t: new Date().toISOString(), level, message, context: rest.at(-1) });
      try {
        writeSync(clientLogFd, `${line}\n`);
      } catch {
        // closed at exit
      }
    };
  return {
    log: write('log'),
    error: write('error'),
    warn: write('warn'),
    debug: write('debug'),
    verbose: write('verbose'),
    fatal: write('error'),
  };
}

async function putBudget(url: string, tenantId: string, body: Record<string, unknown>) {
  const json = JSON.stringify(body);
  const r = await fetch(`${url}/v1/ledger/budgets`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      ...signedIdentity('ledger', INTERNAL_KEY, 'PUT', '/v1/ledger/budgets', json, {
        kind: 'tenant',
        tenantId,
        role: 'admin',
        keyId: `bench-${tenantId}-admin`,
      }),
    },
    body: json,
    signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`PUT budget for ${tenantId}: ${r.status} ${text}`);
  return JSON.parse(text) as { dailyLimitMicroUsd: number };
}

const reserveRequest = (tenantId: string) => ({
  tenantId,
  taskId: randomUUID(),
  model: MODEL,
  estimatedInputTokens: EST_INPUT,
  maxOutputTokens: MAX_OUTPUT,
});

/**
 * CONCURRENCY callers, each looping reserve → (approved) settle, until `total` reserves were attempted or the time
 * cap passed. Latencies in ms, per command.
 */
interface LedgerLoopOptions {
  label: string;
  capS: number;
  concurrency: number;
  onProgress?: (s: LedgerLoopState) => void;
}
interface LedgerLoopState {
  attempts: number;
  approved: number;
  settled: number;
  denied: Map<string, number>;
  settleErrors: Map<string, number>;
  wrongAmount: number;
  wrongCost: number;
  reserveMs: number[];
  settleMs: number[];
  trace: [string, number, number, string, number, number][];
  inFlight: number;
  startedAt: number;
  endedAt: number;
  cappedByTime: boolean;
  lastUnavailable?: string;
  lastSettleError?: string;
}

async function ledgerLoop(
  client: LedgerClient,
  tenantId: string,
  total: number,
  { label, capS, concurrency, onProgress }: LedgerLoopOptions,
): Promise<LedgerLoopState> {
  const s: LedgerLoopState = {
    attempts: 0,
    approved: 0,
    settled: 0,
    denied: new Map(), // reason → count
    settleErrors: new Map(),
    wrongAmount: 0,
    wrongCost: 0,
    reserveMs: [],
    settleMs: [],
    // Epoch ms of each approved pair: reserve sent / answered, settle sent / answered, to split against the
    // moments the ledger's handlers started (reservations.created_at, bookings.event_time).
    trace: [],
    inFlight: 0,
    startedAt: performance.now(),
    endedAt: NaN,
    cappedByTime: false,
  };
  const deadline = s.startedAt + capS * 1000;
  const stopTicker = onProgress ? run.ticker(() => onProgress(s), 2000) : () => {};
  const worker = async () => {
    while (!run.aborted && s.attempts < total) {
      if (performance.now() > deadline) {
        s.cappedByTime = true;
        break;
      }
      s.attempts += 1;
      s.inFlight += 1;
      try {
        const sentAt = Date.now();
        const t0 = performance.now();
        const r = await client.reserve(reserveRequest(tenantId));
        const t1 = performance.now();
        const answeredAt = Date.now();
        s.reserveMs.push(t1 - t0);
        if (!r.approved) {
          bump(s.denied, r.reason);
          if (r.reason === 'ledger_unavailable' || r.reason === 'invalid_request')
            s.lastUnavailable = r.message;
          continue;
        }
        s.approved += 1;
        if (r.amountMicroUsd !== WORST) s.wrongAmount += 1;
        try {
          const usageEventId = `bench-${label}-${randomUUID()}`;
          const settleSentAt = Date.now();
          const t2 = performance.now();
          const reply = await client.settle({
            reservationId: r.reservationId,
            usageEventId,
            model: MODEL,
            usage: ACTUAL_USAGE,
          });
          s.settleMs.push(performance.now() - t2);
          s.trace.push([r.reservationId, sentAt, answeredAt, usageEventId, settleSentAt, Date.now()]);
          if (reply.booked) {
            s.settled += 1;
            if (reply.costMicroUsd !== ACTUAL) s.wrongCost += 1;
          } else {
            bump(s.settleErrors, 'not booked');
            s.lastSettleError = reply.message ?? undefined;
          }
        } catch (e) {
          bump(s.settleErrors, e instanceof Error ? e.name : 'Error');
          s.lastSettleError = errorMessage(e);
        }
      } finally {
        s.inFlight -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  s.endedAt = performance.now();
  stopTicker();
  return s;
}

const deniedTotal = (s: LedgerLoopState): number => [...s.denied.values()].reduce((a, b) => a + b, 0);
const mapText = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

// pg_stat_activity of the ledger's connections, sampled while a phase runs: is it waiting on Postgres?
function sampleLedgerConnections(pool: pg.Pool, dbName: string, everyMs = 100) {
  const acc = {
    samples: 0,
    active: 0,
    idleInTx: 0,
    idle: 0,
    lockWaits: 0,
    total: 0,
    waits: new Map<string, number>(),
  };
  let running = true;
  const loop = (async () => {
    while (running && !run.aborted) {
      try {
        const { rows } = await pool.query<{
          state: string;
          wait_event_type: string | null;
          wait_event: string | null;
          n: number;
        }>(
          `SELECT state, wait_event_type, wait_event, count(*)::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND backend_type = 'client backend' AND application_name <> $2
            GROUP BY 1, 2, 3`,
          [dbName, APP_NAME],
        );
        acc.samples += 1;
        for (const r of rows) {
          acc.total += r.n;
          if (r.state === 'active') acc.active += r.n;
          else if (r.state === 'idle in transaction') acc.idleInTx += r.n;
          else if (r.state === 'idle') acc.idle += r.n;
          if (r.wait_event_type === 'Lock') acc.lockWaits += r.n;
          if (r.state === 'active' && r.wait_event_type) {
            const key = `${r.wait_event_type}:${r.wait_event}`;
            acc.waits.set(key, (acc.waits.get(key) ?? 0) + r.n);
          }
        }
      } catch {
        // the sample is skipped
      }
      await sleep(everyMs);
    }
  })();
  return async () => {
    running = false;
    await loop;
    const avg = (v: number) => (acc.samples ? v / acc.samples : NaN);
    return {
      samples: acc.samples,
      connections: avg(acc.total),
      active: avg(acc.active),
      idleInTx: avg(acc.idleInTx),
      idle: avg(acc.idle),
      lockWaits: avg(acc.lockWaits),
      waits: [...acc.waits]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 4)
        .map(([k, v]) => `${k} ${avg(v).toFixed(2)}`),
    };
  };
}

/** Splits each pair's latencies at the moments the ledger's handlers started, from the ledger's own rows. */
async function splitLatencies(pool: pg.Pool, tenantId: string, trace: LedgerLoopState['trace']) {
  const { rows: res } = await pool.query<{ id: string; at: number }>(
    `SELECT id::text AS id, (extract(epoch FROM created_at) * 1000)::float8 AS at
       FROM ledger.reservations WHERE tenant_id = $1`,
    [tenantId],
  );
  const { rows: bk } = await pool.query<{ id: string; at: number }>(
    `SELECT event_id AS id, (extract(epoch FROM event_time) * 1000)::float8 AS at
       FROM ledger.bookings WHERE tenant_id = $1`,
    [tenantId],
  );
  const reservedAt = new Map(res.map((r) => [r.id, r.at]));
  const bookedAt = new Map(bk.map((r) => [r.id, r.at]));
  const reserveIn: number[] = [];
  const reserveOut: number[] = [];
  const settleIn: number[] = [];
  const settleOut: number[] = [];
  for (const [reservationId, sent, answered, eventId, settleSent, settleAnswered] of trace) {
    const a = reservedAt.get(reservationId);
    if (a !== undefined) {
      reserveIn.push(a - sent);
      reserveOut.push(answered - a);
    }
    const b = bookedAt.get(eventId);
    if (b !== undefined) {
      settleIn.push(b - settleSent);
      settleOut.push(settleAnswered - b);
    }
  }
  return {
    reserveIn: summary(reserveIn),
    reserveOut: summary(reserveOut),
    settleIn: summary(settleIn),
    settleOut: summary(settleOut),
  };
}

// After every booked settle the cost breaker sums the tenant's bookings of its window (breakerWindowSeconds, 60 s
// by default), even when no breaker rate is set: what that query costs at the end of the phase, by EXPLAIN ANALYZE.
interface PlanNode {
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

async function measureWindowSum(pool: pg.Pool, tenantId: string) {
  const times: number[] = [];
  let rows = NaN;
  for (let i = 0; i < 5; i++) {
    const { rows: plan } = await pool.query<{ 'QUERY PLAN': { 'Execution Time': number; Plan: PlanNode }[] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON)
       SELECT COALESCE(SUM(cost_micro_usd), 0)::text AS spent FROM ledger.bookings
        WHERE tenant_id = $1 AND event_time > now() - interval '60 seconds'`,
      [tenantId],
    );
    const top = plan[0]?.['QUERY PLAN'][0];
    if (!top) continue;
    times.push(top['Execution Time']);
    rows = top.Plan.Plans?.[0]?.['Actual Rows'] ?? NaN;
  }
  return { rows, ms: summary(times).p50 };
}

async function dayCounter(pool: pg.Pool, tenantId: string) {
  const { rows } = await pool.query<{ spent: string; reserved: string; limit: string }>(
    `SELECT c.spent_micro_usd::text AS spent, c.reserved_micro_usd::text AS reserved,
            b.daily_limit_micro_usd::text AS "limit"
       FROM ledger.spend_counters c
       JOIN ledger.budgets b ON b.tenant_id = c.tenant_id AND b.scope = 'tenant' AND b.scope_id = c.tenant_id
      WHERE c.tenant_id = $1 AND c.scope = 'tenant' AND c.period = 'day'
      ORDER BY c.period_start DESC`,
    [tenantId],
  );
  const r = rows[0];
  if (rows.length !== 1 || !r)
    throw new Error(`expected one day counter for ${tenantId}, found ${rows.length}`);
  return { spent: Number(r.spent), reserved: Number(r.reserved), limit: Number(r.limit) };
}

// ---------------------------------------------------------------- the naive baseline

// Check-then-write, as a gateway does it: read the spend, compare, then write it in a separate statement. No lock,
// no conditional update, no transaction: each caller has its own connection (the narrowest race window there is).
interface NaiveLoopState {
  attempts: number;
  approved: number;
  denied: number;
  errors: number;
  checkMs: number[];
  writeMs: number[];
  startedAt: number;
  endedAt: number;
  cappedByTime: boolean;
  settled?: number;
}

async function naiveLoop(
  clients: pg.Client[],
  tenantId: string,
  limit: number,
  total: number,
  { cost, capS, onProgress }: { cost: number; capS: number; onProgress?: (s: NaiveLoopState) => void },
): Promise<NaiveLoopState> {
  const s: NaiveLoopState = {
    attempts: 0,
    approved: 0,
    denied: 0,
    errors: 0,
    checkMs: [],
    writeMs: [],
    startedAt: performance.now(),
    endedAt: NaN,
    cappedByTime: false,
  };
  const deadline = s.startedAt + capS * 1000;
  const stopTicker = onProgress ? run.ticker(() => onProgress(s), 2000) : () => {};
  const worker = async (c: pg.Client) => {
    while (!run.aborted && s.attempts < total) {
      if (performance.now() > deadline) {
        s.cappedByTime = true;
        break;
      }
      s.attempts += 1;
      try {
        const t0 = performance.now();
        const { spent_micro_usd: spent } = await oneRow<{ spent_micro_usd: string }>(
          c,
          'SELECT spent_micro_usd FROM bench_naive.spend WHERE tenant_id = $1',
          [tenantId],
        );
        const t1 = performance.now();
        s.checkMs.push(t1 - t0);
        if (Number(spent) + WORST > limit) {
          s.denied += 1;
          continue;
        }
        s.approved += 1;
        await c.query(
          'UPDATE bench_naive.spend SET spent_micro_usd = spent_micro_usd + $2 WHERE tenant_id = $1',
          [tenantId, cost],
        );
        s.writeMs.push(performance.now() - t1);
      } catch {
        s.errors += 1;
      }
    }
  };
  await Promise.all(clients.map(worker));
  s.endedAt = performance.now();
  stopTicker();
  return s;
}

async function naiveSpent(pool: pg.Pool, tenantId: string): Promise<number> {
  const row = await oneRow<{ s: string }>(
    pool,
    'SELECT spent_micro_usd::text AS s FROM bench_naive.spend WHERE tenant_id = $1',
    [tenantId],
  );
  return Number(row.s);
}

// ---------------------------------------------------------------- main

async function main(): Promise<boolean> {
  const startedAt = new Date().toISOString();
  for (const f of ['apps/ledger/dist/main.js', 'libs/ledger-client/dist/index.js']) {
    if (!existsSync(join(root, f)))
      throw new Error(`${f} is missing: build first (npx tsc -b tsconfig.build.json)`);
  }
  log(
    `ledger reserve/settle benchmark: PAIRS=${opts.pairs}, CONCURRENCY=${opts.concurrency}, BUDGET_K=${opts.budgetK}, ` +
      `STAMPEDE=${opts.stampede} vs FIT=${opts.fit}, WARMUP=${opts.warmup}, TIME_CAP_S=${opts.timeCapS}`,
  );

  // Nothing else may compete for the CPU while measuring.
  const competing = await waitForCompetitors(run, 'jest|fast-path', 'ledger-reserve', opts.waitIdleS);
  // Nor anything else (an npm ci, a build): wait until other processes use less than a quarter of the machine.
  const quietDeadline = performance.now() + opts.waitIdleS * 1000;
  for (;;) {
    const a = snapshot();
    await sleep(3000);
    const idleCheck = cpuUsage(a, snapshot(), 1);
    const othersShare = idleCheck.cores.other / machine().cpus;
    if (othersShare < 0.25 || performance.now() > quietDeadline || run.aborted) {
      if (othersShare >= 0.25)
        log(
          `!! other processes still use ${(othersShare * 100).toFixed(0)}% of the machine (${idleCheck.topOthers.join(', ')}); measuring anyway (the report says so)`,
        );
      break;
    }
    log(
      `waiting for a quiet machine: other processes use ${(othersShare * 100).toFixed(0)}% of it (${idleCheck.topOthers.join(', ')})`,
    );
    await sleep(5000);
  }
  const machineAtStart = machine();
  const codeAtStart = codeVersion();

  const broker = await useLocalKafka(run);
  const topicPrefix = `bench.ledger.${runId}.`;
  removeTopicsAtCleanup(run, () => broker, [topicPrefix]);

  // Postgres: a fresh database
  const database = await createDatabase(run, `deliberate_bench_ledger_${runId}`, APP_NAME);
  const dbName = database.name;
  const dbUrl = database.url;
  const pgVersion = database.version.replace(/ on .*$/, '');
  log(`created database ${dbName}`);
  const pool = new pg.Pool({ connectionString: dbUrl, application_name: APP_NAME, max: 3 });
  run.onCleanup(() => pool.end());

  // The ledger
  const port = await freePort();
  const ledger = run.spawnService('ledger', 'apps/ledger/dist/main.js', {
    DATABASE_URL: dbUrl,
    KAFKA_BROKERS: broker,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    LEDGER_HOST: HOST,
    LEDGER_PORT: String(port),
    LEDGER_INTERNAL_TOKEN: INTERNAL_KEY,
    LEDGER_COMMAND_CONCURRENCY: opts.commandConcurrency,
    DATABASE_POOL_SIZE: opts.poolSize,
  });
  const url = `http://${HOST}:${port}`;
  await waitHealthy(run, ledger, `${url}/health`);

  // Budgets: the throughput tenant fits BUDGET_K worst cases a day, the stampede tenant exactly FIT; no breaker rate.
  const TENANT_WARM = 'bench-warmup';
  const TENANT_TPUT = 'bench-throughput';
  const TENANT_STAMPEDE = 'bench-stampede';
  const tputLimit = opts.budgetK * WORST;
  const stampedeLimit = opts.fit * WORST;
  for (const [tenantId, limit] of [
    [TENANT_TPUT, tputLimit],
    [TENANT_STAMPEDE, stampedeLimit],
  ] as const) {
    const b = await putBudget(url, tenantId, {
      dailyLimitUsd: limit / 1_000_000,
      breakerMaxSpendUsd: null,
    });
    if (b.dailyLimitMicroUsd !== limit)
      throw new Error(`budget of ${tenantId}: asked ${limit} micro-USD, got ${b.dailyLimitMicroUsd}`);
    log(
      `budget of ${tenantId}: ${num(limit)} micro-USD a day (${limit / WORST} worst cases of ${WORST}), no breaker rate`,
    );
  }

  // The client, as a service would use it
  clientLogFd = openSync(clientLogFile, 'w');
  run.onCleanup(() => {
    const fd = clientLogFd;
    clientLogFd = null;
    if (fd !== null) closeSync(fd);
  });
  const { Logger } = requireFromRoot<NestCommon>('@nestjs/common');
  Logger.overrideLogger(benchNestLogger());
  const { LedgerClient } = requireFromRoot<LedgerClientModule>('@deliberate/ledger-client');
  const client = new LedgerClient({
    brokers: [broker],
    clientId: `bench-ledger-${runId}`,
    topicPrefix,
    timeoutMs: CLIENT_TIMEOUT_MS,
  });
  await client.connect();
  run.onCleanup(() => client.close());
  log('LedgerClient connected (reply group joined)');

  // Warm-up: JIT, connections, the ledger's caches; unmeasured.
  if (opts.warmup > 0) {
    const w = await ledgerLoop(client, TENANT_WARM, opts.warmup, {
      label: 'warm',
      capS: 120,
      concurrency: Math.min(opts.concurrency, opts.warmup),
    });
    log(
      `warm-up: ${w.settled}/${w.attempts} pairs in ${((w.endedAt - w.startedAt) / 1000).toFixed(1)} s (denied: ${mapText(w.denied)})`,
    );
    if (w.settled === 0)
      throw new Error(
        `warm-up: no pair went through (denied: ${mapText(w.denied)}; ${w.lastUnavailable ?? w.lastSettleError ?? ''})`,
      );
  }
  const ledgerLogMark = logLines(ledger.logFile).length;

  // 1. Ledger throughput
  log(`ledger throughput: ${opts.concurrency} callers, ${opts.pairs} reserves (each approved one settled)`);
  let lastTick = { at: performance.now(), settled: 0 };
  const progress = (name: string) => (s: LedgerLoopState | NaiveLoopState) => {
    const now = performance.now();
    const done = s.settled ?? s.approved;
    const rate = ((done - lastTick.settled) * 1000) / (now - lastTick.at);
    lastTick = { at: now, settled: done };
    log(
      `  ${name}: ${s.attempts}/${opts.pairs} attempted, ${s.approved} approved, ${s.settled ?? s.approved} settled, ` +
        `${typeof s.denied === 'number' ? s.denied : deniedTotal(s as LedgerLoopState)} denied; ${num(rate)} pairs/s in the last 2 s`,
    );
  };
  const stopSampler = sampleLedgerConnections(pool, dbName);
  const cpuA = snapshot();
  lastTick = { at: performance.now(), settled: 0 };
  const lt = await ledgerLoop(client, TENANT_TPUT, opts.pairs, {
    label: 'tput',
    capS: opts.timeCapS,
    concurrency: opts.concurrency,
    onProgress: progress('ledger'),
  });
  const cpuB = snapshot();
  const conns = await stopSampler();
  const ltSeconds = (lt.endedAt - lt.startedAt) / 1000;
  const ltCpu = cpuUsage(cpuA, cpuB, lt.settled);
  const ltCounter = await dayCounter(pool, TENANT_TPUT);
  const ltRow = await oneRow<{ active: number; settled: number; bookings: number; booked: string }>(
    pool,
    `SELECT (SELECT count(*)::int FROM ledger.reservations WHERE tenant_id = $1 AND status = 'active') AS active,
            (SELECT count(*)::int FROM ledger.reservations WHERE tenant_id = $1 AND status = 'settled') AS settled,
            (SELECT count(*)::int FROM ledger.bookings WHERE tenant_id = $1) AS bookings,
            (SELECT COALESCE(sum(cost_micro_usd), 0)::text FROM ledger.bookings WHERE tenant_id = $1) AS booked`,
    [TENANT_TPUT],
  );
  const split = await splitLatencies(pool, TENANT_TPUT, lt.trace);
  const windowSum = await measureWindowSum(pool, TENANT_TPUT);
  const ledgerTput = {
    split,
    windowSum,
    s: lt,
    seconds: ltSeconds,
    pairsPerS: lt.settled / ltSeconds,
    attemptsPerS: lt.attempts / ltSeconds,
    reserve: summary(lt.reserveMs),
    settle: summary(lt.settleMs),
    counter: ltCounter,
    overspend: Math.max(0, ltCounter.spent - ltCounter.limit),
    withinLimit: ltCounter.spent + ltCounter.reserved <= ltCounter.limit,
    db: { ...ltRow, booked: Number(ltRow.booked) },
    cpu: ltCpu,
    conns,
  };
  log(
    `ledger throughput: ${lt.settled} pairs in ${ltSeconds.toFixed(1)} s = ${num(ledgerTput.pairsPerS)} pairs/s; ` +
      `reserve p50 ${ms(ledgerTput.reserve.p50)} / p99 ${ms(ledgerTput.reserve.p99)} ms, settle p50 ${ms(ledgerTput.settle.p50)} / p99 ${ms(ledgerTput.settle.p99)} ms; ` +
      `approved ${lt.approved}, denied ${mapText(lt.denied)}; spent ${num(ltCounter.spent)} + held ${num(ltCounter.reserved)} of ${num(ltCounter.limit)} micro-USD`,
  );

  // 2. Ledger exactly-N: STAMPEDE reserves at once, no settle
  log(
    `ledger exactly-${opts.fit}: ${opts.stampede} concurrent reserves against a budget for ${opts.fit}, no settle`,
  );
  let watching = true;
  let highest = 0;
  const watcher = (async () => {
    while (watching && !run.aborted) {
      const { rows } = await pool.query<{ used: string }>(
        `SELECT (spent_micro_usd + reserved_micro_usd)::text AS used FROM ledger.spend_counters
          WHERE tenant_id = $1 AND scope = 'tenant' AND period = 'day'`,
        [TENANT_STAMPEDE],
      );
      for (const r of rows) highest = Math.max(highest, Number(r.used));
      await sleep(10);
    }
  })();
  const st0 = performance.now();
  const stampedeMs: number[] = [];
  const replies = await Promise.all(
    Array.from({ length: opts.stampede }, async () => {
      const t0 = performance.now();
      const r = await client.reserve(reserveRequest(TENANT_STAMPEDE));
      stampedeMs.push(performance.now() - t0);
      return r;
    }),
  );
  const stSeconds = (performance.now() - st0) / 1000;
  watching = false;
  await watcher;
  const stApproved = replies.filter((r) => r.approved);
  const stDenied = new Map<string, number>();
  for (const r of replies) if (!r.approved) bump(stDenied, r.reason);
  const stCounter = await dayCounter(pool, TENANT_STAMPEDE);
  const heldByApproved = stApproved.reduce((sum, r) => sum + (r.approved ? r.amountMicroUsd : 0), 0);
  const ledgerStampede = {
    approved: stApproved.length,
    denied: stDenied,
    seconds: stSeconds,
    latency: summary(stampedeMs),
    counter: stCounter,
    highest,
    // Nothing is settled: the money at risk is every approved worst case, as if each call cost its maximum.
    overspend: Math.max(0, heldByApproved - stampedeLimit, stCounter.spent - stCounter.limit),
    withinLimit: stCounter.spent + stCounter.reserved <= stCounter.limit && highest <= stampedeLimit,
  };
  log(
    `ledger exactly-${opts.fit}: ${ledgerStampede.approved} approved, denied ${mapText(stDenied)} in ${stSeconds.toFixed(1)} s; ` +
      `held ${num(stCounter.reserved)} of ${num(stCounter.limit)} micro-USD (highest seen ${num(highest)}); ` +
      `reserve p50 ${ms(ledgerStampede.latency.p50)} / p99 ${ms(ledgerStampede.latency.p99)} ms`,
  );
  const ledgerLog = logLines(ledger.logFile);
  const ledgerLogDuring = ledgerLog.slice(ledgerLogMark);

  // 3. Naive baseline, own table in the same database
  await pool.query(`CREATE SCHEMA bench_naive`);
  await pool.query(
    `CREATE TABLE bench_naive.spend (tenant_id text PRIMARY KEY, spent_micro_usd bigint NOT NULL DEFAULT 0)`,
  );
  await pool.query(
    `INSERT INTO bench_naive.spend (tenant_id) VALUES ('warmup'), ('throughput'), ('stampede'), ('stampede-all')`,
  );
  const naiveClients: pg.Client[] = [];
  run.onCleanup(async () => {
    for (const c of naiveClients.splice(0)) await c.end().catch(() => {});
  });
  for (let i = 0; i < opts.concurrency; i++) {
    const c = new pg.Client({ connectionString: dbUrl, application_name: `${APP_NAME}-naive` });
    await c.connect();
    naiveClients.push(c);
  }
  log(`naive baseline: ${naiveClients.length} callers, each on its own connection`);
  if (opts.warmup > 0) {
    await naiveLoop(naiveClients, 'warmup', Number.MAX_SAFE_INTEGER, opts.warmup, { cost: ACTUAL, capS: 60 });
  }
  const nCpuA = snapshot();
  lastTick = { at: performance.now(), settled: 0 };
  const nt = await naiveLoop(naiveClients, 'throughput', tputLimit, opts.pairs, {
    cost: ACTUAL,
    capS: opts.timeCapS,
    onProgress: progress('naive'),
  });
  const nCpuB = snapshot();
  const ntSeconds = (nt.endedAt - nt.startedAt) / 1000;
  const ntSpent = await naiveSpent(pool, 'throughput');
  const naiveTput = {
    s: nt,
    seconds: ntSeconds,
    pairsPerS: nt.approved / ntSeconds,
    attemptsPerS: nt.attempts / ntSeconds,
    check: summary(nt.checkMs),
    write: summary(nt.writeMs),
    spent: ntSpent,
    overspend: Math.max(0, ntSpent - tputLimit),
    cpu: cpuUsage(nCpuA, nCpuB, nt.approved),
  };
  log(
    `naive throughput: ${nt.approved} pairs in ${ntSeconds.toFixed(1)} s = ${num(naiveTput.pairsPerS)} pairs/s; ` +
      `check p50 ${ms(naiveTput.check.p50)} / p99 ${ms(naiveTput.check.p99)} ms, write p50 ${ms(naiveTput.write.p50)} / p99 ${ms(naiveTput.write.p99)} ms; ` +
      `approved ${nt.approved}, denied ${nt.denied}, errors ${nt.errors}; spent ${num(ntSpent)} of ${num(tputLimit)} micro-USD`,
  );

  // Exactly-N, CONCURRENCY callers taking STAMPEDE attempts between them; each approval writes the worst case.
  const ns = await naiveLoop(naiveClients, 'stampede', stampedeLimit, opts.stampede, {
    cost: WORST,
    capS: 60,
  });
  const nsSpent = await naiveSpent(pool, 'stampede');
  // And the same STAMPEDE attempts all at once over a pool of CONCURRENCY connections, as the ledger got them
  // (the callers' connections are closed first: Postgres allows 100 connections by default).
  for (const c of naiveClients.splice(0)) await c.end();
  const allPool = new pg.Pool({
    connectionString: dbUrl,
    application_name: `${APP_NAME}-naive`,
    max: opts.concurrency,
  });
  run.onCleanup(() => allPool.end());
  let allApproved = 0;
  await Promise.all(
    Array.from({ length: opts.stampede }, async () => {
      const { spent_micro_usd: spent } = await oneRow<{ spent_micro_usd: string }>(
        allPool,
        `SELECT spent_micro_usd FROM bench_naive.spend WHERE tenant_id = 'stampede-all'`,
      );
      if (Number(spent) + WORST > stampedeLimit) return;
      allApproved += 1;
      await allPool.query(
        `UPDATE bench_naive.spend SET spent_micro_usd = spent_micro_usd + $1 WHERE tenant_id = 'stampede-all'`,
        [WORST],
      );
    }),
  );
  const allSpent = await naiveSpent(pool, 'stampede-all');
  const naiveStampede = {
    approved: ns.approved,
    denied: ns.denied,
    errors: ns.errors,
    spent: nsSpent,
    overspend: Math.max(0, nsSpent - stampedeLimit),
    allAtOnce: { approved: allApproved, overspend: Math.max(0, allSpent - stampedeLimit) },
  };
  log(
    `naive exactly-${opts.fit}: ${ns.approved} approved of ${ns.attempts} (${opts.concurrency} callers), overspend ${num(naiveStampede.overspend)} micro-USD; ` +
      `all ${opts.stampede} at once: ${allApproved} approved, overspend ${num(naiveStampede.allAtOnce.overspend)} micro-USD`,
  );

  const m = {
    ...machineAtStart,
    kafka: `${kafkaJarVersion()} (local single node, KRaft, deploy/local/kafka.sh)`,
    postgres: pgVersion,
    code: codeAtStart,
  };
  const report = render({
    machine: m,
    competing,
    ledgerTput,
    ledgerStampede,
    naiveTput,
    naiveStampede,
    ledgerLogDuring,
  });
  console.log(`\n${report.table}\n`);
  for (const l of report.notes) console.log(l);
  console.log('');

  appendSection({ heading: INTRO_HEADING, intro: INTRO }, report.section);
  writeSummary('ledger', report.headline, { commit: codeAtStart, startedAt });
  return report.ok;
}

// ---------------------------------------------------------------- the report

const INTRO_HEADING = '## Ledger reserve → settle (`npm run bench:ledger`)';
const INTRO = `${INTRO_HEADING}

\`bench/ledger-reserve.ts\` starts on 127.0.0.1 the local Kafka broker if none is running, a fresh Postgres
database (dropped at the end) and one ledger process (\`apps/ledger/dist/main.js\`, \`LOG_LEVEL=warn\`, log in
\`.local/bench/ledger.log\`) on a unique topic prefix, and calls it through \`LedgerClient\` (Nest \`ClientKafka\`
request-reply), as a service does. Each call is \`sim-fast\` with 1,000 input tokens and at most 1,000 output tokens:
a worst case of 750 micro-USD; a settle reports 1,000 input + 500 output tokens = 450 micro-USD.

- **Ledger throughput**: CONCURRENCY callers loop reserve → settle (unique \`usageEventId\`) until PAIRS reserves
  were attempted; the tenant's daily budget fits BUDGET_K worst cases (about 90% of the pairs by default, so it runs
  out near the end and the limit is exercised under load). Pairs/s = settled pairs / phase time. Overspend =
  max(0, spent − daily limit) read from \`ledger.spend_counters\`, and spent + held ≤ limit is checked at the end.
- **Exactly-N**: STAMPEDE reserves at once with no settle against a budget that fits exactly FIT worst cases.
- **Naive baseline** (same run, same Postgres, its own table \`bench_naive.spend\`): what gateways do — SELECT the
  spend, compare with the limit, then UPDATE the spend in a separate statement (no lock, no conditional update), with
  CONCURRENCY callers each on its own connection; same PAIRS and budget, and the exactly-N check (each approval
  writes the worst case). Its "reserve"/"settle" latencies are the SELECT and the UPDATE.
- CPU ms per pair by component (from \`/proc\`) and the ledger's Postgres connections (sampled \`pg_stat_activity\`)
  show where the time goes. Target: ≥ 2,000 pairs/s with 64 callers, overspend 0, exactly FIT approved.`;

interface ReportInput {
  machine: Machine & { kafka: string; postgres: string; code: string };
  competing: string[];
  ledgerTput: LedgerTput;
  ledgerStampede: LedgerStampede;
  naiveTput: NaiveTput;
  naiveStampede: NaiveStampede;
  ledgerLogDuring: string[];
}
interface LedgerTput {
  split: Awaited<ReturnType<typeof splitLatencies>>;
  windowSum: { rows: number; ms: number };
  s: LedgerLoopState;
  seconds: number;
  pairsPerS: number;
  attemptsPerS: number;
  reserve: Summary;
  settle: Summary;
  counter: { spent: number; reserved: number; limit: number };
  overspend: number;
  withinLimit: boolean;
  db: { active: number; settled: number; bookings: number; booked: number };
  cpu: CpuUsage;
  conns: Awaited<ReturnType<ReturnType<typeof sampleLedgerConnections>>>;
}
interface LedgerStampede {
  approved: number;
  denied: Map<string, number>;
  seconds: number;
  latency: Summary;
  counter: { spent: number; reserved: number; limit: number };
  highest: number;
  overspend: number;
  withinLimit: boolean;
}
interface NaiveTput {
  s: NaiveLoopState;
  seconds: number;
  pairsPerS: number;
  attemptsPerS: number;
  check: Summary;
  write: Summary;
  spent: number;
  overspend: number;
  cpu: CpuUsage;
}
interface NaiveStampede {
  approved: number;
  overspend: number;
  allAtOnce: { approved: number; overspend: number };
}

function render(r: ReportInput) {
  const { machine: m, ledgerTput: lt, ledgerStampede: ls, naiveTput: nt, naiveStampede: ns } = r;
  const date = new Date().toISOString();
  const ok = (cond: boolean) => (cond ? '✅ met' : '❌ missed');
  const lat = (x: Summary) => `${ms(x.p50)} / ${ms(x.p99)}`;
  const met = {
    pairs: lt.pairsPerS >= 2000,
    overspend: lt.overspend === 0,
    exactlyN: ls.approved === opts.fit,
    exactlyNOverspend: ls.overspend === 0 && ls.withinLimit,
  };
  const throughputRatio = `${(lt.pairsPerS / nt.pairsPerS).toFixed(3)}×`;
  const rows = [
    [
      'Metric',
      'Ledger (LedgerClient → Kafka → ledger → Postgres)',
      'Naive check-then-write (SELECT, then UPDATE)',
      'Target',
      'Result',
    ],
    ['---', '---', '---', '---', '---'],
    [
      `Approved pairs/s, ${opts.concurrency} callers`,
      num(lt.pairsPerS),
      num(nt.pairsPerS),
      '≥ 2,000/s',
      ok(met.pairs),
    ],
    ['Attempts/s (reserves, approved or not)', num(lt.attemptsPerS), num(nt.attemptsPerS), '—', '—'],
    ['Reserve p50 / p99 (ms) — naive: SELECT', lat(lt.reserve), lat(nt.check), '—', '—'],
    ['Settle p50 / p99 (ms) — naive: UPDATE', lat(lt.settle), lat(nt.write), '—', '—'],
    [
      `Approved / denied of ${num(opts.pairs)} attempts`,
      `${num(lt.s.approved)} / ${num(deniedTotal(lt.s))}`,
      `${num(nt.s.approved)} / ${num(nt.s.denied)}`,
      '—',
      '—',
    ],
    [
      `Overspend, throughput phase (micro-USD; limit ${num(opts.budgetK * WORST)})`,
      num(lt.overspend),
      num(nt.overspend),
      '0',
      ok(met.overspend),
    ],
    [
      'spent + held ≤ limit at the end',
      `${lt.withinLimit ? 'yes' : 'NO'} (${num(lt.counter.spent)} + ${num(lt.counter.reserved)})`,
      `${nt.spent <= opts.budgetK * WORST ? 'yes' : 'NO'} (${num(nt.spent)})`,
      'yes',
      ok(lt.withinLimit),
    ],
    [
      `Exactly-${opts.fit} check: approved of ${num(opts.stampede)} vs a budget for ${opts.fit}`,
      `${num(ls.approved)}`,
      `${num(ns.approved)}`,
      `${opts.fit}`,
      ok(met.exactlyN),
    ],
    [
      `Overspend, exactly-${opts.fit} phase (micro-USD)`,
      num(ls.overspend),
      num(ns.overspend),
      '0',
      ok(met.exactlyNOverspend),
    ],
    ['Throughput ratio ledger / baseline', throughputRatio, '1×', '—', '—'],
  ];
  const table = rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
  // The target rows, for `npm run bench`'s table; the baseline is the naive check-then-write.
  const headline: SummaryRow[] = [
    {
      metric: `Approved pairs/s, ${opts.concurrency} callers`,
      target: '≥ 2,000/s',
      baseline: num(nt.pairsPerS),
      result: num(lt.pairsPerS),
      ratio: throughputRatio,
      met: met.pairs,
    },
    {
      metric: 'Overspend, throughput phase (micro-USD)',
      target: '0',
      baseline: num(nt.overspend),
      result: num(lt.overspend),
      ratio: null,
      met: met.overspend,
    },
    {
      metric: `Exactly-${opts.fit}: approved of ${num(opts.stampede)}`,
      target: `${opts.fit}`,
      baseline: num(ns.approved),
      result: num(ls.approved),
      ratio: null,
      met: met.exactlyN,
    },
    {
      metric: `Overspend, exactly-${opts.fit} phase (micro-USD)`,
      target: '0',
      baseline: num(ns.overspend),
      result: num(ls.overspend),
      ratio: null,
      met: met.exactlyNOverspend,
    },
  ];

  const cpuLine = (c: CpuUsage, unit: string) => {
    const parts = GROUPS.filter(
      (k) => Number.isFinite(c.perUnit[k]) && (k !== 'other' || c.perUnit[k] > 0.005),
    ).map((k) => `${k} ${c.perUnit[k].toFixed(2)} ms (${(c.cores[k] * 100).toFixed(0)}% of a core)`);
    const total = (['ledger', 'kafka', 'postgres', 'bench'] as const).reduce(
      (a, k) => a + (Number.isFinite(c.perUnit[k]) ? c.perUnit[k] : 0),
      0,
    );
    const others = c.topOthers.length ? ` (other: ${c.topOthers.join(', ')})` : '';
    return `machine ${(c.busy * 100).toFixed(0)}% busy (of ${m.cpus} CPUs); CPU ms per ${unit}: ${parts.join(', ')}${others}; total without other processes ${total.toFixed(2)} ms`;
  };
  const c = lt.conns;
  const poolSize = Number(opts.poolSize ?? 10);
  const commandConcurrency = Number(opts.commandConcurrency ?? 6);
  const ledgerCores = lt.cpu.cores.ledger;
  const totalCpuPerPair = (['ledger', 'kafka', 'postgres', 'bench'] as const).reduce(
    (a, k) => a + (Number.isFinite(lt.cpu.perUnit[k]) ? lt.cpu.perUnit[k] : 0),
    0,
  );
  const cpuCeiling = (m.cpus * 1000) / totalCpuPerPair; // pairs/s if every core did nothing else
  const ledgerCeiling = 1000 / lt.cpu.perUnit.ledger; // pairs/s with the ledger's single thread at 100%
  const sp = lt.split;
  const othersShare = lt.cpu.cores.other / m.cpus;
  const bottleneck: string[] = [];
  if (lt.pairsPerS < 2000) {
    const cpuShare = lt.pairsPerS / cpuCeiling;
    const findings: string[] = [];
    if (othersShare > 0.15)
      findings.push(
        `other processes took ${(othersShare * 100).toFixed(0)}% of the machine (${lt.cpu.topOthers.join(', ')}), so the figure is understated`,
      );
    findings.push(
      `CPU: a pair costs ${totalCpuPerPair.toFixed(2)} CPU ms across the stack (ledger ${lt.cpu.perUnit.ledger.toFixed(2)}, Postgres ${lt.cpu.perUnit.postgres.toFixed(2)}, Kafka broker ${lt.cpu.perUnit.kafka.toFixed(2)}, the benchmark's LedgerClient ${lt.cpu.perUnit.bench.toFixed(2)}; the naive pair ${(['bench', 'postgres'] as const).reduce((a, k) => a + nt.cpu.perUnit[k], 0).toFixed(2)}), so ${m.cpus} cores allow ≈ ${num(cpuCeiling)} pairs/s at most — the run reached ${(cpuShare * 100).toFixed(0)}% of that with the machine ${(lt.cpu.busy * 100).toFixed(0)}% busy, while 2,000 pairs/s would need ≤ ${((m.cpus * 1000) / 2000).toFixed(2)} CPU ms per pair here`,
    );
    if (ledgerCores >= 0.85)
      findings.push(
        `the ledger's single Node thread is saturated (${(ledgerCores * 100).toFixed(0)}% of a core: at most ≈ ${num(ledgerCeiling)} pairs/s from one instance)`,
      );
    else
      findings.push(
        `the ledger's Node thread ran at ${(ledgerCores * 100).toFixed(0)}% of a core (not saturated)`,
      );
    if (c.lockWaits >= 0.5)
      findings.push(
        `row locks: on average ${c.lockWaits.toFixed(1)} of the ledger's ${poolSize} Postgres connections waited on a lock (${c.waits.join(', ')}) and ${c.idleInTx.toFixed(1)} sat idle in a transaction — every reserve and settle of the one tenant updates the same day and month counter rows and holds them until it commits, so they run one at a time, with Node round trips inside the lock`,
      );
    findings.push(
      sp.reserveIn.p50 > sp.reserveOut.p50
        ? `a reserve waits longest before the ledger's handler starts (p50 ${ms(sp.reserveIn.p50)} ms, queued in the request topic: ${commandConcurrency} partitions served at a time, one message after another each) against p50 ${ms(sp.reserveOut.p50)} ms from the handler's start to the answer (transaction + Kafka reply): the callers' pairs queue in front of the ${commandConcurrency} commands the ledger serves at a time`
        : `a reserve spends most of its time from the ledger's handler start to the answer (p50 ${ms(sp.reserveOut.p50)} ms: Postgres transaction and the Kafka reply) rather than before it (p50 ${ms(sp.reserveIn.p50)} ms)`,
    );
    if (Number.isFinite(lt.windowSum.ms))
      findings.push(
        `each settle is followed by the cost breaker's window sum (the tenant's bookings of the last 60 s, computed even with no breaker rate set), which at the end of the phase read ${num(lt.windowSum.rows)} rows in ${lt.windowSum.ms.toFixed(2)} ms of Postgres time`,
      );
    findings.push(
      cpuShare >= 0.7
        ? `so on this machine CPU is the binding limit; the target needs ≈ ${num(totalCpuPerPair / ((m.cpus * 1000) / 2000), 0)}× less CPU per pair, or more cores`
        : `so the one-tenant row lock and the ${commandConcurrency} commands in progress at a time are the binding limit before CPU`,
    );
    bottleneck.push(`- Bottleneck (target missed): ${findings.join('; ')}.`);
  }
  const unexpected = r.ledgerLogDuring.filter((l) => /"level":"(warn|error)"|error|warn/i.test(l));
  const notes = [
    `- Method: each side runs ${opts.concurrency} closed-loop callers for ${num(opts.pairs)} attempts against a daily budget of ${num(opts.budgetK)} worst cases (${num(opts.budgetK * WORST)} micro-USD), then ${num(opts.stampede)} concurrent reserves against a budget for exactly ${opts.fit}; the ledger is called through LedgerClient over Kafka, the baseline runs SELECT-compare-UPDATE straight on Postgres; overspend is read from the database.`,
    `- Ledger throughput phase: ${num(lt.s.settled)} settled of ${num(lt.s.approved)} approved in ${lt.seconds.toFixed(1)} s${lt.s.cappedByTime ? ` (stopped by TIME_CAP_S after ${num(lt.s.attempts)} attempts)` : ''}; denied: ${mapText(lt.s.denied)}; settle errors: ${mapText(lt.s.settleErrors)}${lt.s.lastSettleError ? ` (last: ${lt.s.lastSettleError})` : ''}; reserve max ${ms(lt.reserve.max)} ms, settle max ${ms(lt.settle.max)} ms. Database: ${lt.db.settled} reservations settled, ${lt.db.active} active, ${lt.db.bookings} bookings totalling ${num(lt.db.booked)} micro-USD = spent ${num(lt.counter.spent)}${lt.db.booked === lt.counter.spent ? ' ✓' : ' ✗ MISMATCH'}; replies with a wrong amount/cost: ${lt.s.wrongAmount}/${lt.s.wrongCost}.`,
    `- Ledger exactly-${opts.fit}: ${num(ls.approved)} approved, denied ${mapText(ls.denied)}, in ${ls.seconds.toFixed(1)} s; held ${num(ls.counter.reserved)} of ${num(ls.counter.limit)} micro-USD, highest spent + held seen while it ran ${num(ls.highest)}; reserve latency p50 ${ms(ls.latency.p50)} ms, p99 ${ms(ls.latency.p99)} ms with ${num(opts.stampede)} in flight.`,
    `- Naive exactly-${opts.fit}: ${opts.concurrency} callers taking ${num(opts.stampede)} attempts: ${num(ns.approved)} approved, overspend ${num(ns.overspend)} micro-USD (${num(ns.overspend / WORST, 1)} worst cases); all ${num(opts.stampede)} attempts at once on a pool of ${opts.concurrency} connections (as the ledger got them): ${num(ns.allAtOnce.approved)} approved, overspend ${num(ns.allAtOnce.overspend)} micro-USD.`,
    `- CPU, ledger throughput phase: ${cpuLine(lt.cpu, 'pair')}.`,
    `- CPU, naive throughput phase: ${cpuLine(nt.cpu, 'pair')}.`,
    `- Ledger's Postgres connections during the throughput phase (pg_stat_activity every 100 ms, averages): ${c.connections.toFixed(1)} open, ${c.active.toFixed(1)} active, ${c.idleInTx.toFixed(1)} idle in transaction, ${c.idle.toFixed(1)} idle, ${c.lockWaits.toFixed(2)} waiting on a lock${c.waits.length ? `; active ones waiting on: ${c.waits.join(', ')}` : ''}.`,
    `- Where a pair's time goes (ms, p50 / p99 / mean; split at the handler's start as the ledger recorded it, reservations.created_at and bookings.event_time): reserve sent → handler start ${ms(sp.reserveIn.p50)} / ${ms(sp.reserveIn.p99)} / ${ms(sp.reserveIn.mean)}, handler start → answer received ${ms(sp.reserveOut.p50)} / ${ms(sp.reserveOut.p99)} / ${ms(sp.reserveOut.mean)}; settle sent → handler start ${ms(sp.settleIn.p50)} / ${ms(sp.settleIn.p99)} / ${ms(sp.settleIn.mean)}, handler start → answer received ${ms(sp.settleOut.p50)} / ${ms(sp.settleOut.p99)} / ${ms(sp.settleOut.mean)} (${num(sp.reserveIn.count)} pairs).`,
    ...bottleneck,
    `- Logs: the ledger wrote ${r.ledgerLogDuring.length} lines during the measured phases (${unexpected.length} warn/error, .local/bench/ledger.log); the benchmark's LedgerClient ${clientLogCounts.warn} warn / ${clientLogCounts.error} error (.local/bench/ledger-bench-client.log).`,
  ];
  const competingNote =
    othersShare > 0.1
      ? [
          `> ⚠ Other processes took ${(othersShare * 100).toFixed(0)}% of the machine during the ledger throughput phase (${lt.cpu.topOthers.join(', ')}): the ledger's figures are understated; repeat on a quiet machine.`,
          '',
        ]
      : [];
  if (r.competing.length)
    competingNote.push(
      `> ⚠ Other benchmarks or tests were running during this run (${r.competing.length} processes matching 'jest|fast-path'): the figures include their competition for CPU.`,
      '',
    );
  const section = [
    `### Ledger reserve → settle — ${date}`,
    '',
    ...competingNote,
    `- Machine: ${machineLine(m)}; Kafka ${m.kafka}; ${m.postgres}`,
    `- Code: ${m.code}`,
    `- Parameters: PAIRS=${opts.pairs}, CONCURRENCY=${opts.concurrency}, BUDGET_K=${opts.budgetK} (daily limit ${num(opts.budgetK * WORST)} micro-USD), STAMPEDE=${opts.stampede}, FIT=${opts.fit} (limit ${num(opts.fit * WORST)} micro-USD), WARMUP=${opts.warmup}, worst case ${WORST} / actual ${ACTUAL} micro-USD per call (sim-fast), ledger: one instance, LEDGER_COMMAND_CONCURRENCY=${opts.commandConcurrency ?? 'default (6)'}, DATABASE_POOL_SIZE=${opts.poolSize ?? 'default (10)'}, LOG_LEVEL=warn, client timeout ${CLIENT_TIMEOUT_MS / 1000} s`,
    '',
    table,
    '',
    ...notes,
  ].join('\n');
  const good =
    lt.overspend === 0 &&
    lt.withinLimit &&
    ls.approved === opts.fit &&
    ls.overspend === 0 &&
    ls.withinLimit &&
    lt.db.booked === lt.counter.spent;
  return { table, notes, section, ok: good, headline };
}

run.main(main);
