// Audit store benchmark: what the audit service costs and delivers through its real paths, each against a baseline
// measured in the same run on the same Postgres. Everything runs on 127.0.0.1:
//   1. ingest: EVENTS CloudEvents (a mix of model calls with prompts, triage decisions, attempts and completions,
//      ~0.6 KB each) over TENANTS tenants are produced onto the catalogue topics first; then the audit service
//      (apps/audit/dist/main.js) starts and the clock runs from its health check answering (its sink has joined)
//      until every event is a stored, chained record. Events/s = EVENTS / that time.
//      Baseline: a consumer in this process reads the same topics (its own group) and stores each event in its own
//      transaction: lock the chain head, INSERT the record, UPDATE the head (the same chain, no batching), for at
//      most BASELINE_CAP_S; events/s = stored / time.
//   2. seed: SEED records in all (default 5,000,000) are appended through the service's own batch-append path
//      (apps/audit/dist RecordAppender: same hashing, same chain, same indexes), as tasks of 8 events spread over the
//      last 30 days of TENANTS tenants; stops at SEED_CAP_S and reports the size reached.
//   3. queries through the service's HTTP API as a tenant auditor (internal token + principal, as the gateway calls
//      it), one at a time: QUERIES task timelines of random seeded tasks, and QUERIES one-day pages filtered by model
//      (limit 100) of random days; p50/p95/p99. Each request also appends its audit.query.v1 record (included).
//      Baseline: the same SELECTs straight on Postgres (no HTTP, no record of the query).
//   4. verify: GET /v1/audit/verify of VERIFY_TENANTS whole tenant chains; records/s = checked / time.
//      Baseline: the same rows read with the same keyset queries, without hashing.
// The results are printed and appended as a dated section to docs/benchmarks.md (NO_DOCS=1: not appended).
//
//   npm run bench:audit [-- --events=N --seed=N ...]     (bench/audit.ts, run by Node 24's type stripping)
// Options (flag or environment variable):
//   EVENTS (200000)        events produced for the ingest phase
//   TENANTS (20)           tenants (chains) in both phases
//   BASELINE_CAP_S (60)    the naive baseline stops after this long
//   SEED (5000000)         records in the store for the query and verify phases (ingested events count)
//   SEED_CAP_S (1500)      seeding stops after this long; the phases then run at the size reached
//   SEED_WRITERS (2)       concurrent append transactions while seeding (different tenants)
//   QUERIES (300)          timelines, and as many one-day pages
//   VERIFY_TENANTS (2)     chains verified
//   BENCH_TIMEOUT_S (3600) hard limit for the whole run
//   NO_DOCS=1              do not append to docs/benchmarks.md
//   AUDIT_BATCH_SIZE, AUDIT_SINK_CONCURRENCY, AUDIT_WRITE_SHARDS, DATABASE_PREPARED_STATEMENTS
//                          passed to the audit service when set (its defaults otherwise), to compare settings
// Service log: .local/bench/audit.log. Kafka is started if it is not running (and then stopped at the end). The
// service, the database, the topics and the consumer groups are removed at the end, on error and on SIGINT/SIGTERM.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { builtContracts, requireFromRoot } from './lib/built.ts';
import { signedIdentity, type Principal } from './lib/internal-auth.ts';
import { createTopicsReady, LOCAL_BROKER, removeTopicsAtCleanup, useLocalKafka } from './lib/kafka.ts';
import { codeVersion, machine } from './lib/machine.ts';
import { helpFromHeader, numberOption, passThrough } from './lib/options.ts';
import { createDatabase, oneRow } from './lib/pg.ts';
import { appendSection } from './lib/report.ts';
import { type SummaryRow, writeSummary } from './lib/summary.ts';
import { byComponent, cpuDelta, cpuSnapshot, ticksToMs } from './lib/cpu.ts';
import { BenchRun, freePort, HOST, log, root, waitHealthy } from './lib/run.ts';
import { num, summary } from './lib/stats.ts';

type RecordAppenderModule = typeof import('@deliberate/audit/chain/record-appender.js');
type AuditChainModule = typeof import('@deliberate/audit-chain');
type RecordHashModule = Pick<AuditChainModule, 'contentHash' | 'recordHash'>;
type CanonicalJson = AuditChainModule['canonicalJson'];

const { Kafka, logLevel, CompressionTypes } = kafkajs;
helpFromHeader(import.meta.url);

const runId = randomBytes(4).toString('hex');
const INTERNAL_KEY = `bench-internal-${randomBytes(16).toString('hex')}`;
const DAY_MS = 86_400_000;
const big = { max: 100_000_000 };

