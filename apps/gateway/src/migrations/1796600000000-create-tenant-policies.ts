import type { MigrationInterface, QueryRunner } from 'typeorm';

// Each tenant's policy (the current version) and every version it ever had, with who set it and when. A tenant
// with no row has the default policy, version 0.
export class CreateTenantPolicies1796600000000 implements MigrationInterface {
  name = 'CreateTenantPolicies1796600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenant_policies (
        tenant_id text PRIMARY KEY REFERENCES tenants(id),
        version integer NOT NULL CHECK (version > 0),
        policy jsonb NOT NULL,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE tenant_policy_versions (
        tenant_id text NOT NULL REFERENCES tenants(id),
        version integer NOT NULL CHECK (version > 0),
        policy jsonb NOT NULL,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, version)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE tenant_policy_versions`);
    await q.query(`DROP TABLE tenant_policies`);
  }
}
