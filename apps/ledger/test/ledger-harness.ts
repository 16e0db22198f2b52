import {
  type Principal,
  modelCallRecordedEvent,
  type ModelCallRecorded,
  type TokenUsage,
  uuidv7,
} from '@deliberate/contracts';
import { EventPublisher, KafkaClient } from '@deliberate/kafka';
import { type LedgerConfig, loadLedgerConfig } from '@deliberate/ledger/config';
import { createLedgerApp } from '@deliberate/ledger/create-ledger-app';
import { LedgerClient } from '@deliberate/ledger-client';
import {
  collectMessages,
  createTestDatabase,
  deleteTopicsWithPrefix,
  signedInternalHeaders,
  TEST_KAFKA_BROKERS,
  testKafka,
  uniqueTopicPrefix,
} from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import type { KafkaMessage } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';

export const INTERNAL_KEY = 'ledger-test-internal-token-0123456789';

/** One or more ledger instances in this process, on the real broker and a fresh database, with a client. */
export interface LedgerHarness {
  prefix: string;
  url: string;
  config: LedgerConfig;
  apps: INestApplication[];
  client: LedgerClient;
  /** SQL on the ledger's schema, to check what the API says against what is stored. */
  db: Pool;
  topic(name: string): string;
  publishUsage(input: UsageEventInput): Promise<string>;
  close(): Promise<void>;
}

export interface UsageEventInput {
  tenantId: string;
  taskId?: string | null;
  id?: string;
  model: string;
  usage: TokenUsage;
  tier?: ModelCallRecorded['tier'];
  purpose?: string;
  outcome?: ModelCallRecorded['outcome'];
  reservationId?: string | null;
}

export async function startLedger(
  suite: string,
  options: { env?: Record<string, string>; instances?: number; clientTimeoutMs?: number } = {},
): Promise<LedgerHarness> {
  const database = await createTestDatabase(suite);
  const prefix = uniqueTopicPrefix(suite);
  const config = loadLedgerConfig({
    DATABASE_URL: database.url,
    KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_HANDLER_MAX_ATTEMPTS: '3',
    LOG_LEVEL: 'warn',
    LEDGER_INTERNAL_TOKEN: INTERNAL_KEY,
    LEDGER_SWEEP_INTERVAL_MS: '200',
    ...options.env,
  });
  const apps: INestApplication[] = [];
  // One after the other: the first start runs the migrations.
  for (let i = 0; i < (options.instances ?? 1); i += 1) apps.push(await createLedgerApp(config));
  await apps[0]!.listen(0, '127.0.0.1');
  const url = (await apps[0]!.getUrl()).replace('[::1]', '127.0.0.1');

  const client = new LedgerClient({
    brokers: TEST_KAFKA_BROKERS,
    clientId: `ledger-test-${suite}`,
    topicPrefix: prefix,
    timeoutMs: options.clientTimeoutMs ?? 30_000,
  });
  await client.connect();

  const kafka = new KafkaClient({
    serviceName: 'ledger-test',
    brokers: TEST_KAFKA_BROKERS,
    topicPrefix: prefix,
    createTopics: false,
    replicationFactor: 1,
    handlerMaxAttempts: 1,
  });
  const publisher = new EventPublisher(kafka);
  await publisher.connect();
  const db = new Pool({ connectionString: database.url, options: '-c search_path=ledger', max: 3 });
  // An idle client whose connection the server ends (a restart, an admin) must not crash the suite.
  db.on('error', () => undefined);

  return {
    prefix,
    url,
    config,
    apps,
    client,
    db,
    topic: (name) => `${prefix}${name}`,
    publishUsage: async (e) => {
      const envelope = await publisher.publish(modelCallRecordedEvent, {
        id: e.id ?? uuidv7(),
        tenantId: e.tenantId,
        taskId: e.taskId === undefined ? randomUUID() : e.taskId,
        data: {
          callId: uuidv7(),
          tier: e.tier ?? 'reasoning',
          model: e.model,
          purpose: e.purpose ?? 'reason',
          usage: e.usage,
          latencyMs: 1_000,
          outcome: e.outcome ?? 'ok',
          finishReason: e.outcome === 'error' ? null : 'stop',
          errorMessage: e.outcome === 'error' ? 'upstream 500' : null,
          reservationId: e.reservationId ?? null,
        },
      });
      return envelope.id;
    },
    close: async () => {
      // Each step runs even if one before it failed, so no consumer or timer outlives the suite.
      const steps = [
        () => client.close(),
        () => publisher.disconnect(),
        ...apps.map((app) => () => app.close()),
        () => db.end(),
        () => database.drop(),
        () => deleteTopicsWithPrefix(prefix),
      ];
      const failures: unknown[] = [];
      for (const step of steps) await step().catch((e: unknown) => failures.push(e));
      if (failures.length) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
    },
  };
}

export const tenantAdmin = (
  tenantId: string,
  role: 'admin' | 'auditor' | 'submitter' = 'admin',
): Principal => ({
  kind: 'tenant',
  tenantId,
  role,
  keyId: `key-${tenantId}-${role}`,
});

export const PLATFORM_ADMIN: Principal = { kind: 'platform-admin' };

export interface HttpResult<T> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

/**
 * Calls the ledger as the gateway's proxy would: the principal signed for this request with the ledger's key.
 * `identity` replaces the signed headers (forgeries); `principal: null` sends no identity at all.
 */
export async function ledgerHttp<T = Record<string, unknown>>(
  h: LedgerHarness,
  method: string,
  path: string,
  options: {
    principal?: Principal | null;
    identity?: Record<string, string>;
    body?: unknown;
    rawBody?: string;
  } = {},
): Promise<HttpResult<T>> {
  const body = options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
  const headers: Record<string, string> =
    options.identity ??
    (options.principal === null
      ? {}
      : signedInternalHeaders({
          key: INTERNAL_KEY,
          service: 'ledger',
          method,
          target: path,
          ...(body !== undefined ? { body } : {}),
          principal: options.principal ?? PLATFORM_ADMIN,
        }));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${h.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = {};
  }
  return { status: res.status, headers: res.headers, text, body: parsed as T };
}

/** Sets a budget through the HTTP API, as an operator would. */
export async function putBudget(
  h: LedgerHarness,
  tenantId: string,
  body: Record<string, unknown>,
): Promise<void> {
  const res = await ledgerHttp(h, 'PUT', '/v1/ledger/budgets', { principal: tenantAdmin(tenantId), body });
  if (res.status !== 200) throw new Error(`PUT budget for ${tenantId}: ${res.status} ${res.text}`);
}

/** Every message the topic holds right now (up to its high watermarks). */
export async function readTopic(topic: string): Promise<KafkaMessage[]> {
  const admin = testKafka().admin();
  await admin.connect();
  let total = 0;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
  return total === 0 ? [] : collectMessages(topic, total, { timeoutMs: 15_000 });
}

export const json = (m: KafkaMessage): Record<string, unknown> =>
  JSON.parse(m.value?.toString('utf8') ?? 'null') as Record<string, unknown>;

export const zeroUsage: TokenUsage = {
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
};

export const usage = (
  inputTokens: number,
  outputTokens: number,
  cachedInputTokens = 0,
  reasoningTokens = 0,
): TokenUsage => ({
  inputTokens,
  cachedInputTokens,
  outputTokens,
  reasoningTokens,
});