const opts = {
  events: numberOption('EVENTS', 200_000, big),
  tenants: numberOption('TENANTS', 20, { max: 1000 }),
  baselineCapS: numberOption('BASELINE_CAP_S', 60, { max: 3600 }),
  seed: numberOption('SEED', 5_000_000, { ...big, min: 0 }),
  seedCapS: numberOption('SEED_CAP_S', 1500, { max: 7200 }),
  seedWriters: numberOption('SEED_WRITERS', 2, { max: 16 }),
  queries: numberOption('QUERIES', 300, { max: 100_000 }),
  verifyTenants: numberOption('VERIFY_TENANTS', 2, { max: 1000 }),
  benchTimeoutS: numberOption('BENCH_TIMEOUT_S', 3600, { min: 60, max: 14_400 }),
};

// The sink's tuning variables pass through when set, so one run can compare settings; otherwise service defaults.
const TUNING_VARIABLES = [
  'AUDIT_BATCH_SIZE',
  'AUDIT_SINK_CONCURRENCY',
  'AUDIT_WRITE_SHARDS',
  'DATABASE_PREPARED_STATEMENTS',
];
const serviceTuning = passThrough(TUNING_VARIABLES);
const describeTuning = () =>
  TUNING_VARIABLES.map((name) => `${name} ${serviceTuning[name] ?? 'default'}`).join(', ');

const run = new BenchRun(opts.benchTimeoutS);
const prefix = `bench.audit.${runId}.`;
const kafka = new Kafka({
  clientId: `audit-bench-${runId}`,
  brokers: [LOCAL_BROKER],
  logLevel: logLevel.NOTHING,
});

// ---------------------------------------------------------------- events

const tenantOf = (i: number): string => `bench-t${String(i % opts.tenants).padStart(3, '0')}`;
const usage = { inputTokens: 1200, cachedInputTokens: 0, outputTokens: 400, reasoningTokens: 300 };
const PROMPT =
  'Assess the loan application below and explain the decision. Applicant: income 52,000, rent 1,100.';

// The fields the seeding reads from an event's data (each event type has some of them).
interface EventData {
  [field: string]: unknown;
  model?: string;
  tier?: string;
  outcome?: string;
  purpose?: string;
  trace?: string;
  decision?: { route: string; decidedBy: string; [field: string]: unknown };
  result?: { model: string; answeredBy: string; answer: string; [field: string]: unknown };
  spec?: { input: string; metadata: Record<string, string>; [field: string]: unknown };
}
interface BenchEvent {
  type: string;
  data: EventData;
  noTask?: boolean;
}

/** The data of the k-th event of a task (8 per task), shaped like the real producers' events. */
function eventOf(k: number, _taskId: string, at: string): BenchEvent {
  switch (k % 8) {
    case 0:
      return {
        type: 'tasks.task.accepted.v1',
        data: {
          spec: {
            input: PROMPT,
            context: [
              { id: 'policy', title: 'Lending policy', content: 'Rent may not exceed 35% of income.' },
            ],
            mode: 'auto',
            latencyBudgetMs: null,
            maxCostMicroUsd: null,
            maxThinkingTokens: null,
            reasoningEffort: null,
            webhookUrl: null,
            metadata: { product: k % 16 === 0 ? 'loan' : 'card', region: 'eu' },
          },
          submittedVia: 'http',
          acceptedAt: at,
        },
      };
    case 1:
      return {
        type: 'tasks.task.triaged.v1',
        data: {
          decision: {
            route: 'reasoning',
            decidedBy: 'model',
            rule: null,
            classification: { complexity: 'complex', reason: 'multi-step assessment' },
            reason: 'classified complex by sim-fast: multi-step assessment',
          },
          triagedAt: at,
        },
      };
    case 2:
    case 5:
      return {
        type: 'usage.model-call.recorded.v1',
        data: {
          callId: randomUUID(),
          tier: k % 8 === 2 ? 'fast' : 'reasoning',
          model: k % 8 === 2 ? 'sim-fast' : 'sim-reasoner',
          purpose: k % 8 === 2 ? 'classify' : 'reason',
          usage,
          latencyMs: 900,
          outcome: 'ok',
          finishReason: 'stop',
          errorMessage: null,
          reservationId: null,
          prompt: [
            { role: 'system', content: 'Classify the task as simple or complex.' },
            { role: 'user', content: PROMPT },
          ],
        },
      };
    case 3:
      return {
        type: 'tasks.task.reasoning-started.v1',
        data: {
          executionId: randomUUID(),
          attempt: 1,
          tier: 'reasoning',
          model: 'sim-reasoner',
          maxCompletionTokens: 32000,
          reasoningEffort: null,
          deadlineAt: null,
          startedAt: at,
        },
      };
    case 4:
      return {
        type: 'reasoning.trace.recorded.v1',
        data: {
          executionId: randomUUID(),
          attempt: 1,
          tier: 'reasoning',
          model: 'sim-reasoner',
          prompt: [{ role: 'user', content: PROMPT }],
          contextSelection: null,
          trace: 'Rent is 25% of income, under the 35% limit; no other risk is stated.',
          providerReasoning: null,
          answer: 'Approve: rent is 25% of income.',
          parse: 'tagged',
          finishReason: 'stop',
          usage,
          outcome: 'answered',
          recordedAt: at,
        },
      };
    case 6:
      return {
        type: 'budget.threshold.crossed.v1',
        data: {
          scope: 'tenant',
          scopeId: 'tenant',
          period: 'day',
          periodStart: at.slice(0, 10),
          thresholdPercent: 80,
          limitMicroUsd: 5_000_000,
          usedMicroUsd: 4_100_000,
        },
        noTask: true,
      };
    default:
      return {
        type: 'tasks.task.completed.v1',
        data: {
          result: {
            answer: 'Approve: rent is 25% of income.',
            answeredBy: 'reasoning_model',
            model: 'sim-reasoner',
            usage,
            latencyMs: 2500,
            degraded: null,
          },
          completedAt: at,
          review: null,
        },
      };
  }
}

