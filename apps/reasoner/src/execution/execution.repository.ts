import type {
  ContextSelectionEntry,
  ServiceTier,
  TaskSpec,
  TokenUsage,
  TriageDecision,
} from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import type {
  AttemptRecord,
  AttemptResult,
  AttemptStatus,
  ExecutionOutcome,
  ExecutionRecord,
  ExecutionState,
  ExecutionStatus,
  FailureReason,
  TraceOutcome,
} from './execution-record';
import { runSpecOf } from './run-spec';

interface ExecutionRow {
  id: string;
  task_id: string;
  tenant_id: string;
  spec: TaskSpec;
  context_selection: ContextSelectionEntry[] | null;
  created_at: Date;
  deadline_at: Date;
  status: ExecutionStatus;
  cancel_requested_at: Date | null;
  cancel_reason: string | null;
  outcome: ExecutionOutcome | null;
}

interface AttemptRow {
  id: string;
  execution_id: string;
  attempt: number;
  tier: AttemptRecord['tier'];
  model: string;
  status: AttemptStatus;
  outcome: TraceOutcome | null;
  reason: FailureReason | null;
  detail: string | null;
  instance_id: string;
  reservation_id: string | null;
  response_id: string | null;
  service_tier: ServiceTier | null;
  service_tier_reason: string | null;
  max_completion_tokens: number | null;
  reasoning_effort: AttemptRecord['reasoningEffort'];
  deadline_at: Date | null;
  started_at: Date;
  finished_at: Date | null;
  finish_reason: string | null;
  usage: TokenUsage | null;
  result: AttemptResult | null;
  usage_event_id: string;
  trace_event_id: string;
}

const EXECUTION_COLUMNS = `id, task_id, tenant_id, spec, context_selection, created_at, deadline_at, status,
  cancel_requested_at, cancel_reason, outcome`;

const toExecution = (r: ExecutionRow): ExecutionRecord => ({
  id: r.id,
  taskId: r.task_id,
  tenantId: r.tenant_id,
  spec: runSpecOf(r.spec),
  contextSelection: r.context_selection,
  createdAt: r.created_at,
  deadlineAt: r.deadline_at,
  status: r.status,
  cancelRequestedAt: r.cancel_requested_at,
  cancelReason: r.cancel_reason,
  outcome: r.outcome,
});

const toAttempt = (r: AttemptRow): AttemptRecord => ({
  id: r.id,
  executionId: r.execution_id,
  attempt: r.attempt,
  tier: r.tier,
  model: r.model,
  status: r.status,
  outcome: r.outcome,
  reason: r.reason,
  detail: r.detail,
  instanceId: r.instance_id,
  reservationId: r.reservation_id,
  responseId: r.response_id,
  serviceTier: r.service_tier,
  serviceTierReason: r.service_tier_reason,
  maxCompletionTokens: r.max_completion_tokens,
  reasoningEffort: r.reasoning_effort,
  deadlineAt: r.deadline_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  finishReason: r.finish_reason,
  usage: r.usage,
  result: r.result,
  usageEventId: r.usage_event_id,
  traceEventId: r.trace_event_id,
});

/** Thrown when an execution is no longer this instance's (its lease lapsed and another took it): stop quietly. */
export class LostOwnershipError extends Error {
  constructor(executionId: string) {
    super(`execution ${executionId} is owned by another instance now`);
    this.name = 'LostOwnershipError';
  }
}

export interface NewExecution {
  id: string;
  taskId: string;
  tenantId: string;
  spec: TaskSpec;
  decision: TriageDecision;
  contextSelection: ContextSelectionEntry[] | null;
  requestedAt: Date;
  createdAt: Date;
  deadlineAt: Date;
}

export interface CancelRequest {
  taskId: string;
  tenantId: string;
  requestedBy: string;
  reason: string | null;
  requestedAt: Date;
}

export interface AttemptEnd {
  status: Exclude<AttemptStatus, 'started'>;
  outcome: TraceOutcome | null;
  reason: FailureReason | null;
  detail: string | null;
  finishedAt: Date;
  finishReason: string | null;
  usage: TokenUsage | null;
  result: AttemptResult | null;
}

export type NewAttempt = Omit<AttemptRecord, 'executionId' | 'instanceId'>;

// Every write an execution's run makes is fenced by its owner: an instance whose lease lapsed (a long pause, a
// partition) finds its writes refused instead of racing the instance that took the execution over.
@Injectable()
export class ExecutionRepository {
  constructor(private readonly sql: Sql) {}

