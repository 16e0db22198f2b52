jest.setTimeout(60_000);

import { CreateLedgerTables1795680000000 } from '@deliberate/ledger/migrations/1795680000000-create-ledger-tables';
import { SeedDefaultPrices1795680001000 } from '@deliberate/ledger/migrations/1795680001000-seed-default-prices';
import { SetAsideDeadOutboxRows1796100000000 } from '@deliberate/ledger/migrations/1796100000000-set-aside-dead-outbox-rows';
import { KeyReservationsAndFlagBookings1796400000000 } from '@deliberate/ledger/migrations/1796400000000-key-reservations-and-flag-bookings';
import { DropBudgetOverBudgetPolicy1796400001000 } from '@deliberate/ledger/migrations/1796400001000-drop-budget-over-budget-policy';
import { SupersedeAbortedBookings1796500000000 } from '@deliberate/ledger/migrations/1796500000000-supersede-aborted-bookings';
import { CounterFunctions1796600000000 } from '@deliberate/ledger/migrations/1796600000000-counter-functions';
import { CreateDenials1796700000000 } from '@deliberate/ledger/migrations/1796700000000-create-denials';
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
      SupersedeAbortedBookings1796500000000,
      CounterFunctions1796600000000,
      CreateDenials1796700000000,
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
  const functions = async () =>
    (
      await dataSource.query<{ routine_name: string }[]>(
        `SELECT routine_name FROM information_schema.routines WHERE routine_schema = 'ledger' ORDER BY 1`,
      )
    ).map((r) => r.routine_name);
  try {
    expect(await tables()).toEqual([
      'bookings',
      'breakers',
      'budgets',
      'denials',
      'migrations',
      'outbox',
      'prices',
      'reservations',
      'spend_counters',
      'task_counters',
      'threshold_crossings',
    ]);
    expect(await outboxColumns()).toEqual(expect.arrayContaining(['dead_at', 'dead_reason', 'task_id']));
    expect(await functions()).toEqual(['hold_counters', 'move_counters']);
    expect(await columns('denials')).toEqual(
      expect.arrayContaining(['reservation_key', 'estimated_cost_micro_usd']),
    );
    await dataSource.undoLastMigration();
    expect(await tables()).not.toContain('denials');
    expect(await functions()).toEqual(['hold_counters', 'move_counters']);
    await dataSource.undoLastMigration();
    expect(await functions()).toEqual([]);
    expect(await columns('bookings')).toEqual(
      expect.arrayContaining([
        'superseded_at',
        'superseded_by_event_id',
        'superseded_cost_micro_usd',
        'supersedes_event_id',
      ]),
    );
    // A replaced abort booking: undone, it gets its worst case back.
    await dataSource.query(
      `INSERT INTO bookings (event_id, tenant_id, model, input_tokens, cached_input_tokens, output_tokens,
                             reasoning_tokens, cost_micro_usd, event_time, source, aborted, superseded_by_event_id,
                             superseded_cost_micro_usd)
       VALUES ('abort-1', 'acme', 'sim-fast', 0, 0, 0, 0, 0, now(), 'settle', true, 'real-1', 750)`,
    );
    await dataSource.undoLastMigration();
    expect(await columns('bookings')).not.toContain('superseded_by_event_id');
    expect(await dataSource.query(`SELECT cost_micro_usd::int AS cost FROM bookings`)).toEqual([
      { cost: 750 },
    ]);
    await dataSource.query(`DELETE FROM bookings`);
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
    expect(await dataSource.runMigrations()).toHaveLength(8);
    expect(await functions()).toEqual(['hold_counters', 'move_counters']);
    expect(await tables()).toHaveLength(11);
  } finally {
    await dataSource.destroy();
    await database.drop();
  }
});
