import type { BudgetScope } from '@deliberate/contracts';
import {
  type CounterKey,
  limitFor,
  periodKeys,
  periodStart,
  sortCounterKeys,
} from '../spending/budget-periods';
import type { BudgetRecord } from '../spending/budget.repository';

/** One counter a reservation holds on, with the limit it must stay within (null: unlimited, tracked only). */
export interface PlannedHold extends CounterKey {
  limitMicroUsd: number | null;
  budget: BudgetRecord | null;
}

/**
 * The counters a reservation holds on, in lock order: the tenant's day and month, and those of the API key and the
 * project when the call names them. Each is limited by its scope's budget, or tracked only (unlimited) without one,
 * so holds show up in reports and a budget set later counts the spend made before it.
 */
export function planHolds(
  tenantId: string,
  budgets: readonly BudgetRecord[],
  apiKeyId: string | null,
  project: string | null,
  at: Date,
): PlannedHold[] {
  const holds: PlannedHold[] = [];
  const add = (scope: BudgetScope, scopeId: string) => {
    const budget = budgets.find((b) => b.scope === scope && b.scopeId === scopeId) ?? null;
    for (const key of periodKeys(scope, scopeId, at)) {
      holds.push({ ...key, budget, limitMicroUsd: budget ? limitFor(budget, key) : null });
    }
  };
  add('tenant', tenantId);
  if (apiKeyId !== null) add('api_key', apiKeyId);
  if (project !== null) add('project', project);
  return sortCounterKeys(tenantId, holds);
}

/**
 * The one counter a shadow call holds on: the tenant's shadow calls of the day, limited by its policy's shadow
 * budget. No budget scope, no task ceiling: live tasks never see shadow spend.
 */
export function planShadowHold(tenantId: string, dailyBudgetMicroUsd: number, at: Date): PlannedHold {
  return {
    scope: 'shadow',
    scopeId: tenantId,
    period: 'day',
    periodStart: periodStart('day', at),
    limitMicroUsd: dailyBudgetMicroUsd,
    budget: null,
  };
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
