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
//   npm run bench:webhooks [-- --n=20000]            (bench/webhooks-delivery.ts, run by Node 24's type stripping)
// Options (flag --n=…, --n …, N=… or environment variable):
//   N (20000)               messages in the throughput phase
//   BASELINE_N (5000)       messages for the naive dispatcher
//   BASELINE_WORKERS (16)   its concurrent loops (one database connection each)
//   DRIFT_N (2000)          messages in the drift phase
//   WAIT_IDLE_S (600)       wait this long for test runs and other benchmarks (pgrep 'jest|bench/') to finish
//   BENCH_TIMEOUT_S (1200)  hard limit for the whole run
//   WEBHOOKS_CONCURRENCY, WEBHOOKS_BATCH_SIZE, DATABASE_POOL_SIZE   passed to the service (its defaults otherwise)
//   NO_DOCS=1               do not append to docs/benchmarks.md
// Uses the Kafka broker of deploy/local/kafka.sh (started only if none runs, and then stopped at the end) and Postgres
// on 127.0.0.1:5432. The service's log is in
// .local/bench/webhooks.log. The service, the database, the topics and the consumer groups are removed at the end.

import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { signedIdentity } from './lib/internal-auth.ts';
import { LOCAL_BROKER, removeTopicsAtCleanup, useLocalKafka } from './lib/kafka.ts';
import { codeVersion, machine, machineLine } from './lib/machine.ts';
import { helpFromHeader, numberOption, passThrough } from './lib/options.ts';
import { createDatabase, oneRow } from './lib/pg.ts';
import { appendSection } from './lib/report.ts';
import { writeSummary } from './lib/summary.ts';
import { BenchRun, competitors, freePort, HOST, log, root, waitHealthy } from './lib/run.ts';
import { num, summary } from './lib/stats.ts';

helpFromHeader(import.meta.url);
const { Webhook } = createRequire(import.meta.url)('standardwebhooks') as typeof import('standardwebhooks');
const runId = randomBytes(4).toString('hex');
const DATABASE = `deliberate_bench_webhooks_${runId}`;
const TOPIC_PREFIX = `bench.webhooks.${runId}.`;
const INTERNAL_KEY = `bench-internal-${randomBytes(16).toString('hex')}`;
const TENANT = 'bench';
const TUNING = ['WEBHOOKS_CONCURRENCY', 'WEBHOOKS_BATCH_SIZE', 'DATABASE_POOL_SIZE'];

const opts = {
  n: numberOption('N', 20_000, { max: 1_000_000 }),
  baselineN: numberOption('BASELINE_N', 5_000, { max: 1_000_000 }),
  baselineWorkers: numberOption('BASELINE_WORKERS', 16, { max: 200 }),
  driftN: numberOption('DRIFT_N', 2_000, { max: 100_000 }),
  waitIdleS: numberOption('WAIT_IDLE_S', 600, { min: 0, max: 7200 }),
  benchTimeoutS: numberOption('BENCH_TIMEOUT_S', 1200, { min: 60, max: 7200 }),
};
const run = new BenchRun(opts.benchTimeoutS);
let databaseUrl = '';

// ---------------------------------------------------------------- the receiver

// Keep-alive; /fast and /naive answer 204; /drift answers 503 to the first attempt of each webhook-id.
const received = { fast: 0, naive: 0, drift: 0, verified: 0, badSignatures: 0, firstAt: 0, lastAt: 0 };
const driftSeen = new Set<string>();
let endpointSecret: string | null = null;

