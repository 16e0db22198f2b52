import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';
import { type CounterKey, counterSortKey, sortCounterKeys } from './budget-periods';
import { type ReservationRecord, ReservationRepository } from './reservation.repository';
import { type CounterMove, type CounterState, SpendCounterRepository } from './spend-counter.repository';

/** A period counter as a change left it. */
export interface CounterChange {
  key: CounterKey;
  state: CounterState;
}

// Where a reservation and a booking meet: every move of money between what is held and what is spent, taken in
// lock order (reservations, then task counters, then period counters, each sorted) so no two transactions wait on
// each other in a cycle. The period counters come last: a tenant's day and month rows are the ones every call of
// the tenant updates, and each transaction holds them only from that one statement to its commit.
@Injectable()
export class SpendHolds {
  constructor(
    private readonly counters: SpendCounterRepository,
    private readonly reservations: ReservationRepository,
  ) {}

  /** Books `cost` against an active hold: the whole hold leaves what is reserved, in the periods it was taken in. */
  async settle(
    tx: Sql,
    reservation: ReservationRecord,
    usageEventId: string,
    cost: number,
  ): Promise<{ changes: CounterChange[]; releasedMicroUsd: number }> {
    const { tenantId, amountMicroUsd } = reservation;
    // A shadow call's hold was never on its task's counter (the task's cost is its live calls').
    if (!reservation.shadow)
      await this.counters.settleTask(tx, tenantId, reservation.taskId, amountMicroUsd, cost);
    const releasedMicroUsd = Math.max(0, amountMicroUsd - cost);
    await this.reservations.markSettled(tx, reservation.id, usageEventId, cost, releasedMicroUsd);
    const changes = await this.move(tx, tenantId, reservation.counterKeys, amountMicroUsd, cost, false);
    return { changes, releasedMicroUsd };
  }

  /**
   * Replaces what a settled reservation booked (a blind abort's worst case) with `cost`: the reservation's counters
   * move by the difference, in the periods its hold was taken in.
   */
  async rebook(
    tx: Sql,
    reservation: ReservationRecord,
    usageEventId: string,
    bookedMicroUsd: number,
    cost: number,
    reason: string,
  ): Promise<{ changes: CounterChange[]; releasedMicroUsd: number }> {
    const { tenantId } = reservation;
    const difference = cost - bookedMicroUsd;
    if (!reservation.shadow)
      await this.counters.adjustTaskSpent(tx, tenantId, reservation.taskId, difference);
    const releasedMicroUsd = Math.max(0, reservation.amountMicroUsd - cost);
    await this.reservations.markRebooked(tx, reservation.id, usageEventId, cost, releasedMicroUsd, reason);
    const changes = await this.move(tx, tenantId, reservation.counterKeys, 0, difference, false);
    return { changes, releasedMicroUsd };
  }

  /** Books spend that had no hold (the money is already spent, so no limit applies). */
  async addSpent(
    tx: Sql,
    tenantId: string,
    keys: readonly CounterKey[],
    taskId: string | null,
    cost: number,
  ): Promise<CounterChange[]> {
    if (taskId) await this.counters.settleTask(tx, tenantId, taskId, 0, cost);
    return this.move(tx, tenantId, keys, 0, cost, true);
  }

  /** Gives the holds back, summed per counter, and closes the reservations (released or expired). */
  async release(
    tx: Sql,
    reservations: readonly ReservationRecord[],
    status: 'released' | 'expired',
    reason: string,
  ): Promise<void> {
    const periods = new Map<string, { tenantId: string; key: CounterKey; amount: number }>();
    const tasks = new Map<string, { tenantId: string; taskId: string; amount: number }>();
    for (const r of reservations) {
      for (const key of r.counterKeys) {
        const sortKey = counterSortKey(r.tenantId, key);
        const entry = periods.get(sortKey) ?? { tenantId: r.tenantId, key, amount: 0 };
        entry.amount += r.amountMicroUsd;
        periods.set(sortKey, entry);
      }
      if (r.shadow) continue;
      const taskKey = `${r.tenantId}\u0000${r.taskId}`;
      const task = tasks.get(taskKey) ?? { tenantId: r.tenantId, taskId: r.taskId, amount: 0 };
      task.amount += r.amountMicroUsd;
      tasks.set(taskKey, task);
    }
    for (const taskKey of [...tasks.keys()].sort()) {
      const { tenantId, taskId, amount } = tasks.get(taskKey)!;
      await this.counters.settleTask(tx, tenantId, taskId, amount, 0);
    }
    await this.reservations.markReleased(
      tx,
      reservations.map((r) => r.id),
      status,
      reason,
    );
    // One statement per tenant: the sort key starts with the tenant, so the tenants come in lock order too.
    const byTenant = new Map<string, CounterMove[]>();
    for (const sortKey of [...periods.keys()].sort()) {
      const { tenantId, key, amount } = periods.get(sortKey)!;
      const moves = byTenant.get(tenantId) ?? [];
      moves.push({ key, held: amount, spent: 0 });
      byTenant.set(tenantId, moves);
    }
    for (const [tenantId, moves] of byTenant) await this.counters.moveAll(tx, tenantId, moves, false);
  }

  // The same move on each of `keys`, in lock order: one statement.
  private async move(
    tx: Sql,
    tenantId: string,
    keys: readonly CounterKey[],
    held: number,
    spent: number,
    create: boolean,
  ): Promise<CounterChange[]> {
    const sorted = sortCounterKeys(tenantId, keys);
    const states = await this.counters.moveAll(
      tx,
      tenantId,
      sorted.map((key) => ({ key, held, spent })),
      create,
    );
    return sorted.map((key, i) => ({ key, state: states[i]! }));
  }
}
