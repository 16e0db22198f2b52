// Webhook delivery benchmark: signed deliveries per second through the real dispatcher of the webhooks service
// (its Postgres schedule, claims under lease, batched recording, the outbox publishing one
// webhooks.delivery.attempted.v1 event per attempt to Kafka), to a keep-alive receiver on 127.0.0.1; against a
// naive dispatcher measured in the same run; and the drift between scheduled and actual retry times.
//   1. throughput: N messages to one endpoint are written to the service's schedule, not yet due; one UPDATE makes
//      them all due; the rate is N / (last delivered_at − that moment), both by the database's clock. Every 500th
//      request the receiver verifies the signature with the standardwebhooks package;
//   2. baseline: a naive dispatcher in the benchmark process, BASELINE_WORKERS loops each doing, per message, one
//      transaction (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1, HMAC-SHA256 signature, a `fetch` POST to the same
//      receiver, INSERT the attempt, UPDATE the message, COMMIT) over BASELINE_N messages in its own table; no
//      events, no SSRF check. It is what a straightforward "one row, one request, one transaction" dispatcher does;
//   3. retry drift: DRIFT_N messages to a second endpoint whose first attempt is answered 503 (no Retry-After); the
//      service runs the schedule "0,1s,2s" without jitter, so each retry is due 1 s after its failure. Drift =
//      attempted_at − scheduled_at of the retry attempts, from the service's attempt log.
// The results are printed and appended as a dated section to docs/benchmarks.md.
//
//   npm run bench:webhooks [-- --n=20000]
// Options (flag or environment variable):
//   N (20000)               messages in the throughput phase
//   BASELINE_N (5000)       messages for the naive dispatcher
//   BASELINE_WORKERS (16)   its concurrent loops (one database connection each)
//   DRIFT_N (2000)          messages in the drift phase
//   WAIT_IDLE_S (600)       wait this long for test runs and other benchmarks (pgrep 'jest|bench/') to finish
//   BENCH_TIMEOUT_S (1200)  hard limit for the whole run
//   WEBHOOKS_CONCURRENCY, WEBHOOKS_BATCH_SIZE, DATABASE_POOL_SIZE   passed to the service (its defaults otherwise)
//   NO_DOCS=1               do not append to docs/benchmarks.md
// Needs the Kafka broker of deploy/local/kafka.sh running and Postgres on 127.0.0.1:5432. The service's log is in
// .local/bench/webhooks.log. The service, the database, the topics and the consumer groups are removed at the end.

import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import pg from 'pg';

const { Kafka, logLevel } = kafkajs;
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') console.warn(`(warning) ${w.name}: ${w.message}`);
});

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');
const logDir = join(root, '.local/bench');
const docsFile = join(root, 'docs/benchmarks.md');
const HOST = '127.0.0.1';
const KAFKA_BROKER = `${HOST}:9092`;
const PG_BASE = `postgres://postgres@${HOST}:5432`;
const runId = randomBytes(4).toString('hex');
const DATABASE = `deliberate_bench_webhooks_${runId}`;
const DATABASE_URL = `${PG_BASE}/${DATABASE}`;
const TOPIC_PREFIX = `bench.webhooks.${runId}.`;
const INTERNAL_KEY = `bench-internal-${randomBytes(16).toString('hex')}`;
const TENANT = 'bench';

function option(name, fallback, { min = 1, max = 10_000_000 } = {}) {
  const flag = `--${name.toLowerCase().replaceAll('_', '-')}`;
  let raw;
  for (const a of process.argv.slice(2)) if (a.startsWith(`${flag}=`)) raw = a.slice(flag.length + 1);
  raw ??= process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new Error(`${name} must be an integer in [${min}, ${max}], got '${raw}'`);
  return v;
}

const opts = {
  n: option('N', 20_000, { max: 1_000_000 }),
  baselineN: option('BASELINE_N', 5_000, { max: 1_000_000 }),
  baselineWorkers: option('BASELINE_WORKERS', 16, { max: 200 }),
  driftN: option('DRIFT_N', 2_000, { max: 100_000 }),
  waitIdleS: option('WAIT_IDLE_S', 600, { min: 0, max: 7200 }),
  benchTimeoutS: option('BENCH_TIMEOUT_S', 1200, { min: 60, max: 7200 }),
  writeDocs: !['1', 'true', 'yes'].includes(String(process.env.NO_DOCS ?? '').toLowerCase()),
};

