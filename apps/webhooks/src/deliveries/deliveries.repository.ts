import type {
  ReplayWebhooksRequest,
  WebhookDeliveryAttemptResponse,
  WebhookDeliveryResponse,
  WebhookEventType,
} from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';

export interface DeliveryRow {
  id: string;
  tenant_id: string;
  task_id: string;
  event_type: WebhookEventType;
  endpoint_id: string | null;
  target_url: string | null;
  status: WebhookDeliveryResponse['status'];
  attempts: number;
  next_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  dead_lettered_at: Date | null;
}

export interface AttemptRow {
  attempt: number;
  url: string;
  outcome: WebhookDeliveryAttemptResponse['outcome'];
  http_status: number | null;
  latency_ms: number;
  response_snippet: string;
  error: string | null;
  scheduled_at: Date;
  attempted_at: Date;
  next_attempt_at: Date | null;
}

export interface DeliveryFilter {
  status?: WebhookDeliveryResponse['status'] | undefined;
  endpointId?: string | undefined;
  taskId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

const SELECT = `SELECT m.id, m.tenant_id, m.task_id, m.event_type, m.endpoint_id, coalesce(m.url, e.url) AS target_url,
       m.status, m.attempts, m.next_attempt_at, m.last_status, m.last_error, m.created_at, m.delivered_at,
       m.dead_lettered_at
  FROM messages m LEFT JOIN endpoints e ON e.id = m.endpoint_id`;

// A tenant's delivery log (messages with their attempts) as the HTTP API reads and replays it.
@Injectable()
export class DeliveriesRepository {
  constructor(private readonly sql: Sql) {}

  /** Newest first, one row more than `filter.limit` when there is a next page. */
  list(tenantId: string, filter: DeliveryFilter): Promise<DeliveryRow[]> {
    const conditions = ['m.tenant_id = $1'];
    const params: unknown[] = [tenantId];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      conditions.push(condition.replace('?', `$${params.length}`));
    };
    if (filter.status) add('m.status = ?', filter.status);
    if (filter.endpointId) add('m.endpoint_id = ?', filter.endpointId);
    if (filter.taskId) add('m.task_id = ?', filter.taskId);
    if (filter.from) add('m.created_at >= ?', filter.from);
    if (filter.to) add('m.created_at < ?', filter.to);
    // Ids sort by creation time (UUIDv7 inside), so the cursor is the last id of the page.
    if (filter.cursor) add('m.id < ?', filter.cursor);
    params.push(filter.limit + 1);
    return this.sql.query<DeliveryRow>(
      `${SELECT} WHERE ${conditions.join(' AND ')} ORDER BY m.id DESC LIMIT $${params.length}`,
      params,
    );
  }

  find(tenantId: string, id: string, sql: Sql = this.sql): Promise<DeliveryRow | undefined> {
    return sql.maybe<DeliveryRow>(`${SELECT} WHERE m.tenant_id = $1 AND m.id = $2`, [tenantId, id]);
  }

  attemptsOf(id: string): Promise<AttemptRow[]> {
    return this.sql.query<AttemptRow>(
      `SELECT attempt, url, outcome, http_status, latency_ms, response_snippet, error, scheduled_at, attempted_at,
              next_attempt_at
         FROM attempts WHERE message_id = $1 ORDER BY attempt`,
      [id],
    );
  }

  /** Locks the message for a replay; its status and its endpoint's, undefined when the tenant has no such message. */
  lockForReplay(
    tx: Sql,
    tenantId: string,
    id: string,
  ): Promise<{ status: DeliveryRow['status']; endpoint_status: string | null } | undefined> {
    return tx.maybe(
      `SELECT m.status, e.status AS endpoint_status FROM messages m LEFT JOIN endpoints e ON e.id = m.endpoint_id
        WHERE m.tenant_id = $1 AND m.id = $2 FOR UPDATE OF m`,
      [tenantId, id],
    );
  }

  /** Schedules the message again, at once and from the start of the retry schedule. */
  async reschedule(tx: Sql, id: string): Promise<void> {
    await tx.execute(
      `UPDATE messages SET status = 'pending', schedule_step = 0, next_attempt_at = now(), dead_lettered_at = NULL,
              updated_at = now()
        WHERE id = $1`,
      [id],
    );
  }

  /** Reschedules the tenant's dead-lettered messages created in [from, to) whose endpoint is enabled; their ids. */
  async rescheduleDeadLettered(tenantId: string, request: ReplayWebhooksRequest): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      `UPDATE messages m
          SET status = 'pending', schedule_step = 0, next_attempt_at = now(), dead_lettered_at = NULL,
              updated_at = now()
        WHERE m.tenant_id = $1 AND m.status = 'dead_lettered' AND m.created_at >= $2 AND m.created_at < $3
          AND ($4::uuid IS NULL OR m.endpoint_id = $4)
          AND (m.endpoint_id IS NULL OR EXISTS (SELECT 1 FROM endpoints e WHERE e.id = m.endpoint_id AND e.status = 'enabled'))
       RETURNING m.id`,
      [tenantId, request.from, request.to, request.endpointId ?? null],
    );
    return rows.map((r) => r.id);
  }
}
