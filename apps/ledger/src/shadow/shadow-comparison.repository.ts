import type { ShadowComparisonRecorded } from '@deliberate/contracts';
import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import { toNumber } from '../persistence/postgres-numbers';

export interface ComparisonToStore {
  eventId: string;
  tenantId: string;
  taskId: string;
  data: ShadowComparisonRecorded;
}

/** The report's sums over one tenant's comparisons of a period (one route, or all). */
export interface ShadowAggregate {
  compared: number;
  outcomes: Record<string, number>;
  answeredBoth: number;
  agreed: number;
  /** Of the tasks both answered, those the judge decided. */
  judged: number;
  judgeCalls: number;
  judgeMicroUsd: number;
  judgeModels: string[];
  liveMicroUsd: number;
  shadowMicroUsd: number;
  liveInputTokens: number;
  liveOutputTokens: number;
  shadowInputTokens: number;
  shadowOutputTokens: number;
  liveLatency: { mean: number | null; p50: number | null; p95: number | null };
  shadowLatency: { mean: number | null; p50: number | null; p95: number | null };
  liveModels: string[];
  shadowModels: string[];
  /** The tenant's tasks with a booked reasoner call in the period: the route's traffic. */
  routeTasks: number;
}

const ANSWERED = ['ok', 'length'];

@Injectable()
export class ShadowComparisonRepository {
  /** False when the comparison is stored already (a redelivery, or the same run under another event id). */
  async insert(sql: Sql, c: ComparisonToStore): Promise<boolean> {
    const d = c.data;
    const rows = await sql.query(
      `INSERT INTO shadow_comparisons (event_id, shadow_run_id, tenant_id, task_id, route, live_model,
              live_answered_by, live_latency_ms, live_input_tokens, live_output_tokens, shadow_model,
              shadow_service_tier, shadow_outcome, shadow_latency_ms, shadow_input_tokens, shadow_output_tokens,
              shadow_reservation_id, agreed, compared_at, agreement_method, judge_model, judge_verdict,
              judge_reservation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
       ON CONFLICT DO NOTHING
       RETURNING event_id`,
      [
        c.eventId,
        d.shadowRunId,
        c.tenantId,
        c.taskId,
        d.route,
        d.live.model,
        d.live.answeredBy,
        d.live.latencyMs,
        d.live.usage.inputTokens,
        d.live.usage.outputTokens,
        d.shadow.model,
        d.shadow.serviceTier,
        d.shadow.outcome,
        d.shadow.latencyMs,
        d.shadow.usage.inputTokens,
        d.shadow.usage.outputTokens,
        d.shadow.reservationId,
        d.agreement.agreed,
        d.comparedAt,
        d.agreement.method,
        d.agreement.judge?.model ?? null,
        d.agreement.judge?.verdict ?? null,
        d.agreement.judge?.reservationId ?? null,
      ],
    );
    return rows.length > 0;
  }

