import {
  type Principal,
  taskAcceptedEvent,
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  uuidv7,
} from '@deliberate/contracts';
import { EventPublisher, KafkaClient } from '@deliberate/kafka';
import {
  collectMessages,
  createTestDatabase,
  deleteTopicsWithPrefix,
  signedInternalHeaders,
  TEST_KAFKA_BROKERS,
  testKafka,
  uniqueTopicPrefix,
} from '@deliberate/testing';
import { loadWebhooksConfig, type WebhooksConfig } from '@deliberate/webhooks/config';
import { createWebhooksApp } from '@deliberate/webhooks/create-webhooks-app';
import type { Resolver } from '@deliberate/webhooks/ssrf/ssrf-guard';
import type { INestApplication } from '@nestjs/common';
import type { KafkaMessage } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';

export const INTERNAL_KEY = 'webhooks-test-internal-token-0123456789';

/** Compressed for tests: five attempts within about a second. */
export const TEST_SCHEDULE = '0,150ms,300ms,300ms,300ms';

/** Webhooks instances in this process, on the real broker and a fresh database, with loopback allowlisted. */
export interface WebhooksHarness {
  prefix: string;
  url: string;
  config: WebhooksConfig;
  env: Record<string, string>;
  apps: INestApplication[];
  db: Pool;
  topic(name: string): string;
  publishAccepted(task: TaskInput): Promise<void>;
  publishTerminal(task: TaskInput, type: TerminalType, eventId?: string): Promise<string>;
  close(): Promise<void>;
}

export interface TaskInput {
  tenantId: string;
  taskId: string;
  webhookUrl?: string | null;
  metadata?: Record<string, string | number | boolean>;
}

export type TerminalType = 'completed' | 'failed' | 'escalated' | 'cancelled';

