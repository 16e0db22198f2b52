import type { MigrationInterface, QueryRunner } from 'typeorm';

// The reservations the ledger refused, for the spend view: one row per refused request. A request asked again
// under its reservation key (a retry), or delivered again (its correlation id), is the same denial, recorded once.
export class CreateDenials1796700000000 implements MigrationInterface {
  name = 'CreateDenials1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE denials (
        id uuid PRIMARY KEY,
        request_id text UNIQUE,
        tenant_id text NOT NULL,
        reservation_key text,
        task_id uuid NOT NULL,
        model text NOT NULL,
        tier text,
        reason text NOT NULL,
        message text NOT NULL,
        on_denied text,
        estimated_cost_micro_usd bigint CHECK (estimated_cost_micro_usd >= 0),
        denied_at timestamptz NOT NULL,
        UNIQUE (tenant_id, reservation_key)
      )`);
    // The list reads a tenant's denials newest first; the id breaks ties within one instant.
    await q.query(`CREATE INDEX denials_tenant_time ON denials (tenant_id, denied_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE denials`);
  }
}
