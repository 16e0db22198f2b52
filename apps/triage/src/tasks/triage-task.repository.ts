import type { EventEnvelope, TaskAccepted, TriageDecision } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

export type TriageTaskState = 'triaging' | 'decided' | 'finished';

/** A task as the triage recorded it. */
export interface TriageTask {
  taskId: string;
  tenantId: string;
  deadlineAt: Date;
  state: TriageTaskState;
  decision: TriageDecision | null;
  callPurpose: string | null;
  callAttempt: number;
  claimOwner: string | null;
  claimExpiresAt: Date | null;
  reservationId: string | null;
  outcomeTopic: string | null;
  outcomeEventId: string | null;
  /** When the task's next try is due (a failed call waiting for it, or the retry job's lease on it); null otherwise. */
  retryAt: Date | null;
  retryAttempts: number;
  lastError: string | null;
}

/** A task the retry job took to resume, with the accepted event it resumes from. */
export interface DueTask {
  task: TriageTask;
  event: EventEnvelope<TaskAccepted>;
}

/** A claim taken on a task's next fast-model call, with the hold of the try it replaced (a crashed handler's). */
export interface CallClaim {
  task: TriageTask;
  /** The reservation of an expired claim's call, which may have been billed: the taker settles it as aborted. */
  abandonedReservationId: string | null;
}

interface TaskRow {
  task_id: string;
  tenant_id: string;
  deadline_at: Date;
  state: TriageTaskState;
  decision: TriageDecision | null;
  call_purpose: string | null;
  call_attempt: number;
  claim_owner: string | null;
  claim_expires_at: Date | null;
  reservation_id: string | null;
  outcome_topic: string | null;
  outcome_event_id: string | null;
  retry_at: Date | null;
  retry_attempts: number;
  last_error: string | null;
}

const COLUMNS = `task_id, tenant_id, deadline_at, state, decision, call_purpose, call_attempt, claim_owner,
  claim_expires_at, reservation_id, outcome_topic, outcome_event_id, retry_at, retry_attempts, last_error`;

const toTask = (r: TaskRow): TriageTask => ({
  taskId: r.task_id,
  tenantId: r.tenant_id,
  deadlineAt: r.deadline_at,
  state: r.state,
  decision: r.decision,
  callPurpose: r.call_purpose,
  callAttempt: r.call_attempt,
  claimOwner: r.claim_owner,
  claimExpiresAt: r.claim_expires_at,
  reservationId: r.reservation_id,
  outcomeTopic: r.outcome_topic,
  outcomeEventId: r.outcome_event_id,
  retryAt: r.retry_at,
  retryAttempts: r.retry_attempts,
  lastError: r.last_error,
});

const ms = (param: string) => `make_interval(secs => ${param}::double precision / 1000)`;

// Each statement is one atomic step of the per-task state machine; a step taken by another handler first shows as
// no row, and the caller reads the record again.
@Injectable()
export class TriageTaskRepository {
  constructor(private readonly sql: Sql) {}

  /** The task's record, created on its first delivery; a redelivery reads the one stored. */
  async insertOrRead(task: {
    taskId: string;
    tenantId: string;
    acceptedAt: Date;
    deadlineAt: Date;
    event: EventEnvelope<TaskAccepted>;
  }): Promise<TriageTask> {
    const inserted = await this.sql.maybe<TaskRow>(
      `INSERT INTO tasks (task_id, tenant_id, accepted_at, deadline_at, state, accepted_event)
       VALUES ($1, $2, $3, $4, 'triaging', $5)
       ON CONFLICT (task_id) DO NOTHING
       RETURNING ${COLUMNS}`,
      [task.taskId, task.tenantId, task.acceptedAt, task.deadlineAt, JSON.stringify(task.event)],
    );
    return inserted ? toTask(inserted) : (await this.read(task.taskId))!;
  }

