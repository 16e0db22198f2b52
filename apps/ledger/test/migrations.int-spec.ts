jest.setTimeout(60_000);

import { CreateLedgerTables1795680000000 } from '@deliberate/ledger/migrations/1795680000000-create-ledger-tables';
import { SeedDefaultPrices1795680001000 } from '@deliberate/ledger/migrations/1795680001000-seed-default-prices';
import { SetAsideDeadOutboxRows1796100000000 } from '@deliberate/ledger/migrations/1796100000000-set-aside-dead-outbox-rows';
import { KeyReservationsAndFlagBookings1796400000000 } from '@deliberate/ledger/migrations/1796400000000-key-reservations-and-flag-bookings';
import { DropBudgetOverBudgetPolicy1796400001000 } from '@deliberate/ledger/migrations/1796400001000-drop-budget-over-budget-policy';
import { openDataSource } from '@deliberate/persistence';
import { createTestDatabase } from '@deliberate/testing';

// Every migration can be undone, and done again.
it('migrates up, down to nothing, and up again', async () => {
  const database = await createTestDatabase('ledger_migrations');
  const dataSource = await openDataSource({
    databaseUrl: database.url,
    schema: 'ledger',
    entities: [],
    migrations: [
      CreateLedgerTables1795680000000,
      SeedDefaultPrices1795680001000,
      SetAsideDeadOutboxRows1796100000000,
      KeyReservationsAndFlagBookings1796400000000,
      DropBudgetOverBudgetPolicy1796400001000,
    ],
    poolSize: 2,
  });
  const tables = async () =>
    (
      await dataSource.query<{ table_name: string }[]>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'ledger' ORDER BY table_name`,
      )
    ).map((t) => t.table_name);
  const columns = async (table: string) =>
    (
      await dataSource.query<{ column_name: string }[]>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = $1
          ORDER BY column_name`,
        [table],
      )
    ).map((c) => c.column_name);
  const outboxColumns = () => columns('outbox');
  try {
    expect(await tables()).toEqual([
      'bookings',
      'breakers',
      'budgets',
      'migrations',
      'outbox',
      'prices',
      'reservations',
      'spend_counters',
      'task_counters',
      'threshold_crossings',
    ]);
    expect(await outboxColumns()).toEqual(expect.arrayContaining(['dead_at', 'dead_reason', 'task_id']));
    expect(await columns('budgets')).not.toContain('over_budget_policy');
    await dataSource.query(
      `INSERT INTO budgets (tenant_id, scope, scope_id, daily_limit_micro_usd) VALUES ('acme', 'tenant', 'acme', 5)`,
    );
    await dataSource.undoLastMigration();
    expect(await dataSource.query(`SELECT over_budget_policy FROM budgets`)).toEqual([
      { over_budget_policy: 'fail' },
    ]);
    await dataSource.query(`DELETE FROM budgets`);
    expect(await columns('reservations')).toEqual(
      expect.arrayContaining(['reservation_key', 'request_fingerprint']),
    );
    expect(await columns('bookings')).toEqual(
      expect.arrayContaining(['aborted', 'api_key_id', 'exceeded_hold_micro_usd', 'project']),
    );
    await dataSource.undoLastMigration();
    expect(await columns('reservations')).not.toContain('reservation_key');
    expect(await columns('bookings')).not.toEqual(expect.arrayContaining(['aborted']));
    await dataSource.undoLastMigration();
    expect(await outboxColumns()).toEqual([
      'created_at',
      'id',
      'payload',
      'published_at',
      'tenant_id',
      'topic',
    ]);
    await dataSource.undoLastMigration();
    expect(await dataSource.query(`SELECT count(*)::int AS n FROM prices`)).toEqual([{ n: 0 }]);
    await dataSource.undoLastMigration();
    expect(await tables()).toEqual(['migrations']);
    expect(await dataSource.runMigrations()).toHaveLength(5);
    expect(await tables()).toHaveLength(10);
  } finally {
    await dataSource.destroy();
    await database.drop();
  }
});
