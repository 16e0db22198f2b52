import type { MigrationInterface, QueryRunner } from 'typeorm';

// Shadow evaluation: one run per sampled completed execution, written in the transaction that stores the outcome,
// so a run is never lost nor made twice. pending → started (its hold and call ids recorded before the call) →
// ended (its result recorded) → [judging → judged: the judge model's call, the same way] → done (its events
// published). A run found started (or judging) after a crash is not called again: that call ends as cut off and is
// booked at its hold's worst case, as a live call would be.
export class CreateShadowRuns1797200000000 implements MigrationInterface {
  name = 'CreateShadowRuns1797200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE shadow_runs (
        id uuid PRIMARY KEY,
        execution_id uuid NOT NULL UNIQUE REFERENCES executions (id) ON DELETE CASCADE,
        task_id uuid NOT NULL,
        tenant_id text NOT NULL,
        model text NOT NULL,
        service_tier text NOT NULL CHECK (service_tier IN ('default', 'flex')),
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'started', 'ended', 'judging', 'judged', 'done')),
        live jsonb NOT NULL,
        -- The live reasoning call's limits, which the shadow call gets too, and the scopes of its task.
        max_completion_tokens integer NOT NULL CHECK (max_completion_tokens > 0),
        reasoning_effort text,
        api_key_id text,
        project text,
        owner text,
        lease_expires_at timestamptz,
        reservation_id uuid,
        usage_event_id uuid NOT NULL,
        comparison_event_id uuid NOT NULL,
        result jsonb,
        judge_model text,
        judge_reservation_id uuid,
        judge_usage_event_id uuid NOT NULL,
        judge jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        ended_at timestamptz
      )`);
    await q.query(`CREATE INDEX shadow_runs_due ON shadow_runs (created_at) WHERE status <> 'done'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE shadow_runs`);
  }
}