const started = performance.now();
const log = (msg) =>
  console.log(`[bench +${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const num = (v, d = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a';

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}
const stats = (values) => {
  const s = Float64Array.from(values).sort();
  return {
    count: s.length,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
  };
};

// ---------------------------------------------------------------- cleanup

let child = null;
let databaseCreated = false;
const closers = [];
let cleaningUp = null;

async function cleanup() {
  cleaningUp ??= (async () => {
    for (const close of closers.splice(0).reverse())
      await Promise.race([close().catch(() => {}), sleep(10_000)]);
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)])))
        child.kill('SIGKILL');
    }
    await deleteTopicsAndGroups().catch((e) => log(`could not delete topics: ${e.message}`));
    if (databaseCreated) {
      databaseCreated = false;
      await withPg(`${PG_BASE}/postgres`, (c) =>
        c.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`),
      )
        .then(() => log(`dropped database ${DATABASE}`))
        .catch((e) => log(`could not drop database ${DATABASE}: ${e.message}`));
    }
  })();
  return cleaningUp;
}

process.on('exit', () => child?.exitCode === null && child.kill('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    log(`${sig}: stopping everything started by this run`);
    cleanup().finally(() => process.exit(130));
  });
}
setTimeout(() => {
  log(`BENCH_TIMEOUT_S=${opts.benchTimeoutS} exceeded: aborting`);
  cleanup().finally(() => process.exit(2));
}, opts.benchTimeoutS * 1000).unref();

// ---------------------------------------------------------------- infrastructure