// ---------------------------------------------------------------- phases

type Catalogue = ReturnType<typeof builtContracts>['EVENT_CATALOGUE'];

async function produceEvents(catalogue: Catalogue): Promise<void> {
  await createTopicsReady(LOCAL_BROKER, prefix, catalogue);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = performance.now();
  const batch = new Map<string, kafkajs.Message[]>();
  let sent = 0;
  const flush = async () => {
    await producer.sendBatch({
      compression: CompressionTypes.None,
      topicMessages: [...batch].map(([topic, messages]) => ({ topic, messages })),
    });
    batch.clear();
  };
  let taskId = randomUUID();
  for (let i = 0; i < opts.events; i += 1) {
    if (i % 8 === 0) taskId = randomUUID();
    const tenantId = tenantOf(Math.floor(i / 8));
    const at = new Date().toISOString();
    const e = eventOf(i, taskId, at);
    const headers: Record<string, string> = {
      ce_specversion: '1.0',
      ce_id: randomUUID(),
      ce_type: e.type,
      ce_source: 'bench',
      ce_time: at,
      ce_tenantid: tenantId,
      'content-type': 'application/json',
    };
    if (!e.noTask) headers.ce_taskid = taskId;
    const topic = prefix + e.type;
    const messages = batch.get(topic) ?? [];
    batch.set(topic, messages);
    messages.push({ key: e.noTask ? tenantId : taskId, value: JSON.stringify(e.data), headers });
    sent += 1;
    if (sent % 4000 === 0) await flush();
    if (sent % 50_000 === 0) log(`produced ${num(sent)} events`);
  }
  if (batch.size) await flush();
  await producer.disconnect();
  log(`produced ${num(opts.events)} events in ${num((performance.now() - t0) / 1000, 1)} s`);
}

async function countRecords(pool: pg.Pool, table = 'audit.records'): Promise<number> {
  return Number((await oneRow<{ n: string }>(pool, `SELECT count(*)::bigint AS n FROM ${table}`)).n);
}

