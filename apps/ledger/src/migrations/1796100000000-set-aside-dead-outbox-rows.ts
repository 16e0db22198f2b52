import type { MigrationInterface, QueryRunner } from 'typeorm';

// The shared outbox (libs/outbox): rows carry a task id, and a row that can never be published is set aside as dead
// with its reason instead of being retried ahead of the rows behind it. Pending rows stay pending and go out as before.
export class SetAsideDeadOutboxRows1796100000000 implements MigrationInterface {
  name = 'SetAsideDeadOutboxRows1796100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE outbox ADD COLUMN task_id uuid, ADD COLUMN dead_at timestamptz, ADD COLUMN dead_reason text`,
    );
    await q.query(`DROP INDEX outbox_unpublished`);
    await q.query(
      `CREATE INDEX outbox_pending ON outbox (created_at) WHERE published_at IS NULL AND dead_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // The former relay would retry a dead row forever, holding up the rows behind it: it is left out of its way.
    await q.query(
      `UPDATE outbox SET published_at = dead_at WHERE dead_at IS NOT NULL AND published_at IS NULL`,
    );
    await q.query(`DROP INDEX outbox_pending`);
    await q.query(`CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL`);
    await q.query(`ALTER TABLE outbox DROP COLUMN dead_reason, DROP COLUMN dead_at, DROP COLUMN task_id`);
  }
}
