import type { MigrationInterface, QueryRunner } from 'typeorm';

// A task whose call failed in a way another try may mend (a fast model's 5xx, a ledger that did not answer) waits
// for that try in its record, not in the Kafka handler: when it is due, how many tries were scheduled, and what went
// wrong last, with the accepted event the retry job resumes the task from (the handler's offset has moved on).
export class AddTaskRetrySchedule1796700000000 implements MigrationInterface {
  name = 'AddTaskRetrySchedule1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tasks
        ADD COLUMN retry_at timestamptz,
        ADD COLUMN retry_attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN last_error text,
        ADD COLUMN accepted_event jsonb`);
    await q.query(`CREATE INDEX tasks_retry_due ON tasks (retry_at) WHERE retry_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX tasks_retry_due`);
    await q.query(
      `ALTER TABLE tasks DROP COLUMN accepted_event, DROP COLUMN last_error, DROP COLUMN retry_attempts, DROP COLUMN retry_at`,
    );
  }
}