async function naiveBaseline(
  catalogue: Catalogue,
  dbUrl: string,
  { contentHash, recordHash }: RecordHashModule,
  canonicalJson: CanonicalJson,
) {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 8, application_name: 'audit-bench-naive' });
  run.onCleanup(() => pool.end());
  await pool.query(`CREATE SCHEMA bench_naive`);
  await pool.query(
    `CREATE TABLE bench_naive.heads (tenant_id text PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL)`,
  );
  await pool.query(`CREATE TABLE bench_naive.records (LIKE audit.records INCLUDING ALL)`);
  const consumer = kafka.consumer({ groupId: `${prefix}naive-baseline`, maxWaitTimeInMs: 100 });
  run.onCleanup(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topics: catalogue.map((e) => prefix + e.topic), fromBeginning: true });
  let stored = 0;
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  let stop = false;
  const h = (m: kafkajs.KafkaMessage, n: string) => m.headers?.[n]?.toString() ?? '';
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachMessage: async ({ message }) => {
      if (stop) return;
      firstAt ??= performance.now();
      const tenantId = h(message, 'ce_tenantid');
      const data: unknown = JSON.parse(message.value?.toString() ?? 'null');
      const content = canonicalJson(data);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO bench_naive.heads VALUES ($1, 0, $2) ON CONFLICT DO NOTHING`, [
          tenantId,
          Buffer.alloc(32),
        ]);
        const head = await oneRow<{ seq: string; hash: Buffer }>(
          client,
          `SELECT seq, hash FROM bench_naive.heads WHERE tenant_id = $1 FOR UPDATE`,
          [tenantId],
        );
        const seq = Number(head.seq) + 1;
        const occurredAt = new Date(h(message, 'ce_time'));
        const recordedAt = new Date();
        const r = {
          tenantId,
          seq,
          eventId: h(message, 'ce_id'),
          type: h(message, 'ce_type'),
          source: 'bench',
          taskId: h(message, 'ce_taskid') || null,
          occurredAt,
          recordedAt,
          route: null,
          model: null,
          status: null,
          decision: null,
          content,
        };
        const ch = contentHash(r);
        const rh = recordHash(head.hash, ch);
        await client.query(
          `INSERT INTO bench_naive.records (tenant_id, seq, event_id, event_type, source, task_id, occurred_at, recorded_at, content, search, prev_hash, content_hash, record_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_tsvector('simple', $9), $10, $11, $12)`,
          [
            tenantId,
            seq,
            r.eventId,
            r.type,
            r.source,
            r.taskId,
            occurredAt,
            recordedAt,
            content,
            head.hash,
            ch,
            rh,
          ],
        );
        await client.query(`UPDATE bench_naive.heads SET seq = $2, hash = $3 WHERE tenant_id = $1`, [
          tenantId,
          seq,
          rh,
        ]);
        await client.query('COMMIT');
        stored += 1;
        lastAt = performance.now();
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
  });
  const deadline = performance.now() + opts.baselineCapS * 1000;
  while (performance.now() < deadline && stored < opts.events) {
    await sleep(2000);
    log(`baseline: ${num(stored)} stored`);
  }
  stop = true;
  await consumer.disconnect();
  run.dropLastCleanup();
  const seconds = firstAt && lastAt ? (lastAt - firstAt) / 1000 : NaN;
  await pool.query(`DROP SCHEMA bench_naive CASCADE`);
  return { stored, seconds, rate: stored / seconds, capped: stored < opts.events };
}

type AppendTx = Parameters<InstanceType<RecordAppenderModule['RecordAppender']>['append']>[0];

// The service's append path runs on the persistence library's Sql port: here, the transaction open on one client.
function clientSql(client: pg.PoolClient): AppendTx {
  const run = (text: string, params?: readonly unknown[]) =>
    client.query(text, params ? [...params] : undefined);
  const sql = {
    async query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
      return (await run(text, params)).rows as T[];
    },
    async execute(text: string, params?: readonly unknown[]): Promise<number> {
      return (await run(text, params)).rowCount ?? 0;
    },
    transaction<T>(work: (tx: AppendTx) => Promise<T>): Promise<T> {
      return work(sql);
    },
    async ping(): Promise<void> {
      await run('SELECT 1');
    },
    async one<T>(text: string, params?: readonly unknown[]): Promise<T> {
      const rows = await sql.query<T>(text, params);
      if (rows.length !== 1) throw new Error(`expected exactly one row, got ${rows.length}`);
      return rows[0] as T;
    },
    async maybe<T>(text: string, params?: readonly unknown[]): Promise<T | undefined> {
      const rows = await sql.query<T>(text, params);
      if (rows.length > 1) throw new Error(`expected at most one row, got ${rows.length}`);
      return rows[0];
    },
  };
  return sql;
}

async function seedStore(
  pool: pg.Pool,
  { RecordAppender }: RecordAppenderModule,
  canonicalJson: CanonicalJson,
  target: number,
) {
  const appender = new RecordAppender();
  const already = await countRecords(pool);
  const toSeed = Math.max(0, target - already);
  const perTenant = Math.ceil(toSeed / opts.tenants);
  const now = Date.now();
  const span = 30 * DAY_MS;
  const batchSize = 4000;
  const deadline = performance.now() + opts.seedCapS * 1000;
  const t0 = performance.now();
  let seeded = 0;
  const sampleTasks: { tenantId: string; taskId: string }[] = [];
  const tenants = Array.from({ length: opts.tenants }, (_, i) => tenantOf(i));
  let next = 0;
  let capped = false;
  const progress = setInterval(
    () =>
      log(`seeding: ${num(seeded)} of ${num(toSeed)} (${num(seeded / ((performance.now() - t0) / 1000))}/s)`),
    10_000,
  );
  async function writer() {
    for (let t = next++; t < tenants.length; t = next++) {
      const tenantId = tenants[t] ?? '';
      let taskId = randomUUID();
      for (let done = 0; done < perTenant;) {
        if (performance.now() > deadline) {
          capped = true;
          return;
        }
        const records: Parameters<
          InstanceType<RecordAppenderModule['RecordAppender']>['append']
        >[1][number][] = [];
        for (let j = 0; j < batchSize && done < perTenant; j += 1, done += 1) {
          if (done % 8 === 0) {
            taskId = randomUUID();
            if (sampleTasks.length < 20_000 && Math.random() < 0.02) sampleTasks.push({ tenantId, taskId });
          }
          const occurredAt = new Date(now - span + Math.floor((done / perTenant) * span));
          const e = eventOf(done, taskId, occurredAt.toISOString());
          const d = e.data;
          const model = d.model ?? d.result?.model ?? null;
          records.push({
            tenantId,
            eventId: randomUUID(),
            type: e.type,
            source: 'bench',
            taskId: e.noTask ? null : taskId,
            occurredAt,
            route: d.decision?.route ?? d.tier ?? null,
            model,
            status: d.outcome ?? (e.type === 'tasks.task.completed.v1' ? 'completed' : null),
            decision: d.decision?.decidedBy ?? d.result?.answeredBy ?? d.purpose ?? null,
            metadata: d.spec?.metadata ?? {},
            content: canonicalJson(d),
            searchText: d.spec?.input ?? d.trace ?? d.result?.answer ?? null,
          });
        }
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await appender.append(clientSql(client), records);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {});
          throw e;
        } finally {
          client.release();
        }
        seeded += records.length;
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: opts.seedWriters }, writer));
  } finally {
    clearInterval(progress);
  }
  const seconds = (performance.now() - t0) / 1000;
  log(
    `seeded ${num(seeded)} records in ${num(seconds, 1)} s (${num(seeded / seconds)}/s)${capped ? ' — stopped at SEED_CAP_S' : ''}`,
  );
  await pool.query('ANALYZE audit.records');
  return { seeded, seconds, rate: seeded / seconds, capped, sampleTasks };
}

async function timeHttp(url: string, principal: Principal) {
  const { pathname, search } = new URL(url);
  const headers = signedIdentity('audit', INTERNAL_KEY, 'GET', `${pathname}${search}`, undefined, principal);
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  const body = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body.slice(0, 300)}`);
  return { ms, body };
}

