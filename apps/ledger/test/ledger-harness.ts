import {
  type Principal,
  modelCallRecordedEvent,
  type ModelCallRecorded,
  type TenantPolicyInput,
  tenantPolicySchema,
  tenantPolicyUpdatedEvent,
  type TokenUsage,
  uuidv7,
} from '@deliberate/contracts';
import { type LedgerConfig, loadLedgerConfig } from '@deliberate/ledger/config';
import { createLedgerApp } from '@deliberate/ledger/create-ledger-app';
import { LedgerClient } from '@deliberate/ledger-client';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import {
  type HttpResult,
  type InternalCallOptions,
  internalHttp,
  pollUntil,
  type ServiceUnderTest,
  startServiceUnderTest,
  type TcpProxy,
  TEST_KAFKA_BROKERS,
  tenantPrincipal,
  throughProxy,
} from '@deliberate/testing';
import { randomUUID } from 'node:crypto';

export { json, PLATFORM_ADMIN, readTopic } from '@deliberate/testing';

export const INTERNAL_KEY = 'ledger-test-internal-token-0123456789';

/** One or more ledger instances in this process, on the real broker and a fresh database, with a client. */
export interface LedgerHarness extends ServiceUnderTest<LedgerConfig> {
  client: LedgerClient;
  publishUsage(input: UsageEventInput): Promise<string>;
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
  options: {
    env?: Record<string, string>;
    instances?: number;
    clientTimeoutMs?: number;
    /** A proxy the ledger reaches Postgres through (`proxyTestDatabase()`), to its suite's own database. */
    databaseProxy?: TcpProxy;
  } = {},
): Promise<LedgerHarness> {
  const service = await startServiceUnderTest(
    suite,
    {
      schema: 'ledger',
      config: (env) =>
        loadLedgerConfig({
          ...env,
          DATABASE_URL: options.databaseProxy
            ? throughProxy(env.DATABASE_URL, options.databaseProxy)
            : env.DATABASE_URL,
          KAFKA_HANDLER_MAX_ATTEMPTS: '3',
          LOG_LEVEL: 'warn',
          LEDGER_INTERNAL_TOKEN: INTERNAL_KEY,
          LEDGER_SWEEP_INTERVAL_MS: '200',
          ...options.env,
        }),
      create: createLedgerApp,
    },
    options,
  );
  const client = new LedgerClient({
    brokers: TEST_KAFKA_BROKERS,
    clientId: `ledger-test-${suite}`,
    topicPrefix: service.prefix,
    timeoutMs: options.clientTimeoutMs ?? 30_000,
  });
  service.onClose(() => client.close());
  await client.connect().catch(async (e: unknown) => {
    await service.close().catch(() => undefined);
    throw e;
  });

  return {
    ...service,
    client,
    publishUsage: async (e) => {
      const envelope = await service.publisher.publish(modelCallRecordedEvent, {
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
  };
}

export const tenantAdmin = (tenantId: string, role: 'admin' | 'auditor' | 'submitter' = 'admin'): Principal =>
  tenantPrincipal(tenantId, role);

/**
 * Calls the ledger as the gateway's proxy would: the principal signed for this request with the ledger's key.
 * `identity` replaces the signed headers (forgeries); `principal: null` sends no identity at all.
 */
export function ledgerHttp<T = Record<string, unknown>>(
  h: LedgerHarness,
  method: string,
  path: string,
  options: InternalCallOptions = {},
): Promise<HttpResult<T>> {
  return internalHttp<T>({ url: h.url, key: INTERNAL_KEY, service: 'ledger' }, method, path, options);
}

/**
 * Sets a tenant's policy as the gateway announces it (tenants.policy.updated.v1), and waits until every ledger
 * instance has read it.
 */
export async function setTenantPolicy(
  h: LedgerHarness,
  tenantId: string,
  policy: TenantPolicyInput,
): Promise<void> {
  const caches = h.apps.map((app) => app.get(TenantPolicyCache));
  const version = Math.max(...caches.map((c) => c.versionOf(tenantId))) + 1;
  await h.publisher.publish(tenantPolicyUpdatedEvent, {
    tenantId,
    data: {
      version,
      policy: tenantPolicySchema.parse(policy),
      updatedBy: 'platform-admin',
      updatedAt: new Date().toISOString(),
    },
  });
  await pollUntil(
    () => Promise.resolve(caches.map((c) => c.versionOf(tenantId))),
    (versions) => versions.every((v) => v === version),
    { what: `the ledger to read version ${version} of the policy of ${tenantId}` },
  );
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
