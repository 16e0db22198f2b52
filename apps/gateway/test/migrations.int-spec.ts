jest.setTimeout(60_000);

import { taskAcceptedEvent, uuidv7 } from '@deliberate/contracts';
import { CreateGatewayTables1764144000000 } from '@deliberate/gateway/migrations/1764144000000-create-gateway-tables';
import { AddReviewQueue1764150000000 } from '@deliberate/gateway/migrations/1764150000000-add-review-queue';
import { AddTenantQuotas1764600000000 } from '@deliberate/gateway/migrations/1764600000000-add-tenant-quotas';
import { CreateIntakeSecrets1764700000000 } from '@deliberate/gateway/migrations/1764700000000-create-intake-secrets';
import { CreateGatewayOutbox1764800000000 } from '@deliberate/gateway/migrations/1764800000000-create-gateway-outbox';
import { openDataSource } from '@deliberate/persistence';
import { createTestDatabase, testTaskSpec } from '@deliberate/testing';

// The move to the shared outbox loses no announcement either way: the events of unannounced tasks go into the outbox,
// and undoing it leaves exactly the tasks whose event is still pending for the former relay.
it('moves the accepted events of unannounced tasks into the outbox, and back when undone', async () => {
  const database = await createTestDatabase('gateway_migrations');
  const dataSource = await openDataSource({
    databaseUrl: database.url,
    schema: 'gateway',
    entities: [],
    migrations: [
      CreateGatewayTables1764144000000,
      AddReviewQueue1764150000000,
      AddTenantQuotas1764600000000,
      CreateIntakeSecrets1764700000000,
      CreateGatewayOutbox1764800000000,
    ],
    poolSize: 2,
  });
  const insertTask = async (publishedAt: Date | null) => {
    const id = uuidv7();
    await dataSource.query(
      `INSERT INTO tasks (id, tenant_id, status, status_rank, mode, spec, submitted_via, request_hash, created_at,
                          updated_at, published_at)
       VALUES ($1, 'acme', 'accepted', 0, 'auto', $2, 'kafka', 'h', '2026-01-02T03:04:05.678Z', now(), $3)`,
      [id, JSON.stringify(testTaskSpec('migrate me')), publishedAt],
    );
    return id;
  };
  const unpublished = async () =>
    (
      await dataSource.query<{ id: string }[]>(`SELECT id FROM tasks WHERE published_at IS NULL ORDER BY id`)
    ).map((r) => r.id);
  try {
    // Back to before the outbox, with one task announced and one whose event never left.
    await dataSource.undoLastMigration();
    await insertTask(new Date());
    const pending = await insertTask(null);

    expect(await dataSource.runMigrations()).toHaveLength(1);

    const rows = await dataSource.query<{ id: string; topic: string; task_id: string; payload: unknown }[]>(
      `SELECT id, topic, task_id, payload FROM outbox`,
    );
    expect(rows).toEqual([
      { id: pending, topic: taskAcceptedEvent.topic, task_id: pending, payload: expect.anything() },
    ]);
    expect(taskAcceptedEvent.schema.parse(rows[0]!.payload)).toEqual({
      spec: testTaskSpec('migrate me'),
      submittedVia: 'kafka',
      acceptedAt: '2026-01-02T03:04:05.678Z',
    });
    expect(await unpublished()).toEqual([]);

    // After the move: one more task whose event is still pending, and the moved one published.
    const later = await insertTask(null);
    await dataSource.query(
      `INSERT INTO outbox (id, topic, tenant_id, task_id, payload) VALUES ($1, $2, 'acme', $1, '{}')`,
      [later, taskAcceptedEvent.topic],
    );
    await dataSource.query(`UPDATE outbox SET published_at = now() WHERE id = $1`, [pending]);

    await dataSource.undoLastMigration();

    expect(await unpublished()).toEqual([later]);
    expect(
      await dataSource.query(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'gateway' AND table_name = 'outbox'`,
      ),
    ).toEqual([{ n: 0 }]);
  } finally {
    await dataSource.destroy();
    await database.drop();
  }
});