const auditor = (tenantId: string): Principal => ({
  kind: 'tenant',
  tenantId,
  role: 'auditor',
  keyId: 'bench-auditor',
});

async function queries(baseUrl: string, pool: pg.Pool, sampleTasks: { tenantId: string; taskId: string }[]) {
  const now = Date.now();
  const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)] as T;
  const timeline: number[] = [];
  const timelineSql: number[] = [];
  const page: number[] = [];
  const pageSql: number[] = [];
  let entries = 0;
  let pageItems = 0;
  for (let i = 0; i < opts.queries; i += 1) {
    const { tenantId, taskId } = pick(sampleTasks);
    const r = await timeHttp(`${baseUrl}/v1/audit/tasks/${taskId}`, auditor(tenantId));
    timeline.push(r.ms);
    entries += (JSON.parse(r.body) as { entries: unknown[] }).entries.length;
    const t0 = performance.now();
    await pool.query(
      `SELECT * FROM audit.records WHERE task_id = $1 AND tenant_id = $2 ORDER BY occurred_at, tenant_id, seq`,
      [taskId, tenantId],
    );
    timelineSql.push(performance.now() - t0);
  }
  for (let i = 0; i < opts.queries; i += 1) {
    const tenantId = tenantOf(Math.floor(Math.random() * opts.tenants));
    const day = new Date(now - (1 + Math.floor(Math.random() * 28)) * DAY_MS);
    const from = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
    const to = new Date(from.getTime() + DAY_MS);
    const r = await timeHttp(
      `${baseUrl}/v1/audit/events?from=${from.toISOString()}&to=${to.toISOString()}&model=sim-reasoner&limit=100`,
      auditor(tenantId),
    );
    page.push(r.ms);
    pageItems += (JSON.parse(r.body) as { items: unknown[] }).items.length;
    const t0 = performance.now();
    await pool.query(
      `SELECT * FROM audit.records WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND model = $4
        ORDER BY occurred_at, tenant_id, seq LIMIT 101`,
      [tenantId, from, to, 'sim-reasoner'],
    );
    pageSql.push(performance.now() - t0);
    if ((i + 1) % 100 === 0) log(`queries: ${i + 1} pages`);
  }
  return {
    timeline: summary(timeline),
    timelineSql: summary(timelineSql),
    page: summary(page),
    pageSql: summary(pageSql),
    entriesPerTimeline: entries / opts.queries,
    itemsPerPage: pageItems / opts.queries,
  };
}

interface VerifyResult {
  tenantId: string;
  checked: number;
  ms: number;
  rate: number;
  read: number;
  readRate: number;
}

