import { Injectable } from '@nestjs/common';
import type { CounterKey } from './budget-periods';
import type { Sql } from '@deliberate/persistence';
import { toNullableNumber, toNumber } from '../persistence/postgres-numbers';

export type ReservationStatus = 'active' | 'settled' | 'released' | 'expired';

export interface ReservationRecord {
  id: string;
  /** The reserve command's correlation id, when it came over Kafka. */
  requestId: string | null;
  /** The caller's idempotency key for this hold: one reservation per tenant and key. */
  reservationKey: string | null;
  /** What the request asked for, so a different request under a used key is told apart from a retry. */
  requestFingerprint: string | null;
  tenantId: string;
  taskId: string;
  apiKeyId: string | null;
  project: string | null;
  model: string;
  priceId: number;
  amountMicroUsd: number;
  /** The period counters the hold was taken on: a settle or release gives it back to these very periods. */
  counterKeys: CounterKey[];
  /** A shadow call's hold: on the shadow counter only, never on the task's counter. */
  shadow: boolean;
  status: ReservationStatus;
  createdAt: Date;
  expiresAt: Date;
  releasedMicroUsd: number | null;
  usageEventId: string | null;
}

interface ReservationRow {
  id: string;
  request_id: string | null;
  reservation_key: string | null;
  request_fingerprint: string | null;
  tenant_id: string;
  task_id: string;
  api_key_id: string | null;
  project: string | null;
  model: string;
  price_id: string;
  amount_micro_usd: string;
  counter_keys: CounterKey[];
  shadow: boolean;
  status: ReservationStatus;
  created_at: Date;
  expires_at: Date;
  released_micro_usd: string | null;
  usage_event_id: string | null;
}

const COLUMNS = `id, request_id, reservation_key, request_fingerprint, tenant_id, task_id, api_key_id, project, model, price_id, amount_micro_usd, counter_keys, shadow, status,
  created_at, expires_at, released_micro_usd, usage_event_id`;

const toRecord = (r: ReservationRow): ReservationRecord => ({
  id: r.id,
  requestId: r.request_id,
  reservationKey: r.reservation_key,
  requestFingerprint: r.request_fingerprint,
  tenantId: r.tenant_id,
  taskId: r.task_id,
  apiKeyId: r.api_key_id,
  project: r.project,
  model: r.model,
  priceId: Number(r.price_id),
  amountMicroUsd: toNumber(r.amount_micro_usd),
  counterKeys: r.counter_keys,
  shadow: r.shadow,
  status: r.status,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  releasedMicroUsd: toNullableNumber(r.released_micro_usd),
  usageEventId: r.usage_event_id,
});

@Injectable()
export class ReservationRepository {
  /** False when a reservation for the same request, or under the same tenant and key, exists already. */
  async insertIfNewRequest(
    tx: Sql,
    r: Omit<ReservationRecord, 'status' | 'releasedMicroUsd' | 'usageEventId'>,
  ): Promise<boolean> {
    const rows = await tx.query<{ id: string }>(
      `INSERT INTO reservations (id, tenant_id, task_id, api_key_id, project, model, price_id, amount_micro_usd,
                                 counter_keys, status, created_at, expires_at, request_id, reservation_key,
                                 request_fingerprint, shadow)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12, $13, $14, $15)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        r.id,
        r.tenantId,
        r.taskId,
        r.apiKeyId,
        r.project,
        r.model,
        r.priceId,
        r.amountMicroUsd,
        JSON.stringify(r.counterKeys),
        r.createdAt,
        r.expiresAt,
        r.requestId,
        r.reservationKey,
        r.requestFingerprint,
        r.shadow,
      ],
    );
    return rows.length > 0;
  }

  /**
   * The reservation an earlier delivery of the same request made (by its correlation id), else the one made under
   * the same reservation key: one statement for both lookups.
   */
  async findEarlier(
    sql: Sql,
    requestId: string | null,
    tenantId: string,
    reservationKey: string | null,
  ): Promise<ReservationRecord | null> {
    const rows = await sql.query<ReservationRow>(
      `SELECT ${COLUMNS} FROM reservations
        WHERE request_id = $1 OR (tenant_id = $2 AND reservation_key = $3)
        ORDER BY (request_id = $1) IS TRUE DESC
        LIMIT 1`,
      [requestId, tenantId, reservationKey],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Locks the reservation for the rest of the transaction: settle, release and the sweeper take turns on it. */
  async lock(tx: Sql, id: string): Promise<ReservationRecord | null> {
    const rows = await tx.query<ReservationRow>(
      `SELECT ${COLUMNS} FROM reservations WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async find(sql: Sql, id: string): Promise<ReservationRecord | null> {
    const rows = await sql.query<ReservationRow>(`SELECT ${COLUMNS} FROM reservations WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async markSettled(
    tx: Sql,
    id: string,
    usageEventId: string,
    cost: number,
    released: number,
  ): Promise<void> {
    await tx.query(
      `UPDATE reservations SET status = 'settled', closed_at = now(), usage_event_id = $2, cost_micro_usd = $3,
              released_micro_usd = $4, close_reason = 'settled'
        WHERE id = $1`,
      [id, usageEventId, cost, released],
    );
  }

  /** A settled reservation's booking replaced by the call's real usage (it had been booked as a blind abort). */
  async markRebooked(
    tx: Sql,
    id: string,
    usageEventId: string,
    cost: number,
    released: number,
    reason: string,
  ): Promise<void> {
    await tx.query(
      `UPDATE reservations SET usage_event_id = $2, cost_micro_usd = $3, released_micro_usd = $4, close_reason = $5
        WHERE id = $1`,
      [id, usageEventId, cost, released, reason.slice(0, 500)],
    );
  }

  /** Notes the usage booked after the hold was already gone (released or expired before the call reported). */
  async noteLateUsage(tx: Sql, id: string, usageEventId: string, cost: number): Promise<void> {
    await tx.query(
      `UPDATE reservations SET usage_event_id = COALESCE(usage_event_id, $2), cost_micro_usd = COALESCE(cost_micro_usd, 0) + $3
        WHERE id = $1`,
      [id, usageEventId, cost],
    );
  }

  async markReleased(
    tx: Sql,
    ids: readonly string[],
    status: 'released' | 'expired',
    reason: string,
  ): Promise<void> {
    await tx.query(
      `UPDATE reservations SET status = $2, closed_at = now(), released_micro_usd = amount_micro_usd, close_reason = $3
        WHERE id = ANY($1::uuid[])`,
      [ids, status, reason.slice(0, 500)],
    );
  }

  /** What each tenant's active reservations hold: one statement over the active rows (a partial index). */
  async heldByTenant(sql: Sql): Promise<Array<{ tenantId: string; heldMicroUsd: number }>> {
    const rows = await sql.query<{ tenant_id: string; held: string }>(
      `SELECT tenant_id, SUM(amount_micro_usd)::text AS held FROM reservations
        WHERE status = 'active'
        GROUP BY tenant_id`,
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, heldMicroUsd: toNumber(r.held) }));
  }

  /** Active reservations past their expiry, locked; rows another instance holds are skipped, not waited for. */
  async claimExpired(tx: Sql, limit: number): Promise<ReservationRecord[]> {
    const rows = await tx.query<ReservationRow>(
      `SELECT ${COLUMNS} FROM reservations
        WHERE status = 'active' AND expires_at <= now()
        ORDER BY expires_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map(toRecord);
  }
}
