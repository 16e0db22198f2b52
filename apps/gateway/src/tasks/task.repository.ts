import { statusRank, type TaskError, type TaskStatus } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
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

  /** Fails tasks whose accepted event can never be published, in the transaction that sets their rows aside. */
  async failUnpublishable(
    sql: Sql,
    tasks: readonly { tenantId: string; taskId: string; error: TaskError }[],
  ): Promise<void> {
    if (!tasks.length) return;
    await sql.execute(
      `UPDATE tasks SET status = $4, status_rank = GREATEST(tasks.status_rank, $5),
              error = COALESCE(tasks.error, v.error), updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS v (id, tenant_id, error)
        WHERE tasks.id = v.id AND tasks.tenant_id = v.tenant_id`,
      [
        tasks.map((t) => t.taskId),
        tasks.map((t) => t.tenantId),
        tasks.map((t) => JSON.stringify(t.error)),
        'failed',
        statusRank('failed'),
      ],
    );
  }

  /**
   * Applies a lifecycle event. The status only moves forward (events from different topics may arrive out of
   * order); the event's own facts (triage decision, result, error) are kept whatever its order.
   * Returns false when the task is unknown.
   */
  async applyProjection(tenantId: string, id: string, update: ProjectionUpdate): Promise<boolean> {
    const rank = statusRank(update.status);
    const updated = await this.sql.execute(
      `UPDATE tasks SET
          status = CASE WHEN status_rank < $3 THEN $4 ELSE status END,
          status_rank = GREATEST(status_rank, $3),
          triage = COALESCE($5::jsonb, triage),
          result = COALESCE(result, $6::jsonb),
          error = COALESCE(error, $7::jsonb),
          escalation = COALESCE($8::jsonb, escalation),
          cancellation = COALESCE(cancellation, $9::jsonb),
          updated_at = now()
        WHERE id = $1 AND tenant_id = $2`,
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
    return updated > 0;
  }
}