async function verifyPhase(baseUrl: string, pool: pg.Pool): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (let i = 0; i < Math.min(opts.verifyTenants, opts.tenants); i += 1) {
    const tenantId = tenantOf(i);
    const r = await timeHttp(`${baseUrl}/v1/audit/verify?tenantId=${tenantId}`, { kind: 'platform-auditor' });
    const report = JSON.parse(r.body) as {
      ok: boolean;
      checked: number;
      toSeq: number;
      firstBrokenLink: unknown;
    };
    if (!report.ok)
      throw new Error(`verify of ${tenantId} failed: ${JSON.stringify(report.firstBrokenLink)}`);
    // Baseline: the same rows, the same queries as the verifier (seq ranges of 10,000), one after the other, no hashing.
    const t0 = performance.now();
    let read = 0;
    for (let from = 1; from <= report.toSeq; from += 10_000) {
      const { rows } = await pool.query(
        `SELECT seq, event_id, event_type, source, task_id,
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at,
                to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at,
                route, model, status, decision, content, prev_hash, content_hash, record_hash
           FROM audit.records WHERE tenant_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq`,
        [tenantId, from, Math.min(from + 10_000, report.toSeq + 1)],
      );
      read += rows.length;
    }
    const readMs = performance.now() - t0;
    results.push({
      tenantId,
      checked: report.checked,
      ms: r.ms,
      rate: report.checked / (r.ms / 1000),
      read,
      readRate: read / (readMs / 1000),
    });
    log(
      `verify ${tenantId}: ${num(report.checked)} records in ${num(r.ms / 1000, 2)} s (${num(report.checked / (r.ms / 1000))}/s); plain read ${num(read / (readMs / 1000))}/s`,
    );
  }
  return results;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const m = machine();
  log(`machine: ${m.cpus} CPUs, load average ${m.load.map((l) => l.toFixed(2)).join(' / ')}`);
  for (const f of [
    'apps/audit/dist/main.js',
    'libs/contracts/dist/index.js',
    'libs/audit-chain/dist/index.js',
  ])
    if (!readFileExists(join(root, f))) throw new Error(`${f} is missing: build first (npm run build)`);
  await useLocalKafka(run);
  removeTopicsAtCleanup(run, () => LOCAL_BROKER, [prefix]);
  const { EVENT_CATALOGUE } = builtContracts();
  const appenderModule = requireFromRoot<RecordAppenderModule>(
    join(root, 'apps/audit/dist/chain/record-appender.js'),
  );
  const hashes = requireFromRoot<AuditChainModule>(join(root, 'libs/audit-chain/dist/index.js'));
  const { canonicalJson } = hashes;

  const database = await createDatabase(run, `deliberate_bench_audit_${runId}`, 'audit-bench');
  const dbUrl = database.url;
  const pgVersion = database.serverVersion;

  log(`phase 1: producing ${num(opts.events)} events over ${opts.tenants} tenants`);
  await produceEvents(EVENT_CATALOGUE);

  const port = await freePort();
  const t0 = performance.now();
  const child = run.spawnService(
    'audit',
    'apps/audit/dist/main.js',
    {
      DATABASE_URL: dbUrl,
      KAFKA_BROKERS: LOCAL_BROKER,
      KAFKA_TOPIC_PREFIX: prefix,
      AUDIT_PORT: String(port),
      AUDIT_INTERNAL_TOKEN: INTERNAL_KEY,
      ...serviceTuning,
      AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519')
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    },
    { logName: 'audit.log' },
  );
  const baseUrl = `http://${HOST}:${port}`;
  // Polled often: the ingest clock starts when the health check first answers.
  await waitHealthy(run, child, `${baseUrl}/health`, 120_000, 100);
  const upAt = performance.now();
  const classify = byComponent(
    new Map([[child.proc.pid, 'audit'] as const, [process.pid, 'bench'] as const]),
  );
  const cpuAtUp = cpuSnapshot(classify);
  log(`audit service up in ${num((upAt - t0) / 1000, 1)} s; its sink has joined; counting stored records`);
  // The service's own append path uses unqualified names, as the service's connections resolve them.
  const pool = new pg.Pool({
    connectionString: dbUrl,
    max: opts.seedWriters + 2,
    application_name: 'audit-bench',
    options: '-c search_path=audit',
  });
  run.onCleanup(() => pool.end());
  let stored = 0;
  while (stored < opts.events) {
    await sleep(250);
    stored = await countRecords(pool);
    if (performance.now() - upAt > 600_000)
      throw new Error(`only ${stored} of ${opts.events} stored after 600 s`);
  }
  const ingestS = (performance.now() - upAt) / 1000;
  const cpu = ingestCpu(cpuDelta(cpuAtUp, cpuSnapshot(classify)), stored);
  const ingest = { stored, seconds: ingestS, rate: stored / ingestS, cpu };
  log(`ingest: ${num(stored)} events stored in ${num(ingestS, 1)} s = ${num(ingest.rate)} events/s`);
  log(`ingest CPU: ${describeIngestCpu(cpu)}`);

  log(`baseline: one transaction per event (lock head, INSERT, UPDATE head), at most ${opts.baselineCapS} s`);
  const baseline = await naiveBaseline(EVENT_CATALOGUE, dbUrl, hashes, canonicalJson);
  log(
    `baseline: ${num(baseline.stored)} events in ${num(baseline.seconds, 1)} s = ${num(baseline.rate)} events/s`,
  );

  log(`phase 2: seeding the store to ${num(opts.seed)} records`);
  const seed = await seedStore(pool, appenderModule, canonicalJson, opts.seed);
  const size = await countRecords(pool);
  const tableSize = (
    await oneRow<{ s: string }>(pool, `SELECT pg_size_pretty(pg_total_relation_size('audit.records')) AS s`)
  ).s;
  log(`store: ${num(size)} records, ${tableSize} with indexes`);

  log(`phase 3: ${opts.queries} task timelines and ${opts.queries} one-day filtered pages through HTTP`);
  const q = await queries(baseUrl, pool, seed.sampleTasks);
  log(
    `timeline p95 ${num(q.timeline.p95, 1)} ms (SQL ${num(q.timelineSql.p95, 1)}); page p95 ${num(q.page.p95, 1)} ms (SQL ${num(q.pageSql.p95, 1)})`,
  );

  log('phase 4: verify');
  const verify = await verifyPhase(baseUrl, pool);

  const { report, headline, code } = renderReport({
    load: m.load,
    pgVersion,
    ingest,
    baseline,
    seed,
    size,
    tableSize,
    q,
    verify,
  });
  console.log(`\n${report}`);
  appendSection({ heading: '## Audit store (`npm run bench:audit`)' }, report);
  writeSummary('audit', headline, { commit: code, startedAt });
}

