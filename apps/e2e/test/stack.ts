import { loadAuditConfig } from '@deliberate/audit/config';
import { createAuditApp } from '@deliberate/audit/create-audit-app';
import { loadGatewayConfig } from '@deliberate/gateway/config';
import { loadLedgerConfig } from '@deliberate/ledger/config';
import { createLedgerApp } from '@deliberate/ledger/create-ledger-app';
import { loadReasonerConfig } from '@deliberate/reasoner/config';
import { createReasonerApp } from '@deliberate/reasoner/create-reasoner-app';
import { createGatewayApp } from '@deliberate/gateway/create-gateway-app';
import { startSimulator, type RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import {
  createTestDatabase,
  deleteTopicsWithPrefix,
  TEST_KAFKA_BROKERS,
  uniqueTopicPrefix,
} from '@deliberate/testing';
import { loadTriageConfig } from '@deliberate/triage/config';
import { loadWebhooksConfig } from '@deliberate/webhooks/config';
import { createWebhooksApp } from '@deliberate/webhooks/create-webhooks-app';
import { createTriageApp } from '@deliberate/triage/create-triage-app';
import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export const ADMIN_KEY = 'e2e-platform-admin-key-0123456789';
const INTERNAL_TOKEN = 'e2e-ledger-internal-token-0123456789';
const WEBHOOKS_TOKEN = 'e2e-webhooks-internal-token-0123456789';
const AUDIT_INTERNAL_TOKEN = 'e2e-audit-internal-token-0123456789';
export const PLATFORM_AUDITOR_KEY = 'e2e-platform-auditor-key-0123456789';

/**
 * The whole stack in one process: simulator, ledger, webhooks, audit, gateway, triage and reasoner on the real broker
 * and a fresh database. Webhooks may reach loopback, where the tests' receivers listen.
 */
export interface TestStack {
  url: string;
  prefix: string;
  databaseUrl: string;
  simulator: RunningSimulator;
  gateway: INestApplication;
  triage: INestApplication;
  ledger: INestApplication;
  webhooks: INestApplication;
  reasoner: INestApplication;
  audit: INestApplication;
  topic(name: string): string;
  close(): Promise<void>;
}

export type StackService = 'ledger' | 'webhooks' | 'audit' | 'gateway' | 'triage' | 'reasoner';

/** `env` applies to every service; `serviceEnv` to one (its own Kafka credentials, say) on top of it. */
export async function startStack(
  suite: string,
  env: Record<string, string> = {},
  serviceEnv: Partial<Record<StackService, Record<string, string>>> = {},
): Promise<TestStack> {
  const db = await createTestDatabase(suite);
  const prefix = uniqueTopicPrefix(suite);
  const simulator = await startSimulator({ timeScale: 0 });
  const common = {
    KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_HANDLER_MAX_ATTEMPTS: '3',
    LOG_LEVEL: 'warn',
    ...env,
  };
  const ledger = await createLedgerApp(
    loadLedgerConfig({
      ...common,
      ...serviceEnv.ledger,
      DATABASE_URL: db.url,
      LEDGER_INTERNAL_TOKEN: INTERNAL_TOKEN,
      LEDGER_SWEEP_INTERVAL_MS: '200',
      LEDGER_BREAKER_COOLDOWN_MS: '1500',
    }),
  );
  await ledger.listen(0, '127.0.0.1');
  const ledgerUrl = (await ledger.getUrl()).replace('[::1]', '127.0.0.1');
  const webhooks = await createWebhooksApp(
    loadWebhooksConfig({
      ...common,
      ...serviceEnv.webhooks,
      DATABASE_URL: db.url,
      WEBHOOKS_INTERNAL_TOKEN: WEBHOOKS_TOKEN,
      WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
      WEBHOOKS_RETRY_SCHEDULE: '0,200ms,500ms,1s',
      WEBHOOKS_POLL_INTERVAL_MS: '100',
      WEBHOOKS_SECRET_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    }),
  );
  await webhooks.listen(0, '127.0.0.1');
  const webhooksUrl = (await webhooks.getUrl()).replace('[::1]', '127.0.0.1');
  const audit = await createAuditApp(
    loadAuditConfig({
      ...common,
      ...serviceEnv.audit,
      DATABASE_URL: db.url,
      AUDIT_INTERNAL_TOKEN,
      AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519')
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    }),
  );
  await audit.listen(0, '127.0.0.1');
  const auditUrl = (await audit.getUrl()).replace('[::1]', '127.0.0.1');
  const gateway = await createGatewayApp(
    loadGatewayConfig({
      ...common,
      ...serviceEnv.gateway,
      DATABASE_URL: db.url,
      GATEWAY_ADMIN_API_KEY: ADMIN_KEY,
      GATEWAY_MAX_BODY_BYTES: String(64 * 1024),
      GATEWAY_OUTBOX_INTERVAL_MS: '500',
      GATEWAY_LEDGER_URL: ledgerUrl,
      LEDGER_INTERNAL_TOKEN: INTERNAL_TOKEN,
      GATEWAY_WEBHOOKS_URL: webhooksUrl,
      WEBHOOKS_INTERNAL_TOKEN: WEBHOOKS_TOKEN,
      GATEWAY_AUDIT_URL: auditUrl,
      AUDIT_INTERNAL_TOKEN,
      GATEWAY_PLATFORM_AUDITOR_API_KEY: PLATFORM_AUDITOR_KEY,
    }),
  );
  await gateway.listen(0, '127.0.0.1');
  const triage = await createTriageApp(
    loadTriageConfig({
      ...common,
      ...serviceEnv.triage,
      LLM_FAST_BASE_URL: simulator.baseURL,
      LLM_REASONING_BASE_URL: simulator.baseURL,
      LLM_STANDARD_BASE_URL: simulator.baseURL,
      LLM_MAX_RETRIES: '1',
    }),
  );
  await triage.init();
  const reasoner = await createReasonerApp(
    loadReasonerConfig({
      ...common,
      ...serviceEnv.reasoner,
      DATABASE_URL: db.url,
      LLM_FAST_BASE_URL: simulator.baseURL,
      LLM_REASONING_BASE_URL: simulator.baseURL,
      LLM_STANDARD_BASE_URL: simulator.baseURL,
      LLM_MAX_RETRIES: '1',
      REASONER_MODEL_MAX_RETRIES: '1',
      REASONER_HEALTH_PORT: '0',
      ...env,
    }),
  );
  const url = (await gateway.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    url,
    prefix,
    databaseUrl: db.url,
    simulator,
    gateway,
    triage,
    ledger,
    webhooks,
    reasoner,
    audit,
    topic: (name) => `${prefix}${name}`,
    close: async () => {
      // Each step runs even if one before it failed, so no consumer or timer outlives the suite.
      const results = await [
        () => reasoner.close(),
        () => triage.close(),
        () => gateway.close(),
        () => webhooks.close(),
        () => ledger.close(),
        () => audit.close(),
        () => simulator.close(),
        () => db.drop(),
        () => deleteTopicsWithPrefix(prefix),
      ].reduce(
        async (acc, step) => [
          ...(await acc),
          await step().then(
            () => null,
            (e: unknown) => e,
          ),
        ],
        Promise.resolve([] as unknown[]),
      );
      const failure = results.find((r) => r !== null);
      if (failure) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
    },
  };
}

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function http<T = Record<string, unknown>>(
  stack: TestStack,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers['authorization'] = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as T };
}

/** Creates a tenant and one key per role through the admin API, as an operator would. */
export async function createTenant(
  stack: TestStack,
  id: string,
): Promise<{ submitter: string; auditor: string; admin: string }> {
  const created = await http(stack, 'POST', '/v1/admin/tenants', {
    key: ADMIN_KEY,
    body: { id, name: `Tenant ${id}` },
  });
  if (created.status !== 201)
    throw new Error(`tenant ${id}: ${created.status} ${JSON.stringify(created.body)}`);
  const key = async (role: string) => {
    const r = await http<{ key: string }>(stack, 'POST', `/v1/admin/tenants/${id}/api-keys`, {
      key: ADMIN_KEY,
      body: { role },
    });
    if (r.status !== 201) throw new Error(`key ${role}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.key;
  };
  return { submitter: await key('submitter'), auditor: await key('auditor'), admin: await key('admin') };
}
