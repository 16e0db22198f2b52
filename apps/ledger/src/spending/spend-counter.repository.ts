import { Injectable } from '@nestjs/common';
import type { CounterKey } from './budget-periods';
import type { Sql } from '@deliberate/persistence';
import { toNumber } from '../persistence/postgres-numbers';

export interface CounterState {
  spentMicroUsd: number;
  reservedMicroUsd: number;
}

interface CounterRow {
  spent_micro_usd: string;
  reserved_micro_usd: string;
}

const toState = (r: CounterRow | undefined): CounterState => ({
  spentMicroUsd: r ? toNumber(r.spent_micro_usd) : 0,
  reservedMicroUsd: r ? toNumber(r.reserved_micro_usd) : 0,
});

const KEY = `tenant_id = $1 AND scope = $2 AND scope_id = $3 AND period = $4 AND period_start = $5::date`;
const keyParams = (tenantId: string, k: CounterKey) => [
  tenantId,
  k.scope,
  k.scopeId,
  k.period,
  k.periodStart,
];

// Spend counters per budget period and per task. Every change is a single UPDATE of one row, so concurrent
// transactions serialize on the row and each sees the others' committed amounts.
@Injectable()
export class SpendCounterRepository {
  /** Creates missing counters (a new period, key or project); callers pass keys in lock order. */
  async ensure(tx: Sql, tenantId: string, keys: readonly CounterKey[]): Promise<void> {
    if (!keys.length) return;
    const values = keys.map(
      (_, i) => `($1, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4}, $${i * 4 + 5}::date)`,
    );
    await tx.query(
      `INSERT INTO spend_counters (tenant_id, scope, scope_id, period, period_start)
       VALUES ${values.join(', ')}
       ON CONFLICT DO NOTHING`,
      [tenantId, ...keys.flatMap((k) => [k.scope, k.scopeId, k.period, k.periodStart])],
    );
  }

  /**
   * The approval itself: adds `amount` to what is held only if spent + held + amount stays within `limit`
   * (no limit: always). Null when the limit would be passed.
   */
  async tryHold(
    tx: Sql,
    tenantId: string,
    key: CounterKey,
    amount: number,
    limit: number | null,
  ): Promise<CounterState | null> {
    const rows = await tx.query<CounterRow>(
      `UPDATE spend_counters SET reserved_micro_usd = reserved_micro_usd + $6, updated_at = now()
        WHERE ${KEY} AND ($7::bigint IS NULL OR spent_micro_usd + reserved_micro_usd + $6 <= $7::bigint)
        RETURNING spent_micro_usd, reserved_micro_usd`,
      [...keyParams(tenantId, key), amount, limit],
    );
    return rows[0] ? toState(rows[0]) : null;
  }

  async read(sql: Sql, tenantId: string, key: CounterKey): Promise<CounterState> {
    const rows = await sql.query<CounterRow>(
      `SELECT spent_micro_usd, reserved_micro_usd FROM spend_counters WHERE ${KEY}`,
      keyParams(tenantId, key),
    );
    return toState(rows[0]);
  }

  /** Moves a hold: `held` leaves what is reserved and `spent` joins what is spent (either may be 0). */
  async settle(
    tx: Sql,
    tenantId: string,
    key: CounterKey,
    held: number,
    spent: number,
  ): Promise<CounterState> {
    const rows = await tx.query<CounterRow>(
      `UPDATE spend_counters
          SET reserved_micro_usd = reserved_micro_usd - $6, spent_micro_usd = spent_micro_usd + $7, updated_at = now()
        WHERE ${KEY}
        RETURNING spent_micro_usd, reserved_micro_usd`,
      [...keyParams(tenantId, key), held, spent],
    );
    if (!rows[0]) throw new Error(`spend counter ${JSON.stringify(key)} of tenant ${tenantId} is missing`);
    return toState(rows[0]);
  }

  /** Books spend without a hold (the money is already spent, so no limit applies). */
  async addSpent(tx: Sql, tenantId: string, key: CounterKey, spent: number): Promise<CounterState> {
    const rows = await tx.query<CounterRow>(
      `INSERT INTO spend_counters (tenant_id, scope, scope_id, period, period_start, spent_micro_usd)
       VALUES ($1, $2, $3, $4, $5::date, $6)
       ON CONFLICT (tenant_id, scope, scope_id, period, period_start)
       DO UPDATE SET spent_micro_usd = spend_counters.spent_micro_usd + EXCLUDED.spent_micro_usd, updated_at = now()
       RETURNING spent_micro_usd, reserved_micro_usd`,
      [...keyParams(tenantId, key), spent],
    );
    return toState(rows[0]);
  }

  /**
   * Adds `amount` to what the task holds if spent + held + amount stays within `ceiling` (none: always), creating
   * the task's counter on its first hold, in one statement. Null when the ceiling would be passed.
   */
  async tryHoldTask(
    tx: Sql,
    tenantId: string,
    taskId: string,
    amount: number,
    ceiling: number | null,
  ): Promise<CounterState | null> {
    const rows = await tx.query<CounterRow>(
      `INSERT INTO task_counters (tenant_id, task_id, reserved_micro_usd)
       SELECT $1, $2, $3 WHERE $4::bigint IS NULL OR $3 <= $4::bigint
       ON CONFLICT (tenant_id, task_id) DO UPDATE
          SET reserved_micro_usd = task_counters.reserved_micro_usd + EXCLUDED.reserved_micro_usd, updated_at = now()
        WHERE $4::bigint IS NULL
           OR task_counters.spent_micro_usd + task_counters.reserved_micro_usd + EXCLUDED.reserved_micro_usd <= $4::bigint
       RETURNING spent_micro_usd, reserved_micro_usd`,
      [tenantId, taskId, amount, ceiling],
    );
    return rows[0] ? toState(rows[0]) : null;
  }

  async readTask(sql: Sql, tenantId: string, taskId: string): Promise<CounterState> {
    const rows = await sql.query<CounterRow>(
      `SELECT spent_micro_usd, reserved_micro_usd FROM task_counters WHERE tenant_id = $1 AND task_id = $2`,
      [tenantId, taskId],
    );
    return toState(rows[0]);
  }

  /** Moves a task's spend by `difference` (negative when a booking is replaced by a smaller one). */
  async adjustTaskSpent(tx: Sql, tenantId: string, taskId: string, difference: number): Promise<void> {
    await tx.query(
      `UPDATE task_counters SET spent_micro_usd = spent_micro_usd + $3, updated_at = now()
        WHERE tenant_id = $1 AND task_id = $2`,
      [tenantId, taskId, difference],
    );
  }

  async settleTask(tx: Sql, tenantId: string, taskId: string, held: number, spent: number): Promise<void> {
    await tx.query(
      `INSERT INTO task_counters (tenant_id, task_id, spent_micro_usd) VALUES ($1, $2, $4)
       ON CONFLICT (tenant_id, task_id) DO UPDATE SET
         reserved_micro_usd = task_counters.reserved_micro_usd - $3,
         spent_micro_usd = task_counters.spent_micro_usd + $4,
         updated_at = now()`,
      [tenantId, taskId, held, spent],
    );
  }
}
