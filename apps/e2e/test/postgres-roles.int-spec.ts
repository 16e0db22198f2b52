import { loadAuditConfig } from '@deliberate/audit/config';
import { ChainRepository } from '@deliberate/audit/chain/chain.repository';
import { internalRecord } from '@deliberate/audit/chain/internal-record';
import { RecordAppender } from '@deliberate/audit/chain/record-appender';
import { CheckpointRepository } from '@deliberate/audit/checkpoints/checkpoint.repository';
import { prepareAuditSchema } from '@deliberate/audit/persistence/audit-database';
import { PURGE_RECORD_TYPE } from '@deliberate/audit/verify/chain-verifier';
import { CreateGatewayTables1764144000000 } from '@deliberate/gateway/migrations/1764144000000-create-gateway-tables';
import { CreateLedgerTables1795680000000 } from '@deliberate/ledger/migrations/1795680000000-create-ledger-tables';
import { openDataSource, PoolSql } from '@deliberate/persistence';
import { CreateReasonerTables1795700000000 } from '@deliberate/reasoner/migrations/1795700000000-create-reasoner-tables';
import { createTestDatabase } from '@deliberate/testing';
import { CreateTriageTables1796300000000 } from '@deliberate/triage/migrations/1796300000000-create-triage-tables';
import { CreateWebhooksTables1795900000000 } from '@deliberate/webhooks/migrations/1795900000000-create-webhooks-tables';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Pool } from 'pg';

const ROLES_SQL = join(__dirname, '../../../deploy/postgres/roles.sql');
const OWNERS = ['gateway', 'triage', 'reasoner', 'ledger', 'webhooks', 'audit'] as const;
type Owner = (typeof OWNERS)[number];
const MIGRATIONS: Record<Exclude<Owner, 'audit'>, new () => unknown> = {
  gateway: CreateGatewayTables1764144000000,
  triage: CreateTriageTables1796300000000,
  reasoner: CreateReasonerTables1795700000000,
  ledger: CreateLedgerTables1795680000000,
  webhooks: CreateWebhooksTables1795900000000,
};

