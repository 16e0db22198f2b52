// Fast-path benchmark: what the orchestration (gateway → Kafka → triage → fast model → Kafka) adds on top of
// calling the fast model directly. Everything runs on this machine against 127.0.0.1 only:
//   1. baseline: the OpenAI SDK straight to the model simulator (open loop at RATE/s, then CONCURRENCY in flight);
//   2. stack latency: N fast-mode tasks over HTTP at RATE/s, submit → tasks.task.completed.v1 seen on Kafka;
//   3. sustained: SUSTAINED_N tasks with CONCURRENCY submissions in flight, completed tasks/s and nothing lost.
// The results are printed and appended as a dated section to docs/benchmarks.md.
//
//   npm run bench:fast-path                      (node must be Node 24: npm run puts node_modules/.bin first)
//   npm run bench:fast-path -- --n=500 --rate=100 --sustained-n=2000 --concurrency=64
//   N=500 SUSTAINED_N=2000 npm run bench:fast-path
//
// Options (flag or environment variable):
//   N (2000)              tasks, and baseline calls, in the latency phases
//   RATE (100)            tasks (calls) per second in the latency phases, open loop
//   SUSTAINED_N (10000)   tasks, and baseline calls, in the throughput phases
//   CONCURRENCY (64)      requests in flight in the throughput phases
//   WARMUP (500)          unmeasured calls, then unmeasured tasks, at RATE/s before each latency phase
//   LOST_TIMEOUT_S (60)   a task accepted but without an outcome this long after the last submission is lost
//   BENCH_TIMEOUT_S (1500) hard limit for the whole run
//   TRIAGE_CONCURRENCY    passed to the triage (its default otherwise)
//   BENCH_KAFKA (local)   local: the broker of deploy/local/kafka.sh on 127.0.0.1:9092, started if it is down and
//                         then stopped at the end; private: a fresh single-node broker of this run's own (same jars,
//                         empty data directory under .local/bench/, free ports), removed at the end
//   BREAKDOWN=1           also consume the intermediate events and split the stack latency into segments (costs
//                         CPU in the benchmark and Kafka: on a small machine it raises the figures it measures)
//   NO_DOCS=1             do not append to docs/benchmarks.md
// Child logs: .local/bench/fast-path-<service>.log. Kafka is started if it is not running, and stopped only if
// started here.
// Every child process, the database, the topics and the consumer groups are removed at the end, on error and on
// SIGINT/SIGTERM.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import OpenAI from 'openai';
import pg from 'pg';

const { Kafka, logLevel } = kafkajs;

// kafkajs 2.2.4 schedules a timer with a negative delay on every connection, which Node 24 reports as a
// TimeoutNegativeWarning (harmless; https://github.com/tulios/kafkajs/issues/1751). Keep every other warning.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') console.warn(`(warning) ${w.name}: ${w.message}`);
});
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const logDir = join(root, '.local/bench');
const docsFile = join(root, 'docs/benchmarks.md');
const HOST = '127.0.0.1';
// deploy/local/kafka.sh's broker, unless BENCH_KAFKA=private starts a broker of this run's own on a free port.
let KAFKA_BROKER = `${HOST}:9092`;
const PG_ADMIN_URL = `postgres://postgres@${HOST}:5432/postgres`;
// A request without an answer after this long counts as an error (keeps every phase bounded in time).
const REQUEST_TIMEOUT_MS = 30_000;
const ADMIN_KEY = `bench-admin-${randomBytes(12).toString('hex')}`;

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
  if (!Number.isFinite(v) || v < min || v > max)
    throw new Error(`${name} must be a number in [${min}, ${max}], got '${raw}'`);
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

const opts = {
  n: Math.floor(option('N', 2000)),
  rate: option('RATE', 100, { min: 0.1, max: 100_000 }),
  sustainedN: Math.floor(option('SUSTAINED_N', 10_000)),
  concurrency: Math.floor(option('CONCURRENCY', 64, { max: 10_000 })),
  warmup: Math.floor(option('WARMUP', 500, { min: 0 })),
  lostTimeoutS: option('LOST_TIMEOUT_S', 60, { max: 3600 }),
  benchTimeoutS: option('BENCH_TIMEOUT_S', 1500, { min: 30, max: 7200 }),
  triageConcurrency: process.env.TRIAGE_CONCURRENCY
    ? Math.floor(option('TRIAGE_CONCURRENCY', 64))
    : undefined,
  kafkaMode: (() => {
    const v = String(process.env.BENCH_KAFKA ?? 'local').toLowerCase();
    if (v !== 'local' && v !== 'private')
      throw new Error(`BENCH_KAFKA must be 'local' or 'private', got '${v}'`);
    return v;
  })(),
  breakdown: ['1', 'true', 'yes'].includes(String(process.env.BREAKDOWN ?? '').toLowerCase()),
  writeDocs: !['1', 'true', 'yes'].includes(String(process.env.NO_DOCS ?? '').toLowerCase()),
};

// ---------------------------------------------------------------- output helpers

const started = performance.now();
const log = (msg) =>
  console.log(`[bench +${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const ms = (v) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const signedMs = (v) => (Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}` : 'n/a');