const readFileExists = (path: string): boolean => {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
};

interface Report {
  load: number[];
  pgVersion: string;
  ingest: { stored: number; seconds: number; rate: number; cpu: IngestCpu };
  baseline: Awaited<ReturnType<typeof naiveBaseline>>;
  seed: Awaited<ReturnType<typeof seedStore>>;
  size: number;
  tableSize: string;
  q: Awaited<ReturnType<typeof queries>>;
  verify: VerifyResult[];
}

interface RenderedReport {
  report: string;
  /** The target rows, for `npm run bench`'s table. */
  headline: SummaryRow[];
  code: string;
}

/** CPU µs per stored event by component during ingest, and the share of a core each kept busy. */
interface IngestCpu {
  usPerEvent: Record<IngestComponent, number>;
  cores: Record<IngestComponent, number>;
  busy: number;
}
const INGEST_COMPONENTS = ['audit', 'postgres', 'kafka', 'bench'] as const;
type IngestComponent = (typeof INGEST_COMPONENTS)[number];

function ingestCpu(d: ReturnType<typeof cpuDelta>, events: number): IngestCpu {
  const usPerEvent = {} as Record<IngestComponent, number>;
  const cores = {} as Record<IngestComponent, number>;
  for (const c of INGEST_COMPONENTS) {
    const ms = ticksToMs(d.byGroup.get(c) ?? 0);
    usPerEvent[c] = events > 0 ? (ms * 1000) / events : NaN;
    cores[c] = d.seconds > 0 ? ms / 1000 / d.seconds : NaN;
  }
  return { usPerEvent, cores, busy: d.busy };
}

const describeIngestCpu = (cpu: IngestCpu): string =>
  `${INGEST_COMPONENTS.map((c) => `${c} ${num(cpu.usPerEvent[c], 0)} µs/event (${num(cpu.cores[c] * 100, 0)}% of a core)`).join(', ')}; machine ${num(cpu.busy * 100, 0)}% busy`;

