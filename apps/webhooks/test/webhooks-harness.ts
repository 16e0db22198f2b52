import {
  taskAcceptedEvent,
  type WebhookDeliveryDetailResponse,
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  uuidv7,
} from '@deliberate/contracts';
import {
  type HttpResult,
  type InternalCallOptions,
  internalHttp,
  type Receiver,
  type ServiceUnderTest,
  startReceiver,
  startServiceUnderTest,
  tenantPrincipal,
  testTaskSpec,
} from '@deliberate/testing';
import { loadWebhooksConfig, type WebhooksConfig } from '@deliberate/webhooks/config';
import { createWebhooksApp } from '@deliberate/webhooks/create-webhooks-app';
import type { Resolver } from '@deliberate/webhooks/ssrf/ssrf-guard';
import { randomBytes, randomUUID } from 'node:crypto';

export {
  json,
  PLATFORM_ADMIN,
  readTopic,
  type ReceivedRequest,
  type Receiver,
  type ReceiverBehaviour,
  requestHeader as header,
  startReceiver,
  tenantPrincipal,
} from '@deliberate/testing';

export const INTERNAL_KEY = 'webhooks-test-internal-token-0123456789';

/** Compressed for tests: five attempts within about a second. */
export const TEST_SCHEDULE = '0,150ms,300ms,300ms,300ms';

/** Webhooks instances in this process, on the real broker and a fresh database, with loopback allowlisted. */
/** A delivery as the API shows it, with its attempts. */
export type Delivery = WebhookDeliveryDetailResponse;

export interface WebhooksHarness extends ServiceUnderTest<WebhooksConfig> {
  /** The service's environment, for a child process of this suite. */
  env: Record<string, string>;
  /** A webhook receiver on loopback (allowlisted), answering 200 until told otherwise. */
  receiver: Receiver;
  /** Calls the service as the gateway's proxy would (see `webhooksHttp`). */
  http<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: InternalCallOptions,
  ): Promise<HttpResult<T>>;
  /** Registers an endpoint through the API, as a tenant admin would; returns its id and secret. */
  registerEndpoint(
    tenantId: string,
    url: string,
    eventTypes?: string[],
  ): Promise<{ id: string; secret: string }>;
  publishAccepted(task: TaskInput): Promise<void>;
  publishTerminal(task: TaskInput, type: TerminalType, eventId?: string): Promise<string>;
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
  let env: Record<string, string> = {};
  const receiver = await startReceiver();
  const resolver = options.resolver ? { resolver: options.resolver } : {};
  const service = await startServiceUnderTest(
    suite,
    {
      schema: 'webhooks',
      config: (suiteEnv) =>
        loadWebhooksConfig(
          (env = {
            ...suiteEnv,
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
          }),
        ),
      create: (config) => createWebhooksApp(config, resolver),
    },
    options,
  ).catch(async (e: unknown) => {
    await receiver.close();
    throw e;
  });
  service.onClose(() => receiver.close());
  const { publisher } = service;

  const target = { url: service.url };
  return {
    ...service,
    env,
    receiver,
    http: (method, path, callOptions) => webhooksHttp(target, method, path, callOptions),
    registerEndpoint: (tenantId, url, eventTypes) => registerEndpoint(target, tenantId, url, eventTypes),
    publishAccepted: async (task) => {
      await publisher.publish(taskAcceptedEvent, {
        tenantId: task.tenantId,
        taskId: task.taskId,
        data: {
          spec: testTaskSpec('What is 2 + 2?', {
            webhookUrl: task.webhookUrl ?? null,
            metadata: task.metadata ?? {},
          }),
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
  };
}

/**
 * Calls the service as the gateway's proxy would: the principal signed for this request with the service's key.
 * `identity` replaces the signed headers (forgeries); `principal: null` sends no identity at all.
 */
export function webhooksHttp<T = Record<string, unknown>>(
  h: { url: string },
  method: string,
  path: string,
  options: InternalCallOptions = {},
): Promise<HttpResult<T>> {
  return internalHttp<T>({ url: h.url, key: INTERNAL_KEY, service: 'webhooks' }, method, path, options);
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

export const newTask = (tenantId: string, webhookUrl: string | null = null, metadata = {}): TaskInput => ({
  tenantId,
  taskId: randomUUID(),
  webhookUrl,
  metadata,
});