const num = (v, d = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a';
const ratio = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length); // nearest rank
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
function summary(values) {
  const s = Float64Array.from(values).sort();
  return {
    count: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

const tickers = new Set();
/** Calls fn() every `everyMs` until the returned stop() is called (or the run is aborted). */
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
function checkAborted() {
  if (aborted) throw new Error(`aborted (${aborted})`);
}
function abort(reason) {
  aborted ??= reason;
  for (const t of tickers) clearInterval(t);
  tickers.clear();
}

// ---------------------------------------------------------------- cleanup of everything started here

const children = []; // { name, proc, logFile, stopMs }
const STOP_GRACE_MS = 20_000;
let kafkaStartedHere = false;
let privateKafkaDir = null; // BENCH_KAFKA=private: the broker's directory, removed at the end
let database = null; // name of the database created here
let kafkaClients = []; // connected kafkajs consumers/admins
let topicPrefix = null;
let cleaningUp = null;

function killChildrenNow() {
  for (const c of children)
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
}

async function stopChild(c) {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => c.proc.once('exit', resolve));
  const t0 = performance.now();
  c.proc.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
  const took = performance.now() - t0;
  c.stopMs = took;
  if (!done) {
    log(`${c.name} (pid ${c.proc.pid}) did not stop within ${STOP_GRACE_MS / 1000} s of SIGTERM; killing it`);
    c.proc.kill('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  } else if (took > 2000) {
    log(`${c.name} took ${(took / 1000).toFixed(1)} s to stop after SIGTERM`);
  }
}

async function cleanup() {
  cleaningUp ??= (async () => {
    for (const k of kafkaClients.splice(0)) await k.disconnect().catch(() => {});
    const services = children.filter((c) => c.name !== 'kafka');
    for (const c of [...services].reverse()) await stopChild(c).catch(() => {});
    if (topicPrefix) await deleteBenchTopics().catch((e) => log(`could not delete topics: ${e.message}`));
    for (const c of children.filter((x) => x.name === 'kafka')) await stopChild(c).catch(() => {});
    if (privateKafkaDir) {
      rmSync(privateKafkaDir, { recursive: true, force: true });
      log(`removed the private broker's data (${privateKafkaDir})`);
      privateKafkaDir = null;
    }
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
  const c = new pg.Client({ connectionString: url });
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

const kafkaScript = join(root, 'deploy/local/kafka.sh');
const kafkaState = join(root, '.local/kafka');

function kafkaStatus() {
  try {
    execFileSync(kafkaScript, ['status'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function localKafkaPid() {
  try {
    const pid = Number(readFileSync(join(kafkaState, 'kafka.pid'), 'utf8').trim());
    return pid && pidAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** The last ERROR lines of a broker's server.log, to say why it is not answering. */
function brokerErrors(logsDir) {
  try {
    const lines = readFileSync(join(logsDir, 'server.log'), 'utf8').trimEnd().split('\n');
    const errors = lines.filter((l) => / ERROR /.test(l)).slice(-3);
    const causes = lines.filter((l) => /Exception: /.test(l)).slice(-1);
    return [...errors, ...causes].map((l) => `    ${l.slice(0, 300)}`).join('\n');
  } catch {
    return '    (no server.log)';
  }
}

/** Uses deploy/local/kafka.sh's broker on 127.0.0.1:9092; starts it only if no broker process exists at all. */
async function useLocalKafka() {
  if (kafkaStatus()) {
    log(`Kafka answers on ${KAFKA_BROKER} (left running at the end)`);
    return;
  }
  const existing = localKafkaPid();
  if (existing) {
    // Someone else's broker is starting (or dying): wait for it rather than start a second one.
    log(`Kafka process ${existing} exists but does not answer yet; waiting up to 90 s`);
    for (let i = 0; i < 90 && pidAlive(existing); i++) {
      if (kafkaStatus()) {
        log(`Kafka answers on ${KAFKA_BROKER} (not started here; left running at the end)`);
        return;
      }
      await sleep(1000);
    }
    throw new Error(
      `the local Kafka broker (pid ${existing}) does not answer on ${KAFKA_BROKER}; last errors in ${kafkaState}/logs/server.log:\n${brokerErrors(join(kafkaState, 'logs'))}\n` +
        'BENCH_KAFKA=private runs the benchmark on a broker of its own.',
    );
  }
  log('Kafka is not running: starting it with deploy/local/kafka.sh start (stopped again at the end)');
  try {
    execFileSync(kafkaScript, ['start'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 180_000 });
  } catch (e) {
    throw new Error(
      `deploy/local/kafka.sh start failed (${e.message.split('\n')[0]}); last errors in ${kafkaState}/logs/server.log:\n${brokerErrors(join(kafkaState, 'logs'))}\n` +
        'BENCH_KAFKA=private runs the benchmark on a broker of its own.',
    );
  }
  kafkaStartedHere = localKafkaPid() !== null;
}

/** A fresh single-node KRaft broker for this run only: same jars and settings as deploy/local/kafka.sh. */
async function startPrivateKafka() {
  const libs = join(kafkaState, 'libs');
  if (!existsSync(join(libs, '.complete'))) {
    log('fetching the broker jars with deploy/local/kafka.sh fetch');
    execFileSync(kafkaScript, ['fetch'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  }
  const dir = join(logDir, `fast-path-kafka-${runId}`);
  privateKafkaDir = dir;
  const [port, controllerPort] = [await freePort(), await freePort()];
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const config = join(dir, 'server.properties');
  writeFileSync(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${HOST}:${controllerPort}`,
      `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=3',
      'default.replication.factor=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=12',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'min.insync.replicas=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'delete.topic.enable=true',
      '',
    ].join('\n'),
  );
  const jvm = [
    '-cp',
    `${libs}/*`,
    `-Dlog4j2.configurationFile=${join(root, 'deploy/local/kafka/log4j2.properties')}`,
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
  ];
  const clusterId = randomBytes(16).toString('base64url');
  execFileSync(
    'java',
    [
      ...jvm,
      'kafka.tools.StorageTool',
      'format',
      '--config',
      config,
      '--cluster-id',
      clusterId,
      '--ignore-formatted',
    ],
    { stdio: 'ignore', timeout: 120_000 },
  );
  const heap = (process.env.KAFKA_HEAP ?? '-Xms256m -Xmx768m').split(/\s+/).filter(Boolean);
  const child = spawnProcess('kafka', 'java', [
    ...heap,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    ...jvm,
    'kafka.Kafka',
    config,
  ]);
  KAFKA_BROKER = `${HOST}:${port}`;
  const admin = new Kafka({
    clientId: 'bench-probe',
    brokers: [KAFKA_BROKER],
    logLevel: logLevel.NOTHING,
  }).admin();
  for (let i = 0; ; i++) {
    if (child.proc.exitCode !== null)
      throw new Error(`the private broker exited:\n${brokerErrors(join(dir, 'logs'))}`);
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.disconnect();
      break;
    } catch {
      if (i >= 120)
        throw new Error(
          `the private broker did not answer within 120 s:\n${brokerErrors(join(dir, 'logs'))}`,
        );
      await sleep(1000);
    }
  }
  log(`private Kafka broker up (pid ${child.proc.pid}, ${KAFKA_BROKER}, data in ${dir})`);
}

function spawnProcess(name, command, args, env = {}) {
  const logFile = join(logDir, `fast-path-${name}.log`); // other benchmarks share the directory
  const fd = openSync(logFile, 'w');
  const proc = spawn(command, args, {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TZ: 'UTC',
      ...env,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const child = { name, proc, logFile };
  children.push(child);
  proc.on('exit', (code, signal) => {
    if (!cleaningUp) log(`!! ${name} exited unexpectedly (code ${code}, signal ${signal}); see ${logFile}`);
  });
  return child;
}

function spawnService(name, script, env) {
  return spawnProcess(name, process.execPath, ['--enable-source-maps', join(root, script)], {
    NODE_ENV: 'production',
    OTEL_TRACES_EXPORTER: 'none',
    LOG_LEVEL: 'warn',
    ...env,
  });
}

async function waitHealthy(child, url, timeoutMs = 60_000) {
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

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// CPU time by component, from /proc: the child services by pid, Kafka and Postgres by process name.
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
/** Every process's CPU ticks, by pid, with the component it belongs to (or its command name). */
function cpuSnapshot() {
  const ours = new Map(children.map((c) => [c.proc.pid, c.name]));
  ours.set(process.pid, 'bench');
  const localBroker = opts.kafkaMode === 'local' ? localKafkaPid() : null;
  if (localBroker) ours.set(localBroker, 'kafka');
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      let group = ours.get(pid);
      if (!group && comm === 'postgres') {
        // Shared server processes count as ours; a backend serving another database does not.
        const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        const db = /^postgres: [^:]+: \S+ (\S+) (?:[\d.:a-f]+\(\d+\)|\[local\])/.exec(title)?.[1];
        if (!db || db === database) group = 'postgres';
      }
      let label = comm;
      if (!group) {
        // A readable name for an unrelated process: "node jest", "npm ci", "postgres" …
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        const base = (a) => a.split('/').pop();
        if (comm === 'postgres') label = 'postgres (other databases)';
        else if (argv.length) label = argv.slice(0, 2).map(base).join(' ').slice(0, 40);
      }
      procs.set(pid, { group, comm, label, ticks: cpuTicksOf(pid) });
    } catch {
      // the process ended meanwhile
    }
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: processes account for user + nice + system only.
  const idle = cpu[3] + (cpu[4] ?? 0);
  const all = cpu.reduce((a, b) => a + b, 0);
  const processTime = cpu[0] + cpu[1] + cpu[2];
  return { at: performance.now(), procs, idle, all, processTime };
}
/**
 * CPU used between two snapshots: the machine's busy share, CPU milliseconds per task by component, and the share
 * taken by unrelated processes (with the busiest of them). Processes that ended in between are not counted.
 */
function cpuUsage(a, b, tasks) {
  const byGroup = { gateway: 0, triage: 0, kafka: 0, postgres: 0, 'model-simulator': 0, bench: 0 };
  const foreignByComm = new Map();
  let foreign = 0;
  let kernel = 0;
  for (const [pid, p] of b.procs) {
    const before = a.procs.get(pid);
    const delta = Math.max(0, p.ticks - (before && before.comm === p.comm ? before.ticks : 0));
    if (p.group) byGroup[p.group] = (byGroup[p.group] ?? 0) + delta;
    else if (/^(ksoftirqd|kworker|rcu_|migration)/.test(p.comm)) {
      kernel += delta; // kernel threads, partly on our behalf
    } else {
      foreign += delta;
      foreignByComm.set(p.label, (foreignByComm.get(p.label) ?? 0) + delta);
    }
  }
  const all = b.all - a.all;
  const busy = all > 0 ? 1 - (b.idle - a.idle) / all : NaN;
  const perTask = {};
  for (const [k, v] of Object.entries(byGroup)) perTask[k] = ((v / clockTicks) * 1000) / tasks;
  // Short-lived processes that ended in between escape the per-process count; the machine total catches them.
  const oursTotal = Object.values(byGroup).reduce((x, y) => x + y, 0);
  const processBusy = b.processTime - a.processTime;
  const others = all > 0 ? Math.max(foreign, processBusy - oursTotal - kernel, 0) / all : NaN;
  const topOthers = [...foreignByComm]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 3)
    .filter(([, v]) => all > 0 && v / all >= 0.02)
    .map(([comm, v]) => `${comm} ${((v / all) * 100).toFixed(0)}%`);
  return { busy, others, topOthers, perTask };
}

function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { hwmMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
  } catch {
    return { hwmMiB: NaN, rssMiB: NaN };
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
      .filter((g) => g.startsWith(topicPrefix) || g.startsWith(`bench-${runId}`));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
    log(`deleted ${topics.length} topics and ${groups.length} consumer groups under '${topicPrefix}'`);
  } finally {
    await admin.disconnect();
  }
}

async function http(method, url, { key, body } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const r = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : {} };
}

// ---------------------------------------------------------------- completion tracking

/** id → { at (performance.now() on arrival), createTime (epoch ms of the event), topic, code } */
const outcomes = new Map();
let duplicates = 0;
let foreign = 0;
/** id → { accepted, triaged, usage }: Kafka CreateTime (epoch ms) of the task's intermediate events. */
const stages = new Map();
const STAGE_TOPICS = {
  'tasks.task.accepted.v1': 'accepted',
  'tasks.task.triaged.v1': 'triaged',
  'usage.model-call.recorded.v1': 'usage',
};

const taskIdOf = (m) => {
  const raw = m.headers?.ce_taskid;
  return (Array.isArray(raw) ? raw[0] : raw)?.toString();
};

async function startConsumer(kafka, group, topics, eachBatch) {
  const consumer = kafka.consumer({
    groupId: `bench-${runId}-${group}`,
    maxWaitTimeInMs: 100,
    sessionTimeout: 30_000,
  });
  kafkaClients.push(consumer);
  const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({ partitionsConsumedConcurrently: 4, eachBatch });
  await Promise.race([
    joined,
    sleep(30_000).then(() => Promise.reject(new Error(`consumer ${group} did not join its group in 30 s`))),
  ]);
}

async function startCompletionConsumer(prefix) {
  const completedTopic = `${prefix}tasks.task.completed.v1`;
  const failedTopic = `${prefix}tasks.task.failed.v1`;
  const stageTopics = Object.keys(STAGE_TOPICS).map((t) => `${prefix}${t}`);
  const kafka = new Kafka({ clientId: `bench-${runId}`, brokers: [KAFKA_BROKER], logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  for (let i = 0; ; i++) {
    const topics = new Set(await admin.listTopics());
    const missing = [completedTopic, failedTopic, ...stageTopics].filter((t) => !topics.has(t));
    if (missing.length === 0) break;
    if (i > 60) throw new Error(`topics ${missing.join(', ')} were not created by the services`);
    await sleep(500);
  }
  await admin.disconnect();

  // The outcomes, timestamped on arrival: what a downstream subscriber sees.
  await startConsumer(kafka, 'completions', [completedTopic, failedTopic], async ({ batch }) => {
    const at = performance.now();
    const failed = batch.topic === failedTopic;
    for (const m of batch.messages) {
      const id = taskIdOf(m);
      if (!id) {
        foreign++;
        continue;
      }
      if (outcomes.has(id)) {
        duplicates++;
        continue;
      }
      let code = null;
      if (failed) {
        try {
          code = JSON.parse(m.value.toString())?.error?.code ?? 'unknown';
        } catch {
          code = 'unparseable';
        }
      }
      outcomes.set(id, { at, createTime: Number(m.timestamp), topic: failed ? 'failed' : 'completed', code });
    }
  });
  // The intermediate events, by their Kafka timestamps only (a separate group, so they never delay the above).
  if (!opts.breakdown) {
    log(
      `completion consumer joined (group bench-${runId}-completions on ${prefix}*); no latency breakdown (BREAKDOWN=1 adds it)`,
    );
    return;
  }
  await startConsumer(kafka, 'stages', stageTopics, async ({ batch }) => {
    const stage = STAGE_TOPICS[batch.topic.slice(prefix.length)];
    for (const m of batch.messages) {
      const id = taskIdOf(m);
      if (!id) continue;
      const st = stages.get(id) ?? {};
      st[stage] ??= Number(m.timestamp);
      stages.set(id, st);
    }
  });
  log(`completion consumers joined (groups bench-${runId}-completions and -stages on ${prefix}*)`);
}

// ---------------------------------------------------------------- load generators

/** Calls fire(i) for i in [0, n) at `rate` per second without waiting for answers (open loop). */
async function openLoop(n, rate, fire) {
  const interval = 1000 / rate;
  const t0 = performance.now();
  const inFlight = [];
  let maxLagMs = 0;
  for (let i = 0; i < n; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
    checkAborted();
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    inFlight.push(fire(i));
  }
  const sentIn = performance.now() - t0;
  await Promise.all(inFlight);
  return { t0, sentIn, maxLagMs };
}

/** Calls fire(i) for i in [0, n) with `concurrency` calls in flight (closed loop). */
async function closedLoop(n, concurrency, fire) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        checkAborted();
        await fire(next++);
      }
    }),
  );
  return { t0, elapsed: performance.now() - t0 };
}

function newPhase(name) {
  return {
    name,
    submitted: 0,
    accepted: new Map(),
    rejected: new Map(),
    rejectSample: null,
    errors: 0,
    errorSample: null,
    lastAckAt: 0,
  };
}

function makeSubmitter(gatewayUrl, key) {
  const url = `${gatewayUrl}/v1/tasks`;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  return async function submit(phase, i, input) {
    const body = JSON.stringify({
      input: input ?? `Benchmark question ${i}: what is ${i} + ${i}?`,
      mode: 'fast',
    });
    const submitAt = performance.now();
    phase.submitted++;
    try {
      const r = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await r.text();
      const ackAt = performance.now();
      if (r.status === 202) {
        phase.accepted.set(JSON.parse(text).id, {
          submitAt,
          ackAt,
          submitEpoch: performance.timeOrigin + submitAt,
        });
        if (ackAt > phase.lastAckAt) phase.lastAckAt = ackAt;
      } else {
        phase.rejected.set(r.status, (phase.rejected.get(r.status) ?? 0) + 1);
        phase.rejectSample ??= `${r.status} ${text.slice(0, 300)}`;
      }
    } catch (e) {
      phase.errors++;
      phase.errorSample ??= `${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
    }
  };
}

function settled(phase) {
  let completed = 0;
  let failed = 0;
  for (const id of phase.accepted.keys()) {
    const o = outcomes.get(id);
    if (o?.topic === 'completed') completed++;
    else if (o) failed++;
  }
  return { completed, failed, pending: phase.accepted.size - completed - failed };
}

/** Waits until every accepted task of the phase completed or failed, or until the lost timeout. */
async function drain(phase, sentAt) {
  const deadline = sentAt + opts.lostTimeoutS * 1000;
  let s = settled(phase);
  while (s.pending > 0 && performance.now() < deadline) {
    await sleep(200);
    checkAborted();
    s = settled(phase);
  }
  if (s.pending > 0)
    log(
      `${phase.name}: ${s.pending} accepted tasks still without an outcome ${opts.lostTimeoutS}s after the last submission: counted as lost`,
    );
  return s;
}

function progressLine(phase, total) {
  const s = settled(phase);
  const rej = [...phase.rejected.values()].reduce((a, b) => a + b, 0);
  return `${phase.name}: submitted ${phase.submitted}/${total}, accepted ${phase.accepted.size}, completed ${s.completed}, failed ${s.failed}, rejected ${rej}, errors ${phase.errors}, pending ${s.pending}`;
}

function analyse(phase) {
  const lat = [];
  const latCreate = [];
  const ack = [];
  let lastOutcome = 0;
  let lastCreate = 0;
  let completed = 0;
  let failed = 0;
  const failCodes = new Map();
  let firstSubmit = Infinity;
  let firstSubmitEpoch = Infinity;
  const seg = { gateway: [], toTriage: [], model: [], publish: [], delivery: [] };
  for (const [id, a] of phase.accepted) {
    firstSubmit = Math.min(firstSubmit, a.submitAt);
    firstSubmitEpoch = Math.min(firstSubmitEpoch, a.submitEpoch);
    ack.push(a.ackAt - a.submitAt);
    const o = outcomes.get(id);
    if (!o) continue;
    lastOutcome = Math.max(lastOutcome, o.at);
    lastCreate = Math.max(lastCreate, o.createTime);
    if (o.topic === 'failed') {
      failed++;
      failCodes.set(o.code, (failCodes.get(o.code) ?? 0) + 1);
      continue;
    }
    completed++;
    lat.push(o.at - a.submitAt);
    latCreate.push(o.createTime - a.submitEpoch);
    const st = stages.get(id);
    if (st?.accepted && st.triaged && st.usage) {
      seg.gateway.push(st.accepted - a.submitEpoch);
      seg.toTriage.push(st.triaged - st.accepted);
      seg.model.push(st.usage - st.triaged);
      seg.publish.push(o.createTime - st.usage);
      seg.delivery.push(performance.timeOrigin + o.at - o.createTime);
    }
  }
  const rejected = [...phase.rejected.values()].reduce((a, b) => a + b, 0);
  return {
    latency: summary(lat),
    latencyByCreateTime: summary(latCreate),
    ack: summary(ack),
    segments: Object.fromEntries(Object.entries(seg).map(([k, v]) => [k, summary(v)])),
    completed,
    failed,
    failCodes,
    lost: phase.accepted.size - completed - failed,
    rejected,
    errors: phase.errors,
    accepted: phase.accepted.size,
    firstSubmit,
    lastOutcome,
    lastAck: phase.lastAckAt,
    completedPerS: completed > 0 ? completed / ((lastOutcome - firstSubmit) / 1000) : NaN,
    completedPerSByCreateTime: completed > 0 ? completed / ((lastCreate - firstSubmitEpoch) / 1000) : NaN,
    acceptedPerS:
      phase.accepted.size > 0 ? phase.accepted.size / ((phase.lastAckAt - firstSubmit) / 1000) : NaN,
  };
}

// ---------------------------------------------------------------- the run

const runId = randomBytes(4).toString('hex');

async function main() {
  mkdirSync(logDir, { recursive: true });
  log(
    `fast-path benchmark run ${runId}: N=${opts.n} RATE=${opts.rate}/s SUSTAINED_N=${opts.sustainedN} CONCURRENCY=${opts.concurrency} WARMUP=${opts.warmup}`,
  );
  for (const s of ['model-simulator', 'gateway', 'triage']) {
    if (!existsSync(join(root, `apps/${s}/dist/main.js`)))
      throw new Error(`apps/${s}/dist/main.js is missing: run npx tsc -b tsconfig.build.json`);
  }
  const loadAtStart = os.loadavg();
  const codeAtStart = codeVersion();

  // Kafka
  if (opts.kafkaMode === 'private') await startPrivateKafka();
  else await useLocalKafka();

  // Postgres
  const pgVersion = await withPg(PG_ADMIN_URL, async (c) => {
    const v = (await c.query('SELECT version() AS v')).rows[0].v;
    const name = `deliberate_bench_${runId}`;
    await c.query(`CREATE DATABASE "${name}"`);
    database = name;
    return v;
  });
  const databaseUrl = `postgres://postgres@${HOST}:5432/${database}`;
  log(`created database ${database} (${pgVersion.split(',')[0]})`);

  // Services
  topicPrefix = `bench.${runId}.`;
  const [simPort, gatewayPort, triagePort] = [await freePort(), await freePort(), await freePort()];
  const simBase = `http://${HOST}:${simPort}/v1`;
  const gatewayUrl = `http://${HOST}:${gatewayPort}`;
  const kafkaEnv = { KAFKA_BROKERS: KAFKA_BROKER, KAFKA_TOPIC_PREFIX: topicPrefix };
  const sim = spawnService('model-simulator', 'apps/model-simulator/dist/main.js', {
    SIM_PORT: String(simPort),
    SIM_HOST: HOST,
    SIM_TIME_SCALE: '0',
  });
  await waitHealthy(sim, `http://${HOST}:${simPort}/health`);
  const gateway = spawnService('gateway', 'apps/gateway/dist/main.js', {
    ...kafkaEnv,
    DATABASE_URL: databaseUrl,
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_HOST: HOST,
    GATEWAY_ADMIN_API_KEY: ADMIN_KEY,
  });
  await waitHealthy(gateway, `${gatewayUrl}/health`);
  const triage = spawnService('triage', 'apps/triage/dist/main.js', {
    ...kafkaEnv,
    TRIAGE_HEALTH_PORT: String(triagePort),
    TRIAGE_HOST: HOST,
    LLM_FAST_BASE_URL: simBase,
    LLM_REASONING_BASE_URL: simBase,
    LLM_STANDARD_BASE_URL: simBase,
    ...(opts.triageConcurrency ? { TRIAGE_CONCURRENCY: String(opts.triageConcurrency) } : {}),
  });
  await waitHealthy(triage, `http://${HOST}:${triagePort}/health`);

  await startCompletionConsumer(topicPrefix);

  // Tenant and key
  const tenant = `bench-${runId}`;
  const t = await http('POST', `${gatewayUrl}/v1/admin/tenants`, {
    key: ADMIN_KEY,
    body: { id: tenant, name: 'Benchmark tenant' },
  });
  if (t.status !== 201) throw new Error(`creating tenant: ${t.status} ${JSON.stringify(t.body)}`);
  const k = await http('POST', `${gatewayUrl}/v1/admin/tenants/${tenant}/api-keys`, {
    key: ADMIN_KEY,
    body: { role: 'submitter', name: 'bench' },
  });
  if (k.status !== 201) throw new Error(`creating api key: ${k.status} ${JSON.stringify(k.body)}`);
  log(`tenant ${tenant} with a submitter key`);
  const submit = makeSubmitter(gatewayUrl, k.body.key);
  // Log lines from here on are written during the measurement; those before are start-up noise.
  for (const c of children) c.measureFrom = statSync(c.logFile).size;

  // ---- 1. baseline: the simulator straight through the OpenAI SDK
  const openai = new OpenAI({ baseURL: simBase, apiKey: 'x', maxRetries: 0, timeout: REQUEST_TIMEOUT_MS });
  const baseline = { lat: [], errors: 0, errorSample: null, ok: 0 };
  const call = async (i, record = true) => {
    const t0 = performance.now();
    try {
      await openai.chat.completions.create({
        model: 'sim-fast',
        messages: [{ role: 'user', content: `Benchmark question ${i}: what is ${i} + ${i}?` }],
      });
      if (record) {
        baseline.lat.push(performance.now() - t0);
        baseline.ok++;
      }
    } catch (e) {
      baseline.errors++;
      baseline.errorSample ??= e.message;
    }
  };
  if (opts.warmup) {
    log(`baseline warm-up: ${opts.warmup} calls at ${opts.rate}/s (not measured)`);
    await openLoop(opts.warmup, opts.rate, (i) => call(-1 - i, false));
  }
  log(`baseline latency: ${opts.n} calls to sim-fast at ${opts.rate}/s (open loop)`);
  let stop = ticker(() =>
    log(`baseline latency: ${baseline.ok + baseline.errors}/${opts.n} answered, ${baseline.errors} errors`),
  );
  const bLoop = await openLoop(opts.n, opts.rate, (i) => call(i));
  stop();
  const baselineLatency = summary(baseline.lat);
  const baselineLatencyErrors = baseline.errors;
  log(
    `baseline latency: p50 ${ms(baselineLatency.p50)} ms, p99 ${ms(baselineLatency.p99)} ms, max ${ms(baselineLatency.max)} ms, errors ${baseline.errors}, sender lag max ${ms(bLoop.maxLagMs)} ms`,
  );

  const throughputN = opts.sustainedN;
  log(`baseline throughput: ${throughputN} calls with ${opts.concurrency} in flight`);
  baseline.ok = 0;
  baseline.errors = 0;
  baseline.lat = [];
  stop = ticker(() => log(`baseline throughput: ${baseline.ok + baseline.errors}/${throughputN} answered`));
  const bThr = await closedLoop(throughputN, opts.concurrency, (i) => call(i));
  stop();
  const baselineThroughput = {
    callsPerS: baseline.ok / (bThr.elapsed / 1000),
    errors: baseline.errors,
    latency: summary(baseline.lat),
  };
  log(
    `baseline throughput: ${num(baselineThroughput.callsPerS)} calls/s (${baseline.ok} ok, ${baseline.errors} errors in ${(bThr.elapsed / 1000).toFixed(1)} s)`,
  );

  // ---- 2. the idle stack's own CPU use, then stack warm-up and latency at RATE/s
  log('idle stack: measuring CPU use for 5 s with no load');
  const cpuIdle0 = cpuSnapshot();
  await sleep(5000);
  const cpuIdle = cpuUsage(cpuIdle0, cpuSnapshot(), 1);
  if (cpuIdle.others > OTHERS_WARN) {
    log(
      `!! other processes use ${(cpuIdle.others * 100).toFixed(0)}% of the machine${cpuIdle.topOthers.length ? ` (${cpuIdle.topOthers.join(', ')})` : ''}: the figures will be inflated (the report says so)`,
    );
  }

  if (opts.warmup) {
    const w = newPhase('stack warm-up');
    log(`stack warm-up: ${opts.warmup} tasks at ${opts.rate}/s (not measured)`);
    const stopW = ticker(() => log(progressLine(w, opts.warmup)));
    await openLoop(opts.warmup, opts.rate, (i) =>
      submit(w, i, `Warm-up question ${i}: what is ${i} + ${i}?`),
    );
    const s = await drain(w, performance.now());
    stopW();
    if (w.accepted.size === 0 || s.completed === 0) {
      throw new Error(
        `the stack completed none of the warm-up tasks: ${progressLine(w, opts.warmup)}; ${w.rejectSample ?? w.errorSample ?? ''}`,
      );
    }
    log(progressLine(w, opts.warmup));
  }

  const lp = newPhase('stack latency');
  log(`stack latency: ${opts.n} tasks at ${opts.rate}/s (open loop), submit → completed event`);
  stop = ticker(() => log(progressLine(lp, opts.n)));
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const cpuLp0 = cpuSnapshot();
  const sLoop = await openLoop(opts.n, opts.rate, (i) => submit(lp, i));
  await drain(lp, performance.now());
  const cpuLatency = cpuUsage(cpuLp0, cpuSnapshot(), opts.n);
  eld.disable();
  // The histogram records the whole timer interval: subtract the 10 ms resolution to get the delay.
  sLoop.loopDelayP99 = Math.max(0, eld.percentile(99) / 1e6 - 10);
  sLoop.loopDelayMax = Math.max(0, eld.max / 1e6 - 10);
  stop();
  log(progressLine(lp, opts.n));
  await sleep(500); // the intermediate events' consumer may trail the completions' by a fetch
  const latency = analyse(lp);
  log(
    `stack latency: p50 ${ms(latency.latency.p50)} ms, p99 ${ms(latency.latency.p99)} ms, max ${ms(latency.latency.max)} ms; lost ${latency.lost}, failed ${latency.failed}, sender lag max ${ms(sLoop.maxLagMs)} ms`,
  );

  // ---- 3. sustained: CONCURRENCY submissions in flight
  const sp = newPhase('sustained');
  log(`sustained: ${opts.sustainedN} tasks with ${opts.concurrency} submissions in flight`);
  stop = ticker(() => log(progressLine(sp, opts.sustainedN)));
  const cpuSp0 = cpuSnapshot();
  await closedLoop(opts.sustainedN, opts.concurrency, (i) => submit(sp, opts.n + i));
  log(`sustained: all submitted; waiting for completions (at most ${opts.lostTimeoutS} s)`);
  await drain(sp, performance.now());
  const cpuSustained = cpuUsage(cpuSp0, cpuSnapshot(), opts.sustainedN);
  stop();
  log(progressLine(sp, opts.sustainedN));
  const sustained = analyse(sp);
  log(
    `sustained: ${num(sustained.completedPerS)} completed tasks/s, ${num(sustained.acceptedPerS)} accepted/s; lost ${sustained.lost}, failed ${sustained.failed}`,
  );

  // ---- memory, logs, report
  await sleep(500);
  const mem = Object.fromEntries(children.map((c) => [c.name, memoryOf(c.proc.pid)]));
  mem.bench = memoryOf(process.pid);
  const logs = children.map((c) => {
    const all = existsSync(c.logFile) ? readFileSync(c.logFile) : Buffer.alloc(0);
    const split = (b) => (b.length ? b.toString('utf8').trimEnd().split('\n') : []);
    const startup = split(all.subarray(0, c.measureFrom ?? 0));
    const lines = split(all.subarray(c.measureFrom ?? 0));
    const problems = lines.filter((l) => /"level":"(warn|error)"|error|warn|exception/i.test(l));
    return { name: c.name, file: c.logFile, startupLines: startup.length, lines: lines.length, problems };
  });

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
  const report = renderReport({
    machine,
    baselineLatency,
    baselineLatencyErrors,
    baselineThroughput,
    latency,
    sustained,
    mem,
    logs,
    bLoop,
    sLoop,
    cpuLatency,
    cpuSustained,
    cpuIdle,
  });
  console.log(`\n${report}\n`);
  if (opts.writeDocs) {
    writeDocs(report);
    log(`appended the results to ${docsFile}`);
  }
  for (const l of logs) {
    if (l.problems.length) {
      log(
        `${l.name}: ${l.problems.length} warn/error lines during the measurement in ${l.file}; first ones:`,
      );
      for (const p of l.problems.slice(0, 5)) console.log(`    ${p.slice(0, 400)}`);
    }
  }
  return latency.lost + sustained.lost === 0;
}

/** The code under test: commit, whether the working tree differs from it, and when the services' dist was built. */
function codeVersion() {
  let commit = 'unknown commit';
  let dirty = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root })
      .toString()
      .trim();
    if (changed) dirty = ' with uncommitted changes';
  } catch {
    // not a git checkout
  }
  // The newest compiled file of the three services and the libraries they load.
  let newest = 0;
  const scan = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) scan(path);
      else if (e.name.endsWith('.js')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  const dists = [
    'apps/gateway',
    'apps/triage',
    'apps/model-simulator',
    ...readdirSync(join(root, 'libs')).map((l) => `libs/${l}`),
  ];
  for (const d of dists) if (existsSync(join(root, d, 'dist'))) scan(join(root, d, 'dist'));
  const built = new Date(newest);
  return `commit ${commit}${dirty}, services built ${built.toISOString()}`;
}

function kafkaVersion() {
  let version = '3.9.1';
  try {
    const jar = readdirSync(join(kafkaState, 'libs')).find((f) =>
      /^kafka-server-common-[\d.]+\.jar$/.test(f),
    );
    if (jar) version = /(\d+\.\d+\.\d+)/.exec(jar)[1];
  } catch {
    // jars elsewhere
  }
  return opts.kafkaMode === 'private'
    ? `${version} (single node, KRaft, private to this run: empty data directory, ${KAFKA_BROKER})`
    : `${version} (local single node, KRaft, deploy/local/kafka.sh, ${KAFKA_BROKER})`;
}

const DOCS_INTRO = `# Benchmarks

Figures measured by the scripts in \`bench/\`, newest run last in each part. Every run measures its own **baseline
in the same run, on the same machine**, and the stack is judged by the difference and the ratio against it, never by
absolute numbers from another machine or another day.

`;

const FAST_PATH_HEADING = '## Fast path (`npm run bench:fast-path`)';

/**
 * Writes a run's section into the fast-path part of docs/benchmarks.md (other benchmarks keep their own parts):
 * creates the file or the part if missing, refreshes the part's description, and adds the section after its last run.
 */
function writeDocs(section) {
  let text = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : DOCS_INTRO;
  let start = text.indexOf(`${FAST_PATH_HEADING}\n`);
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${FAST_PATH_INTRO}`;
    start = text.indexOf(`${FAST_PATH_HEADING}\n`);
  }
  const nextPart = text.indexOf('\n## ', start + FAST_PATH_HEADING.length);
  const partEnd = nextPart < 0 ? text.length : nextPart + 1;
  let part = text.slice(start, partEnd);
  const firstRun = part.indexOf('\n### ');
  part = FAST_PATH_INTRO.trimEnd() + (firstRun < 0 ? '\n' : `\n${part.slice(firstRun)}`);
  part = `${part.trimEnd()}\n\n${section}\n`;
  const rest = text.slice(partEnd);
  writeFileSync(docsFile, `${text.slice(0, start)}${part}${rest ? `\n${rest}` : ''}`);
}

const FAST_PATH_INTRO = `## Fast path (\`npm run bench:fast-path\`)

\`bench/fast-path.mjs\` starts everything it needs on 127.0.0.1: Kafka (by default the broker of
\`deploy/local/kafka.sh\`, started if none runs; with \`BENCH_KAFKA=private\` a fresh single-node broker of the run's
own, same jars, empty data directory), a fresh Postgres database, the model simulator with \`SIM_TIME_SCALE=0\` (the
model answers instantly, so what remains is orchestration), the gateway and the triage (\`LOG_LEVEL=warn\`, logs in
\`.local/bench/fast-path-*.log\`), on a unique topic prefix; it removes all of it at the end.

- **Baseline**: the official \`openai\` SDK calls \`sim-fast\` on the simulator directly, open loop at RATE calls/s
  (latency), then with CONCURRENCY calls in flight (throughput). WARMUP unmeasured calls at RATE/s come first.
- **Stack latency**: N \`mode: "fast"\` tasks are submitted over HTTP open loop at RATE tasks/s; the latency is from
  just before the POST to the arrival of \`tasks.task.completed.v1\` at a Kafka consumer in the benchmark (no polling).
  Overhead = stack percentile − baseline percentile. WARMUP unmeasured tasks at RATE/s come first. With
  \`BREAKDOWN=1\` a second table splits the latency into segments by the Kafka timestamps of the task's intermediate
  events; the extra consumer costs CPU in the benchmark and the broker, so compare headline figures from runs
  without it.
- **Sustained**: SUSTAINED_N tasks with CONCURRENCY submissions in flight; completed tasks/s = completed /
  (last completion − first submission). A task accepted (202) without a completed or failed event within
  LOST_TIMEOUT_S of the last submission is **lost**.
- CPU per task by component (from \`/proc\`) and the machine's busy share are given for each phase, and peak RSS.
- Targets: overhead p50 ≤ 10 ms and p99 ≤ 40 ms at 100 tasks/s; 1,000 tasks/s sustained with nothing lost.

Each run's section gives the machine, the code (commit, uncommitted changes, build time), the parameters and the
load average when it started. The load generator, the broker, Postgres and the three services share the machine, so
on a small machine the figures include their competition for CPU; CPU taken by unrelated processes is measured too,
and a run where it exceeds 15% of the machine is flagged as not comparable.
`;

// Above this share of the machine taken by unrelated processes, a run's figures are flagged as contaminated.
const OTHERS_WARN = 0.15;

function cpuLine(c) {
  const order = ['gateway', 'triage', 'kafka', 'postgres', 'model-simulator', 'bench'];
  const label = { kafka: 'Kafka', postgres: 'Postgres', 'model-simulator': 'simulator', bench: 'benchmark' };
  const parts = order.filter((k) => k in c.perTask).map((k) => `${label[k] ?? k} ${c.perTask[k].toFixed(2)}`);
  const total = Object.values(c.perTask).reduce((a, b) => a + b, 0);
  return `machine ${(c.busy * 100).toFixed(0)}% busy (of ${os.availableParallelism()} CPUs), of which other processes ${(c.others * 100).toFixed(0)}%${c.topOthers.length ? ` (${c.topOthers.join(', ')})` : ''}; CPU ms per task: ${parts.join(', ')} (total ${total.toFixed(2)})`;
}

function renderReport(r) {
  const { machine: m, baselineLatency: bl, baselineThroughput: bt, latency: l, sustained: s } = r;
  const date = new Date().toISOString();
  const ohP50 = l.latency.p50 - bl.p50;
  const ohP99 = l.latency.p99 - bl.p99;
  const mark = (ok) => (ok ? '✅ met' : '❌ missed');
  const rateNote =
    opts.rate === 100 ? '' : ` (targets are defined at 100 tasks/s; this run used ${opts.rate}/s)`;
  const lostTotal = l.lost + s.lost;
  const failedTotal = l.failed + s.failed;
  const rows = [
    [
      'Metric',
      'Baseline (SDK → simulator)',
      'Stack (submit → completed)',
      'Stack − baseline',
      'Stack / baseline',
      'Target',
      'Result',
    ],
    [
      `Latency p50 @ ${opts.rate}/s (ms)`,
      ms(bl.p50),
      ms(l.latency.p50),
      signedMs(ohP50),
      ratio(l.latency.p50, bl.p50),
      'overhead ≤ 10 ms',
      mark(ohP50 <= 10),
    ],
    [
      `Latency p99 @ ${opts.rate}/s (ms)`,
      ms(bl.p99),
      ms(l.latency.p99),
      signedMs(ohP99),
      ratio(l.latency.p99, bl.p99),
      'overhead ≤ 40 ms',
      mark(ohP99 <= 40),
    ],
    [
      `Latency max @ ${opts.rate}/s (ms)`,
      ms(bl.max),
      ms(l.latency.max),
      signedMs(l.latency.max - bl.max),
      ratio(l.latency.max, bl.max),
      '—',
      '—',
    ],
    [
      `Throughput, ${opts.concurrency} in flight (/s)`,
      `${num(bt.callsPerS)} calls/s`,
      `${num(s.completedPerS)} tasks/s completed`,
      '—',
      ratio(s.completedPerS, bt.callsPerS),
      '≥ 1,000 tasks/s',
      mark(s.completedPerS >= 1000 && s.lost === 0),
    ],
    ['Accepted (202) rate, sustained (/s)', '—', num(s.acceptedPerS), '—', '—', '—', '—'],
    ['Lost (latency / sustained)', '—', `${l.lost} / ${s.lost}`, '—', '—', '0', mark(lostTotal === 0)],
    [
      'Failed (latency / sustained)',
      `${r.baselineLatencyErrors} / ${bt.errors} errors`,
      `${l.failed} / ${s.failed}`,
      '—',
      '—',
      '0',
      mark(failedTotal === 0),
    ],
    [
      'Not accepted (non-202 / network errors)',
      '—',
      `${l.rejected + s.rejected} / ${l.errors + s.errors}`,
      '—',
      '—',
      '0',
      mark(l.rejected + s.rejected + l.errors + s.errors === 0),
    ],
  ];
  const mdTable = (rs) =>
    rs
      .map((row, i) => `| ${row.join(' | ')} |${i === 0 ? `\n|${row.map(() => '---').join('|')}|` : ''}`)
      .join('\n');
  const table = mdTable(rows);
  const sg = l.segments;
  const segRow = (name, x) => [name, ms(x.p50), ms(x.p99), ms(x.max)];
  const breakdown = !opts.breakdown
    ? '(No latency breakdown in this run: BREAKDOWN=1 adds one, at some CPU cost.)'
    : mdTable([
        [
          'Where the stack latency goes (latency phase; Kafka timestamps, 1 ms resolution)',
          'p50 (ms)',
          'p99 (ms)',
          'max (ms)',
        ],
        segRow(
          'gateway: POST sent → tasks.task.accepted.v1 produced (HTTP, auth, Postgres insert)',
          sg.gateway,
        ),
        segRow('Kafka → triage: accepted → tasks.task.triaged.v1 produced', sg.toTriage),
        segRow(
          'triage: triaged → usage.model-call.recorded.v1 produced (triaged ack + fast model call)',
          sg.model,
        ),
        segRow('triage: usage recorded → tasks.task.completed.v1 produced (usage ack)', sg.publish),
        segRow('Kafka → subscriber: completed produced → arrival at the benchmark consumer', sg.delivery),
        segRow('for comparison: POST sent → 202 received', l.ack),
      ]);
  const mem = (name) =>
    r.mem[name] ? `${num(r.mem[name].hwmMiB)} MiB peak (${num(r.mem[name].rssMiB)} MiB at the end)` : 'n/a';
  const failCodes = [...l.failCodes, ...s.failCodes].map(([c, n]) => `${c}×${n}`).join(', ');
  const logLines = r.logs
    .map(
      (x) =>
        `${x.name} ${x.startupLines} at start-up, ${x.lines} during the measurement${x.problems.length ? ` (${x.problems.length} warn/error)` : ''}`,
    )
    .join('; ');
  const othersMax = Math.max(r.cpuIdle.others, r.cpuLatency.others, r.cpuSustained.others);
  const contaminated =
    othersMax > OTHERS_WARN
      ? [
          `> ⚠ Other processes on this machine took up to ${(othersMax * 100).toFixed(0)}% of its CPU during this run (see the CPU lines): the stack's figures are inflated by that competition; repeat on a quiet machine before comparing.`,
          '',
        ]
      : [];
  return [
    `### Fast path — ${date}`,
    '',
    ...contaminated,
    `- Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memGiB.toFixed(1)} GiB RAM, load average ${m.load.map((x) => x.toFixed(2)).join(' / ')} at start; Node ${m.node}; Kafka ${m.kafka}; ${m.postgres}`,
    `- Code: ${m.code}`,
    `- Parameters: N=${opts.n}, RATE=${opts.rate}/s, SUSTAINED_N=${opts.sustainedN}, CONCURRENCY=${opts.concurrency}, WARMUP=${opts.warmup}, BREAKDOWN=${opts.breakdown ? 1 : 0}, LOST_TIMEOUT_S=${opts.lostTimeoutS}, TRIAGE_CONCURRENCY=${opts.triageConcurrency ?? 'default (64)'}, SIM_TIME_SCALE=0, LOG_LEVEL=warn${rateNote}`,
    '',
    table,
    '',
    breakdown,
    '',
    `- Stack latency measured by the completed event's Kafka timestamp instead of its arrival at the benchmark's consumer: p50 ${ms(l.latencyByCreateTime.p50)} ms, p99 ${ms(l.latencyByCreateTime.p99)} ms, max ${ms(l.latencyByCreateTime.max)} ms (1 ms resolution). 202 answer time: p50 ${ms(l.ack.p50)} ms, p99 ${ms(l.ack.p99)} ms.`,
    `- Sustained phase: ${s.accepted} accepted, ${s.completed} completed; submit → completed p50 ${ms(s.latency.p50)} ms, p99 ${ms(s.latency.p99)} ms, max ${ms(s.latency.max)} ms; 202 answer time p50 ${ms(s.ack.p50)} ms, p99 ${ms(s.ack.p99)} ms; ${num(s.completedPerSByCreateTime)} tasks/s by Kafka timestamps. Baseline under the same concurrency: p50 ${ms(bt.latency.p50)} ms, p99 ${ms(bt.latency.p99)} ms.`,
    `- CPU, idle stack (5 s, no load): machine ${(r.cpuIdle.busy * 100).toFixed(0)}% busy, of which other processes ${(r.cpuIdle.others * 100).toFixed(0)}%${r.cpuIdle.topOthers.length ? ` (${r.cpuIdle.topOthers.join(', ')})` : ''}; CPU ms in 5 s: ${Object.entries(
      r.cpuIdle.perTask,
    )
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ')}`,
    `- CPU, stack latency phase: ${cpuLine(r.cpuLatency)}`,
    `- CPU, sustained phase: ${cpuLine(r.cpuSustained)}`,
    `- Peak memory (VmHWM): gateway ${mem('gateway')}, triage ${mem('triage')}, simulator ${mem('model-simulator')}, benchmark process ${mem('bench')}${r.mem.kafka ? `, private Kafka broker ${mem('kafka')}` : ''}.`,
    `- Load generator health: open-loop sender lag max ${ms(r.bLoop.maxLagMs)} ms (baseline) / ${ms(r.sLoop.maxLagMs)} ms (stack); the benchmark's own event-loop delay during the stack latency phase p99 ${ms(r.sLoop.loopDelayP99)} ms, max ${ms(r.sLoop.loopDelayMax)} ms. Duplicate completion events: ${duplicates}.${failCodes ? ` Failure codes: ${failCodes}.` : ''}`,
    `- Service log lines (.local/bench/fast-path-*.log, LOG_LEVEL=warn): ${logLines}.`,
  ].join('\n');
}

main()
  .then(async (clean) => {
    await cleanup();
    log(clean ? 'done' : 'done, with lost tasks');
    process.exit(clean ? 0 : 1);
  })
  .catch(async (e) => {
    if (aborted) {
      await cleanup(); // already under way; the signal handler exits
      return;
    }
    log(`failed: ${e.stack ?? e}`);
    for (const c of children) {
      const t = tail(c.logFile, 10);
      if (t.trim()) console.log(`--- last lines of ${c.logFile}\n${t}`);
    }
    await cleanup();
    process.exit(1);
  });
