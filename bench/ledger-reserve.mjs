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
//   node bench/ledger-reserve.mjs [--pairs=N] [--concurrency=N]      (node must be Node 24:
//                                                                      /work/main/node_modules/.bin/node)
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

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import pg from 'pg';

const { Kafka, logLevel } = kafkajs;

// kafkajs 2.2.4 schedules a timer with a negative delay on every connection, which Node 24 reports as a
// TimeoutNegativeWarning (harmless; https://github.com/tulios/kafkajs/issues/1751). Keep every other warning.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') console.warn(`(warning) ${w.name}: ${w.message}`);
});

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const logDir = join(root, '.local/bench');
const docsFile = join(root, 'docs/benchmarks.md');
const HOST = '127.0.0.1';
const KAFKA_BROKER = `${HOST}:9092`;
const PG_BASE = `postgres://postgres@${HOST}:5432`;
const PG_ADMIN_URL = `${PG_BASE}/postgres`;
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

// ---------------------------------------------------------------- options

function option(name, fallback, { min = 1, max = 10_000_000 } = {}) {
  const flag = `--${name.toLowerCase().replaceAll('_', '-')}`;
  let raw;
  for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === flag) raw = process.argv[i + 1];
    else if (a.startsWith(`${flag}=`)) raw = a.slice(flag.length + 1);
    else if (a.startsWith(`${name}=`)) raw = a.slice(name.length + 1);
  }
  raw ??= process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new Error(`${name} must be an integer in [${min}, ${max}], got '${raw}'`);
  return v;
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  const head = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(
    head
      .slice(
        0,
        head.findIndex((l) => !l.startsWith('//')),
      )
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}

const pairs = option('PAIRS', 5000, { max: 1_000_000 });
const opts = {
  pairs,
  concurrency: option('CONCURRENCY', 64, { max: 1000 }),
  budgetK: option('BUDGET_K', Math.max(1, Math.round((0.9 * pairs * ACTUAL) / WORST)), { max: 100_000_000 }),
  stampede: option('STAMPEDE', 1000, { max: 20_000 }),
  fit: option('FIT', 100, { max: 20_000 }),
  warmup: option('WARMUP', 300, { min: 0, max: 100_000 }),
  timeCapS: option('TIME_CAP_S', 120, { max: 3600 }),
  waitIdleS: option('WAIT_IDLE_S', 900, { min: 0, max: 7200 }),
  benchTimeoutS: option('BENCH_TIMEOUT_S', 1200, { min: 60, max: 7200 }),
  commandConcurrency: process.env.LEDGER_COMMAND_CONCURRENCY || undefined,
  poolSize: process.env.DATABASE_POOL_SIZE || undefined,
  writeDocs: !['1', 'true', 'yes'].includes(String(process.env.NO_DOCS ?? '').toLowerCase()),
};
if (opts.fit > opts.stampede) throw new Error('FIT must not exceed STAMPEDE');

// ---------------------------------------------------------------- output helpers