  async read(taskId: string): Promise<TriageTask | undefined> {
    const row = await this.sql.maybe<TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE task_id = $1`, [taskId]);
    return row && toTask(row);
  }

  /**
   * Claims the task's next call for `owner`, when nobody else holds an unexpired claim. The same purpose again (a
   * takeover, or the owner's own try whose end it did not see) is its next try; a new purpose starts at try 1.
   * Undefined when someone else holds it.
   */
  async claimCall(
    taskId: string,
    owner: string,
    purpose: string,
    claimMs: number,
  ): Promise<CallClaim | undefined> {
    const row = await this.sql.maybe<TaskRow & { abandoned_reservation_id: string | null }>(
      `WITH previous AS (
         SELECT task_id, reservation_id FROM tasks
          WHERE task_id = $1 AND state <> 'finished'
            AND (claim_owner IS NULL OR claim_owner = $2 OR claim_expires_at <= now())
          FOR UPDATE
       )
       UPDATE tasks t
          SET claim_owner = $2,
              claim_expires_at = now() + ${ms('$4')},
              call_attempt = CASE WHEN t.call_purpose = $3 THEN t.call_attempt + 1 ELSE 1 END,
              call_purpose = $3,
              reservation_id = NULL,
              updated_at = now()
         FROM previous
        WHERE t.task_id = previous.task_id
       RETURNING t.task_id, t.tenant_id, t.deadline_at, t.state, t.decision, t.call_purpose, t.call_attempt,
                 t.claim_owner, t.claim_expires_at, t.reservation_id, t.outcome_topic, t.outcome_event_id,
                 previous.reservation_id AS abandoned_reservation_id`,
      [taskId, owner, purpose, claimMs],
    );
    return row && { task: toTask(row), abandonedReservationId: row.abandoned_reservation_id };
  }

  /** Keeps the claim for `claimMs` more, storing the call's hold when it has one; false when the claim was lost. */
  async extendClaim(
    taskId: string,
    owner: string,
    claimMs: number,
    reservationId: string | null,
  ): Promise<boolean> {
    const n = await this.sql.execute(
      `UPDATE tasks SET claim_expires_at = now() + ${ms('$3')},
              reservation_id = coalesce($4, reservation_id), updated_at = now()
        WHERE task_id = $1 AND claim_owner = $2 AND claim_expires_at > now() AND state <> 'finished'`,
      [taskId, owner, claimMs, reservationId],
    );
    return n === 1;
  }

  /** The next try of the claimed call, under the same claim kept `claimMs` more; undefined when it was lost. */
  async nextAttempt(taskId: string, owner: string, claimMs: number): Promise<number | undefined> {
    const row = await this.sql.maybe<{ call_attempt: number }>(
      `UPDATE tasks SET call_attempt = call_attempt + 1, reservation_id = NULL,
              claim_expires_at = now() + ${ms('$3')}, updated_at = now()
        WHERE task_id = $1 AND claim_owner = $2 AND claim_expires_at > now() AND state <> 'finished'
       RETURNING call_attempt`,
      [taskId, owner, claimMs],
    );
    return row?.call_attempt;
  }

  /**
   * Records the decision (and gives up the classifier's claim, if `owner` held it) while the task is still being
   * triaged; false when another handler recorded one first.
   */
  async recordDecision(tx: Sql, taskId: string, owner: string, decision: TriageDecision): Promise<boolean> {
    const n = await tx.execute(
      `UPDATE tasks
          SET state = 'decided', decision = $3,
              claim_owner = CASE WHEN claim_owner = $2 THEN NULL ELSE claim_owner END,
              claim_expires_at = CASE WHEN claim_owner = $2 THEN NULL ELSE claim_expires_at END,
              reservation_id = CASE WHEN claim_owner = $2 THEN NULL ELSE reservation_id END,
              updated_at = now()
        WHERE task_id = $1 AND state = 'triaging'
          AND (claim_owner IS NULL OR claim_owner = $2 OR claim_expires_at <= now())`,
      [taskId, owner, JSON.stringify(decision)],
    );
    return n === 1;
  }

  /**
   * Finishes the task with its terminal event, when `owner` holds its claim (or nobody does and it needs no call);
   * false when another handler finished it or took the claim over.
   */
  async finish(
    tx: Sql,
    taskId: string,
    owner: string,
    outcome: { topic: string; eventId: string },
  ): Promise<boolean> {
    const n = await tx.execute(
      `UPDATE tasks
          SET state = 'finished', outcome_topic = $3, outcome_event_id = $4, retry_at = NULL,
              claim_owner = NULL, claim_expires_at = NULL, finished_at = now(), updated_at = now()
        WHERE task_id = $1 AND state <> 'finished'
          AND (claim_owner = $2 OR claim_owner IS NULL OR claim_expires_at <= now())`,
      [taskId, owner, outcome.topic, outcome.eventId],
    );
    return n === 1;
  }

  /**
   * Gives the claim up and leaves the task to wait for its next try at `retryAt`, saying what went wrong. With
   * `sameAttempt` (the ledger did not answer: the try never got a hold) the next claim of the same purpose is this
   * try again, so its reserve goes under the same key. False when another handler holds the claim or finished it.
   */
  async scheduleRetry(
    taskId: string,
    owner: string,
    retry: { retryAt: Date; error: string; sameAttempt: boolean },
  ): Promise<boolean> {
    const n = await this.sql.execute(
      `UPDATE tasks
          SET retry_at = $3, retry_attempts = retry_attempts + 1, last_error = $4,
              call_attempt = CASE WHEN $5 THEN greatest(call_attempt - 1, 0) ELSE call_attempt END,
              claim_owner = NULL, claim_expires_at = NULL, reservation_id = NULL, updated_at = now()
        WHERE task_id = $1 AND state <> 'finished' AND (claim_owner = $2 OR claim_owner IS NULL)`,
      [taskId, owner, retry.retryAt, retry.error.slice(0, 4000), retry.sameAttempt],
    );
    return n === 1;
  }

  /**
   * Takes up to `limit` tasks whose next try is due, for this instance to resume: their retry_at moves `leaseMs`
   * ahead, so a redelivery leaves them alone and, should this instance stop, another takes them when it passes.
   * SKIP LOCKED: two instances never take the same task in one round.
   */
  async takeDue(limit: number, leaseMs: number): Promise<DueTask[]> {
    const rows = await this.sql.query<TaskRow & { accepted_event: EventEnvelope<TaskAccepted> }>(
      `WITH due AS (
         SELECT task_id FROM tasks
          WHERE retry_at <= now() AND state <> 'finished' AND accepted_event IS NOT NULL
          ORDER BY retry_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED
       )
       UPDATE tasks t SET retry_at = now() + ${ms('$2')}, updated_at = now()
         FROM due
        WHERE t.task_id = due.task_id
       RETURNING ${COLUMNS.split(',')
         .map((c) => `t.${c.trim()}`)
         .join(', ')}, t.accepted_event`,
      [limit, leaseMs],
    );
    return rows.map((r) => ({ task: toTask(r), event: r.accepted_event }));
  }

  /** Keeps the retry job's lease on a task it is resuming `leaseMs` more. */
  async extendRetryLease(taskId: string, leaseMs: number): Promise<void> {
    await this.sql.execute(
      `UPDATE tasks SET retry_at = now() + ${ms('$2')}
        WHERE task_id = $1 AND state <> 'finished' AND retry_at IS NOT NULL`,
      [taskId, leaseMs],
    );
  }
}
