import type { MigrationInterface, QueryRunner } from 'typeorm';

// The provider's response id of a call made in background mode, recorded as soon as the provider accepts the call:
// whoever runs the execution next polls the call by it instead of making it again.
export class AddAttemptResponseId1797000000000 implements MigrationInterface {
  name = 'AddAttemptResponseId1797000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE attempts ADD COLUMN response_id text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE attempts DROP COLUMN response_id`);
  }
}
