import type { ServiceTier, TokenUsage } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';
import { toNullableNumber, toNumber } from '../persistence/postgres-numbers';

export interface BookingRecord {
  eventId: string;
  tenantId: string;
  taskId: string | null;
  reservationId: string | null;
  /** The API key and project the call was reserved under (its reservation's); null without one. */
  apiKeyId: string | null;
  project: string | null;
  callId: string | null;
  model: string;
  /** The service tier the call was served at, which priced it. */
  serviceTier: ServiceTier;
  tier: string | null;
  purpose: string | null;
  outcome: string | null;
  usage: TokenUsage;
  costMicroUsd: number;
  priceId: number | null;
  eventTime: Date;
  source: 'event' | 'settle';
  /** How much the cost passed the hold's worst case (booked in full all the same); null when within it. */
  exceededHoldMicroUsd: number | null;
  /** An aborted call whose provider reported no usage, booked at its hold's worst case. */
  aborted: boolean;
  /** The blind abort booking this call's real usage replaced. */
  supersedesEventId: string | null;
  /** The booking of the call's real usage that replaced this blind abort (its cost is then 0). */
  supersededByEventId: string | null;
  /** A shadow call's booking (shadow evaluation): on the shadow counter, not the tenant's budgets. */
  shadow: boolean;
}

interface BookingRow {
  event_id: string;
  tenant_id: string;
  task_id: string | null;
  reservation_id: string | null;
  api_key_id: string | null;
  project: string | null;
  call_id: string | null;
  model: string;
  service_tier: ServiceTier;
  tier: string | null;
  purpose: string | null;
  outcome: string | null;
  input_tokens: string;
  cached_input_tokens: string;
  output_tokens: string;
  reasoning_tokens: string;
  cost_micro_usd: string;
  price_id: string | null;
  event_time: Date;
  source: 'event' | 'settle';
  exceeded_hold_micro_usd: string | null;
  aborted: boolean;
  supersedes_event_id: string | null;
  superseded_by_event_id: string | null;
  shadow: boolean;
}

const COLUMNS = `event_id, tenant_id, task_id, reservation_id, api_key_id, project, call_id, model, service_tier, tier,
  purpose, outcome,
  input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_micro_usd, price_id, event_time, source,
  exceeded_hold_micro_usd, aborted, supersedes_event_id, superseded_by_event_id, shadow`;

const toRecord = (r: BookingRow): BookingRecord => ({
  eventId: r.event_id,
  tenantId: r.tenant_id,
  taskId: r.task_id,
  reservationId: r.reservation_id,
  apiKeyId: r.api_key_id,
  project: r.project,
  callId: r.call_id,
  model: r.model,
  serviceTier: r.service_tier,
  tier: r.tier,
  purpose: r.purpose,
  outcome: r.outcome,
  usage: {
    inputTokens: toNumber(r.input_tokens),
    cachedInputTokens: toNumber(r.cached_input_tokens),
    outputTokens: toNumber(r.output_tokens),
    reasoningTokens: toNumber(r.reasoning_tokens),
  },
  costMicroUsd: toNumber(r.cost_micro_usd),
  priceId: r.price_id === null ? null : Number(r.price_id),
  eventTime: r.event_time,
  source: r.source,
  exceededHoldMicroUsd: toNullableNumber(r.exceeded_hold_micro_usd),
  aborted: r.aborted,
  supersedesEventId: r.supersedes_event_id,
  supersededByEventId: r.superseded_by_event_id,
  shadow: r.shadow,
});

@Injectable()
export class BookingRepository {
  /** Books a call once per event id: false when that id is already booked (a replay, or a conflict). */
  async insertIfAbsent(tx: Sql, b: BookingRecord): Promise<boolean> {
    const rows = await tx.query<{ event_id: string }>(
      `INSERT INTO bookings (event_id, tenant_id, task_id, reservation_id, call_id, model, tier, purpose, outcome,
                             input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_micro_usd,
                             price_id, event_time, source, api_key_id, project, exceeded_hold_micro_usd, aborted,
                             supersedes_event_id, superseded_by_event_id, service_tier, shadow)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
               $24, $25)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [
        b.eventId,
        b.tenantId,
        b.taskId,
        b.reservationId,
        b.callId,
        b.model,
        b.tier,
        b.purpose,
        b.outcome,
        b.usage.inputTokens,
        b.usage.cachedInputTokens,
        b.usage.outputTokens,
        b.usage.reasoningTokens,
        b.costMicroUsd,
        b.priceId,
        b.eventTime,
        b.source,
        b.apiKeyId,
        b.project,
        b.exceededHoldMicroUsd,
        b.aborted,
        b.supersedesEventId,
        b.supersededByEventId,
        b.serviceTier,
        b.shadow,
      ],
    );
    return rows.length > 0;
  }

  async findByEventId(sql: Sql, eventId: string): Promise<BookingRecord | null> {
    const rows = await sql.query<BookingRow>(`SELECT ${COLUMNS} FROM bookings WHERE event_id = $1`, [
      eventId,
    ]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Marks a blind abort booking as replaced by the booking of the call's real usage: its cost moves to
   * superseded_cost_micro_usd and becomes 0, so a sum over bookings counts the call once.
   */
  async markSuperseded(tx: Sql, eventId: string, byEventId: string): Promise<void> {
    await tx.query(
      `UPDATE bookings SET superseded_by_event_id = $2, superseded_cost_micro_usd = cost_micro_usd, cost_micro_usd = 0,
              superseded_at = now()
        WHERE event_id = $1 AND superseded_by_event_id IS NULL`,
      [eventId, byEventId],
    );
  }

  /** A settle books before the usage event arrives; the event then adds what the settle could not know. */
  async fillAttribution(
    tx: Sql,
    eventId: string,
    a: { callId: string | null; tier: string | null; purpose: string | null; outcome: string | null },
  ): Promise<void> {
    await tx.query(
      `UPDATE bookings SET call_id = COALESCE(call_id, $2), tier = COALESCE(tier, $3), purpose = COALESCE(purpose, $4),
              outcome = COALESCE(outcome, $5)
        WHERE event_id = $1 AND (call_id IS NULL OR tier IS NULL OR purpose IS NULL OR outcome IS NULL)`,
      [eventId, a.callId, a.tier, a.purpose, a.outcome],
    );
  }

  /** What the tenant's calls made after `since` cost: the breaker's sliding window. */
  async spendSince(sql: Sql, tenantId: string, since: Date): Promise<number> {
    const rows = await sql.query<{ spent: string }>(
      // Live spend only: shadow calls have their own budget and never trip the tenant's breaker.
      `SELECT COALESCE(SUM(cost_micro_usd), 0)::text AS spent FROM bookings
        WHERE tenant_id = $1 AND event_time > $2 AND NOT shadow`,
      [tenantId, since],
    );
    return toNumber(rows[0]?.spent ?? null);
  }
}
