import type { z } from 'zod';
import type { spendGroupSchema } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';

export type SpendGroup = z.infer<typeof spendGroupSchema>;

export interface SpendAggregateRow {
  key: string;
  cost: string;
  calls: string;
  input_tokens: string;
  cached_input_tokens: string;
  output_tokens: string;
  reasoning_tokens: string;
}

// Group keys as SQL over bookings; `route` is the call's tier and purpose (fast/classify). `call` is the call's id;
// a settled call whose usage event has not arrived yet has none so far, and counts as unattributed until it does.
const GROUP_KEYS: Record<SpendGroup, string> = {
  model: `model`,
  day: `to_char(booked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  route: `COALESCE(tier, 'unattributed') || '/' || COALESCE(purpose, 'unattributed')`,
  tenant: `tenant_id`,
  call: `COALESCE(call_id, 'unattributed')`,
};

@Injectable()
export class SpendRepository {
  /** Bookings of [from, to) grouped by `groupBy`; sums as text, exact whatever their size. */
  async aggregate(
    sql: Sql,
    q: { tenantId: string | null; from: Date; to: Date; groupBy: SpendGroup; taskId?: string | undefined },
  ): Promise<SpendAggregateRow[]> {
    const key = GROUP_KEYS[q.groupBy];
    return sql.query<SpendAggregateRow>(
      `SELECT ${key} AS key,
              SUM(cost_micro_usd)::text AS cost,
              -- A blind abort replaced by its call's real usage is the same call: counted once.
              COUNT(*) FILTER (WHERE superseded_by_event_id IS NULL)::text AS calls,
              SUM(input_tokens)::text AS input_tokens,
              SUM(cached_input_tokens)::text AS cached_input_tokens,
              SUM(output_tokens)::text AS output_tokens,
              SUM(reasoning_tokens)::text AS reasoning_tokens
         FROM bookings
        WHERE booked_at >= $1 AND booked_at < $2 AND ($3::text IS NULL OR tenant_id = $3)
          AND ($4::uuid IS NULL OR task_id = $4)
        GROUP BY 1
        ORDER BY 1`,
      [q.from, q.to, q.tenantId, q.taskId ?? null],
    );
  }
}
