jest.setTimeout(60_000);

import { openDataSource } from '@deliberate/persistence';
import { createTestDatabase } from '@deliberate/testing';
import { CreateTriageTables1796300000000 } from '@deliberate/triage/migrations/1796300000000-create-triage-tables';

// The triage's schema can be undone and done again: its tables go and come back.

it("creates the triage's task records and outbox, drops them, and creates them again", async () => {
  const database = await createTestDatabase('triage_migrations');
  const db = await openDataSource({
    databaseUrl: database.url,
    schema: 'triage',
    entities: [],
    migrations: [CreateTriageTables1796300000000],
    poolSize: 2,
  });
  const tables = async () =>
    (
      await db.query<{ table_name: string }[]>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'triage' ORDER BY table_name`,
      )
    ).map((t) => t.table_name);
  try {
    expect(await tables()).toEqual(['migrations', 'outbox', 'tasks']);
    await db.undoLastMigration();
    expect(await tables()).toEqual(['migrations']);
    expect(await db.runMigrations()).toHaveLength(1);
    expect(await tables()).toEqual(['migrations', 'outbox', 'tasks']);
    // A finished task must name its terminal event.
    await expect(
      db.query(
        `INSERT INTO tasks (task_id, tenant_id, accepted_at, deadline_at, state)
         VALUES (gen_random_uuid(), 'acme', now(), now(), 'finished')`,
      ),
    ).rejects.toThrow(/tasks_finished_has_outcome/);
  } finally {
    await db.destroy();
    await database.drop();
  }
});