  /** Inserts the execution, owned by `owner`, unless one exists for the task; returns the stored one. */
  async insert(
    e: NewExecution,
    owner: string,
    leaseMs: number,
  ): Promise<{ execution: ExecutionRecord; created: boolean }> {
    const inserted = await this.sql.query<ExecutionRow>(
      `INSERT INTO executions (id, task_id, tenant_id, spec, decision, context_selection, requested_at, created_at,
                               deadline_at, status, owner, lease_expires_at, claims, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, now() + $11 * interval '1 millisecond', 1, $8)
       ON CONFLICT (task_id) DO NOTHING
       RETURNING ${EXECUTION_COLUMNS}`,
      [
        e.id,
        e.taskId,
        e.tenantId,
        JSON.stringify(e.spec),
        JSON.stringify(e.decision),
        e.contextSelection === null ? null : JSON.stringify(e.contextSelection),
        e.requestedAt,
        e.createdAt,
        e.deadlineAt,
        owner,
        leaseMs,
      ],
    );
    if (inserted[0]) return { execution: toExecution(inserted[0]), created: true };
    const existing = await this.sql.query<ExecutionRow>(
      `SELECT ${EXECUTION_COLUMNS} FROM executions WHERE task_id = $1`,
      [e.taskId],
    );
    if (!existing[0]) throw new Error(`execution of task ${e.taskId} conflicted but cannot be read`);
    return { execution: toExecution(existing[0]), created: false };
  }

  /**
   * Applies a cancel that arrived before the request. Run after the insert committed: a cancel committed before
   * it is seen here, one committed after it finds the execution itself.
   */
  async applyRememberedCancel(taskId: string): Promise<{ at: Date; reason: string | null } | null> {
    const rows = await this.sql.query<{ cancel_requested_at: Date; cancel_reason: string | null }>(
      `UPDATE executions e
          SET cancel_requested_at = c.requested_at,
              cancel_reason = COALESCE(c.reason, 'cancelled by ' || c.requested_by), updated_at = now()
         FROM cancel_requests c
        WHERE e.task_id = $1 AND c.task_id = e.task_id AND c.tenant_id = e.tenant_id AND e.cancel_requested_at IS NULL AND e.outcome IS NULL
       RETURNING e.cancel_requested_at, e.cancel_reason`,
      [taskId],
    );
    return rows[0] ? { at: rows[0].cancel_requested_at, reason: rows[0].cancel_reason } : null;
  }

  async rememberCancel(c: CancelRequest): Promise<void> {
    await this.sql.execute(
      `INSERT INTO cancel_requests (task_id, tenant_id, requested_by, reason, requested_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task_id) DO NOTHING`,
      [c.taskId, c.tenantId, c.requestedBy, c.reason, c.requestedAt],
    );
  }

  /** Marks an unfinished execution cancelled-on-request; null when there is none (unknown or already ended). */
  async requestCancel(c: CancelRequest): Promise<{ id: string; owner: string | null } | null> {
    const rows = await this.sql.query<{ id: string; owner: string | null }>(
      `UPDATE executions
          SET cancel_requested_at = COALESCE(cancel_requested_at, $2), cancel_reason = COALESCE(cancel_reason, $3),
              updated_at = now()
        WHERE task_id = $1 AND tenant_id = $4 AND outcome IS NULL
       RETURNING id, owner`,
      [c.taskId, c.requestedAt, c.reason ?? `cancelled by ${c.requestedBy}`, c.tenantId],
    );
    return rows[0] ?? null;
  }

  async load(executionId: string): Promise<ExecutionState | null> {
    const rows = await this.sql.query<ExecutionRow>(
      `SELECT ${EXECUTION_COLUMNS} FROM executions WHERE id = $1`,
      [executionId],
    );
    if (!rows[0]) return null;
    return { execution: toExecution(rows[0]), attempts: await this.attemptsOf(executionId) };
  }

  async attemptsOf(executionId: string): Promise<AttemptRecord[]> {
    const rows = await this.sql.query<AttemptRow>(
      `SELECT * FROM attempts WHERE execution_id = $1 ORDER BY attempt`,
      [executionId],
    );
    return rows.map(toAttempt);
  }

