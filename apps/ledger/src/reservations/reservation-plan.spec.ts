import type { BudgetRecord } from '../spending/budget.repository';
import { planHolds, planShadowHold, taskCeiling } from './reservation-plan';

const budget = (over: Partial<BudgetRecord>): BudgetRecord => ({
  tenantId: 'acme',
  scope: 'tenant',
  scopeId: 'acme',
  dailyLimitMicroUsd: null,
  monthlyLimitMicroUsd: null,
  perTaskLimitMicroUsd: null,
  softThresholdPercents: [80],
  breakerWindowSeconds: 60,
  breakerMaxSpendMicroUsd: null,
  ...over,
});

const at = new Date('2026-03-31T23:59:59Z');

describe('planHolds', () => {
  it("always holds on the tenant's day and month, unlimited without a budget", () => {
    expect(planHolds('acme', [], null, null, at)).toEqual([
      {
        scope: 'tenant',
        scopeId: 'acme',
        period: 'day',
        periodStart: '2026-03-31',
        limitMicroUsd: null,
        budget: null,
      },
      {
        scope: 'tenant',
        scopeId: 'acme',
        period: 'month',
        periodStart: '2026-03-01',
        limitMicroUsd: null,
        budget: null,
      },
    ]);
  });

  it("adds the API key's and project's budgets the call names, in lock order", () => {
    const tenant = budget({ dailyLimitMicroUsd: 100 });
    const key = budget({ scope: 'api_key', scopeId: 'k1', monthlyLimitMicroUsd: 50 });
    const otherKey = budget({ scope: 'api_key', scopeId: 'k2', dailyLimitMicroUsd: 1 });
    const project = budget({ scope: 'project', scopeId: 'apollo', dailyLimitMicroUsd: 7 });
    const holds = planHolds('acme', [project, otherKey, key, tenant], 'k1', 'apollo', at);
    expect(holds.map((h) => [h.scope, h.scopeId, h.period, h.limitMicroUsd])).toEqual([
      ['api_key', 'k1', 'day', null],
      ['api_key', 'k1', 'month', 50],
      ['project', 'apollo', 'day', 7],
      ['project', 'apollo', 'month', null],
      ['tenant', 'acme', 'day', 100],
      ['tenant', 'acme', 'month', null],
    ]);
  });

  it('tracks the key and project the call names even without their budgets', () => {
    const holds = planHolds('acme', [], 'k9', 'hermes', at);
    expect(holds.map((h) => [h.scope, h.scopeId, h.period, h.limitMicroUsd, h.budget])).toEqual([
      ['api_key', 'k9', 'day', null, null],
      ['api_key', 'k9', 'month', null, null],
      ['project', 'hermes', 'day', null, null],
      ['project', 'hermes', 'month', null, null],
      ['tenant', 'acme', 'day', null, null],
      ['tenant', 'acme', 'month', null, null],
    ]);
  });
});

describe('taskCeiling', () => {
  it('is the tightest of the request and every budget', () => {
    expect(taskCeiling([], null)).toBeNull();
    expect(taskCeiling([budget({ perTaskLimitMicroUsd: 30 })], 50)).toBe(30);
    expect(taskCeiling([budget({ perTaskLimitMicroUsd: 30 })], 20)).toBe(20);
  });
});

describe('planShadowHold', () => {
  it("holds a shadow call on the tenant's shadow counter of the UTC day, limited by the shadow budget alone", () => {
    expect(planShadowHold('acme', 2_500_000, new Date('2026-12-02T23:59:59Z'))).toEqual({
      scope: 'shadow',
      scopeId: 'acme',
      period: 'day',
      periodStart: '2026-12-02',
      limitMicroUsd: 2_500_000,
      budget: null,
    });
  });
});
