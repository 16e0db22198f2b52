import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';
import type { CounterKey } from '../spending/budget-periods';

export interface ThresholdCrossing {
  id: string;
  tenantId: string;
  key: CounterKey;
  thresholdPercent: number;
  limitMicroUsd: number;
  usedMicroUsd: number;
}

@Injectable()
export class ThresholdCrossingRepository {
  /** True when this call recorded the crossing: the unique row makes the threshold event a once-per-period fact. */
  async insertIfAbsent(tx: Sql, c: ThresholdCrossing): Promise<boolean> {
    const rows = await tx.query<{ id: string }>(
      `INSERT INTO threshold_crossings (id, tenant_id, scope, scope_id, period, period_start, threshold_percent,
                                        limit_micro_usd, used_micro_usd)
       VALUES ($1, $2, $3, $4, $5, $6::date, $7, $8, $9)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        c.id,
        c.tenantId,
        c.key.scope,
        c.key.scopeId,
        c.key.period,
        c.key.periodStart,
        c.thresholdPercent,
        c.limitMicroUsd,
        c.usedMicroUsd,
      ],
    );
    return rows.length > 0;
  }
}
