import type {
  AnsweredBy,
  JudgeVerdict,
  ReasoningEffort,
  ServiceTier,
  ShadowOutcome,
  TaskSpec,
  TokenUsage,
} from '@deliberate/contracts';
import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

export type ShadowRunStatus = 'pending' | 'started' | 'ended' | 'judging' | 'judged' | 'done';

/** The live side of the comparison, as the task was answered. */
export interface LiveSide {
  answer: string;
  model: string;
  answeredBy: AnsweredBy;
  latencyMs: number;
  usage: TokenUsage;
}

/** How the shadow call ended, recorded the moment it did. */
export interface ShadowResult {
  outcome: ShadowOutcome;
  answer: string | null;
  usage: TokenUsage;
  latencyMs: number;
  /** The tier the provider served (the one asked for when it did not say). */
  servedTier: ServiceTier;
  finishReason: string | null;
  errorMessage: string | null;
  /** Cut off by a crash or a shutdown: booked at its hold's worst case, as the provider may bill it. */
  aborted: boolean;
  /** When the end was recorded: the comparison's time, the same when its events are sent again. */
  endedAt: string;
}

/** How the judge's call ended, recorded the moment it did. */
export interface JudgeResult {
  verdict: JudgeVerdict;
  reason: string | null;
  usage: TokenUsage;
  latencyMs: number;
  /** Cut off by a crash or a shutdown: booked at its hold's worst case. */
  aborted: boolean;
}

export interface ShadowRun {
  id: string;
  executionId: string;
  taskId: string;
  tenantId: string;
  model: string;
  serviceTier: ServiceTier;
  status: ShadowRunStatus;
  live: LiveSide;
  /** The live reasoning call's output limit and effort: the shadow call gets the same. */
  maxCompletionTokens: number;
  reasoningEffort: ReasoningEffort | null;
  apiKeyId: string | null;
  project: string | null;
  reservationId: string | null;
  usageEventId: string;
  comparisonEventId: string;
  result: ShadowResult | null;
  /** The policy's judge model when the run was written; null: normalised exact match alone. */
  judgeModel: string | null;
  judgeReservationId: string | null;
  judgeUsageEventId: string;
  judge: JudgeResult | null;
  createdAt: Date;
}

/** A claimed run, with what its prompt is made of (its execution's spec). */
export interface ClaimedShadowRun extends ShadowRun {
  prompt: Pick<TaskSpec, 'input' | 'context'> | null;
}

interface Row {
  id: string;
  execution_id: string;
  task_id: string;
  tenant_id: string;
  model: string;
  service_tier: ServiceTier;
  status: ShadowRunStatus;
  live: LiveSide;
  max_completion_tokens: number;
  reasoning_effort: ReasoningEffort | null;
  api_key_id: string | null;
  project: string | null;
  reservation_id: string | null;
  usage_event_id: string;
  comparison_event_id: string;
  result: ShadowResult | null;
  judge_model: string | null;
  judge_reservation_id: string | null;
  judge_usage_event_id: string;
  judge: JudgeResult | null;
  created_at: Date;
  prompt?: Pick<TaskSpec, 'input' | 'context'> | null;
}

const COLUMNS = `id, execution_id, task_id, tenant_id, model, service_tier, status, live, max_completion_tokens,
  reasoning_effort, api_key_id, project, reservation_id, usage_event_id, comparison_event_id, result, judge_model, judge_reservation_id,
  judge_usage_event_id, judge, created_at`;

const toRun = (r: Row): ShadowRun => ({
  id: r.id,
  executionId: r.execution_id,
  taskId: r.task_id,
  tenantId: r.tenant_id,
  model: r.model,
  serviceTier: r.service_tier,
  status: r.status,
  live: r.live,
  maxCompletionTokens: r.max_completion_tokens,
  reasoningEffort: r.reasoning_effort,
  apiKeyId: r.api_key_id,
  project: r.project,
  reservationId: r.reservation_id,
  usageEventId: r.usage_event_id,
  comparisonEventId: r.comparison_event_id,
  result: r.result,
  judgeModel: r.judge_model,
  judgeReservationId: r.judge_reservation_id,
  judgeUsageEventId: r.judge_usage_event_id,
  judge: r.judge,
  createdAt: r.created_at,
});

