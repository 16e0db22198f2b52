import type { MigrationInterface, QueryRunner } from 'typeorm';

// The shared outbox (libs/outbox): an execution's terminal event is written to `outbox` in the transaction that
// finishes it, instead of being kept in `executions.outcome_event_id` until a marker says it was published. Outcomes
// stored but not yet published move to the outbox with their event ids, so they go out once, under the same id.
// An execution is open while it has no outcome; `outcome_event_id` and `published_at` stay, no longer written.

const OUTCOME_TOPIC = `CASE outcome->>'kind'
  WHEN 'completed' THEN 'tasks.task.completed.v1'
  WHEN 'failed' THEN 'tasks.task.failed.v1'
  WHEN 'escalated' THEN 'tasks.task.escalated.v1'
  WHEN 'cancelled' THEN 'tasks.task.cancelled.v1'
END`;

const OUTCOME_TOPICS = `('tasks.task.completed.v1', 'tasks.task.failed.v1', 'tasks.task.escalated.v1',
  'tasks.task.cancelled.v1')`;

export class MoveOutcomesToOutbox1796200000000 implements MigrationInterface {
  name = 'MoveOutcomesToOutbox1796200000000';

  async up(q: QueryRunner): Promise<void> {
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
    await q.query(`
      INSERT INTO outbox (id, topic, tenant_id, task_id, payload, created_at)
      SELECT outcome_event_id, ${OUTCOME_TOPIC}, tenant_id, task_id, outcome->'data', COALESCE(finished_at, now())
        FROM executions
       WHERE outcome IS NOT NULL AND outcome_event_id IS NOT NULL AND published_at IS NULL`);
    // Nothing claims a finished execution any more: its event is the outbox's to publish.
    await q.query(`DROP INDEX executions_claimable`);
    await q.query(`DROP INDEX executions_owner`);
    await q.query(
      `CREATE INDEX executions_claimable ON executions (lease_expires_at NULLS FIRST) WHERE outcome IS NULL`,
    );
    await q.query(`CREATE INDEX executions_owner ON executions (owner) WHERE outcome IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Back to the markers: a pending row's execution is claimed and its event republished under the same id; a
    // published row, or a dead one (which the former mechanism would retry forever), counts as published.
    await q.query(`
      UPDATE executions e
         SET outcome_event_id = o.id, published_at = COALESCE(o.published_at, o.dead_at)
        FROM outbox o
       WHERE o.task_id = e.task_id AND o.topic IN ${OUTCOME_TOPICS} AND e.outcome IS NOT NULL`);
    // A finished execution whose row is gone would otherwise run again.
    await q.query(`
      UPDATE executions SET published_at = COALESCE(finished_at, now())
       WHERE outcome IS NOT NULL AND outcome_event_id IS NULL AND published_at IS NULL`);
    await q.query(`DROP INDEX executions_owner`);
    await q.query(`DROP INDEX executions_claimable`);
    await q.query(
      `CREATE INDEX executions_claimable ON executions (lease_expires_at NULLS FIRST) WHERE published_at IS NULL`,
    );
    await q.query(`CREATE INDEX executions_owner ON executions (owner) WHERE published_at IS NULL`);
    await q.query(`DROP TABLE outbox`);
  }
}
