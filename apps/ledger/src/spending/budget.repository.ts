import type { BudgetScope } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';
import { toNullableNumber } from '../persistence/postgres-numbers';

export interface BudgetRecord {
  tenantId: string;
  scope: BudgetScope;
  /** The tenant id for the tenant scope, else the API key id or project tag. */
  scopeId: string;
  dailyLimitMicroUsd: number | null;
  monthlyLimitMicroUsd: number | null;
  perTaskLimitMicroUsd: number | null;
  softThresholdPercents: number[];
  breakerWindowSeconds: number;
  breakerMaxSpendMicroUsd: number | null;
}

interface BudgetRow {
  tenant_id: string;
  scope: BudgetScope;
  scope_id: string;
  daily_limit_micro_usd: string | null;
  monthly_limit_micro_usd: string | null;
  per_task_limit_micro_usd: string | null;
  soft_threshold_percents: number[];
  breaker_window_seconds: number;
  breaker_max_spend_micro_usd: string | null;
}

const COLUMNS = `tenant_id, scope, scope_id, daily_limit_micro_usd, monthly_limit_micro_usd, per_task_limit_micro_usd,
  soft_threshold_percents, breaker_window_seconds, breaker_max_spend_micro_usd`;

const toRecord = (r: BudgetRow): BudgetRecord => ({
  tenantId: r.tenant_id,
  scope: r.scope,
  scopeId: r.scope_id,
  dailyLimitMicroUsd: toNullableNumber(r.daily_limit_micro_usd),
  monthlyLimitMicroUsd: toNullableNumber(r.monthly_limit_micro_usd),
  perTaskLimitMicroUsd: toNullableNumber(r.per_task_limit_micro_usd),
  softThresholdPercents: r.soft_threshold_percents,
  breakerWindowSeconds: r.breaker_window_seconds,
  breakerMaxSpendMicroUsd: toNullableNumber(r.breaker_max_spend_micro_usd),
});

@Injectable()
export class BudgetRepository {
  /** The tenant's own budget and, when the call names them, its API key's and project's. */
  async findApplicable(
    sql: Sql,
    tenantId: string,
    apiKeyId: string | null,
    project: string | null,
  ): Promise<BudgetRecord[]> {
    const rows = await sql.query<BudgetRow>(
      `SELECT ${COLUMNS} FROM budgets
        WHERE tenant_id = $1
          AND ((scope = 'tenant' AND scope_id = $1) OR (scope = 'api_key' AND scope_id = $2)
               OR (scope = 'project' AND scope_id = $3))`,
      [tenantId, apiKeyId, project],
    );
    return rows.map(toRecord);
  }

  async find(sql: Sql, tenantId: string, scope: BudgetScope, scopeId: string): Promise<BudgetRecord | null> {
    const rows = await sql.query<BudgetRow>(
      `SELECT ${COLUMNS} FROM budgets WHERE tenant_id = $1 AND scope = $2 AND scope_id = $3`,
      [tenantId, scope, scopeId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async listForTenant(sql: Sql, tenantId: string): Promise<BudgetRecord[]> {
    const rows = await sql.query<BudgetRow>(
      `SELECT ${COLUMNS} FROM budgets WHERE tenant_id = $1 ORDER BY scope, scope_id`,
      [tenantId],
    );
    return rows.map(toRecord);
  }

  async upsert(sql: Sql, b: BudgetRecord): Promise<BudgetRecord> {
    const rows = await sql.query<BudgetRow>(
      `INSERT INTO budgets (tenant_id, scope, scope_id, daily_limit_micro_usd, monthly_limit_micro_usd,
                            per_task_limit_micro_usd, soft_threshold_percents, breaker_window_seconds,
                            breaker_max_spend_micro_usd)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (tenant_id, scope, scope_id) DO UPDATE SET
         daily_limit_micro_usd = EXCLUDED.daily_limit_micro_usd,
         monthly_limit_micro_usd = EXCLUDED.monthly_limit_micro_usd,
         per_task_limit_micro_usd = EXCLUDED.per_task_limit_micro_usd,
         soft_threshold_percents = EXCLUDED.soft_threshold_percents,
         breaker_window_seconds = EXCLUDED.breaker_window_seconds,
         breaker_max_spend_micro_usd = EXCLUDED.breaker_max_spend_micro_usd,
         updated_at = now()
       RETURNING ${COLUMNS}`,
      [
        b.tenantId,
        b.scope,
        b.scopeId,
        b.dailyLimitMicroUsd,
        b.monthlyLimitMicroUsd,
        b.perTaskLimitMicroUsd,
        b.softThresholdPercents,
        b.breakerWindowSeconds,
        b.breakerMaxSpendMicroUsd,
      ],
    );
    return toRecord(rows[0]!);
  }
}
