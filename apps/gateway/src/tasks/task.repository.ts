import { statusRank, type TaskError, type TaskStatus } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import { TERMINAL_RANK } from '../quotas/quota.repository';
import type { TaskRecord } from './task-record';

export interface TaskRow {
  id: string;
  tenant_id: string;
  status: TaskStatus;
  spec: TaskRecord['spec'];
  submitted_via: 'http' | 'kafka';
  idempotency_key: string | null;
  request_hash: string;
  triage: TaskRecord['triage'];
  result: TaskRecord['result'];
  error: TaskRecord['error'];
  escalation: TaskRecord['escalation'];
  cancellation: TaskRecord['cancellation'];
  created_at: Date;
  updated_at: Date;
}

export const TASK_COLUMNS = `id, tenant_id, status, spec, submitted_via, idempotency_key, request_hash, triage, result,
  error, escalation, cancellation, created_at, updated_at`;
const COLUMNS = TASK_COLUMNS;

export const toTaskRecord = (r: TaskRow): TaskRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  status: r.status,
  spec: r.spec,
  submittedVia: r.submitted_via,
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  triage: r.triage,
  result: r.result,
  error: r.error,
  escalation: r.escalation,
  cancellation: r.cancellation,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface ProjectionApplied {
  moved: boolean;
  route: string | null;
}

export interface ProjectionUpdate {
  status: TaskStatus;
  triage?: TaskRecord['triage'];
  result?: TaskRecord['result'];
  error?: TaskRecord['error'];
  escalation?: TaskRecord['escalation'];
  cancellation?: TaskRecord['cancellation'];
}

@Injectable()
export class TaskRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Inserts the task unless its id, or its tenant's idempotency key, is taken.
   * Returns the stored task and whether this call created it.
   */
  async insertOrGetExisting(
    task: TaskRecord,
    sql: Sql = this.sql,
  ): Promise<{ task: TaskRecord; created: boolean }> {
    const inserted = await sql.maybe<TaskRow>(
      `INSERT INTO tasks (id, tenant_id, status, status_rank, mode, spec, submitted_via, idempotency_key, request_hash,
                          metadata, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
       ON CONFLICT DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        task.id,
        task.tenantId,
        task.status,
        statusRank(task.status),
        task.spec.mode,
        JSON.stringify(task.spec),
        task.submittedVia,
        task.idempotencyKey,
        task.requestHash,
        JSON.stringify(task.spec.metadata),
        task.createdAt,
      ],
    );
    if (inserted) return { task: toTaskRecord(inserted), created: true };
    const existing = await sql.maybe<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks WHERE id = $1 OR (tenant_id = $2 AND idempotency_key = $3) LIMIT 1`,
      [task.id, task.tenantId, task.idempotencyKey],
    );
    if (!existing) throw new Error(`task ${task.id} neither inserted nor found`);
    return { task: toTaskRecord(existing), created: false };
  }

  /**
   * Takes the transaction-scoped lock of one tenant's Idempotency-Key, without waiting: false while another
   * transaction holds it, i.e. a request with the same key is being admitted right now.
   */
  async tryLockIdempotencyKey(tx: Sql, tenantId: string, idempotencyKey: string): Promise<boolean> {
    const row = await tx.one<{ locked: boolean }>(
      `SELECT pg_try_advisory_xact_lock(hashtext('gateway.tasks.idempotency:' || $1), hashtext($2)) AS locked`,
      [tenantId, idempotencyKey],
    );
    return row.locked;
  }

  async findForTenant(tenantId: string, id: string): Promise<TaskRecord | null> {
    const row = await this.sql.maybe<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks WHERE id = $1 AND tenant_id = $2`,
      [id, tenantId],
    );
    return row ? toTaskRecord(row) : null;
  }

  /**
   * Fails tasks whose accepted event can never be published, in the transaction that sets their rows aside.
   * Answers the route of each task whose status changed (null before triage).
   */
  async failUnpublishable(
    sql: Sql,
    tasks: readonly { tenantId: string; taskId: string; error: TaskError }[],
  ): Promise<(string | null)[]> {
    if (!tasks.length) return [];
    const rows = await sql.query<{ route: string | null }>(
      `UPDATE tasks SET status = $4, status_rank = GREATEST(tasks.status_rank, $5),
              error = COALESCE(tasks.error, v.error), updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS v (id, tenant_id, error)
        WHERE tasks.id = v.id AND tasks.tenant_id = v.tenant_id AND tasks.status <> $4
       RETURNING tasks.triage->>'route' AS route`,
      [
        tasks.map((t) => t.taskId),
        tasks.map((t) => t.tenantId),
        tasks.map((t) => JSON.stringify(t.error)),
        'failed',
        statusRank('failed'),
      ],
    );
    return rows.map((r) => r.route);
  }

  /** The unfinished tasks of every tenant, by status: one statement over the partial index tasks_unfinished. */
  async countUnfinishedByStatus(): Promise<Map<TaskStatus, number>> {
    const rows = await this.sql.query<{ status: TaskStatus; tasks: number }>(
      `SELECT status, count(*)::int AS tasks FROM tasks WHERE status_rank < ${TERMINAL_RANK} GROUP BY status`,
    );
    return new Map(rows.map((r) => [r.status, r.tasks]));
  }

  /**
   * Applies a lifecycle event. The status only moves forward (events from different topics may arrive out of
   * order); the event's own facts (triage decision, result, error) are kept whatever its order.
   * Answers whether the status moved (false for a redelivery or a late event) and the task's route after the update
   * (null before triage); undefined when the task is unknown.
   */
  async applyProjection(
    tenantId: string,
    id: string,
    update: ProjectionUpdate,
  ): Promise<ProjectionApplied | undefined> {
    const rank = statusRank(update.status);
    // The row is locked and read before the update in the same statement, so `moved` compares with the rank the
    // update replaced, even when another event of the task is applied at the same moment.
    return this.sql.maybe<ProjectionApplied>(
      `WITH prior AS (
         SELECT id, status_rank FROM tasks WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE)
       UPDATE tasks SET
          status = CASE WHEN tasks.status_rank < $3 THEN $4 ELSE tasks.status END,
          status_rank = GREATEST(tasks.status_rank, $3),
          triage = COALESCE($5::jsonb, tasks.triage),
          result = COALESCE(tasks.result, $6::jsonb),
          error = COALESCE(tasks.error, $7::jsonb),
          escalation = COALESCE($8::jsonb, tasks.escalation),
          cancellation = COALESCE(tasks.cancellation, $9::jsonb),
          updated_at = now()
         FROM prior
        WHERE tasks.id = prior.id AND tasks.tenant_id = $2
       RETURNING prior.status_rank < $3 AS moved, tasks.triage->>'route' AS route`,
      [
        id,
        tenantId,
        rank,
        update.status,
        update.triage ? JSON.stringify(update.triage) : null,
        update.result ? JSON.stringify(update.result) : null,
        update.error ? JSON.stringify(update.error) : null,
        update.escalation ? JSON.stringify(update.escalation) : null,
        update.cancellation ? JSON.stringify(update.cancellation) : null,
      ],
    );
  }
}