async function withPg(url, fn) {
  const c = new pg.Client({ connectionString: url, application_name: 'webhooks-bench' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function deleteTopicsAndGroups() {
  const admin = new Kafka({
    clientId: 'bench-cleanup',
    brokers: [KAFKA_BROKER],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(TOPIC_PREFIX));
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(TOPIC_PREFIX));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
    log(`deleted ${topics.length} topics and ${groups.length} consumer groups of ${TOPIC_PREFIX}`);
  } finally {
    await admin.disconnect();
  }
}

function competitors() {
  try {
    return execFileSync('pgrep', ['-af', 'jest|bench/'], { timeout: 10_000 })
      .toString()
      .trim()
      .split('\n')
      .filter((l) => l && !l.includes('webhooks-delivery') && !l.includes('pgrep'));
  } catch {
    return [];
  }
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

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, HOST, r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// ---------------------------------------------------------------- the receiver

// Keep-alive; /fast and /naive answer 204; /drift answers 503 to the first attempt of each webhook-id.
const received = { fast: 0, naive: 0, drift: 0, verified: 0, badSignatures: 0, firstAt: 0, lastAt: 0 };
const driftSeen = new Set();
let endpointSecret = null;

async function startReceiver() {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const id = req.headers['webhook-id'];
      if (path === '/fast') {
        received.fast += 1;
        received.firstAt ||= performance.now();
        received.lastAt = performance.now();
        if (received.fast % 500 === 0 && endpointSecret) {
          try {
            new Webhook(endpointSecret).verify(Buffer.concat(chunks).toString('utf8'), req.headers);
            received.verified += 1;
          } catch {
            received.badSignatures += 1;
          }
        }
        res.writeHead(204).end();
      } else if (path === '/drift') {
        received.drift += 1;
        if (driftSeen.has(id)) res.writeHead(204).end();
        else {
          driftSeen.add(id);
          res.writeHead(503).end('try later');
        }
      } else {
        received.naive += 1;
        res.writeHead(204).end();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.maxRequestsPerSocket = 0;
  const port = await freePort();
  await new Promise((r) => server.listen(port, HOST, r));
  closers.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://${HOST}:${port}`;
}

// ---------------------------------------------------------------- the service

async function startService(port) {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'webhooks.log');
  const out = openSync(logFile, 'a');
  const env = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL,
    KAFKA_BROKERS: KAFKA_BROKER,
    KAFKA_TOPIC_PREFIX: TOPIC_PREFIX,
    LOG_LEVEL: 'warn',
    WEBHOOKS_PORT: String(port),
    WEBHOOKS_INTERNAL_TOKEN: INTERNAL_KEY,
    WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8',
    WEBHOOKS_RETRY_SCHEDULE: '0,1s,2s',
    WEBHOOKS_RETRY_JITTER: '0',
    WEBHOOKS_SECRET_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  };
  for (const name of ['WEBHOOKS_CONCURRENCY', 'WEBHOOKS_BATCH_SIZE', 'DATABASE_POOL_SIZE'])
    if (process.env[name]) env[name] = process.env[name];
  child = spawn(join(root, 'node_modules/.bin/node'), [join(root, 'apps/webhooks/dist/main.js')], {
    cwd: root,
    env,
    stdio: ['ignore', out, out],
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the webhooks service exited; see ${logFile}`);
    try {
      if ((await fetch(`http://${HOST}:${port}/health`)).ok) return env;
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error(`the webhooks service did not answer /health within 60 s; see ${logFile}`);
}

// The webhooks service believes a caller only with the gateway's signature over the exact request (libs/contracts).
function signedIdentity(method, target, body, principal) {
  const { PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, signPrincipal, splitRequestTarget } = require(
    join(root, 'libs/contracts/dist/index.js'),
  );
  const principalJson = JSON.stringify(principal);
  const request = {
    service: 'webhooks',
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

async function api(port, method, path, body) {
  const json = body === undefined ? undefined : JSON.stringify(body);
  const res = await fetch(`http://${HOST}:${port}${path}`, {
    method,
    headers: {
      ...signedIdentity(method, path, json, {
        kind: 'tenant',
        tenantId: TENANT,
        role: 'admin',
        keyId: 'bench',
      }),
      'content-type': 'application/json',
    },
    body: json,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const payload = (taskId) =>
  JSON.stringify({
    type: 'task.completed',
    timestamp: new Date().toISOString(),
    data: {
      taskId,
      status: 'completed',
      result: {
        answer: 'Paris is the capital of France. '.repeat(6),
        answeredBy: 'fast_model',
        model: 'sim-fast',
        usage: { inputTokens: 1000, cachedInputTokens: 0, outputTokens: 120, reasoningTokens: 0 },
        latencyMs: 840,
        degraded: null,
      },
      metadata: { ticket: 'T-1', customer: 'acme' },
    },
  });

/** Writes `count` pending messages for an endpoint, due at `due` (an SQL expression). */
async function scheduleMessages(db, endpointId, count, due) {
  for (let offset = 0; offset < count; offset += 5000) {
    const size = Math.min(5000, count - offset);
    const ids = [];
    const tasks = [];
    const bodies = [];
    for (let i = 0; i < size; i++) {
      const taskId = randomUUID();
      ids.push(`msg_${randomBytes(16).toString('hex')}`);
      tasks.push(taskId);
      bodies.push(payload(taskId));
    }
    await db.query(
      `INSERT INTO webhooks.messages (id, tenant_id, task_id, source_event_id, event_type, endpoint_id, body, status,
                                      next_attempt_at)
       SELECT t.id, $1, t.task_id, t.id, 'task.completed', $2, t.body, 'pending', ${due}
         FROM unnest($3::text[], $4::uuid[], $5::text[]) AS t (id, task_id, body)`,
      [TENANT, endpointId, ids, tasks, bodies],
    );
  }
}

// ---------------------------------------------------------------- phases

async function throughputPhase(db, endpointId) {
  log(`throughput: scheduling ${num(opts.n)} messages (not yet due)`);
  await scheduleMessages(db, endpointId, opts.n, `now() + interval '1 day'`);
  const { rows } = await db.query(
    `WITH due AS (UPDATE webhooks.messages SET next_attempt_at = now() WHERE endpoint_id = $1) SELECT now() AS at`,
    [endpointId],
  );
  const dueAt = rows[0].at;
  const t0 = performance.now();
  log('throughput: all due now');
  let delivered = 0;
  while (delivered < opts.n) {
    await sleep(1000);
    const r = await db.query(
      `SELECT count(*)::int AS n FROM webhooks.messages WHERE endpoint_id = $1 AND status = 'delivered'`,
      [endpointId],
    );
    delivered = r.rows[0].n;
    const secs = (performance.now() - t0) / 1000;
    log(`throughput: ${num(delivered)} / ${num(opts.n)} delivered (${num(delivered / secs)}/s so far)`);
    if (secs > opts.benchTimeoutS) throw new Error('throughput phase did not finish');
  }
  const r = await db.query(
    `SELECT extract(epoch FROM max(delivered_at) - $2::timestamptz)::float8 AS secs,
            (SELECT count(*)::int FROM webhooks.attempts WHERE endpoint_id = $1) AS attempts
       FROM webhooks.messages WHERE endpoint_id = $1`,
    [endpointId, dueAt],
  );
  // The outbox relay publishes after each batch's commit; wait for the last events to leave.
  let unpublished = Infinity;
  for (let i = 0; i < 30 && unpublished > 0; i++) {
    unpublished = (
      await db.query(`SELECT count(*)::int AS n FROM webhooks.outbox WHERE published_at IS NULL`)
    ).rows[0].n;
    if (unpublished) await sleep(500);
  }
  const published = (
    await db.query(`SELECT count(*)::int AS n FROM webhooks.outbox WHERE published_at IS NOT NULL`)
  ).rows[0].n;
  const secs = r.rows[0].secs;
  return {
    rate: opts.n / secs,
    secs,
    attempts: r.rows[0].attempts,
    receiverRate: (received.fast - 1) / ((received.lastAt - received.firstAt) / 1000),
    requests: received.fast,
    published,
    unpublished,
  };
}

async function baselinePhase(receiverUrl, secret) {
  log(`baseline: naive dispatcher, ${opts.baselineWorkers} loops over ${num(opts.baselineN)} messages`);
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: opts.baselineWorkers });
  closers.push(() => pool.end());
  await pool.query(`CREATE SCHEMA bench_naive`);
  await pool.query(
    `CREATE TABLE bench_naive.messages (id text PRIMARY KEY, body text NOT NULL, status text NOT NULL)`,
  );
  await pool.query(
    `CREATE TABLE bench_naive.attempts (message_id text, status int, latency_ms int, attempted_at timestamptz)`,
  );
  const ids = Array.from({ length: opts.baselineN }, () => `msg_${randomBytes(16).toString('hex')}`);
  await pool.query(
    `INSERT INTO bench_naive.messages SELECT id, $2, 'pending' FROM unnest($1::text[]) AS id`,
    [ids, payload(randomUUID())],
  );
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  let done = 0;
  const t0 = performance.now();
  const stop = setInterval(() => log(`baseline: ${num(done)} / ${num(opts.baselineN)}`), 2000);
  await Promise.all(
    Array.from({ length: opts.baselineWorkers }, async () => {
      const c = await pool.connect();
      try {
        for (;;) {
          await c.query('BEGIN');
          const { rows } = await c.query(
            `SELECT id, body FROM bench_naive.messages WHERE status = 'pending' LIMIT 1 FOR UPDATE SKIP LOCKED`,
          );
          if (!rows.length) {
            await c.query('COMMIT');
            return;
          }
          const { id, body } = rows[0];
          const ts = Math.floor(Date.now() / 1000);
          const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
          const sent = performance.now();
          const res = await fetch(`${receiverUrl}/naive`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'webhook-id': id,
              'webhook-timestamp': String(ts),
              'webhook-signature': `v1,${sig}`,
            },
            body,
            redirect: 'manual',
          });
          await res.arrayBuffer();
          await c.query(`INSERT INTO bench_naive.attempts VALUES ($1, $2, $3, now())`, [
            id,
            res.status,
            Math.round(performance.now() - sent),
          ]);
          await c.query(`UPDATE bench_naive.messages SET status = 'delivered' WHERE id = $1`, [id]);
          await c.query('COMMIT');
          done += 1;
        }
      } finally {
        c.release();
      }
    }),
  );
  clearInterval(stop);
  const secs = (performance.now() - t0) / 1000;
  return { rate: opts.baselineN / secs, secs };
}

async function driftPhase(db, endpointId) {
  log(`drift: ${num(opts.driftN)} messages whose first attempt gets 503`);
  await scheduleMessages(db, endpointId, opts.driftN, 'now()');
  for (;;) {
    await sleep(1000);
    const r = await db.query(
      `SELECT count(*) FILTER (WHERE status = 'delivered')::int AS delivered, count(*)::int AS total
         FROM webhooks.messages WHERE endpoint_id = $1`,
      [endpointId],
    );
    log(`drift: ${num(r.rows[0].delivered)} / ${num(r.rows[0].total)} delivered`);
    if (r.rows[0].delivered === opts.driftN) break;
  }
  const { rows } = await db.query(
    `SELECT attempt, (extract(epoch FROM attempted_at - scheduled_at) * 1000)::float8 AS drift_ms
       FROM webhooks.attempts WHERE endpoint_id = $1`,
    [endpointId],
  );
  return {
    retries: stats(rows.filter((r) => r.attempt > 1).map((r) => r.drift_ms)),
    first: stats(rows.filter((r) => r.attempt === 1).map((r) => r.drift_ms)),
  };
}

// ---------------------------------------------------------------- main

async function main() {
  const waitUntil = Date.now() + opts.waitIdleS * 1000;
  for (let busy = competitors(); busy.length && Date.now() < waitUntil; busy = competitors()) {
    log(`waiting for ${busy.length} competing process(es) to finish: ${busy[0].slice(0, 100)}`);
    await sleep(10_000);
  }
  const competing = competitors();
  const load = os.loadavg();
  const startedAt = new Date();
  log(`building apps/webhooks`);
  execFileSync(
    join(root, 'node_modules/.bin/node'),
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'apps/webhooks/tsconfig.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  await withPg(`${PG_BASE}/postgres`, (c) => c.query(`CREATE DATABASE "${DATABASE}"`));
  databaseCreated = true;
  const pgVersion = await withPg(
    `${PG_BASE}/postgres`,
    async (c) => (await c.query('SHOW server_version')).rows[0].server_version,
  );
  const receiverUrl = await startReceiver();
  const port = await freePort();
  log('starting the webhooks service');
  await startService(port);
  const fast = await api(port, 'POST', '/v1/webhooks/endpoints', { url: `${receiverUrl}/fast` });
  const drift = await api(port, 'POST', '/v1/webhooks/endpoints', { url: `${receiverUrl}/drift` });
  endpointSecret = fast.secret;
  const db = new pg.Client({ connectionString: DATABASE_URL, application_name: 'webhooks-bench' });
  await db.connect();
  closers.push(() => db.end());

  const throughput = await throughputPhase(db, fast.id);
  log(`throughput: ${num(throughput.rate)} deliveries/s`);
  const driftResult = await driftPhase(db, drift.id);
  log(
    `drift (retries): p50 ${num(driftResult.retries.p50, 1)} ms, p99 ${num(driftResult.retries.p99, 1)} ms`,
  );
  const baseline = await baselinePhase(receiverUrl, fast.secret);
  log(`baseline: ${num(baseline.rate)} deliveries/s`);

  const cpu = os.cpus();
  const lines = [
    '',
    `### Webhook delivery — ${startedAt.toISOString()}`,
    '',
    `- Machine: ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${num(os.totalmem() / 2 ** 30, 1)} GiB RAM, load average ${load.map((l) => l.toFixed(2)).join(' / ')} at start; Node ${process.version}; PostgreSQL ${pgVersion}; Kafka: the local broker (deploy/local/kafka.sh)`,
    `- Code: ${codeVersion()}`,
    `- Parameters: N=${opts.n}, BASELINE_N=${opts.baselineN}, BASELINE_WORKERS=${opts.baselineWorkers}, DRIFT_N=${opts.driftN}, WEBHOOKS_CONCURRENCY=${process.env.WEBHOOKS_CONCURRENCY ?? 'default (512)'}, WEBHOOKS_BATCH_SIZE=${process.env.WEBHOOKS_BATCH_SIZE ?? 'default (100)'}, LOG_LEVEL=warn`,
    `- Competing test or benchmark processes at start: ${competing.length ? competing.length : 'none'}`,
    '',
    '| Metric | Naive dispatcher (baseline) | Webhooks dispatcher | Ratio | Target | Result |',
    '| --- | --- | --- | --- | --- | --- |',
    `| Signed deliveries/s, recorded (backlog of N) | ${num(baseline.rate)} | ${num(throughput.rate)} | ${(throughput.rate / baseline.rate).toFixed(2)}× | ≥ 2,000/s | ${throughput.rate >= 2000 ? '✅ met' : '❌ missed'} |`,
    `| Requests/s at the receiver (first → last) | — | ${num(throughput.receiverRate)} | — | — | — |`,
    `| Attempts recorded / requests received | ${num(opts.baselineN)} / ${num(received.naive)} | ${num(throughput.attempts)} / ${num(throughput.requests)} | — | equal | ${throughput.attempts === throughput.requests ? '✅' : '❌'} |`,
    `| delivery-attempted events published (unpublished left) | — (none) | ${num(throughput.published)} (${num(throughput.unpublished)}) | — | N (0) | ${throughput.published >= opts.n && throughput.unpublished === 0 ? '✅' : '❌'} |`,
    `| Signatures verified by standardwebhooks (sample) / bad | — | ${received.verified} / ${received.badSignatures} | — | 0 bad | ${received.badSignatures === 0 ? '✅' : '❌'} |`,
    `| Retry drift p50 / p99 / max (ms), ${num(driftResult.retries.count)} retries | — | ${num(driftResult.retries.p50, 1)} / ${num(driftResult.retries.p99, 1)} / ${num(driftResult.retries.max, 1)} | — | — | — |`,
    `| First-attempt drift p50 / p99 / max (ms), messages written by SQL (found by polling) | — | ${num(driftResult.first.p50, 1)} / ${num(driftResult.first.p99, 1)} / ${num(driftResult.first.max, 1)} | — | — | — |`,
  ];
  console.log(lines.join('\n'));
  if (opts.writeDocs) {
    const text = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '';
    const header = text.includes('## Webhook delivery (`npm run bench:webhooks`)')
      ? ''
      : [
          '',
          '## Webhook delivery (`npm run bench:webhooks`)',
          '',
          '`bench/webhooks-delivery.mjs` runs the webhooks service (`apps/webhooks/dist/main.js`, `LOG_LEVEL=warn`) on a',
          'fresh database and a unique topic prefix of the local broker, with a keep-alive receiver on 127.0.0.1 in the',
          'benchmark process, and removes all of it at the end.',
          '',
          '- **Throughput**: N messages are written to the schedule not yet due, then made due by one UPDATE; rate = N /',
          '  (last `delivered_at` − that moment). Each delivery is signed, sent, recorded in its batch transaction and',
          '  announced on `webhooks.delivery.attempted.v1` through the outbox.',
          '- **Baseline**: a naive dispatcher in the benchmark process: BASELINE_WORKERS loops, one transaction per',
          '  message (claim one row, sign, `fetch`, insert the attempt, update the message, commit), no events.',
          '- **Retry drift**: DRIFT_N messages whose first attempt is answered 503; schedule `0,1s,2s`, no jitter; drift =',
          '  actual − scheduled time of the retries, from the attempt log. First-attempt drift includes the poll that',
          "  finds rows written behind the service's back (messages from Kafka wake the dispatcher at once instead).",
        ].join('\n');
    appendFileSync(docsFile, `${header}\n${lines.join('\n')}\n`);
    log(`appended the results to ${docsFile}`);
  }
}

main()
  .then(() => cleanup())
  .then(() => process.exit(0))
  .catch(async (e) => {
    log(`failed: ${e.stack ?? e.message}`);
    await cleanup();
    process.exit(1);
  });