// deploy/postgres/roles.sql on a fresh database: each service migrates its own schema as its own role, and no role
// reads or writes another's schema. Roles are cluster-wide, so this suite names its own with a random prefix.
describe('per-service Postgres roles (deploy/postgres/roles.sql, real Postgres)', () => {
  const prefix = `t_${randomBytes(4).toString('hex')}`;
  const passwords = Object.fromEntries(
    [...OWNERS, 'audit_writer'].map((s) => [s, randomBytes(12).toString('hex')]),
  );
  let db: { url: string; drop: () => Promise<void> };
  const urlOf = (svc: string) => {
    const url = new URL(db.url);
    url.username = `${prefix}_${svc}`;
    url.password = passwords[svc]!;
    return url.toString();
  };
  const applyRoles = () =>
    promisify(execFile)('psql', [
      db.url,
      '-f',
      ROLES_SQL,
      '-v',
      `prefix=${prefix}`,
      ...Object.entries(passwords).flatMap(([svc, pw]) => ['-v', `${svc}_password=${pw}`]),
    ]);
  const asRole = async <T>(svc: string, work: (c: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: urlOf(svc) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const errorCode = (p: Promise<unknown>) =>
    p.then(
      () => 'succeeded',
      (e: { code?: string }) => e.code,
    );

  beforeAll(async () => {
    db = await createTestDatabase('postgres-roles');
  });

  afterAll(async () => {
    await db?.drop();
    const admin = new Client({ connectionString: db.url.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    for (const svc of [...OWNERS, 'audit_writer'])
      await admin.query(`DROP ROLE IF EXISTS "${prefix}_${svc}"`);
    await admin.end();
  });

  it('creates plain login roles, each owning its schema and what an earlier owner built there; idempotent', async () => {
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    try {
      // A deployment from before the roles: the superuser built the ledger's schema.
      await admin.query(`CREATE SCHEMA ledger`);
      await admin.query(`CREATE TABLE ledger.legacy (id serial PRIMARY KEY, note text)`);
      await admin.query(
        `CREATE FUNCTION ledger.legacy_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM ledger.legacy'`,
      );
      await applyRoles();
      await applyRoles();
      const roles = await admin.query<{ rolname: string; powerful: boolean }>(
        `SELECT rolname, rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls AS powerful
           FROM pg_roles WHERE rolname LIKE $1 ORDER BY rolname`,
        [`${prefix}\\_%`],
      );
      expect(roles.rows).toEqual(
        [...OWNERS, 'audit_writer'].sort().map((s) => ({ rolname: `${prefix}_${s}`, powerful: false })),
      );
      const owners = await admin.query<{ nspname: string; owner: string }>(
        `SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1`,
        [OWNERS],
      );
      expect(owners.rows).toEqual([...OWNERS].sort().map((s) => ({ nspname: s, owner: `${prefix}_${s}` })));
      const legacy = await admin.query<{ owner: string }>(
        `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'ledger'::regnamespace
         UNION ALL SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 'ledger'::regnamespace`,
      );
      expect(legacy.rows.length).toBeGreaterThanOrEqual(4);
      expect(new Set(legacy.rows.map((r) => r.owner))).toEqual(new Set([`${prefix}_ledger`]));
    } finally {
      await admin.end();
    }
  });

  it('lets each service migrate its own schema as its role, the audit owner grant its writer', async () => {
    for (const [svc, migration] of Object.entries(MIGRATIONS)) {
      const source = await openDataSource({
        databaseUrl: urlOf(svc),
        schema: svc,
        entities: [],
        migrations: [migration],
        poolSize: 2,
      });
      await source.destroy();
    }
    await prepareAuditSchema(
      loadAuditConfig({
        DATABASE_URL: urlOf('audit'),
        AUDIT_SIGNING_KEY: 'unused here',
        AUDIT_DATABASE_ROLE: `${prefix}_audit_writer`,
        AUDIT_DATABASE_URL: urlOf('audit_writer'),
      }),
    );
    const tables = await asRole('audit', (c) =>
      c.query<{ schemaname: string; tableowner: string }>(
        `SELECT DISTINCT schemaname, tableowner FROM pg_tables WHERE schemaname = ANY($1) ORDER BY 1`,
        [OWNERS],
      ),
    );
    expect(tables.rows).toEqual(
      [...OWNERS].sort().map((s) => ({ schemaname: s, tableowner: `${prefix}_${s}` })),
    );
  });

  it("refuses every role another service's schema, new schemas and the public schema", async () => {
    const tableOf = Object.fromEntries(
      await Promise.all(
        OWNERS.map(async (svc) => {
          const r = await asRole(svc, (c) =>
            c.query<{ tablename: string }>(
              `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'migrations' LIMIT 1`,
              [svc],
            ),
          );
          return [svc, `${svc}."${r.rows[0]!.tablename}"`];
        }),
      ),
    ) as Record<Owner, string>;
    for (const role of [...OWNERS, 'audit_writer']) {
      await asRole(role, async (c) => {
        // The writer works in the audit schema (the last test says how far): every other one is closed to it.
        for (const schema of OWNERS.filter(
          (s) => s !== role && !(role === 'audit_writer' && s === 'audit'),
        )) {
          expect([
            role,
            schema,
            await errorCode(c.query(`SELECT * FROM ${tableOf[schema]} LIMIT 1`)),
          ]).toEqual([role, schema, '42501']);
          expect([role, schema, await errorCode(c.query(`DELETE FROM ${tableOf[schema]}`))]).toEqual([
            role,
            schema,
            '42501',
          ]);
          expect([role, schema, await errorCode(c.query(`CREATE TABLE ${schema}.intruder (i int)`))]).toEqual(
            [role, schema, '42501'],
          );
        }
        expect(await errorCode(c.query(`CREATE SCHEMA intruder_${role}`))).toBe('42501');
        expect(await errorCode(c.query(`CREATE TABLE public.intruder_${role} (i int)`))).toBe('42501');
      });
    }
  });

  it('keeps the audit writer to reading and appending records', async () => {
    await asRole('audit_writer', async (c) => {
      await c.query('SELECT count(*) FROM audit.records');
      expect(await errorCode(c.query('DELETE FROM audit.records'))).toBe('42501');
      expect(await errorCode(c.query('TRUNCATE audit.records'))).toBe('42501');
      expect(await errorCode(c.query('DROP TABLE audit.records'))).toBe('42501');
    });
  });

  it('lets the audit writer change the chains only through the owner functions: append, checkpoint, purge', async () => {
    // Retention down to zero days, so that a purge as the writer can delete what it just appended.
    await prepareAuditSchema(
      loadAuditConfig({
        DATABASE_URL: urlOf('audit'),
        AUDIT_SIGNING_KEY: 'unused here',
        AUDIT_DATABASE_ROLE: `${prefix}_audit_writer`,
        AUDIT_DATABASE_URL: urlOf('audit_writer'),
        AUDIT_RETENTION_DAYS: '0',
        AUDIT_RETENTION_ALLOW_SHORT: 'true',
      }),
    );
    const pool = new Pool({
      connectionString: urlOf('audit_writer'),
      options: '-c search_path=audit',
      max: 2,
    });
    const sql = new PoolSql(pool);
    const chains = new ChainRepository();
    try {
      const appended = await sql.transaction((tx) =>
        new RecordAppender(chains).append(tx, [
          internalRecord('roles-t', 'test.appended.v1', { n: 1 }),
          internalRecord('roles-t', 'test.appended.v1', { n: 2 }),
        ]),
      );
      expect(appended.map((a) => a.seq)).toEqual([1, 2]);
      await sql.transaction((tx) =>
        new CheckpointRepository().insert(tx, {
          tenantId: 'roles-t',
          seq: 2,
          hash: appended[1]!.recordHash,
          signedAt: new Date().toISOString(),
          keyId: '0123456789abcdef',
          signature: Buffer.alloc(64),
        }),
      );

      await asRole('audit_writer', async (c) => {
        await c.query('SET search_path = audit');
        const head = await c.query<{ last_seq: string; checkpointed_seq: string }>(
          `SELECT last_seq, checkpointed_seq FROM chain_heads WHERE tenant_id = 'roles-t'`,
        );
        expect(head.rows).toEqual([{ last_seq: '2', checkpointed_seq: '2' }]);
        expect(
          await errorCode(c.query(`UPDATE chain_heads SET last_seq = 1 WHERE tenant_id = 'roles-t'`)),
        ).toBe('42501');
        expect(await errorCode(c.query(`DELETE FROM chain_heads`))).toBe('42501');
        expect(await errorCode(c.query(`UPDATE records SET status = 'x'`))).toBe('42501');
        expect(await errorCode(c.query(`INSERT INTO records SELECT * FROM records`))).toBe('42501');
        expect(await errorCode(c.query(`INSERT INTO checkpoints SELECT * FROM checkpoints`))).toBe('42501');
        // The old purge flag opens nothing, and the permit that replaced it is not the writer's to write.
        await c.query('BEGIN');
        await c.query(`SELECT set_config('audit.purging', 'on', true)`);
        expect(await errorCode(c.query(`DELETE FROM records WHERE tenant_id = 'roles-t'`))).toBe('42501');
        await c.query('ROLLBACK');
        expect(
          await errorCode(c.query(`INSERT INTO purge_permits VALUES (pg_current_xact_id(), 'roles-t', 2)`)),
        ).toBe('42501');
        // An append that does not continue the head is refused by the function.
        expect(
          await errorCode(
            c.query(
              `SELECT append_records(ARRAY['roles-t'], ARRAY[7::bigint], ARRAY['e7'], ARRAY['t'], ARRAY['s'],
                 ARRAY[NULL::uuid], ARRAY[now()], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::text],
                 ARRAY[NULL::text], ARRAY['{}'::jsonb], ARRAY['{}'], ARRAY[NULL::text], ARRAY['\\x00'::bytea],
                 ARRAY['\\x00'::bytea], ARRAY['\\x00'::bytea], now())`,
            ),
          ),
        ).toBe('23514');
      });

      // Retention: the purge function, called by the writer, deletes the expired prefix.
      // The cutoff is taken before the purge's transaction begins: the database refuses one later than its now().
      await new Promise((r) => setTimeout(r, 5));
      const cutoff = new Date();
      const purged = await sql.transaction((tx) => chains.purgeExpired(tx, 'roles-t', cutoff));
      expect(purged).toMatchObject({ purged: '2', through_seq: '2' });
      const [purgeRecord] = await sql.transaction(async (tx) => {
        const records = await new RecordAppender(chains).append(tx, [
          internalRecord('roles-t', PURGE_RECORD_TYPE, { throughSeq: 2 }),
        ]);
        await chains.markPurgeRecorded(tx, 'roles-t', records[0]!.seq);
        return records;
      });
      expect(purgeRecord!.seq).toBe(3);
      const remaining = await asRole('audit_writer', (c) =>
        c.query<{ seq: string }>(`SELECT seq FROM audit.records WHERE tenant_id = 'roles-t'`),
      );
      expect(remaining.rows).toEqual([{ seq: '3' }]);
    } finally {
      await pool.end();
    }
  });
});
