import type { MigrationInterface, QueryRunner } from 'typeorm';

// A tenant's secrets for signing submissions on tasks.task.submitted.v1. Several verify at once during a
// rotation: the older ones carry the end of their overlap in expires_at.
export class CreateIntakeSecrets1764700000000 implements MigrationInterface {
  name = 'CreateIntakeSecrets1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE intake_secrets (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants(id),
        secret text NOT NULL,
        prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX intake_secrets_tenant ON intake_secrets (tenant_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE intake_secrets`);
  }
}
