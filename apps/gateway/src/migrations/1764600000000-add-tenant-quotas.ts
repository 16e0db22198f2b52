import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddTenantQuotas1764600000000 implements MigrationInterface {
  name = 'AddTenantQuotas1764600000000';

  async up(q: QueryRunner): Promise<void> {
    // A tenant's overrides; null means the gateway's (or, for webhook endpoints, the webhooks service's) default.
    await q.query(`
      ALTER TABLE tenants
        ADD COLUMN quota_requests_per_second double precision CHECK (quota_requests_per_second > 0),
        ADD COLUMN quota_burst integer CHECK (quota_burst >= 1),
        ADD COLUMN quota_max_unfinished_tasks integer CHECK (quota_max_unfinished_tasks >= 0),
        ADD COLUMN quota_max_webhook_endpoints integer CHECK (quota_max_webhook_endpoints >= 0)`);
    // One token bucket per API key, shared by every gateway replica. Unlogged: after a crash the buckets start
    // full again, which costs nothing worth a WAL write per request.
    await q.query(`
      CREATE UNLOGGED TABLE api_key_rate_buckets (
        key_id uuid PRIMARY KEY,
        tokens double precision NOT NULL,
        refilled_at_ms double precision NOT NULL
      )`);
    // Admission counts a tenant's unfinished tasks on every submission.
    await q.query(`CREATE INDEX tasks_unfinished ON tasks (tenant_id) WHERE status_rank < 10`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX tasks_unfinished`);
    await q.query(`DROP TABLE api_key_rate_buckets`);
    await q.query(`
      ALTER TABLE tenants
        DROP COLUMN quota_requests_per_second,
        DROP COLUMN quota_burst,
        DROP COLUMN quota_max_unfinished_tasks,
        DROP COLUMN quota_max_webhook_endpoints`);
  }
}
