import type { MigrationInterface, QueryRunner } from 'typeorm';

// The triage's record of each accepted task: its decision (stored before any model call that depends on it), the
// fast-model call in progress with its claim and reservation, and the terminal event written to the outbox in the
// transaction that finishes the task, so a redelivered accepted event never pays for a call or an event twice.
export class CreateTriageTables1796300000000 implements MigrationInterface {
  name = 'CreateTriageTables1796300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tasks (
        task_id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        accepted_at timestamptz NOT NULL,
        -- acceptedAt + latencyBudgetMs, or the configured default: outages are waited out until then, not after.
        deadline_at timestamptz NOT NULL,
        state text NOT NULL CHECK (state IN ('triaging', 'decided', 'finished')),
        decision jsonb,
        -- The fast-model call in progress: its purpose, its try (a new one after a crash or a retryable failure),
        -- who runs it and until when the claim holds, and the ledger hold it runs under.
        call_purpose text,
        call_attempt integer NOT NULL DEFAULT 0,
        claim_owner text,
        claim_expires_at timestamptz,
        reservation_id uuid,
        -- The terminal event's topic and id, fixed by the transaction that finished the task.
        outcome_topic text,
        outcome_event_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CONSTRAINT tasks_finished_has_outcome CHECK (state <> 'finished' OR outcome_event_id IS NOT NULL)
      )`);
    await q.query(`
      CREATE TABLE outbox (
        id uuid PRIMARY KEY,
        topic text NOT NULL,
        tenant_id text NOT NULL,
        task_id uuid,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        dead_at timestamptz,
        dead_reason text
      )`);
    await q.query(
      `CREATE INDEX outbox_pending ON outbox (created_at) WHERE published_at IS NULL AND dead_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox`);
    await q.query(`DROP TABLE tasks`);
  }
}
