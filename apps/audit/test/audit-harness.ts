import { type EventDefinition, type Principal, uuidv7 } from '@deliberate/contracts';
import { type AuditConfig, loadAuditConfig } from '@deliberate/audit/config';
import { createAuditApp } from '@deliberate/audit/create-audit-app';
import { EventPublisher, KafkaClient } from '@deliberate/kafka';
import {
  createTestDatabase,
  deleteTopicsWithPrefix,
  signedInternalHeaders,
  TEST_KAFKA_BROKERS,
  uniqueTopicPrefix,
} from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import { Pool } from 'pg';
import type { z } from 'zod';

export const INTERNAL_KEY = 'audit-test-internal-token-0123456789';

/** An audit service on the real broker and a fresh database, with a publisher and a superuser SQL pool. */
export interface AuditHarness {
  prefix: string;
  url: string;
  config: AuditConfig;
  app: INestApplication;
  /** Superuser SQL on the audit schema: what a database administrator (or an attacker with their rights) can do. */
  db: Pool;
  databaseUrl: string;
  publisher: EventPublisher;
  signingKeyPem: string;
  topic(name: string): string;
  publish<D extends EventDefinition>(
    event: D,
    input: { tenantId: string; taskId?: string | null; id?: string; data: z.input<D['schema']> },
  ): Promise<string>;
  /** The sink's consumer group on the broker. */
  sinkGroup: string;
  /** Stops the service (the data stays), runs `whileStopped`, and starts it again on the same database and topics. */
  restart(whileStopped?: () => Promise<void>, env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startAudit(suite: string, env: Record<string, string> = {}): Promise<AuditHarness> {
  const database = await createTestDatabase(suite);
  const prefix = uniqueTopicPrefix(suite);
  const signingKeyPem = generateKeyPairSync('ed25519')
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const configFor = (extra: Record<string, string>) =>
    loadAuditConfig({
      DATABASE_URL: database.url,
      KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_HANDLER_MAX_ATTEMPTS: '3',
      LOG_LEVEL: 'warn',
      AUDIT_INTERNAL_TOKEN: INTERNAL_KEY,
      AUDIT_SIGNING_KEY: signingKeyPem,
      AUDIT_CHECKPOINT_INTERVAL_MS: '3600000',
      ...env,
      ...extra,
    });
  let config = configFor({});
  let app = await createAuditApp(config);
  await app.listen(0, '127.0.0.1');
  let url = (await app.getUrl()).replace('[::1]', '127.0.0.1');

  const kafka = new KafkaClient({
    serviceName: 'audit-test',
    brokers: TEST_KAFKA_BROKERS,
    topicPrefix: prefix,
    createTopics: false,
    replicationFactor: 1,
    handlerMaxAttempts: 1,
  });
  const publisher = new EventPublisher(kafka);
  await publisher.connect();
  const db = new Pool({ connectionString: database.url, options: '-c search_path=audit', max: 3 });
  db.on('error', () => undefined);

  const h: AuditHarness = {
    prefix,
    url,
    config,
    app,
    db,
    databaseUrl: database.url,
    publisher,
    signingKeyPem,
    topic: (name) => `${prefix}${name}`,
    publish: async (event, input) => {
      const envelope = await publisher.publish(event, {
        id: input.id ?? uuidv7(),
        tenantId: input.tenantId,
        taskId: input.taskId ?? null,
        data: input.data,
      });
      return envelope.id;
    },
    sinkGroup: `${prefix}deliberate.audit.sink`,
    restart: async (whileStopped, extra = {}) => {
      await app.close();
      await whileStopped?.();
      config = configFor(extra);
      app = await createAuditApp(config);
      await app.listen(0, '127.0.0.1');
      url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      h.app = app;
      h.url = url;
      h.config = config;
    },
    close: async () => {
      const steps = [
        () => publisher.disconnect(),
        () => h.app.close(),
        () => db.end(),
        () => database.drop(),
        () => deleteTopicsWithPrefix(prefix),
      ];
      const failures: unknown[] = [];
      for (const step of steps) await step().catch((e: unknown) => failures.push(e));
      if (failures.length) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
    },
  };
  return h;
}

export const auditor = (
  tenantId: string,
  role: 'auditor' | 'admin' | 'submitter' = 'auditor',
): Principal => ({
  kind: 'tenant',
  tenantId,
  role,
  keyId: `key-${tenantId}-${role}`,
});

export const PLATFORM_AUDITOR: Principal = { kind: 'platform-auditor' };

export interface HttpResult<T> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

/**
 * Calls the audit API as the gateway's proxy would: the principal signed for this request with the audit key.
 * `identity` replaces the signed headers (forgeries).
 */
export async function auditHttp<T = Record<string, unknown>>(
  h: AuditHarness,
  path: string,
  principal: Principal = PLATFORM_AUDITOR,
  identity?: Record<string, string>,
): Promise<HttpResult<T>> {
  const res = await fetch(`${h.url}${path}`, {
    headers:
      identity ??
      signedInternalHeaders({ key: INTERNAL_KEY, service: 'audit', method: 'GET', target: path, principal }),
  });
  const text = await res.text();
  let body: unknown = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  return { status: res.status, headers: res.headers, text, body: body as T };
}

/** Rows of the audit table, as a superuser reads them. */
export async function storedCount(h: AuditHarness, tenantId: string, type?: string): Promise<number> {
  const { rows } = await h.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM records WHERE tenant_id = $1 AND ($2::text IS NULL OR event_type = $2)`,
    [tenantId, type ?? null],
  );
  return Number(rows[0]!.n);
}
