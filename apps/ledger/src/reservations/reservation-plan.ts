import { type CounterKey, limitFor, periodKeys, sortCounterKeys } from '../spending/budget-periods';
import type { BudgetRecord } from '../spending/budget.repository';

/** One counter a reservation holds on, with the limit it must stay within (null: unlimited, tracked only). */
export interface PlannedHold extends CounterKey {
  limitMicroUsd: number | null;
  budget: BudgetRecord | null;
}

/**
 * The counters a reservation holds on, in lock order: always the tenant's day and month (tracked even without a
 * budget, so holds show up in reports), plus those of the API key's and project's budgets when the call names them.
 */
export function planHolds(
  tenantId: string,
  budgets: readonly BudgetRecord[],
  apiKeyId: string | null,
  project: string | null,
  at: Date,
): PlannedHold[] {
  const holds: PlannedHold[] = [];
  const add = (budget: BudgetRecord | null, scope: CounterKey['scope'], scopeId: string) => {
    for (const key of periodKeys(scope, scopeId, at)) {
      holds.push({ ...key, budget, limitMicroUsd: budget ? limitFor(budget, key) : null });
    }
  };
  add(budgets.find((b) => b.scope === 'tenant' && b.scopeId === tenantId) ?? null, 'tenant', tenantId);
  for (const b of budgets) {
    if (
      (b.scope === 'api_key' && b.scopeId === apiKeyId) ||
      (b.scope === 'project' && b.scopeId === project)
    ) {
      add(b, b.scope, b.scopeId);
    }
  }
  return sortCounterKeys(tenantId, holds);
}

/** The tightest per-task ceiling: the task's own and every applicable budget's. */
export function taskCeiling(budgets: readonly BudgetRecord[], requested: number | null): number | null {
  const ceilings = [requested, ...budgets.map((b) => b.perTaskLimitMicroUsd)].filter(
    (c): c is number => c !== null,
  );
  return ceilings.length ? Math.min(...ceilings) : null;
}

export function toCounterKey(hold: CounterKey): CounterKey {
  return { scope: hold.scope, scopeId: hold.scopeId, period: hold.period, periodStart: hold.periodStart };
}