export async function startWebhooks(
  suite: string,
  options: { env?: Record<string, string>; instances?: number; resolver?: Resolver } = {},
): Promise<WebhooksHarness> {
  const database = await createTestDatabase(suite);
  const prefix = uniqueTopicPrefix(suite);
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_HANDLER_MAX_ATTEMPTS: '3',
    LOG_LEVEL: 'warn',
    WEBHOOKS_INTERNAL_TOKEN: INTERNAL_KEY,
    WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
    WEBHOOKS_RETRY_SCHEDULE: TEST_SCHEDULE,
    WEBHOOKS_RETRY_JITTER: '0',
    WEBHOOKS_TIMEOUT_MS: '2000',
    WEBHOOKS_LEASE_MS: '5000',
    WEBHOOKS_POLL_INTERVAL_MS: '50',
    WEBHOOKS_ACCEPTED_WAIT_MS: '60000',
    WEBHOOKS_SECRET_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ...options.env,
  };
  const config = loadWebhooksConfig(env);
  const apps: INestApplication[] = [];
  const resolver = options.resolver ? { resolver: options.resolver } : {};
  // One after the other: the first start runs the migrations.
  for (let i = 0; i < (options.instances ?? 1); i += 1) apps.push(await createWebhooksApp(config, resolver));
  await apps[0]!.listen(0, '127.0.0.1');
  const url = (await apps[0]!.getUrl()).replace('[::1]', '127.0.0.1');

  const kafka = new KafkaClient({
    serviceName: 'webhooks-test',
    brokers: TEST_KAFKA_BROKERS,
    topicPrefix: prefix,
    createTopics: false,
    replicationFactor: 1,
    handlerMaxAttempts: 1,
  });
  const publisher = new EventPublisher(kafka);
  await publisher.connect();
  const db = new Pool({ connectionString: database.url, options: '-c search_path=webhooks', max: 3 });
  db.on('error', () => undefined);

  return {
    prefix,
    url,
    config,
    env,
    apps,
    db,
    topic: (name) => `${prefix}${name}`,
    publishAccepted: async (task) => {
      await publisher.publish(taskAcceptedEvent, {
        tenantId: task.tenantId,
        taskId: task.taskId,
        data: {
          spec: {
            input: 'What is 2 + 2?',
            context: [],
            mode: 'auto',
            latencyBudgetMs: null,
            maxCostMicroUsd: null,
            maxThinkingTokens: null,
            reasoningEffort: null,
            webhookUrl: task.webhookUrl ?? null,
            metadata: task.metadata ?? {},
          },
          submittedVia: 'http',
          acceptedAt: new Date().toISOString(),
        },
      });
    },
    publishTerminal: async (task, type, eventId = uuidv7()) => {
      const base = { id: eventId, tenantId: task.tenantId, taskId: task.taskId };
      const at = new Date().toISOString();
      if (type === 'completed') {
        await publisher.publish(taskCompletedEvent, {
          ...base,
          data: {
            result: {
              answer: '4',
              answeredBy: 'fast_model',
              model: 'fast-1',
              usage: null,
              latencyMs: 12,
              degraded: null,
            },
            completedAt: at,
          },
        });
      } else if (type === 'failed') {
        await publisher.publish(taskFailedEvent, {
          ...base,
          data: { error: { code: 'model_error', message: 'upstream 500' }, failedAt: at },
        });
      } else if (type === 'escalated') {
        await publisher.publish(taskEscalatedEvent, {
          ...base,
          data: { reason: 'limit hit', attempts: ['reasoning:limit_hit'], escalatedAt: at },
        });
      } else {
        await publisher.publish(taskCancelledEvent, {
          ...base,
          data: { reason: 'client cancelled', usage: null, cancelledAt: at },
        });
      }
      return eventId;
    },
    close: async () => {
      const steps = [
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

export const tenantPrincipal = (
  tenantId: string,
  role: 'admin' | 'auditor' | 'submitter' | 'reviewer' = 'admin',
): Principal => ({ kind: 'tenant', tenantId, role, keyId: `key-${tenantId}-${role}` });

export const PLATFORM_ADMIN: Principal = { kind: 'platform-admin' };

export interface HttpResult<T> {
  status: number;
  text: string;
  body: T;
}

/**
 * Calls the service as the gateway's proxy would: the principal signed for this request with the service's key.
 * `identity` replaces the signed headers (forgeries); `principal: null` sends no identity at all.
 */
export async function webhooksHttp<T = Record<string, unknown>>(
  h: { url: string },
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
          service: 'webhooks',
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
  return { status: res.status, text, body: parsed as T };
}

/** Registers an endpoint through the API, as a tenant admin would; returns its id and secret. */
export async function registerEndpoint(
  h: { url: string },
  tenantId: string,
  url: string,
  eventTypes?: string[],
): Promise<{ id: string; secret: string }> {
  const res = await webhooksHttp<{ id: string; secret: string }>(h, 'POST', '/v1/webhooks/endpoints', {
    principal: tenantPrincipal(tenantId),
    body: { url, ...(eventTypes ? { eventTypes } : {}) },
  });
  if (res.status !== 201) throw new Error(`register endpoint: ${res.status} ${res.text}`);
  return res.body;
}

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver does with a request: answer (status, headers, body), or hold it and let the test decide. */
export type ReceiverBehaviour = (
  request: ReceivedRequest,
  response: ServerResponse,
) => { status: number; headers?: Record<string, string>; body?: string } | 'handled';

/** A local webhook receiver on 127.0.0.1 that records every request. */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  behave(behaviour: ReceiverBehaviour): void;
  close(): Promise<void>;
}

export async function startReceiver(
  behaviour: ReceiverBehaviour = () => ({ status: 200 }),
): Promise<Receiver> {
  let current = behaviour;
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = {
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(received);
      const answer = current(received, res);
      if (answer === 'handled') return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? 'ok');
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behave: (b) => {
      current = b;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const header = (r: ReceivedRequest, name: string): string => {
  const value = r.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
};

/**
 * Every message the topic holds right now; none while the broker is still electing the topic's leaders (a topic
 * created moments ago on a busy broker), so callers poll.
 */
export async function readTopic(topic: string): Promise<KafkaMessage[]> {
  const admin = testKafka().admin();
  await admin.connect();
  let total = 0;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } catch (e) {
    if ((e as { retriable?: boolean }).retriable) return [];
    throw e;
  } finally {
    await admin.disconnect();
  }
  return total === 0 ? [] : collectMessages(topic, total, { timeoutMs: 15_000 });
}

export const json = (m: KafkaMessage): Record<string, unknown> =>
  JSON.parse(m.value?.toString('utf8') ?? 'null') as Record<string, unknown>;

export const newTask = (tenantId: string, webhookUrl: string | null = null, metadata = {}): TaskInput => ({
  tenantId,
  taskId: randomUUID(),
  webhookUrl,
  metadata,
});
