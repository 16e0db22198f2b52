jest.setTimeout(60_000);

import { openDataSource } from '@deliberate/persistence';
import { createTestDatabase } from '@deliberate/testing';
import { CreateTriageTables1796300000000 } from '@deliberate/triage/migrations/1796300000000-create-triage-tables';
import { AddTaskRetrySchedule1796700000000 } from '@deliberate/triage/migrations/1796700000000-add-task-retry-schedule';

// The triage's schema can be undone and done again, migration by migration: its tables and columns go and come back.

it("creates the triage's task records, their retry schedule and outbox, drops them, and creates them again", async () => {
  const database = await createTestDatabase('triage_migrations');
  const db = await openDataSource({
    databaseUrl: database.url,
    schema: 'triage',
    entities: [],
    migrations: [CreateTriageTables1796300000000, AddTaskRetrySchedule1796700000000],
    poolSize: 2,
  });
  const tables = async () =>
    (
      await db.query<{ table_name: string }[]>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'triage' ORDER BY table_name`,
      )
    ).map((t) => t.table_name);
  const retryColumns = async () =>
    (
      await db.query<{ column_name: string }[]>(
        `SELECT column_name FROM information_schema.columns
          WHERE table_schema = 'triage' AND table_name = 'tasks'
            AND column_name IN ('retry_at', 'retry_attempts', 'last_error', 'accepted_event')
          ORDER BY column_name`,
      )
    ).map((c) => c.column_name);
  try {
    expect(await tables()).toEqual(['migrations', 'outbox', 'tasks']);
    expect(await retryColumns()).toEqual(['accepted_event', 'last_error', 'retry_at', 'retry_attempts']);
    // The retry schedule is undone on its own, then the tables.
    await db.undoLastMigration();
    expect(await retryColumns()).toEqual([]);
    expect(await tables()).toEqual(['migrations', 'outbox', 'tasks']);
    await db.undoLastMigration();
    expect(await tables()).toEqual(['migrations']);
    expect(await db.runMigrations()).toHaveLength(2);
    expect(await tables()).toEqual(['migrations', 'outbox', 'tasks']);
    expect(await retryColumns()).toEqual(['accepted_event', 'last_error', 'retry_at', 'retry_attempts']);
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
