import type {
  BudgetDeniedAction,
  DenialCursor,
  ModelTier,
  ReservationDenialReason,
} from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';
import { toNullableNumber } from '../persistence/postgres-numbers';

export interface DenialRecord {
  id: string;
  requestId: string | null;
  tenantId: string;
  reservationKey: string | null;
  taskId: string;
  model: string;
  tier: ModelTier | null;
  reason: ReservationDenialReason;
  message: string;
  onDenied: BudgetDeniedAction | null;
  estimatedCostMicroUsd: number | null;
  deniedAt: Date;
}

export interface DenialFilter {
  tenantId: string | null;
  from?: Date | undefined;
  to?: Date | undefined;
  reason?: ReservationDenialReason | undefined;
  taskId?: string | undefined;
  cursor?: DenialCursor | undefined;
  limit: number;
}

interface DenialRow {
  id: string;
  request_id: string | null;
  tenant_id: string;
  reservation_key: string | null;
  task_id: string;
  model: string;
  tier: ModelTier | null;
  reason: ReservationDenialReason;
  message: string;
  on_denied: BudgetDeniedAction | null;
  estimated_cost_micro_usd: string | null;
  denied_at: Date;
}

const toRecord = (r: DenialRow): DenialRecord => ({
  id: r.id,
  requestId: r.request_id,
  tenantId: r.tenant_id,
  reservationKey: r.reservation_key,
  taskId: r.task_id,
  model: r.model,
  tier: r.tier,
  reason: r.reason,
  message: r.message,
  onDenied: r.on_denied,
  estimatedCostMicroUsd: toNullableNumber(r.estimated_cost_micro_usd),
  deniedAt: r.denied_at,
});

@Injectable()
export class DenialRepository {
  /** False when the same request (its reservation key, or its correlation id) was recorded as denied already. */
  async insertIfNew(sql: Sql, d: DenialRecord): Promise<boolean> {
    const rows = await sql.query<{ id: string }>(
      `INSERT INTO denials (id, request_id, tenant_id, reservation_key, task_id, model, tier, reason, message,
                            on_denied, estimated_cost_micro_usd, denied_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        d.id,
        d.requestId,
        d.tenantId,
        d.reservationKey,
        d.taskId,
        d.model,
        d.tier,
        d.reason,
        d.message,
        d.onDenied,
        d.estimatedCostMicroUsd,
        d.deniedAt,
      ],
    );
    return rows.length > 0;
  }

  /** Newest first, after `cursor`; one row more than `limit` when there is a next page. */
  async list(sql: Sql, f: DenialFilter): Promise<DenialRecord[]> {
    // Only the filters given, so the planner sees plain conditions it can serve from the (tenant, time) index.
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (condition: (...at: string[]) => string, ...values: unknown[]) => {
      const at = values.map((v) => `$${params.push(v)}`);
      conditions.push(condition(...at));
    };
    if (f.tenantId !== null) add((t) => `tenant_id = ${t}`, f.tenantId);
    if (f.from) add((t) => `denied_at >= ${t}`, f.from);
    if (f.to) add((t) => `denied_at < ${t}`, f.to);
    if (f.reason) add((t) => `reason = ${t}`, f.reason);
    if (f.taskId) add((t) => `task_id = ${t}`, f.taskId);
    if (f.cursor) add((at, id) => `(denied_at, id) < (${at}, ${id}::uuid)`, f.cursor.deniedAt, f.cursor.id);
    const rows = await sql.query<DenialRow>(
      `SELECT id, request_id, tenant_id, reservation_key, task_id, model, tier, reason, message, on_denied,
              estimated_cost_micro_usd::text AS estimated_cost_micro_usd, denied_at
         FROM denials
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY denied_at DESC, id DESC
        LIMIT $${params.push(f.limit + 1)}`,
      params,
    );
    return rows.map(toRecord);
  }
}