  async aggregate(
    sql: Sql,
    q: { tenantId: string; from: Date; to: Date; route: string | null },
  ): Promise<ShadowAggregate> {
    const params = [q.tenantId, q.from, q.to, q.route];
    const scope = `tenant_id = $1 AND compared_at >= $2 AND compared_at < $3 AND ($4::text IS NULL OR route = $4)`;
    const [totals] = await sql.query<Record<string, string | null>>(
      `WITH c AS (SELECT * FROM shadow_comparisons WHERE ${scope})
       SELECT count(*) AS compared,
              count(*) FILTER (WHERE shadow_outcome = ANY($5::text[])) AS answered_both,
              count(*) FILTER (WHERE agreed) AS agreed,
              count(*) FILTER (WHERE agreement_method = 'judge' AND shadow_outcome = ANY($5::text[])) AS judged,
              count(judge_reservation_id) AS judge_calls,
              (SELECT coalesce(sum(b.cost_micro_usd), 0) FROM bookings b
                WHERE b.tenant_id = $1 AND b.shadow AND b.reservation_id IN (SELECT judge_reservation_id FROM c))
                AS judge_cost,
              coalesce(sum(live_input_tokens), 0) AS live_input, coalesce(sum(live_output_tokens), 0) AS live_output,
              coalesce(sum(shadow_input_tokens), 0) AS shadow_input,
              coalesce(sum(shadow_output_tokens), 0) AS shadow_output,
              avg(live_latency_ms) AS live_mean,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY live_latency_ms) AS live_p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY live_latency_ms) AS live_p95,
              avg(shadow_latency_ms) FILTER (WHERE shadow_outcome = ANY($5::text[])) AS shadow_mean,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY shadow_latency_ms)
                FILTER (WHERE shadow_outcome = ANY($5::text[])) AS shadow_p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY shadow_latency_ms)
                FILTER (WHERE shadow_outcome = ANY($5::text[])) AS shadow_p95,
              -- Each side's calls of the compared tasks, as booked: the live ones are the task's bookings that are
              -- not shadow nor the triage's (the same on both sides), the shadow one its reservation's.
              (SELECT coalesce(sum(b.cost_micro_usd), 0) FROM bookings b
                WHERE b.tenant_id = $1 AND b.task_id IN (SELECT task_id FROM c)
                  AND NOT b.shadow AND b.tier IS DISTINCT FROM 'fast') AS live_cost,
              (SELECT coalesce(sum(b.cost_micro_usd), 0) FROM bookings b
                WHERE b.tenant_id = $1 AND b.shadow AND b.reservation_id IN (SELECT shadow_reservation_id FROM c))
                AS shadow_cost,
              (SELECT count(DISTINCT b.task_id) FROM bookings b
                WHERE b.tenant_id = $1 AND b.event_time >= $2 AND b.event_time < $3 AND NOT b.shadow
                  AND b.tier IN ('reasoning', 'standard')) AS route_tasks
         FROM c`,
      [...params, ANSWERED],
    );
    const outcomes = await sql.query<{ outcome: string; n: string }>(
      `SELECT shadow_outcome AS outcome, count(*) AS n FROM shadow_comparisons WHERE ${scope}
        GROUP BY shadow_outcome ORDER BY shadow_outcome`,
      params,
    );
    const models = await sql.query<{ side: string; model: string }>(
      `SELECT 'live' AS side, live_model AS model, count(*) AS n FROM shadow_comparisons WHERE ${scope}
        GROUP BY live_model
       UNION ALL
       SELECT 'shadow', shadow_model, count(*) FROM shadow_comparisons WHERE ${scope} GROUP BY shadow_model
       UNION ALL
       SELECT 'judge', judge_model, count(*) FROM shadow_comparisons
        WHERE ${scope} AND judge_model IS NOT NULL GROUP BY judge_model
       ORDER BY side, n DESC, model`,
      params,
    );
    const t = totals!;
    const num = (v: string | null | undefined) => (v === null || v === undefined ? 0 : toNumber(v));
    const opt = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
    return {
      compared: num(t['compared']),
      outcomes: Object.fromEntries(outcomes.map((o) => [o.outcome, num(o.n)])),
      answeredBoth: num(t['answered_both']),
      agreed: num(t['agreed']),
      judged: num(t['judged']),
      judgeCalls: num(t['judge_calls']),
      judgeMicroUsd: num(t['judge_cost']),
      judgeModels: models.filter((m) => m.side === 'judge').map((m) => m.model),
      liveMicroUsd: num(t['live_cost']),
      shadowMicroUsd: num(t['shadow_cost']),
      liveInputTokens: num(t['live_input']),
      liveOutputTokens: num(t['live_output']),
      shadowInputTokens: num(t['shadow_input']),
      shadowOutputTokens: num(t['shadow_output']),
      liveLatency: { mean: opt(t['live_mean']), p50: opt(t['live_p50']), p95: opt(t['live_p95']) },
      shadowLatency: { mean: opt(t['shadow_mean']), p50: opt(t['shadow_p50']), p95: opt(t['shadow_p95']) },
      liveModels: models.filter((m) => m.side === 'live').map((m) => m.model),
      shadowModels: models.filter((m) => m.side === 'shadow').map((m) => m.model),
      routeTasks: num(t['route_tasks']),
    };
  }
}
