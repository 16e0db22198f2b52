import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddReviewQueue1764150000000 implements MigrationInterface {
  name = 'AddReviewQueue1764150000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check`);
    await q.query(
      `ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('submitter', 'auditor', 'admin', 'reviewer'))`,
    );
    await q.query(`ALTER TABLE tasks ADD COLUMN escalation jsonb, ADD COLUMN cancellation jsonb`);
    await q.query(
      `CREATE INDEX tasks_needs_human ON tasks (tenant_id, updated_at) WHERE status = 'needs_human'`,
    );
    await q.query(`
      CREATE TABLE review_claims (
        task_id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        reviewer_key_id uuid NOT NULL,
        claimed_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE review_claims`);
    await q.query(`DROP INDEX tasks_needs_human`);
    await q.query(`ALTER TABLE tasks DROP COLUMN escalation, DROP COLUMN cancellation`);
    await q.query(`DELETE FROM api_keys WHERE role = 'reviewer'`);
    await q.query(`ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check`);
    await q.query(
      `ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('submitter', 'auditor', 'admin'))`,
    );
  }
}
