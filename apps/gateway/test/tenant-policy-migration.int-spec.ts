jest.setTimeout(60_000);

import { CreateGatewayTables1764144000000 } from '@deliberate/gateway/migrations/1764144000000-create-gateway-tables';
import { CreateTenantPolicies1796600000000 } from '@deliberate/gateway/migrations/1796600000000-create-tenant-policies';
import { openDataSource } from '@deliberate/persistence';
import { createTestDatabase } from '@deliberate/testing';

// The policy tables come and go with their migration, and only for tenants that exist.
it('creates the policy tables, refuses a policy of an unknown tenant, and drops them when undone', async () => {
  const database = await createTestDatabase('gateway_policy_migration');
  const dataSource = await openDataSource({
    databaseUrl: database.url,
    schema: 'gateway',
    entities: [],
    migrations: [CreateGatewayTables1764144000000, CreateTenantPolicies1796600000000],
    poolSize: 2,
  });
  const tables = async () =>
    (
      await dataSource.query<{ table_name: string }[]>(
        `SELECT table_name FROM information_schema.tables
          WHERE table_schema = 'gateway' AND table_name LIKE 'tenant_polic%' ORDER BY table_name`,
      )
    ).map((r) => r.table_name);
  try {
    expect(await tables()).toEqual(['tenant_policies', 'tenant_policy_versions']);
    await expect(
      dataSource.query(
        `INSERT INTO tenant_policies (tenant_id, version, policy, updated_by, updated_at)
         VALUES ('nobody', 1, '{}', 'platform-admin', now())`,
      ),
    ).rejects.toThrow(/foreign key/);

    await dataSource.undoLastMigration();
    expect(await tables()).toEqual([]);
    expect(await dataSource.runMigrations()).toHaveLength(1);
    expect(await tables()).toEqual(['tenant_policies', 'tenant_policy_versions']);
  } finally {
    await dataSource.destroy();
    await database.drop();
  }
});
