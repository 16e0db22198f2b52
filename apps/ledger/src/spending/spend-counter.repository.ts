import { Injectable } from '@nestjs/common';
import type { CounterKey } from './budget-periods';
import type { Sql } from '@deliberate/persistence';
import { toNumber } from '../persistence/postgres-numbers';

export interface CounterState {
  spentMicroUsd: number;
  reservedMicroUsd: number;
}

/** A hold to take on one counter, within its limit (null: unlimited, tracked only). */
export interface CounterHold {
  key: CounterKey;
  limitMicroUsd: number | null;
}

/** What a set of holds came to: every counter's state, or the first counter that refused and what it had. */
export type HoldOutcome =
  { held: true; states: CounterState[] } | { held: false; refused: number; state: CounterState };

/** A move on one counter: `held` leaves what is reserved and `spent` joins what is spent (either may be 0). */
export interface CounterMove {
  key: CounterKey;
  held: number;
  spent: number;
}

const keyJson = (k: CounterKey) => ({
  scope: k.scope,
  scopeId: k.scopeId,
  period: k.period,
  periodStart: k.periodStart,
});

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
// transactions serialize on the row and each sees the others' committed amounts. The period counters a reservation
// or a booking touches are moved in one statement (hold_counters, move_counters: one UPDATE per counter, in the order
// given, which callers make the lock order).
@Injectable()
export class SpendCounterRepository {
  /**
   * The approval itself: adds `amount` to what each counter holds only while spent + held + amount stays within its
   * limit, creating missing counters. All or nothing only with the transaction: on a refusal the holds taken before
   * it are still there, and the caller rolls back.
   */
  async holdAll(
    tx: Sql,
    tenantId: string,
    holds: readonly CounterHold[],
    amount: number,
  ): Promise<HoldOutcome> {
    if (!holds.length) return { held: true, states: [] };
    const rows = await tx.query<{ o_held: boolean; o_spent: string; o_reserved: string }>(
      `SELECT o_held, o_spent, o_reserved FROM hold_counters($1, $2::jsonb, $3)`,
      [tenantId, JSON.stringify(holds.map((h) => ({ ...keyJson(h.key), limit: h.limitMicroUsd }))), amount],
    );
    const states = rows.map((r) => toState({ spent_micro_usd: r.o_spent, reserved_micro_usd: r.o_reserved }));
    const last = rows.at(-1);
    if (last && !last.o_held) return { held: false, refused: rows.length - 1, state: states.at(-1)! };
    if (rows.length !== holds.length)
      throw new Error(`hold_counters answered ${rows.length} counters of ${holds.length}`);
    return { held: true, states };
  }

  /**
   * Moves each counter by its own amounts, in the order given. With `create`, a missing counter is created (spend
   * booked without a hold); otherwise a missing counter fails the statement.
   */
  async moveAll(
    tx: Sql,
    tenantId: string,
    moves: readonly CounterMove[],
    create: boolean,
  ): Promise<CounterState[]> {
    if (!moves.length) return [];
    const rows = await tx.query<{ o_spent: string; o_reserved: string }>(
      `SELECT o_spent, o_reserved FROM move_counters($1, $2::jsonb, $3)`,
      [
        tenantId,
        JSON.stringify(moves.map((m) => ({ ...keyJson(m.key), held: m.held, spent: m.spent }))),
        create,
      ],
    );
    if (rows.length !== moves.length)
      throw new Error(`move_counters answered ${rows.length} counters of ${moves.length}`);
    return rows.map((r) => toState({ spent_micro_usd: r.o_spent, reserved_micro_usd: r.o_reserved }));
  }

  async read(sql: Sql, tenantId: string, key: CounterKey): Promise<CounterState> {
    const rows = await sql.query<CounterRow>(
      `SELECT spent_micro_usd, reserved_micro_usd FROM spend_counters WHERE ${KEY}`,
      keyParams(tenantId, key),
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
