import {
  type BudgetResponse,
  type BudgetScope,
  MICRO_USD_PER_USD,
  putBudgetRequestSchema,
  usdToMicroUsd,
} from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { BreakerRepository } from '../breaker/breaker.repository';
import { SpendCounterRepository } from '../spending/spend-counter.repository';
import { RequestValidationException, type ValidationIssue } from '@deliberate/http';
import { Sql } from '@deliberate/persistence';
import { periodKeys } from '../spending/budget-periods';
import { type BudgetRecord, BudgetRepository } from '../spending/budget.repository';

type PutBudget = z.output<typeof putBudgetRequestSchema>;

const DEFAULTS = {
  dailyLimitMicroUsd: null,
  monthlyLimitMicroUsd: null,
  perTaskLimitMicroUsd: null,
  softThresholdPercents: [80],
  breakerWindowSeconds: 60,
  breakerMaxSpendMicroUsd: null,
} as const satisfies Partial<BudgetRecord>;

@Injectable()
export class BudgetsService {
  constructor(
    private readonly sql: Sql,
    private readonly budgets: BudgetRepository,
    private readonly counters: SpendCounterRepository,
    private readonly breakers: BreakerRepository,
  ) {}

  async list(tenantId: string): Promise<BudgetResponse[]> {
    const budgets = await this.budgets.listForTenant(this.sql, tenantId);
    return Promise.all(budgets.map((b) => this.toResponse(b)));
  }

  /** Creates or changes one budget: fields left out keep their value (or default), null clears a limit. */
  async put(tenantId: string, body: PutBudget): Promise<BudgetResponse> {
    const scopeId = resolveScopeId(tenantId, body.scope, body.scopeId);
    const issues: ValidationIssue[] = [];
    const micro = (field: keyof PutBudget, usd: number | null | undefined): number | null | undefined => {
      if (usd === null || usd === undefined) return usd;
      const value = usdToMicroUsd(usd);
      if (value < 1) issues.push({ path: field, message: `must be at least ${1 / MICRO_USD_PER_USD} USD` });
      return value;
    };
    const daily = micro('dailyLimitUsd', body.dailyLimitUsd);
    const monthly = micro('monthlyLimitUsd', body.monthlyLimitUsd);
    const perTask = micro('perTaskLimitUsd', body.perTaskLimitUsd);
    const breakerMax = micro('breakerMaxSpendUsd', body.breakerMaxSpendUsd);
    if (issues.length) throw new RequestValidationException('request body', issues);

    const existing = await this.budgets.find(this.sql, tenantId, body.scope, scopeId);
    const base: BudgetRecord = existing ?? {
      tenantId,
      scope: body.scope,
      scopeId,
      ...DEFAULTS,
      softThresholdPercents: [80],
    };
    const saved = await this.budgets.upsert(this.sql, {
      ...base,
      dailyLimitMicroUsd: daily === undefined ? base.dailyLimitMicroUsd : daily,
      monthlyLimitMicroUsd: monthly === undefined ? base.monthlyLimitMicroUsd : monthly,
      perTaskLimitMicroUsd: perTask === undefined ? base.perTaskLimitMicroUsd : perTask,
      softThresholdPercents: body.softThresholdPercents
        ? [...new Set(body.softThresholdPercents)].sort((a, b) => a - b)
        : base.softThresholdPercents,
      breakerWindowSeconds: body.breakerWindowSeconds ?? base.breakerWindowSeconds,
      breakerMaxSpendMicroUsd: breakerMax === undefined ? base.breakerMaxSpendMicroUsd : breakerMax,
    });
    return this.toResponse(saved);
  }

  private async toResponse(b: BudgetRecord): Promise<BudgetResponse> {
    const now = new Date();
    const [day, month] = await Promise.all(
      periodKeys(b.scope, b.scopeId, now).map((k) => this.counters.read(this.sql, b.tenantId, k)),
    );
    const breaker = await this.breakers.find(this.sql, b.tenantId);
    return {
      tenantId: b.tenantId,
      scope: b.scope,
      scopeId: b.scopeId,
      dailyLimitMicroUsd: b.dailyLimitMicroUsd,
      monthlyLimitMicroUsd: b.monthlyLimitMicroUsd,
      perTaskLimitMicroUsd: b.perTaskLimitMicroUsd,
      softThresholdPercents: b.softThresholdPercents,
      breakerWindowSeconds: b.breakerWindowSeconds,
      breakerMaxSpendMicroUsd: b.breakerMaxSpendMicroUsd,
      spentTodayMicroUsd: day?.spentMicroUsd ?? 0,
      reservedTodayMicroUsd: day?.reservedMicroUsd ?? 0,
      spentThisMonthMicroUsd: month?.spentMicroUsd ?? 0,
      reservedThisMonthMicroUsd: month?.reservedMicroUsd ?? 0,
      // Open past its cool-down: waiting for the sweeper's check, which closes it or sets a new retry time.
      breaker:
        breaker?.state !== 'open'
          ? 'closed'
          : breaker.retryAt && breaker.retryAt <= now
            ? 'half_open'
            : 'open',
    };
  }
}

function resolveScopeId(tenantId: string, scope: BudgetScope, scopeId: string | undefined): string {
  if (scope === 'tenant') {
    if (scopeId !== undefined && scopeId !== tenantId) {
      throw new RequestValidationException('request body', [
        { path: 'scopeId', message: "must be omitted for the tenant scope (it is the tenant's own budget)" },
      ]);
    }
    return tenantId;
  }
  if (scopeId === undefined) {
    throw new RequestValidationException('request body', [
      {
        path: 'scopeId',
        message: `is required for scope '${scope}' (the ${scope === 'api_key' ? 'API key id' : 'project tag'})`,
      },
    ]);
  }
  return scopeId;
}
