import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateGatewayTables1764144000000 implements MigrationInterface {
  name = 'CreateGatewayTables1764144000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants(id),
        role text NOT NULL CHECK (role IN ('submitter', 'auditor', 'admin')),
        name text,
        key_hash text NOT NULL UNIQUE,
        prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_tenant ON api_keys (tenant_id)`);
    await q.query(`
      CREATE TABLE tasks (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        status text NOT NULL,
        status_rank smallint NOT NULL,
        mode text NOT NULL,
        spec jsonb NOT NULL,
        submitted_via text NOT NULL,
        idempotency_key text,
        request_hash text NOT NULL,
        triage jsonb,
        result jsonb,
        error jsonb,
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        published_at timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX tasks_idempotency_key ON tasks (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
    await q.query(`CREATE INDEX tasks_unpublished ON tasks (created_at) WHERE published_at IS NULL`);
    await q.query(`CREATE INDEX tasks_tenant_created ON tasks (tenant_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE tasks`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE tenants`);
  }
}
