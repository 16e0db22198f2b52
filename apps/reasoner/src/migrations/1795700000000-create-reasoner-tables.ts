import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateReasonerTables1795700000000 implements MigrationInterface {
  name = 'CreateReasonerTables1795700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE executions (
        id uuid PRIMARY KEY,
        task_id uuid NOT NULL UNIQUE,
        tenant_id text NOT NULL,
        spec jsonb NOT NULL,
        decision jsonb NOT NULL,
        context_selection jsonb,
        requested_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL,
        deadline_at timestamptz NOT NULL,
        status text NOT NULL
          CHECK (status IN ('pending', 'running', 'completed', 'failed', 'escalated', 'cancelled')),
        -- The instance running it and until when its claim holds; an expired claim may be taken by another.
        owner text,
        lease_expires_at timestamptz,
        claims integer NOT NULL DEFAULT 0,
        cancel_requested_at timestamptz,
        cancel_reason text,
        -- The terminal event, stored before it is published: a republish after a crash sends the same event.
        outcome jsonb,
        outcome_event_id uuid,
        finished_at timestamptz,
        published_at timestamptz,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE INDEX executions_claimable ON executions (lease_expires_at NULLS FIRST) WHERE published_at IS NULL`,
    );
    await q.query(`CREATE INDEX executions_owner ON executions (owner) WHERE published_at IS NULL`);
    await q.query(`
      CREATE TABLE attempts (
        id uuid PRIMARY KEY,
        execution_id uuid NOT NULL REFERENCES executions (id),
        attempt integer NOT NULL CHECK (attempt > 0),
        tier text NOT NULL CHECK (tier IN ('reasoning', 'standard')),
        model text NOT NULL,
        status text NOT NULL CHECK (status IN ('started', 'finished', 'crashed', 'skipped')),
        outcome text,
        reason text,
        detail text,
        instance_id text NOT NULL,
        reservation_id uuid,
        max_completion_tokens integer,
        reasoning_effort text,
        deadline_at timestamptz,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        finish_reason text,
        usage jsonb,
        result jsonb,
        usage_event_id uuid NOT NULL,
        trace_event_id uuid NOT NULL,
        CONSTRAINT attempts_execution_attempt UNIQUE (execution_id, attempt)
      )`);
    await q.query(`
      CREATE TABLE cancel_requests (
        task_id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        requested_by text NOT NULL,
        reason text,
        requested_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cancel_requests`);
    await q.query(`DROP TABLE attempts`);
    await q.query(`DROP TABLE executions`);
  }
}
