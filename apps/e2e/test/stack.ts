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
  createGatewayApiKey,
  createGatewayTenant,
  createTestDatabase,
  deleteTopicsWithPrefix,
  type GatewayCallOptions,
  gatewayHttp,
  type HttpResult,
  listenOnFreePort,
  runEveryStep,
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
  /**
   * Stops one of the services the gateway calls over HTTP: its port then refuses connections, as a service that is
   * down. `start()` brings a new instance up on the same port with the same configuration.
   */
  stop(service: HttpService): Promise<{ start(): Promise<void> }>;
  close(): Promise<void>;
}

/** The services the gateway forwards to or calls over HTTP. */
export type HttpService = 'ledger' | 'webhooks' | 'audit';

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
  const ledgerConfig = loadLedgerConfig({
    ...common,
    ...serviceEnv.ledger,
    DATABASE_URL: db.url,
    LEDGER_INTERNAL_TOKEN: INTERNAL_TOKEN,
    LEDGER_SWEEP_INTERVAL_MS: '200',
    LEDGER_BREAKER_COOLDOWN_MS: '1500',
  });
  const ledger = await startHttpService(() => createLedgerApp(ledgerConfig));
  const webhooksConfig = loadWebhooksConfig({
    ...common,
    ...serviceEnv.webhooks,
    DATABASE_URL: db.url,
    WEBHOOKS_INTERNAL_TOKEN: WEBHOOKS_TOKEN,
    WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
    WEBHOOKS_RETRY_SCHEDULE: '0,200ms,500ms,1s',
    WEBHOOKS_POLL_INTERVAL_MS: '100',
    WEBHOOKS_SECRET_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  });
  const webhooks = await startHttpService(() => createWebhooksApp(webhooksConfig));
  const auditConfig = loadAuditConfig({
    ...common,
    ...serviceEnv.audit,
    DATABASE_URL: db.url,
    AUDIT_INTERNAL_TOKEN,
    AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
  });
  const audit = await startHttpService(() => createAuditApp(auditConfig));
  const httpServices: Record<HttpService, RestartableService> = { ledger, webhooks, audit };
  const gateway = await createGatewayApp(
    loadGatewayConfig({
      ...common,
      ...serviceEnv.gateway,
      DATABASE_URL: db.url,
      GATEWAY_ADMIN_API_KEY: ADMIN_KEY,
      GATEWAY_MAX_BODY_BYTES: String(64 * 1024),
      GATEWAY_OUTBOX_INTERVAL_MS: '500',
      GATEWAY_LEDGER_URL: ledger.url,
      LEDGER_INTERNAL_TOKEN: INTERNAL_TOKEN,
      GATEWAY_WEBHOOKS_URL: webhooks.url,
      WEBHOOKS_INTERNAL_TOKEN: WEBHOOKS_TOKEN,
      GATEWAY_AUDIT_URL: audit.url,
      AUDIT_INTERNAL_TOKEN,
      GATEWAY_PLATFORM_AUDITOR_API_KEY: PLATFORM_AUDITOR_KEY,
    }),
  );
  const url = await listenOnFreePort(gateway);
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
  return {
    url,
    prefix,
    databaseUrl: db.url,
    simulator,
    gateway,
    triage,
    get ledger() {
      return ledger.app();
    },
    get webhooks() {
      return webhooks.app();
    },
    reasoner,
    get audit() {
      return audit.app();
    },
    topic: (name) => `${prefix}${name}`,
    stop: (service) => httpServices[service].stop(),
    // Each step runs even if one before it failed, so no consumer or timer outlives the suite.
    close: () =>
      runEveryStep([
        () => reasoner.close(),
        () => triage.close(),
        () => gateway.close(),
        () => webhooks.close(),
        () => ledger.close(),
        () => audit.close(),
        () => simulator.close(),
        () => db.drop(),
        () => deleteTopicsWithPrefix(prefix),
      ]),
  };
}

/** A service on a fixed loopback port that a suite may stop and start again there. */
interface RestartableService {
  url: string;
  app(): INestApplication;
  stop(): Promise<{ start(): Promise<void> }>;
  close(): Promise<void>;
}

async function startHttpService(create: () => Promise<INestApplication>): Promise<RestartableService> {
  let current: INestApplication | null = await create();
  const url = await listenOnFreePort(current);
  const port = Number(new URL(url).port);
  const running = () => {
    if (!current) throw new Error(`the service at ${url} is stopped`);
    return current;
  };
  return {
    url,
    app: running,
    stop: async () => {
      await running().close();
      current = null;
      return {
        start: async () => {
          const app = await create();
          await app.listen(port, '127.0.0.1');
          current = app;
        },
      };
    },
    close: async () => {
      await current?.close();
      current = null;
    },
  };
}

export function http<T = Record<string, unknown>>(
  stack: TestStack,
  method: string,
  path: string,
  options: GatewayCallOptions = {},
): Promise<HttpResult<T>> {
  return gatewayHttp<T>(stack.url, method, path, options);
}

/** Creates a tenant and one key per role through the admin API, as an operator would. */
export async function createTenant(
  stack: TestStack,
  id: string,
): Promise<{ submitter: string; auditor: string; admin: string }> {
  await createGatewayTenant(stack.url, ADMIN_KEY, id);
  const key = (role: string) => createGatewayApiKey(stack.url, ADMIN_KEY, id, role);
  return { submitter: await key('submitter'), auditor: await key('auditor'), admin: await key('admin') };
}