function renderReport({
  load,
  pgVersion,
  ingest,
  baseline,
  seed,
  size,
  tableSize,
  q,
  verify,
}: Report): RenderedReport {
  const verifyChecked = verify.reduce((s, v) => s + v.checked, 0);
  const verifyRate = verifyChecked / (verify.reduce((s, v) => s + v.ms, 0) / 1000);
  const readRate =
    verify.reduce((s, v) => s + v.read, 0) / verify.reduce((s, v) => s + v.read / v.readRate, 0);
  const met = (ok: boolean) => (ok ? '✅ met' : '❌ missed');
  const m = machine();
  const cpu = m.cpuModel.split(' ').slice(0, 2).join(' ');
  const code = codeVersion(['--', 'apps', 'libs', 'bench']);
  const ok = {
    ingest: ingest.rate >= 20_000,
    timeline: q.timeline.p95 <= 50,
    page: q.page.p95 <= 50,
    verify: verifyRate >= 100_000,
  };
  const ratios = {
    ingest: `${num(ingest.rate / baseline.rate, 1)}×`,
    timeline: `${num(q.timeline.p95 / q.timelineSql.p95, 1)}×`,
    page: `${num(q.page.p95 / q.pageSql.p95, 1)}×`,
    verify: `${num(verifyRate / readRate, 2)}×`,
  };
  // The target rows, for `npm run bench`'s table; each baseline is the same run's, as in the report.
  const headline: SummaryRow[] = [
    {
      metric: 'Ingest through Kafka (events/s)',
      target: '≥ 20,000/s',
      baseline: num(baseline.rate),
      result: num(ingest.rate),
      ratio: ratios.ingest,
      met: ok.ingest,
    },
    {
      metric: `Task timeline p95 (ms), ${num(size)} records`,
      target: 'p95 ≤ 50 ms',
      baseline: num(q.timelineSql.p95, 1),
      result: num(q.timeline.p95, 1),
      ratio: ratios.timeline,
      met: ok.timeline,
    },
    {
      metric: 'One-day page filtered by model p95 (ms)',
      target: 'p95 ≤ 50 ms',
      baseline: num(q.pageSql.p95, 1),
      result: num(q.page.p95, 1),
      ratio: ratios.page,
      met: ok.page,
    },
    {
      metric: 'Verify (records/s)',
      target: '≥ 100,000/s',
      baseline: num(readRate),
      result: num(verifyRate),
      ratio: ratios.verify,
      met: ok.verify,
    },
  ];
  const report = [
    `### Audit store — ${new Date().toISOString()}`,
    '',
    `- Machine: ${m.cpus} CPUs (${cpu}), ${num(m.memGiB, 1)} GiB RAM, load average ${load.map((l) => l.toFixed(2)).join(' / ')} at start; Node ${m.node}; PostgreSQL ${pgVersion}; Kafka local single node`,
    `- Code: ${code}`,
    `- Parameters: EVENTS=${opts.events}, TENANTS=${opts.tenants}, BASELINE_CAP_S=${opts.baselineCapS}, SEED=${opts.seed} (reached ${num(size)} records, ${tableSize} with indexes${seed.capped ? `; stopped at SEED_CAP_S=${opts.seedCapS}` : ''}), SEED_WRITERS=${opts.seedWriters}, QUERIES=${opts.queries}, VERIFY_TENANTS=${opts.verifyTenants}; sink (${describeTuning()}; group commit, redaction on), LOG_LEVEL=warn`,
    '',
    '| Metric | Audit service | Baseline (same run) | Service / baseline | Target | Result |',
    '| --- | --- | --- | --- | --- | --- |',
    `| Ingest through Kafka (events/s) | ${num(ingest.rate)} (${num(ingest.stored)} in ${num(ingest.seconds, 1)} s) | ${num(baseline.rate)} (one transaction per event; ${num(baseline.stored)} in ${num(baseline.seconds, 1)} s${baseline.capped ? ', capped' : ''}) | ${ratios.ingest} | ≥ 20,000/s | ${met(ok.ingest)} |`,
    `| Task timeline p50 / p95 / p99 (ms), ${num(size)} records | ${num(q.timeline.p50, 1)} / ${num(q.timeline.p95, 1)} / ${num(q.timeline.p99, 1)} (HTTP, ${num(q.entriesPerTimeline, 1)} entries) | ${num(q.timelineSql.p50, 1)} / ${num(q.timelineSql.p95, 1)} / ${num(q.timelineSql.p99, 1)} (same SELECT on Postgres) | ${ratios.timeline} (p95) | p95 ≤ 50 ms | ${met(ok.timeline)} |`,
    `| One-day page filtered by model p50 / p95 / p99 (ms) | ${num(q.page.p50, 1)} / ${num(q.page.p95, 1)} / ${num(q.page.p99, 1)} (HTTP, ${num(q.itemsPerPage, 0)} items of ≤ 100) | ${num(q.pageSql.p50, 1)} / ${num(q.pageSql.p95, 1)} / ${num(q.pageSql.p99, 1)} (same SELECT) | ${ratios.page} (p95) | p95 ≤ 50 ms | ${met(ok.page)} |`,
    `| Verify (records/s) | ${num(verifyRate)} (${num(verifyChecked)} records, ${verify.length} chains) | ${num(readRate)} (same rows read, no hashing) | ${ratios.verify} | ≥ 100,000/s | ${met(ok.verify)} |`,
    `| Seeding through the batch-append path (records/s) | ${num(seed.rate)} (${num(seed.seeded)} in ${num(seed.seconds, 0)} s, ${opts.seedWriters} writers) | — | — | — | — |`,
    '',
    `- Ingest CPU (from /proc, service up → last event stored): ${describeIngestCpu(ingest.cpu)}. The bench's share is its producer's tail and the count(*) it polls every 250 ms.`,
    `- Method: ingest counts from the service's health check answering (its consumer has joined) until \`count(*)\` reaches EVENTS; events were produced beforehand. Queries are sequential HTTP requests with the internal token and a tenant-auditor principal (as the gateway forwards them); each one also appends its own audit.query.v1 record, included in the latency. Seeded tasks span the last 30 days; each tenant-day holds about ${num(size / opts.tenants / 30)} records.`,
  ].join('\n');
  return { report, headline, code };
}

run.main(main);
