import type { MigrationInterface, QueryRunner } from 'typeorm';

// The gateway's accepted events go through the shared outbox (libs/outbox), written in the admission transaction.
// The events of tasks not yet announced move into it, so none is lost; tasks.published_at is no longer written.
export class CreateGatewayOutbox1764800000000 implements MigrationInterface {
  name = 'CreateGatewayOutbox1764800000000';

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
    // The event the former relay would have sent, oldest first; the task id doubles as the event id.
    await q.query(`
      INSERT INTO outbox (id, topic, tenant_id, task_id, payload, created_at)
      SELECT id, 'tasks.task.accepted.v1', tenant_id, id,
             jsonb_build_object(
               'spec', spec,
               'submittedVia', submitted_via,
               'acceptedAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
             ),
             created_at
        FROM tasks WHERE published_at IS NULL`);
    await q.query(`UPDATE tasks SET published_at = now() WHERE published_at IS NULL`);
    await q.query(`DROP INDEX tasks_unpublished`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The former relay announces a task while tasks.published_at is null: only the events still pending stay so.
    await q.query(`UPDATE tasks SET published_at = now() WHERE published_at IS NULL`);
    await q.query(`
      UPDATE tasks SET published_at = NULL
        FROM outbox o
       WHERE o.task_id = tasks.id AND o.topic = 'tasks.task.accepted.v1'
         AND o.published_at IS NULL AND o.dead_at IS NULL`);
    await q.query(`CREATE INDEX tasks_unpublished ON tasks (created_at) WHERE published_at IS NULL`);
    await q.query(`DROP TABLE outbox`);
  }
}
