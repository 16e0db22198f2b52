import { type EventDefinition, type Principal, uuidv7 } from '@deliberate/contracts';
import { type AuditConfig, loadAuditConfig } from '@deliberate/audit/config';
import { createAuditApp } from '@deliberate/audit/create-audit-app';
import { internalRecord } from '@deliberate/audit/chain/internal-record';
import { RecordAppender } from '@deliberate/audit/chain/record-appender';
import { Sql } from '@deliberate/persistence';
import {
  type HttpResult,
  internalHttp,
  listenOnFreePort,
  type ServiceUnderTest,
  startServiceUnderTest,
  type SuiteEnv,
  tenantPrincipal,
} from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import type { z } from 'zod';

export const INTERNAL_KEY = 'audit-test-internal-token-0123456789';

/** An audit service on the real broker and a fresh database, with a publisher and a superuser SQL pool. */
// `db` is superuser SQL on the audit schema: what a database administrator (or an attacker with their rights) can do.
export interface AuditHarness extends ServiceUnderTest<AuditConfig> {
  app: INestApplication;
  signingKeyPem: string;
  publish<D extends EventDefinition>(
    event: D,
    input: { tenantId: string; taskId?: string | null; id?: string; data: z.input<D['schema']> },
  ): Promise<string>;
  /** The sink's consumer group on the broker. */
  sinkGroup: string;
  /** Stops the service (the data stays), runs `whileStopped`, and starts it again on the same database and topics. */
  restart(whileStopped?: () => Promise<void>, env?: Record<string, string>): Promise<void>;
}

export async function startAudit(
  suite: string,
  env: Record<string, string> = {},
  options: { instances?: number } = {},
): Promise<AuditHarness> {
  const signingKeyPem = generateKeyPairSync('ed25519')
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  let suiteEnv!: SuiteEnv;
  const configFor = (extra: Record<string, string>) =>
    loadAuditConfig({
      ...suiteEnv,
      KAFKA_HANDLER_MAX_ATTEMPTS: '3',
      LOG_LEVEL: 'warn',
      AUDIT_INTERNAL_TOKEN: INTERNAL_KEY,
      AUDIT_SIGNING_KEY: signingKeyPem,
      AUDIT_CHECKPOINT_INTERVAL_MS: '3600000',
      ...env,
      ...extra,
    });
  const service = await startServiceUnderTest(
    suite,
    {
      schema: 'audit',
      config: (e) => {
        suiteEnv = e;
        return configFor({});
      },
      create: createAuditApp,
    },
    options,
  );
  const { publisher, prefix } = service;

  const h: AuditHarness = {
    ...service,
    app: service.apps[0]!,
    signingKeyPem,
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
      await h.app.close();
      await whileStopped?.();
      h.config = configFor(extra);
      // The harness's teardown closes whichever app is in service.apps.
      h.app = service.apps[0] = await createAuditApp(h.config);
      h.url = await listenOnFreePort(h.app);
    },
  };
  return h;
}

export const auditor = (tenantId: string, role: 'auditor' | 'admin' | 'submitter' = 'auditor'): Principal =>
  tenantPrincipal(tenantId, role);

export const PLATFORM_AUDITOR: Principal = { kind: 'platform-auditor' };

/**
 * Calls the audit API as the gateway's proxy would: the principal signed for this request with the audit key.
 * `identity` replaces the signed headers (forgeries).
 */
export function auditHttp<T = Record<string, unknown>>(
  h: AuditHarness,
  path: string,
  principal: Principal = PLATFORM_AUDITOR,
  identity?: Record<string, string>,
): Promise<HttpResult<T>> {
  return internalHttp<T>({ url: h.url, key: INTERNAL_KEY, service: 'audit' }, 'GET', path, {
    principal,
    ...(identity ? { identity } : {}),
  });
}

/** Rows of the audit table, as a superuser reads them. */
export async function storedCount(h: AuditHarness, tenantId: string, type?: string): Promise<number> {
  const { rows } = await h.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM records WHERE tenant_id = $1 AND ($2::text IS NULL OR event_type = $2)`,
    [tenantId, type ?? null],
  );
  return Number(rows[0]!.n);
}

const DAY_MS = 86_400_000;

/** The name the service gives the time partition starting at `from` (a UTC midnight). */
export const partitionName = (from: Date) => `records_p${from.toISOString().slice(0, 10).replace(/-/g, '')}`;

/** A one-day partition in the past, as the service running on that day would have created it. */
export async function createPastPartition(h: AuditHarness, from: Date): Promise<string> {
  const name = partitionName(from);
  const to = new Date(from.getTime() + DAY_MS);
  await h.db.query(
    `CREATE TABLE ${name} PARTITION OF records FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
  );
  return name;
}

/** Appends one record per tenant through the service's appender as if its clock read `at`. */
export async function appendAt(h: AuditHarness, at: Date, tenants: readonly string[]): Promise<void> {
  await h.app.get(Sql).transaction((tx) =>
    h.app.get(RecordAppender).append(
      tx,
      tenants.map((t) => internalRecord(t, 'test.recorded.v1', { at: at.toISOString() })),
      at,
    ),
  );
}
