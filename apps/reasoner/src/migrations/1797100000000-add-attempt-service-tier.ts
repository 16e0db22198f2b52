import type { MigrationInterface, QueryRunner } from 'typeorm';

// The provider's service tier a call asked for (`default`, `flex`), and why: the tenant's policy for the task's
// latency budget, the model tier's API, or a flex refusal before it. Null for attempts that made no call.
export class AddAttemptServiceTier1797100000000 implements MigrationInterface {
  name = 'AddAttemptServiceTier1797100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE attempts ADD COLUMN service_tier text CHECK (service_tier IN ('default', 'flex')),
                            ADD COLUMN service_tier_reason text`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE attempts DROP COLUMN service_tier, DROP COLUMN service_tier_reason`);
  }
}