const started = performance.now();
const log = (msg) =>
  console.log(`[bench +${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const ms = (v) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const num = (v, d = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a';

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length); // nearest rank
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
function summary(values) {
  const s = Float64Array.from(values).sort();
  return {
    count: s.length,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

const tickers = new Set();
function ticker(fn, everyMs = 2000) {
  const t = setInterval(fn, everyMs);
  t.unref();
  tickers.add(t);
  return () => {
    clearInterval(t);
    tickers.delete(t);
  };
}

// Set by SIGINT/SIGTERM/the hard time limit: the load loops stop at their next step.
let aborted = null;
function abort(reason) {
  aborted ??= reason;
  for (const t of tickers) clearInterval(t);
  tickers.clear();
}

// ---------------------------------------------------------------- cleanup of everything started here

const children = []; // { name, proc, logFile }
let kafkaStartedHere = false;
let database = null; // name of the database created here
let topicPrefix = null;
const closers = []; // async () => void, run first at cleanup (clients, pools), newest first
let cleaningUp = null;

function killChildrenNow() {
  for (const c of children)
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
}

async function stopChild(c, graceMs = 15_000) {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => c.proc.once('exit', resolve));
  c.proc.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    log(`${c.name} (pid ${c.proc.pid}) did not stop within ${graceMs / 1000} s of SIGTERM; killing it`);
    c.proc.kill('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  }
}

const withTimeout = (p, msTimeout) => Promise.race([p, sleep(msTimeout)]);

async function cleanup() {
  cleaningUp ??= (async () => {
    for (const close of closers.splice(0).reverse())
      await withTimeout(
        close().catch(() => {}),
        10_000,
      );
    for (const c of [...children].reverse()) await stopChild(c).catch(() => {});
    if (topicPrefix) await deleteBenchTopics().catch((e) => log(`could not delete topics: ${e.message}`));
    if (database) {
      const name = database;
      database = null;
      await withPg(PG_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
        .then(() => log(`dropped database ${name}`))
        .catch((e) => log(`could not drop database ${name}: ${e.message}`));
    }
    if (kafkaStartedHere) {
      kafkaStartedHere = false;
      log('stopping the Kafka broker started by this run');
      try {
        execFileSync(join(root, 'deploy/local/kafka.sh'), ['stop'], {
          stdio: ['ignore', 'inherit', 'inherit'],
          timeout: 60_000,
        });
      } catch (e) {
        log(`kafka.sh stop failed: ${e.message}`);
      }
    }
  })();
  return cleaningUp;
}

process.on('exit', killChildrenNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    log(`${sig}: stopping everything started by this run`);
    abort(sig);
    cleanup().finally(() => process.exit(130));
  });
}
const hardLimit = setTimeout(() => {
  log(`BENCH_TIMEOUT_S=${opts.benchTimeoutS} exceeded: aborting`);
  abort('BENCH_TIMEOUT_S');
  cleanup().finally(() => process.exit(2));
}, opts.benchTimeoutS * 1000);
hardLimit.unref();

// ---------------------------------------------------------------- infrastructure

async function withPg(url, fn) {
  const c = new pg.Client({ connectionString: url, application_name: APP_NAME });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function kafkaStatus() {
  try {
    execFileSync(join(root, 'deploy/local/kafka.sh'), ['status'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

function kafkaVersion() {
  try {
    const jar = readdirSync(join(root, '.local/kafka/libs')).find((f) =>
      /^kafka-server-common-[\d.]+\.jar$/.test(f),
    );
    if (jar) return `${/(\d+\.\d+\.\d+)/.exec(jar)[1]} (local single node, KRaft, deploy/local/kafka.sh)`;
  } catch {
    // not the local broker
  }
  return '3.9.1 (local single node, KRaft)';
}

function codeVersion() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
    const changed = execFileSync('git', ['status', '--porcelain'], { cwd: root }).toString().trim();
    return `${commit}${changed ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'unknown commit';
  }
}