async function startReceiver(): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const id = String(req.headers['webhook-id']);
      if (path === '/fast') {
        received.fast += 1;
        received.firstAt ||= performance.now();
        received.lastAt = performance.now();
        if (received.fast % 500 === 0 && endpointSecret) {
          try {
            new Webhook(endpointSecret).verify(
              Buffer.concat(chunks).toString('utf8'),
              req.headers as Record<string, string>,
            );
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
  await new Promise<void>((r) => server.listen(port, HOST, r));
  run.onCleanup(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://${HOST}:${port}`;
}

// ---------------------------------------------------------------- the service

async function startService(port: number): Promise<void> {
  const child = run.spawnService(
    'webhooks',
    'apps/webhooks/dist/main.js',
    {
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: LOCAL_BROKER,
      KAFKA_TOPIC_PREFIX: TOPIC_PREFIX,
      WEBHOOKS_PORT: String(port),
      WEBHOOKS_INTERNAL_TOKEN: INTERNAL_KEY,
      WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8',
      WEBHOOKS_RETRY_SCHEDULE: '0,1s,2s',
      WEBHOOKS_RETRY_JITTER: '0',
      WEBHOOKS_SECRET_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ...passThrough(TUNING),
    },
    { logName: 'webhooks.log' },
  );
  await waitHealthy(run, child, `http://${HOST}:${port}/health`, 60_000);
}

interface Endpoint {
  id: string;
  secret: string;
}

async function createEndpoint(port: number, url: string): Promise<Endpoint> {
  const path = '/v1/webhooks/endpoints';
  const json = JSON.stringify({ url });
  const res = await fetch(`http://${HOST}:${port}${path}`, {
    method: 'POST',
    headers: {
      ...signedIdentity('webhooks', INTERNAL_KEY, 'POST', path, json, {
        kind: 'tenant',
        tenantId: TENANT,
        role: 'admin',
        keyId: 'bench',
      }),
      'content-type': 'application/json',
    },
    body: json,
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Endpoint;
}

const payload = (taskId: string): string =>
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
async function scheduleMessages(
  db: pg.Client,
  endpointId: string,
  count: number,
  due: string,
): Promise<void> {
  for (let offset = 0; offset < count; offset += 5000) {
    const size = Math.min(5000, count - offset);
    const ids: string[] = [];
    const tasks: string[] = [];
    const bodies: string[] = [];
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

const count = async (db: pg.Client, sql: string, params: unknown[] = []): Promise<number> =>
  (await oneRow<{ n: number }>(db, sql, params)).n;

// ---------------------------------------------------------------- phases

async function throughputPhase(db: pg.Client, endpointId: string) {
  log(`throughput: scheduling ${num(opts.n)} messages (not yet due)`);
  await scheduleMessages(db, endpointId, opts.n, `now() + interval '1 day'`);
  const { at: dueAt } = await oneRow<{ at: Date }>(
    db,
    `WITH due AS (UPDATE webhooks.messages SET next_attempt_at = now() WHERE endpoint_id = $1) SELECT now() AS at`,
    [endpointId],
  );
  const t0 = performance.now();
  log('throughput: all due now');
  let delivered = 0;
  while (delivered < opts.n) {
    await sleep(1000);
    run.checkAborted();
    delivered = await count(
      db,
      `SELECT count(*)::int AS n FROM webhooks.messages WHERE endpoint_id = $1 AND status = 'delivered'`,
      [endpointId],
    );
    const secs = (performance.now() - t0) / 1000;
    log(`throughput: ${num(delivered)} / ${num(opts.n)} delivered (${num(delivered / secs)}/s so far)`);
    if (secs > opts.benchTimeoutS) throw new Error('throughput phase did not finish');
  }
  const r = await oneRow<{ secs: number; attempts: number }>(
    db,
    `SELECT extract(epoch FROM max(delivered_at) - $2::timestamptz)::float8 AS secs,
            (SELECT count(*)::int FROM webhooks.attempts WHERE endpoint_id = $1) AS attempts
       FROM webhooks.messages WHERE endpoint_id = $1`,
    [endpointId, dueAt],
  );
  // The outbox relay publishes after each batch's commit; wait for the last events to leave.
  let unpublished = Infinity;
  for (let i = 0; i < 30 && unpublished > 0; i++) {
    unpublished = await count(
      db,
      `SELECT count(*)::int AS n FROM webhooks.outbox WHERE published_at IS NULL`,
    );
    if (unpublished) await sleep(500);
  }
  const published = await count(
    db,
    `SELECT count(*)::int AS n FROM webhooks.outbox WHERE published_at IS NOT NULL`,
  );
  return {
    rate: opts.n / r.secs,
    secs: r.secs,
    attempts: r.attempts,
    receiverRate: (received.fast - 1) / ((received.lastAt - received.firstAt) / 1000),
    requests: received.fast,
    published,
    unpublished,
  };
}

async function baselinePhase(receiverUrl: string, secret: string) {
  log(`baseline: naive dispatcher, ${opts.baselineWorkers} loops over ${num(opts.baselineN)} messages`);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.baselineWorkers });
  run.onCleanup(() => pool.end());
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
  const stop = run.ticker(() => log(`baseline: ${num(done)} / ${num(opts.baselineN)}`), 2000);
  await Promise.all(
    Array.from({ length: opts.baselineWorkers }, async () => {
      const c = await pool.connect();
      try {
        for (;;) {
          await c.query('BEGIN');
          const { rows } = await c.query<{ id: string; body: string }>(
            `SELECT id, body FROM bench_naive.messages WHERE status = 'pending' LIMIT 1 FOR UPDATE SKIP LOCKED`,
          );
          const row = rows[0];
          if (!row) {
            await c.query('COMMIT');
            return;
          }
          const { id, body } = row;
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
  stop();
  const secs = (performance.now() - t0) / 1000;
  return { rate: opts.baselineN / secs, secs };
}

async function driftPhase(db: pg.Client, endpointId: string) {
  log(`drift: ${num(opts.driftN)} messages whose first attempt gets 503`);
  await scheduleMessages(db, endpointId, opts.driftN, 'now()');
  for (;;) {
    await sleep(1000);
    run.checkAborted();
    const r = await oneRow<{ delivered: number; total: number }>(
      db,
      `SELECT count(*) FILTER (WHERE status = 'delivered')::int AS delivered, count(*)::int AS total
         FROM webhooks.messages WHERE endpoint_id = $1`,
      [endpointId],
    );
    log(`drift: ${num(r.delivered)} / ${num(r.total)} delivered`);
    if (r.delivered === opts.driftN) break;
  }
  const { rows } = await db.query<{ attempt: number; drift_ms: number }>(
    `SELECT attempt, (extract(epoch FROM attempted_at - scheduled_at) * 1000)::float8 AS drift_ms
       FROM webhooks.attempts WHERE endpoint_id = $1`,
    [endpointId],
  );
  return {
    retries: summary(rows.filter((r) => r.attempt > 1).map((r) => r.drift_ms)),
    first: summary(rows.filter((r) => r.attempt === 1).map((r) => r.drift_ms)),
  };
}

// ---------------------------------------------------------------- main

const HEADING = '## Webhook delivery (`npm run bench:webhooks`)';
const INTRO = [
  HEADING,
  '',
  '`bench/webhooks-delivery.ts` runs the webhooks service (`apps/webhooks/dist/main.js`, `LOG_LEVEL=warn`) on a',
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

async function main(): Promise<void> {
  const waitUntil = Date.now() + opts.waitIdleS * 1000;
  const busyPattern = 'jest|bench/';
  for (let busy = competitors(busyPattern, 'webhooks-delivery'); busy.length && Date.now() < waitUntil;) {
    log(`waiting for ${busy.length} competing process(es) to finish: ${busy[0]?.slice(0, 100)}`);
    await sleep(10_000);
    busy = competitors(busyPattern, 'webhooks-delivery');
  }
  const competing = competitors(busyPattern, 'webhooks-delivery');
  const m = machine();
  const startedAt = new Date();
  log(`building apps/webhooks`);
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'apps/webhooks/tsconfig.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  await useLocalKafka(run);
  removeTopicsAtCleanup(run, () => LOCAL_BROKER, [TOPIC_PREFIX]);
  const database = await createDatabase(run, DATABASE, 'webhooks-bench');
  databaseUrl = database.url;
  const receiverUrl = await startReceiver();
  const port = await freePort();
  log('starting the webhooks service');
  await startService(port);
  const fast = await createEndpoint(port, `${receiverUrl}/fast`);
  const drift = await createEndpoint(port, `${receiverUrl}/drift`);
  endpointSecret = fast.secret;
  const db = new pg.Client({ connectionString: databaseUrl, application_name: 'webhooks-bench' });
  await db.connect();
  run.onCleanup(() => db.end());

  const throughput = await throughputPhase(db, fast.id);
  log(`throughput: ${num(throughput.rate)} deliveries/s`);
  const driftResult = await driftPhase(db, drift.id);
  log(
    `drift (retries): p50 ${num(driftResult.retries.p50, 1)} ms, p99 ${num(driftResult.retries.p99, 1)} ms`,
  );
  const baseline = await baselinePhase(receiverUrl, fast.secret);
  log(`baseline: ${num(baseline.rate)} deliveries/s`);

  const code = codeVersion();
  const deliveriesRatio = `${(throughput.rate / baseline.rate).toFixed(2)}×`;
  const deliveriesMet = throughput.rate >= 2000;
  const lines = [
    `### Webhook delivery — ${startedAt.toISOString()}`,
    '',
    `- Machine: ${machineLine(m)}; PostgreSQL ${database.serverVersion}; Kafka: the local broker (deploy/local/kafka.sh)`,
    `- Code: ${code}`,
    `- Parameters: N=${opts.n}, BASELINE_N=${opts.baselineN}, BASELINE_WORKERS=${opts.baselineWorkers}, DRIFT_N=${opts.driftN}, WEBHOOKS_CONCURRENCY=${process.env.WEBHOOKS_CONCURRENCY ?? 'default (512)'}, WEBHOOKS_BATCH_SIZE=${process.env.WEBHOOKS_BATCH_SIZE ?? 'default (100)'}, LOG_LEVEL=warn`,
    `- Competing test or benchmark processes at start: ${competing.length ? competing.length : 'none'}`,
    '',
    '| Metric | Naive dispatcher (baseline) | Webhooks dispatcher | Ratio | Target | Result |',
    '| --- | --- | --- | --- | --- | --- |',
    `| Signed deliveries/s, recorded (backlog of N) | ${num(baseline.rate)} | ${num(throughput.rate)} | ${deliveriesRatio} | ≥ 2,000/s | ${deliveriesMet ? '✅ met' : '❌ missed'} |`,
    `| Requests/s at the receiver (first → last) | — | ${num(throughput.receiverRate)} | — | — | — |`,
    `| Attempts recorded / requests received | ${num(opts.baselineN)} / ${num(received.naive)} | ${num(throughput.attempts)} / ${num(throughput.requests)} | — | equal | ${throughput.attempts === throughput.requests ? '✅' : '❌'} |`,
    `| delivery-attempted events published (unpublished left) | — (none) | ${num(throughput.published)} (${num(throughput.unpublished)}) | — | N (0) | ${throughput.published >= opts.n && throughput.unpublished === 0 ? '✅' : '❌'} |`,
    `| Signatures verified by standardwebhooks (sample) / bad | — | ${received.verified} / ${received.badSignatures} | — | 0 bad | ${received.badSignatures === 0 ? '✅' : '❌'} |`,
    `| Retry drift p50 / p99 / max (ms), ${num(driftResult.retries.count)} retries | — | ${num(driftResult.retries.p50, 1)} / ${num(driftResult.retries.p99, 1)} / ${num(driftResult.retries.max, 1)} | — | — | — |`,
    `| First-attempt drift p50 / p99 / max (ms), messages written by SQL (found by polling) | — | ${num(driftResult.first.p50, 1)} / ${num(driftResult.first.p99, 1)} / ${num(driftResult.first.max, 1)} | — | — | — |`,
  ];
  console.log(`\n${lines.join('\n')}`);
  appendSection({ heading: HEADING, intro: INTRO }, lines.join('\n'));
  // The target row, for `npm run bench`'s table; the baseline is the naive dispatcher.
  writeSummary(
    'webhooks',
    [
      {
        metric: 'Signed deliveries/s, recorded (backlog of N)',
        target: '≥ 2,000/s',
        baseline: num(baseline.rate),
        result: num(throughput.rate),
        ratio: deliveriesRatio,
        met: deliveriesMet,
      },
    ],
    { commit: code, startedAt: startedAt.toISOString() },
  );
}

run.main(main);