  /**
   * Takes over up to `limit` unfinished executions nobody holds: never owned, or whose owner's lease lapsed (it
   * crashed). SKIP LOCKED lets several instances claim at once without waiting on each other.
   */
  async claim(owner: string, leaseMs: number, limit: number): Promise<{ id: string; tenantId: string }[]> {
    if (limit <= 0) return [];
    const rows = await this.sql.query<{ id: string; tenant_id: string }>(
      `UPDATE executions
          SET owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond', claims = claims + 1,
              updated_at = now()
        WHERE id IN (SELECT id FROM executions
                      WHERE outcome IS NULL AND (lease_expires_at IS NULL OR lease_expires_at < now())
                      ORDER BY created_at
                      LIMIT $3
                      FOR UPDATE SKIP LOCKED)
       RETURNING id, tenant_id`,
      [owner, leaseMs, limit],
    );
    return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id }));
  }

  /**
   * Extends the leases `owner` holds on `executionIds` (those it runs) in one statement; returns the executions with
   * a cancel pending. An execution it owns but no longer runs (dropped after a failure it could not hand back) is
   * left to lapse, so that a claim takes it up again instead of its lease being kept alive for nobody.
   */
  async renewLeases(
    owner: string,
    leaseMs: number,
    executionIds: readonly string[],
  ): Promise<{ id: string; cancelRequested: boolean }[]> {
    if (!executionIds.length) return [];
    const rows = await this.sql.query<{ id: string; cancel_requested: boolean }>(
      `UPDATE executions SET lease_expires_at = now() + $2 * interval '1 millisecond'
        WHERE owner = $1 AND id = ANY($3::uuid[]) AND outcome IS NULL
       RETURNING id, cancel_requested_at IS NOT NULL AS cancel_requested`,
      [owner, leaseMs, executionIds],
    );
    return rows.map((r) => ({ id: r.id, cancelRequested: r.cancel_requested }));
  }

  /** Gives executions back to the shared pool, for any instance to claim at once. */
  async release(owner: string, executionIds: readonly string[]): Promise<void> {
    if (!executionIds.length) return;
    await this.sql.execute(
      `UPDATE executions SET owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE owner = $1 AND id = ANY($2::uuid[]) AND outcome IS NULL`,
      [owner, executionIds],
    );
  }

  /**
   * Records an attempt of an execution this instance owns. The record returned is built from what was written, not
   * read back: its ids, model, dates and deadline are then the strings and dates the caller already holds, not copies
   * of them, and a started attempt stays in memory for as long as its model call waits.
   */
  async insertAttempt(owner: string, executionId: string, a: NewAttempt): Promise<AttemptRecord> {
    const rows = await this.sql.query<{ id: string }>(
      `WITH owned AS (
         UPDATE executions SET status = 'running', updated_at = now()
          WHERE id = $1 AND owner = $2 AND outcome IS NULL
         RETURNING id
       )
       INSERT INTO attempts (id, execution_id, attempt, tier, model, status, outcome, reason, detail, instance_id,
                             reservation_id, max_completion_tokens, reasoning_effort, deadline_at, started_at,
                             finished_at, finish_reason, usage, result, usage_event_id, trace_event_id, service_tier,
                             service_tier_reason)
       SELECT $3, owned.id, $4, $5, $6, $7, $8, $9, $10, $2, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
              $23
         FROM owned
       RETURNING id`,
      [
        executionId,
        owner,
        a.id,
        a.attempt,
        a.tier,
        a.model,
        a.status,
        a.outcome,
        a.reason,
        a.detail,
        a.reservationId,
        a.maxCompletionTokens,
        a.reasoningEffort,
        a.deadlineAt,
        a.startedAt,
        a.finishedAt,
        a.finishReason,
        a.usage === null ? null : JSON.stringify(a.usage),
        a.result === null ? null : JSON.stringify(a.result),
        a.usageEventId,
        a.traceEventId,
        a.serviceTier,
        a.serviceTierReason,
      ],
    );
    if (!rows[0]) throw new LostOwnershipError(executionId);
    return { ...a, executionId, instanceId: owner };
  }

  /**
   * Records how a call ended, by the instance that made it, even if its lease on the execution lapsed meanwhile (the
   * call's usage is its to report; the new owner waits for it). Once this commits, the call is never made again.
   * LostOwnershipError when the attempt was ended already: another owner gave it up after its deadline.
   */
  async endAttempt(instanceId: string, attempt: AttemptRecord, end: AttemptEnd): Promise<AttemptRecord> {
    const rows = await this.sql.query<AttemptRow>(
      `UPDATE attempts
          SET status = $3, outcome = $4, reason = $5, detail = $6, finished_at = $7, finish_reason = $8,
              usage = $9, result = $10
        WHERE id = $1 AND instance_id = $2 AND status = 'started'
       RETURNING *`,
      [attempt.id, instanceId, ...endParams(end)],
    );
    if (!rows[0]) throw new LostOwnershipError(attempt.executionId);
    return toAttempt(rows[0]);
  }

  /**
   * Gives up on a call another instance started, as its execution's owner now, once the call's deadline and
   * `graceMs` have passed (the call cannot still be running). Null when it was ended meanwhile, or is not yet past,
   * or its provider holds it by a response id (then it is adopted and polled, not given up).
   */
  async abandonAttempt(
    owner: string,
    attempt: AttemptRecord,
    end: AttemptEnd,
    graceMs: number,
  ): Promise<AttemptRecord | null> {
    const rows = await this.sql.query<AttemptRow>(
      `UPDATE attempts a
          SET status = $3, outcome = $4, reason = $5, detail = $6, finished_at = $7, finish_reason = $8,
              usage = $9, result = $10
         FROM executions e
        WHERE a.id = $1 AND e.id = a.execution_id AND e.owner = $2 AND a.status = 'started'
          AND a.response_id IS NULL AND COALESCE(a.deadline_at, a.started_at) + $11 * interval '1 millisecond' <= now()
       RETURNING a.*`,
      [attempt.id, owner, ...endParams(end), graceMs],
    );
    return rows[0] ? toAttempt(rows[0]) : null;
  }

  /**
   * Records the provider's response id of a background call, by the instance that made it, before anything else
   * happens with the call. LostOwnershipError when the attempt was ended already (given up after its deadline).
   */
  async recordResponseId(
    instanceId: string,
    attempt: AttemptRecord,
    responseId: string,
  ): Promise<AttemptRecord> {
    const rows = await this.sql.query<{ id: string }>(
      `UPDATE attempts SET response_id = $3
        WHERE id = $1 AND instance_id = $2 AND status = 'started' AND response_id IS NULL
       RETURNING id`,
      [attempt.id, instanceId, responseId],
    );
    if (!rows[0]) throw new LostOwnershipError(attempt.executionId);
    return { ...attempt, responseId };
  }

  /**
   * Takes over a background call another instance started, as its execution's owner now: from here this instance
   * polls it and records its end. Null when the call has ended meanwhile or has no response id.
   */
  async adoptBackgroundAttempt(owner: string, attempt: AttemptRecord): Promise<AttemptRecord | null> {
    const rows = await this.sql.query<AttemptRow>(
      `UPDATE attempts a SET instance_id = $2
         FROM executions e
        WHERE a.id = $1 AND e.id = a.execution_id AND e.owner = $2 AND a.status = 'started'
          AND a.response_id IS NOT NULL
       RETURNING a.*`,
      [attempt.id, owner],
    );
    return rows[0] ? toAttempt(rows[0]) : null;
  }

  async attempt(attemptId: string): Promise<AttemptRecord | null> {
    const rows = await this.sql.query<AttemptRow>(`SELECT * FROM attempts WHERE id = $1`, [attemptId]);
    return rows[0] ? toAttempt(rows[0]) : null;
  }

  /**
   * Ends the execution with its outcome, in the caller's transaction (which also writes the terminal event to the
   * outbox); once this commits, no instance claims or renews it again.
   */
  async finish(tx: Sql, owner: string, executionId: string, outcome: ExecutionOutcome): Promise<void> {
    const rows = await tx.query<{ id: string }>(
      `UPDATE executions
          SET status = $3, outcome = $4, finished_at = now(), lease_expires_at = NULL, updated_at = now()
        WHERE id = $1 AND owner = $2 AND outcome IS NULL
       RETURNING id`,
      [executionId, owner, outcome.kind, JSON.stringify(outcome)],
    );
    if (!rows[0]) throw new LostOwnershipError(executionId);
  }
}

// $3 to $10 of the statements that end an attempt, in the order of their SET clauses.
function endParams(end: AttemptEnd): unknown[] {
  return [
    end.status,
    end.outcome,
    end.reason,
    end.detail,
    end.finishedAt,
    end.finishReason,
    end.usage === null ? null : JSON.stringify(end.usage),
    end.result === null ? null : JSON.stringify(end.result),
  ];
}