@Injectable()
export class ShadowRunRepository {
  /** In the transaction that stores the execution's outcome: at most one run per execution. */
  async create(
    tx: Sql,
    run: Omit<
      ShadowRun,
      'status' | 'reservationId' | 'result' | 'judgeReservationId' | 'judge' | 'createdAt'
    >,
  ): Promise<void> {
    await tx.execute(
      `INSERT INTO shadow_runs (id, execution_id, task_id, tenant_id, model, service_tier, live, usage_event_id,
                                comparison_event_id, max_completion_tokens, reasoning_effort, api_key_id, project,
                                judge_model, judge_usage_event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (execution_id) DO NOTHING`,
      [
        run.id,
        run.executionId,
        run.taskId,
        run.tenantId,
        run.model,
        run.serviceTier,
        JSON.stringify(run.live),
        run.usageEventId,
        run.comparisonEventId,
        run.maxCompletionTokens,
        run.reasoningEffort,
        run.apiKeyId,
        run.project,
        run.judgeModel,
        run.judgeUsageEventId,
      ],
    );
  }

  /**
   * Leases up to `limit` runs that are not done and free (never leased, or their lease ran out: the owner died),
   * oldest first; replicas skip each other's rows.
   */
  async claim(sql: Sql, owner: string, leaseMs: number, limit: number): Promise<ClaimedShadowRun[]> {
    const rows = await sql.query<Row>(
      `UPDATE shadow_runs SET owner = $1, lease_expires_at = now() + make_interval(secs => $2::double precision / 1000)
        WHERE id IN (SELECT id FROM shadow_runs
                      WHERE status <> 'done' AND (lease_expires_at IS NULL OR lease_expires_at < now())
                      ORDER BY created_at
                      LIMIT $3
                      FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS},
          (SELECT jsonb_build_object('input', e.spec->'input', 'context', e.spec->'context')
             FROM executions e WHERE e.id = shadow_runs.execution_id) AS prompt`,
      [owner, leaseMs, limit],
    );
    return rows
      .map((r) => ({ ...toRun(r), prompt: r.prompt ?? null }))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** The hold is taken: recorded before the call, so a crash after it never leads to a second call. */
  async markStarted(sql: Sql, owner: string, id: string, reservationId: string): Promise<boolean> {
    const n = await sql.execute(
      `UPDATE shadow_runs SET status = 'started', reservation_id = $3, started_at = now()
        WHERE id = $2 AND owner = $1 AND status = 'pending'`,
      [owner, id, reservationId],
    );
    return n === 1;
  }

  /** The call's end (or the run's, without a call): from a pending or started run. */
  async markEnded(sql: Sql, owner: string, id: string, result: ShadowResult): Promise<boolean> {
    const n = await sql.execute(
      `UPDATE shadow_runs SET status = 'ended', result = $3, ended_at = now()
        WHERE id = $2 AND owner = $1 AND status IN ('pending', 'started')`,
      [owner, id, JSON.stringify(result)],
    );
    return n === 1;
  }

  /** The judge's hold is taken: recorded before its call, like the shadow call's. */
  async markJudging(sql: Sql, owner: string, id: string, reservationId: string): Promise<boolean> {
    const n = await sql.execute(
      `UPDATE shadow_runs SET status = 'judging', judge_reservation_id = $3
        WHERE id = $2 AND owner = $1 AND status = 'ended'`,
      [owner, id, reservationId],
    );
    return n === 1;
  }

  /** The judge's end (or its refusal, without a call): from an ended or judging run. */
  async markJudged(sql: Sql, owner: string, id: string, judge: JudgeResult): Promise<boolean> {
    const n = await sql.execute(
      `UPDATE shadow_runs SET status = 'judged', judge = $3
        WHERE id = $2 AND owner = $1 AND status IN ('ended', 'judging')`,
      [owner, id, JSON.stringify(judge)],
    );
    return n === 1;
  }

  async markDone(sql: Sql, owner: string, id: string): Promise<void> {
    await sql.execute(
      `UPDATE shadow_runs SET status = 'done', owner = NULL, lease_expires_at = NULL
        WHERE id = $2 AND owner = $1 AND status IN ('ended', 'judged')`,
      [owner, id],
    );
  }

  /** Hands a run back at shutdown, or after a failure, for the next poll (of any instance). */
  async release(sql: Sql, owner: string, id: string): Promise<void> {
    await sql.execute(
      `UPDATE shadow_runs SET owner = NULL, lease_expires_at = NULL WHERE id = $2 AND owner = $1 AND status <> 'done'`,
      [owner, id],
    );
  }
}
