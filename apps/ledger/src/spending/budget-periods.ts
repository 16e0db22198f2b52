import type { BudgetScope } from '@deliberate/contracts';
import type { BudgetRecord } from './budget.repository';

// Budget periods are UTC calendar days and months, named by their first day (YYYY-MM-DD).

export type BudgetPeriod = 'day' | 'month';

export function periodStart(period: BudgetPeriod, at: Date): string {
  const iso = at.toISOString();
  return period === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 7)}-01`;
}

/**
 * What a counter counts: a budget scope's spend, or (`shadow`, scope id the tenant) the tenant's shadow calls, which
 * no budget scope sees.
 */
export type CounterScope = BudgetScope | 'shadow';

/** One spend counter: a scope over one period. */
export interface CounterKey {
  scope: CounterScope;
  scopeId: string;
  period: BudgetPeriod;
  periodStart: string;
}

/** The lock order of counters: every transaction takes them in this order, so none waits on another in a cycle. */
export function counterSortKey(tenantId: string, key: CounterKey): string {
  return `${tenantId}\u0000${key.scope}\u0000${key.scopeId}\u0000${key.period}\u0000${key.periodStart}`;
}

export function sortCounterKeys<K extends CounterKey>(tenantId: string, keys: readonly K[]): K[] {
  return [...keys].sort((a, b) => {
    const ka = counterSortKey(tenantId, a);
    const kb = counterSortKey(tenantId, b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

export function periodKeys(scope: BudgetScope, scopeId: string, at: Date): CounterKey[] {
  return (['day', 'month'] as const).map((period) => ({
    scope,
    scopeId,
    period,
    periodStart: periodStart(period, at),
  }));
}

export function describeScope(scope: CounterScope, scopeId: string): string {
  switch (scope) {
    case 'shadow':
      return `the shadow calls of tenant '${scopeId}'`;
    case 'tenant':
      return `tenant '${scopeId}'`;
    case 'api_key':
      return `API key '${scopeId}'`;
    case 'project':
      return `project '${scopeId}'`;
  }
}

/** The limit of `budget` for the period of `key`, or null when that period is unlimited. */
export function limitFor(budget: BudgetRecord, key: CounterKey): number | null {
  return key.period === 'day' ? budget.dailyLimitMicroUsd : budget.monthlyLimitMicroUsd;
}
