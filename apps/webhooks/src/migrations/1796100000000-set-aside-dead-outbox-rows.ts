import type { MigrationInterface, QueryRunner } from 'typeorm';

// The shared outbox (libs/outbox): a row that can never be published is set aside as dead with its reason instead
// of failing its whole batch on every sweep. Pending rows stay pending and go out as before.
export class SetAsideDeadOutboxRows1796100000000 implements MigrationInterface {
  name = 'SetAsideDeadOutboxRows1796100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN dead_at timestamptz, ADD COLUMN dead_reason text`);
    await q.query(`DROP INDEX outbox_unpublished`);
    await q.query(
      `CREATE INDEX outbox_pending ON outbox (created_at) WHERE published_at IS NULL AND dead_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // The former relay failed a whole batch on such a row, on every sweep: it is left out of its way.
    await q.query(
      `UPDATE outbox SET published_at = dead_at WHERE dead_at IS NOT NULL AND published_at IS NULL`,
    );
    await q.query(`DROP INDEX outbox_pending`);
    await q.query(`CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL`);
    await q.query(`ALTER TABLE outbox DROP COLUMN dead_reason, DROP COLUMN dead_at`);
  }
}