/** Other benchmarks and test runs that would compete for the CPU (their command lines). */
function competitors() {
  try {
    return execFileSync('pgrep', ['-af', 'jest|fast-path'], { timeout: 10_000 })
      .toString()
      .trim()
      .split('\n')
      .filter((l) => l && !l.includes('ledger-reserve'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function deleteBenchTopics() {
  const admin = new Kafka({
    clientId: 'bench-cleanup',
    brokers: [KAFKA_BROKER],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(topicPrefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
    log(`deleted ${topics.length} topics and ${groups.length} consumer groups under '${topicPrefix}'`);
  } finally {
    await admin.disconnect();
  }
}

function spawnLedger(env) {
  const logFile = join(logDir, 'ledger.log');
  const fd = openSync(logFile, 'w');
  const proc = spawn(process.execPath, ['--enable-source-maps', join(root, 'apps/ledger/dist/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TZ: 'UTC',
      NODE_ENV: 'production',
      OTEL_TRACES_EXPORTER: 'none',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const child = { name: 'ledger', proc, logFile };
  children.push(child);
  proc.on('exit', (code, signal) => {
    if (!cleaningUp) log(`!! ledger exited unexpectedly (code ${code}, signal ${signal}); see ${logFile}`);
  });
  return child;
}

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function logLines(file) {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function waitHealthy(child, url, timeoutMs = 90_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.proc.exitCode !== null)
      throw new Error(`${child.name} exited during start-up:\n${tail(child.logFile, 20)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) {
        await r.arrayBuffer();
        log(`${child.name} is up (pid ${child.proc.pid}, ${url})`);
        return;
      }
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(
    `${child.name} did not answer ${url} within ${timeoutMs / 1000}s:\n${tail(child.logFile, 20)}`,
  );
}

// ---------------------------------------------------------------- CPU by component, from /proc

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // 100 on every Linux this runs on
}
function cpuTicksOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return 0;
  }
}
function cpuSnapshot() {
  const ours = new Map(children.map((c) => [c.proc.pid, c.name]));
  ours.set(process.pid, 'bench');
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      let group = ours.get(pid);
      if (!group && comm === 'postgres') group = 'postgres';
      if (!group && comm === 'java' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka'))
        group = 'kafka';
      procs.set(pid, { group: group ?? 'other', comm, ticks: cpuTicksOf(pid) });
    } catch {
      // ended meanwhile
    }
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + (cpu[4] ?? 0);
  const all = cpu.reduce((a, b) => a + b, 0);
  return { at: performance.now(), procs, idle, all };
}
/** CPU ms per unit (pair/attempt) by component and the machine's busy share between two snapshots. */
function cpuUsage(a, b, units) {
  const byGroup = { ledger: 0, kafka: 0, postgres: 0, bench: 0, other: 0 };
  const others = new Map();
  for (const [pid, p] of b.procs) {
    const before = a.procs.get(pid);
    const delta = Math.max(0, p.ticks - (before && before.comm === p.comm ? before.ticks : 0));
    if (/^(ksoftirqd|kworker|rcu_|migration)/.test(p.comm)) continue;
    byGroup[p.group] = (byGroup[p.group] ?? 0) + delta;
    if (p.group === 'other' && delta > 0) others.set(p.comm, (others.get(p.comm) ?? 0) + delta);
  }
  const all = b.all - a.all;
  const seconds = (b.at - a.at) / 1000;
  const perUnit = {};
  const cores = {};
  for (const [k, v] of Object.entries(byGroup)) {
    const cpuMs = (v / clockTicks) * 1000;
    perUnit[k] = units > 0 ? cpuMs / units : NaN;
    cores[k] = seconds > 0 ? cpuMs / 1000 / seconds : NaN; // share of one core
  }
  const topOthers = [...others]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 3)
    .map(([comm, v]) => `${comm} ${(((v / clockTicks) * 100) / seconds).toFixed(0)}%`);
  return { busy: all > 0 ? 1 - (b.idle - a.idle) / all : NaN, perUnit, cores, seconds, topOthers };
}

// ---------------------------------------------------------------- the ledger, through LedgerClient

// The benchmark's LedgerClient logs (Nest Logger) go to a file, counted, not to the progress output.
const clientLogFile = join(logDir, 'ledger-bench-client.log');
let clientLogFd = null;
const clientLogCounts = { warn: 0, error: 0 };
function benchNestLogger() {
  const write =
    (level) =>
    (message, ...rest) => {
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

// The ledger believes a caller only with the gateway's signature over the exact request (libs/contracts).
function signedIdentity(method, target, body, principal) {
  const { PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, signPrincipal, splitRequestTarget } = require(
    join(root, 'libs/contracts/dist/index.js'),
  );
  const principalJson = JSON.stringify(principal);
  const request = {
    service: 'ledger',
    method,
    ...splitRequestTarget(target),
    body: body === undefined ? undefined : Buffer.from(body),
    principal: principalJson,
  };
  const expiresAtSeconds = Math.floor(Date.now() / 1000) + 30;
  return {
    [PRINCIPAL_HEADER]: principalJson,
    [PRINCIPAL_SIGNATURE_HEADER]: signPrincipal(INTERNAL_KEY, request, expiresAtSeconds),
  };
}

async function putBudget(url, tenantId, body) {
  const json = JSON.stringify(body);
  const r = await fetch(`${url}/v1/ledger/budgets`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      ...signedIdentity('PUT', '/v1/ledger/budgets', json, {
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
  return JSON.parse(text);
}

const reserveRequest = (tenantId) => ({
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
async function ledgerLoop(client, tenantId, total, { label, capS, concurrency, onProgress }) {
  const s = {
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
  const stopTicker = onProgress ? ticker(() => onProgress(s), 2000) : () => {};
  const worker = async () => {
    while (!aborted && s.attempts < total) {
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
          s.denied.set(r.reason, (s.denied.get(r.reason) ?? 0) + 1);
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
            s.settleErrors.set('not booked', (s.settleErrors.get('not booked') ?? 0) + 1);
            s.lastSettleError = reply.message;
          }
        } catch (e) {
          const key = e.name ?? 'Error';
          s.settleErrors.set(key, (s.settleErrors.get(key) ?? 0) + 1);
          s.lastSettleError = e.message;
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

const deniedTotal = (s) => [...s.denied.values()].reduce((a, b) => a + b, 0);
const mapText = (m) => [...m].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

// pg_stat_activity of the ledger's connections, sampled while a phase runs: is it waiting on Postgres?
function sampleLedgerConnections(pool, dbName, everyMs = 100) {
  const acc = { samples: 0, active: 0, idleInTx: 0, idle: 0, lockWaits: 0, total: 0, waits: new Map() };
  let running = true;
  const loop = (async () => {
    while (running && !aborted) {
      try {
        const { rows } = await pool.query(
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
    const avg = (v) => (acc.samples ? v / acc.samples : NaN);
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
async function splitLatencies(pool, tenantId, trace) {
  const { rows: res } = await pool.query(
    `SELECT id::text AS id, (extract(epoch FROM created_at) * 1000)::float8 AS at
       FROM ledger.reservations WHERE tenant_id = $1`,
    [tenantId],
  );
  const { rows: bk } = await pool.query(
    `SELECT event_id AS id, (extract(epoch FROM event_time) * 1000)::float8 AS at
       FROM ledger.bookings WHERE tenant_id = $1`,
    [tenantId],
  );
  const reservedAt = new Map(res.map((r) => [r.id, r.at]));
  const bookedAt = new Map(bk.map((r) => [r.id, r.at]));
  const reserveIn = [];
  const reserveOut = [];
  const settleIn = [];
  const settleOut = [];
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
async function measureWindowSum(pool, tenantId) {
  const times = [];
  let rows = NaN;
  for (let i = 0; i < 5; i++) {
    const { rows: plan } = await pool.query(
      `EXPLAIN (ANALYZE, FORMAT JSON)
       SELECT COALESCE(SUM(cost_micro_usd), 0)::text AS spent FROM ledger.bookings
        WHERE tenant_id = $1 AND event_time > now() - interval '60 seconds'`,
      [tenantId],
    );
    const top = plan[0]['QUERY PLAN'][0];
    times.push(top['Execution Time']);
    rows = top.Plan.Plans?.[0]?.['Actual Rows'] ?? NaN;
  }
  return { rows, ms: summary(times).p50 };
}

async function dayCounter(pool, tenantId) {
  const { rows } = await pool.query(
    `SELECT c.spent_micro_usd::text AS spent, c.reserved_micro_usd::text AS reserved,
            b.daily_limit_micro_usd::text AS "limit"
       FROM ledger.spend_counters c
       JOIN ledger.budgets b ON b.tenant_id = c.tenant_id AND b.scope = 'tenant' AND b.scope_id = c.tenant_id
      WHERE c.tenant_id = $1 AND c.scope = 'tenant' AND c.period = 'day'
      ORDER BY c.period_start DESC`,
    [tenantId],
  );
  if (rows.length !== 1) throw new Error(`expected one day counter for ${tenantId}, found ${rows.length}`);
  const r = rows[0];
  return { spent: Number(r.spent), reserved: Number(r.reserved), limit: Number(r.limit) };
}

// ---------------------------------------------------------------- the naive baseline

// Check-then-write, as a gateway does it: read the spend, compare, then write it in a separate statement. No lock,
// no conditional update, no transaction: each caller has its own connection (the narrowest race window there is).
async function naiveLoop(clients, tenantId, limit, total, { cost, capS, onProgress }) {
  const s = {
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
  const stopTicker = onProgress ? ticker(() => onProgress(s), 2000) : () => {};
  const worker = async (c) => {
    while (!aborted && s.attempts < total) {
      if (performance.now() > deadline) {
        s.cappedByTime = true;
        break;
      }
      s.attempts += 1;
      try {
        const t0 = performance.now();
        const { rows } = await c.query('SELECT spent_micro_usd FROM bench_naive.spend WHERE tenant_id = $1', [
          tenantId,
        ]);
        const t1 = performance.now();
        s.checkMs.push(t1 - t0);
        if (Number(rows[0].spent_micro_usd) + WORST > limit) {
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

async function naiveSpent(pool, tenantId) {
  const { rows } = await pool.query(
    'SELECT spent_micro_usd::text AS s FROM bench_naive.spend WHERE tenant_id = $1',
    [tenantId],
  );
  return Number(rows[0].s);
}

// ---------------------------------------------------------------- main

async function main() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    throw new Error(
      `Node ${process.version}: the ledger and its client need Node 24 (run /work/main/node_modules/.bin/node bench/ledger-reserve.mjs)`,
    );
  }
  mkdirSync(logDir, { recursive: true });
  for (const f of ['apps/ledger/dist/main.js', 'libs/ledger-client/dist/index.js']) {
    if (!existsSync(join(root, f)))
      throw new Error(`${f} is missing: build first (npx tsc -b tsconfig.build.json)`);
  }
  log(
    `ledger reserve/settle benchmark: PAIRS=${opts.pairs}, CONCURRENCY=${opts.concurrency}, BUDGET_K=${opts.budgetK}, ` +
      `STAMPEDE=${opts.stampede} vs FIT=${opts.fit}, WARMUP=${opts.warmup}, TIME_CAP_S=${opts.timeCapS}`,
  );

  // Nothing else may compete for the CPU while measuring.
  let busyWith = competitors();
  if (busyWith.length) {
    log(
      `waiting up to ${opts.waitIdleS} s for other benchmarks/tests to finish:\n  ${busyWith.join('\n  ')}`,
    );
    const until = performance.now() + opts.waitIdleS * 1000;
    while (busyWith.length && performance.now() < until && !aborted) {
      await sleep(5000);
      busyWith = competitors();
    }
    if (busyWith.length) log('!! still running; measuring anyway (the report says so)');
    else log('no other benchmark or test is running now');
  }
  // Nor anything else (an npm ci, a build): wait until other processes use less than a quarter of the machine.
  const quietDeadline = performance.now() + opts.waitIdleS * 1000;
  let idleCheck;
  for (;;) {
    const a = cpuSnapshot();
    await sleep(3000);
    idleCheck = cpuUsage(a, cpuSnapshot(), 1);
    const othersShare = idleCheck.cores.other / os.availableParallelism();
    if (othersShare < 0.25 || performance.now() > quietDeadline || aborted) {
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
  const competing = busyWith;
  const loadAtStart = os.loadavg();
  const codeAtStart = codeVersion();

  // Kafka
  if (kafkaStatus()) log(`Kafka answers on ${KAFKA_BROKER} (left running at the end)`);
  else {
    log('Kafka is not running: starting it with deploy/local/kafka.sh start');
    kafkaStartedHere = true;
    execFileSync(join(root, 'deploy/local/kafka.sh'), ['start'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 180_000,
    });
  }

  // Postgres: a fresh database
  const dbName = `deliberate_bench_ledger_${runId}`;
  const pgVersion = await withPg(PG_ADMIN_URL, async (c) => {
    await c.query(`CREATE DATABASE "${dbName}"`);
    return (await c.query('SELECT version() AS v')).rows[0].v.replace(/ on .*$/, '');
  });
  database = dbName;
  const dbUrl = `${PG_BASE}/${dbName}`;
  log(`created database ${dbName}`);
  const pool = new pg.Pool({ connectionString: dbUrl, application_name: APP_NAME, max: 3 });
  closers.push(() => pool.end());

  // The ledger
  topicPrefix = `bench.ledger.${runId}.`;
  const port = await freePort();
  const ledger = spawnLedger({
    DATABASE_URL: dbUrl,
    KAFKA_BROKERS: KAFKA_BROKER,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    LEDGER_HOST: HOST,
    LEDGER_PORT: String(port),
    LEDGER_INTERNAL_TOKEN: INTERNAL_KEY,
    ...(opts.commandConcurrency ? { LEDGER_COMMAND_CONCURRENCY: opts.commandConcurrency } : {}),
    ...(opts.poolSize ? { DATABASE_POOL_SIZE: opts.poolSize } : {}),
  });
  const url = `http://${HOST}:${port}`;
  await waitHealthy(ledger, `${url}/health`);

  // Budgets: the throughput tenant fits BUDGET_K worst cases a day, the stampede tenant exactly FIT; no breaker rate.
  const TENANT_WARM = 'bench-warmup';
  const TENANT_TPUT = 'bench-throughput';
  const TENANT_STAMPEDE = 'bench-stampede';
  const tputLimit = opts.budgetK * WORST;
  const stampedeLimit = opts.fit * WORST;
  for (const [tenantId, limit] of [
    [TENANT_TPUT, tputLimit],
    [TENANT_STAMPEDE, stampedeLimit],
  ]) {
    const b = await putBudget(url, tenantId, {
      dailyLimitUsd: limit / 1_000_000,
      breakerMaxSpendUsd: null,
      overBudgetPolicy: 'fail',
    });
    if (b.dailyLimitMicroUsd !== limit)
      throw new Error(`budget of ${tenantId}: asked ${limit} micro-USD, got ${b.dailyLimitMicroUsd}`);
    log(
      `budget of ${tenantId}: ${num(limit)} micro-USD a day (${limit / WORST} worst cases of ${WORST}), no breaker rate`,
    );
  }

  // The client, as a service would use it
  clientLogFd = openSync(clientLogFile, 'w');
  closers.push(async () => {
    const fd = clientLogFd;
    clientLogFd = null;
    if (fd !== null) closeSync(fd);
  });
  const { Logger } = require('@nestjs/common');
  Logger.overrideLogger(benchNestLogger());
  const { LedgerClient } = require('@deliberate/ledger-client');
  const client = new LedgerClient({
    brokers: [KAFKA_BROKER],
    clientId: `bench-ledger-${runId}`,
    topicPrefix,
    timeoutMs: CLIENT_TIMEOUT_MS,
  });
  await client.connect();
  closers.push(() => client.close());
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
  const progress = (name) => (s) => {
    const now = performance.now();
    const done = s.settled ?? s.approved;
    const rate = ((done - lastTick.settled) * 1000) / (now - lastTick.at);
    lastTick = { at: now, settled: done };
    log(
      `  ${name}: ${s.attempts}/${opts.pairs} attempted, ${s.approved} approved, ${s.settled ?? s.approved} settled, ` +
        `${typeof s.denied === 'number' ? s.denied : deniedTotal(s)} denied; ${num(rate)} pairs/s in the last 2 s`,
    );
  };
  const stopSampler = sampleLedgerConnections(pool, dbName);
  const cpuA = cpuSnapshot();
  lastTick = { at: performance.now(), settled: 0 };
  const lt = await ledgerLoop(client, TENANT_TPUT, opts.pairs, {
    label: 'tput',
    capS: opts.timeCapS,
    concurrency: opts.concurrency,
    onProgress: progress('ledger'),
  });
  const cpuB = cpuSnapshot();
  const conns = await stopSampler();
  const ltSeconds = (lt.endedAt - lt.startedAt) / 1000;
  const ltCpu = cpuUsage(cpuA, cpuB, lt.settled);
  const ltCounter = await dayCounter(pool, TENANT_TPUT);
  const { rows: ltRows } = await pool.query(
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
    db: { ...ltRows[0], booked: Number(ltRows[0].booked) },
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
    while (watching && !aborted) {
      const { rows } = await pool.query(
        `SELECT (spent_micro_usd + reserved_micro_usd)::text AS used FROM ledger.spend_counters
          WHERE tenant_id = $1 AND scope = 'tenant' AND period = 'day'`,
        [TENANT_STAMPEDE],
      );
      for (const r of rows) highest = Math.max(highest, Number(r.used));
      await sleep(10);
    }
  })();
  const st0 = performance.now();
  const stampedeMs = [];
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
  const stDenied = new Map();
  for (const r of replies) if (!r.approved) stDenied.set(r.reason, (stDenied.get(r.reason) ?? 0) + 1);
  const stCounter = await dayCounter(pool, TENANT_STAMPEDE);
  const heldByApproved = stApproved.reduce((sum, r) => sum + r.amountMicroUsd, 0);
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
  const naiveClients = [];
  closers.push(async () => {
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
  const nCpuA = cpuSnapshot();
  lastTick = { at: performance.now(), settled: 0 };
  const nt = await naiveLoop(naiveClients, 'throughput', tputLimit, opts.pairs, {
    cost: ACTUAL,
    capS: opts.timeCapS,
    onProgress: progress('naive'),
  });
  const nCpuB = cpuSnapshot();
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
  closers.push(() => allPool.end());
  let allApproved = 0;
  await Promise.all(
    Array.from({ length: opts.stampede }, async () => {
      const { rows } = await allPool.query(
        `SELECT spent_micro_usd FROM bench_naive.spend WHERE tenant_id = 'stampede-all'`,
      );
      if (Number(rows[0].spent_micro_usd) + WORST > stampedeLimit) return;
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

  const machine = {
    cpus: os.availableParallelism(),
    memGiB: os.totalmem() / 2 ** 30,
    cpuModel:
      /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ??
      os.cpus()[0]?.model ??
      'unknown',
    node: process.version,
    kafka: kafkaVersion(),
    postgres: pgVersion,
    load: loadAtStart,
    code: codeAtStart,
  };
  const report = render({
    machine,
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

  if (opts.writeDocs) {
    // Someone else may append too: read it right before writing, then only append.
    const current = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '';
    const intro = current.includes(INTRO_HEADING) ? '' : `${INTRO}\n\n`;
    const sep = current === '' || current.endsWith('\n\n') ? '' : current.endsWith('\n') ? '\n' : '\n\n';
    appendFileSync(docsFile, `${sep}${intro}${report.section}\n`);
    log(`appended the results to ${docsFile}`);
  }
  return report.ok;
}

// ---------------------------------------------------------------- the report

const INTRO_HEADING = '## Ledger reserve → settle (`node bench/ledger-reserve.mjs`)';
const INTRO = `${INTRO_HEADING}

\`bench/ledger-reserve.mjs\` starts on 127.0.0.1 the local Kafka broker if none is running, a fresh Postgres
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

function render(r) {
  const { machine: m, ledgerTput: lt, ledgerStampede: ls, naiveTput: nt, naiveStampede: ns } = r;
  const date = new Date().toISOString();
  const ok = (cond) => (cond ? '✅ met' : '❌ missed');
  const lat = (x) => `${ms(x.p50)} / ${ms(x.p99)}`;
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
      ok(lt.pairsPerS >= 2000),
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
      ok(lt.overspend === 0),
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
      ok(ls.approved === opts.fit),
    ],
    [
      `Overspend, exactly-${opts.fit} phase (micro-USD)`,
      num(ls.overspend),
      num(ns.overspend),
      '0',
      ok(ls.overspend === 0 && ls.withinLimit),
    ],
    ['Throughput ratio ledger / baseline', `${(lt.pairsPerS / nt.pairsPerS).toFixed(3)}×`, '1×', '—', '—'],
  ];
  const table = rows.map((row) => `| ${row.join(' | ')} |`).join('\n');

  const cpuLine = (c, unit) => {
    const parts = ['ledger', 'kafka', 'postgres', 'bench', 'other']
      .filter((k) => Number.isFinite(c.perUnit[k]) && (k !== 'other' || c.perUnit[k] > 0.005))
      .map((k) => `${k} ${c.perUnit[k].toFixed(2)} ms (${(c.cores[k] * 100).toFixed(0)}% of a core)`);
    const total = ['ledger', 'kafka', 'postgres', 'bench'].reduce(
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
  const totalCpuPerPair = ['ledger', 'kafka', 'postgres', 'bench'].reduce(
    (a, k) => a + (Number.isFinite(lt.cpu.perUnit[k]) ? lt.cpu.perUnit[k] : 0),
    0,
  );
  const cpuCeiling = (m.cpus * 1000) / totalCpuPerPair; // pairs/s if every core did nothing else
  const ledgerCeiling = 1000 / lt.cpu.perUnit.ledger; // pairs/s with the ledger's single thread at 100%
  const sp = lt.split;
  const othersShare = lt.cpu.cores.other / m.cpus;
  const bottleneck = [];
  if (lt.pairsPerS < 2000) {
    const cpuShare = lt.pairsPerS / cpuCeiling;
    const findings = [];
    if (othersShare > 0.15)
      findings.push(
        `other processes took ${(othersShare * 100).toFixed(0)}% of the machine (${lt.cpu.topOthers.join(', ')}), so the figure is understated`,
      );
    findings.push(
      `CPU: a pair costs ${totalCpuPerPair.toFixed(2)} CPU ms across the stack (ledger ${lt.cpu.perUnit.ledger.toFixed(2)}, Postgres ${lt.cpu.perUnit.postgres.toFixed(2)}, Kafka broker ${lt.cpu.perUnit.kafka.toFixed(2)}, the benchmark's LedgerClient ${lt.cpu.perUnit.bench.toFixed(2)}; the naive pair ${['bench', 'postgres'].reduce((a, k) => a + nt.cpu.perUnit[k], 0).toFixed(2)}), so ${m.cpus} cores allow ≈ ${num(cpuCeiling)} pairs/s at most — the run reached ${(cpuShare * 100).toFixed(0)}% of that with the machine ${(lt.cpu.busy * 100).toFixed(0)}% busy, while 2,000 pairs/s would need ≤ ${((m.cpus * 1000) / 2000).toFixed(2)} CPU ms per pair here`,
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
    `- Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memGiB.toFixed(1)} GiB RAM, load average ${m.load.map((x) => x.toFixed(2)).join(' / ')} at start; Node ${m.node}; Kafka ${m.kafka}; ${m.postgres}`,
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
  return { table, notes, section, ok: good };
}

main()
  .then(async (good) => {
    await cleanup();
    log(good ? 'done' : 'done, but a budget check FAILED (see above)');
    process.exit(good ? 0 : 1);
  })
  .catch(async (e) => {
    if (aborted) {
      await cleanup();
      return;
    }
    log(`failed: ${e.stack ?? e}`);
    for (const c of children) {
      const t = tail(c.logFile, 15);
      if (t.trim()) console.log(`--- last lines of ${c.logFile}\n${t}`);
    }
    await cleanup();
    process.exit(1);
  });
