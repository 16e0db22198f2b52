import type { MigrationInterface, QueryRunner } from 'typeorm';

// Shadow evaluation. A shadow call's reservation holds on the tenant's shadow day counter only (spend_counters scope
// 'shadow'), within its policy's shadow budget, and its booking is marked shadow. Each comparison the reasoner
// records is kept here, beside the bookings that price both sides, for the shadow report.
export class AddShadowEvaluation1797200000000 implements MigrationInterface {
  name = 'AddShadowEvaluation1797200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE reservations ADD COLUMN shadow boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE bookings ADD COLUMN shadow boolean NOT NULL DEFAULT false`);
    await q.query(`
      CREATE TABLE shadow_comparisons (
        event_id text PRIMARY KEY,
        shadow_run_id uuid NOT NULL UNIQUE,
        tenant_id text NOT NULL,
        task_id uuid NOT NULL,
        route text NOT NULL,
        live_model text NOT NULL,
        live_answered_by text NOT NULL,
        live_latency_ms bigint NOT NULL CHECK (live_latency_ms >= 0),
        live_input_tokens bigint NOT NULL,
        live_output_tokens bigint NOT NULL,
        shadow_model text NOT NULL,
        shadow_service_tier text NOT NULL,
        shadow_outcome text NOT NULL,
        shadow_latency_ms bigint NOT NULL CHECK (shadow_latency_ms >= 0),
        shadow_input_tokens bigint NOT NULL,
        shadow_output_tokens bigint NOT NULL,
        shadow_reservation_id uuid,
        agreed boolean,
        agreement_method text NOT NULL,
        judge_model text,
        judge_verdict text,
        judge_reservation_id uuid,
        compared_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX shadow_comparisons_tenant_time ON shadow_comparisons (tenant_id, compared_at, route)`,
    );
    // The report prices each compared task's live calls: the bookings of the task that are not shadow.
    await q.query(`CREATE INDEX bookings_task ON bookings (task_id) WHERE task_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX bookings_task`);
    await q.query(`DROP TABLE shadow_comparisons`);
    await q.query(`ALTER TABLE bookings DROP COLUMN shadow`);
    await q.query(`ALTER TABLE reservations DROP COLUMN shadow`);
  }
}
