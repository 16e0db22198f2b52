import type {
  ReplayWebhooksRequest,
  WebhookDeliveryAttemptResponse,
  WebhookDeliveryDetailResponse,
  WebhookDeliveryResponse,
  WebhookEventType,
} from '@deliberate/contracts';
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { Dispatcher } from '../dispatch/dispatcher';
import { redactUrl } from '../messages/webhook-payload';
import { ServiceDatabase } from '@deliberate/persistence';

interface DeliveryRow {
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

interface AttemptRow {
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

const iso = (d: Date | null) => d?.toISOString() ?? null;

const toDelivery = (r: DeliveryRow): WebhookDeliveryResponse => ({
  id: r.id,
  tenantId: r.tenant_id,
  taskId: r.task_id,
  eventType: r.event_type,
  endpointId: r.endpoint_id,
  url: r.target_url ? redactUrl(r.target_url) : '',
  status: r.status,
  attempts: r.attempts,
  // A pending message's next_attempt_at; for a message being sent, when its lease ends.
  nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
  lastHttpStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at.toISOString(),
  deliveredAt: iso(r.delivered_at),
  deadLetteredAt: iso(r.dead_lettered_at),
});

// A tenant's delivery log: each message (one event to one target) with its attempts, and replay.
@Injectable()
export class DeliveriesService {
  constructor(
    private readonly database: ServiceDatabase,
    private readonly dispatcher: Dispatcher,
  ) {}

  async list(
    tenantId: string,
    filter: DeliveryFilter,
  ): Promise<{ deliveries: WebhookDeliveryResponse[]; nextCursor: string | null }> {
    const conditions = ['m.tenant_id = $1'];
    const params: unknown[] = [tenantId];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.status) add('m.status = ?', filter.status);
    if (filter.endpointId) add('m.endpoint_id = ?', filter.endpointId);
    if (filter.taskId) add('m.task_id = ?', filter.taskId);
    if (filter.from) add('m.created_at >= ?', filter.from);
    if (filter.to) add('m.created_at < ?', filter.to);
    // Ids sort by creation time (UUIDv7 inside), so the cursor is the last id of the page.
    if (filter.cursor) add('m.id < ?', filter.cursor);
    params.push(filter.limit + 1);
    const rows = await this.database.pool.query<DeliveryRow[]>(
      `${SELECT} WHERE ${conditions.join(' AND ')} ORDER BY m.id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, filter.limit);
    return {
      deliveries: page.map(toDelivery),
      nextCursor: rows.length > filter.limit ? page[page.length - 1]!.id : null,
    };
  }

  async get(tenantId: string, id: string): Promise<WebhookDeliveryDetailResponse> {
    const [row] = await this.database.pool.query<DeliveryRow[]>(
      `${SELECT} WHERE m.tenant_id = $1 AND m.id = $2`,
      [tenantId, id],
    );
    if (!row) throw new NotFoundException(`no webhook delivery ${id} for tenant '${tenantId}'`);
    const attempts = await this.database.pool.query<AttemptRow[]>(
      `SELECT attempt, url, outcome, http_status, latency_ms, response_snippet, error, scheduled_at, attempted_at,
              next_attempt_at
         FROM attempts WHERE message_id = $1 ORDER BY attempt`,
      [id],
    );
    return {
      ...toDelivery(row),
      attemptLog: attempts.map((a) => ({
        attempt: a.attempt,
        url: a.url,
        outcome: a.outcome,
        httpStatus: a.http_status,
        latencyMs: a.latency_ms,
        responseSnippet: a.response_snippet,
        error: a.error,
        scheduledAt: a.scheduled_at.toISOString(),
        attemptedAt: a.attempted_at.toISOString(),
        nextAttemptAt: iso(a.next_attempt_at),
      })),
    };
  }

  /** Sends a delivered or dead-lettered message again, at once, with the same webhook-id and a fresh schedule. */
  async replay(tenantId: string, id: string): Promise<WebhookDeliveryResponse> {
    const replayed = await this.database.transaction(async (tx) => {
      const [row] = await tx.query<(DeliveryRow & { endpoint_status: string | null })[]>(
        `SELECT m.status, e.status AS endpoint_status FROM messages m LEFT JOIN endpoints e ON e.id = m.endpoint_id
          WHERE m.tenant_id = $1 AND m.id = $2 FOR UPDATE OF m`,
        [tenantId, id],
      );
      if (!row) throw new NotFoundException(`no webhook delivery ${id} for tenant '${tenantId}'`);
      if (row.status === 'pending') throw new ConflictException(`delivery ${id} is already scheduled`);
      if (row.endpoint_status === 'disabled') {
        throw new ConflictException(
          `the endpoint of delivery ${id} is disabled; enable it first (POST /v1/webhooks/endpoints/{id}/enable)`,
        );
      }
      await tx.query(
        `UPDATE messages SET status = 'pending', schedule_step = 0, next_attempt_at = now(), dead_lettered_at = NULL,
                updated_at = now()
          WHERE id = $1`,
        [id],
      );
      const [updated] = await tx.query<DeliveryRow[]>(`${SELECT} WHERE m.id = $1`, [id]);
      return updated!;
    });
    this.dispatcher.wake();
    return toDelivery(replayed);
  }

  /** Replays every dead-lettered message created in [from, to), optionally of one endpoint; disabled endpoints are skipped. */
  async replayRange(tenantId: string, request: ReplayWebhooksRequest): Promise<{ replayed: number }> {
    const [rows] = await this.database.pool.query<[{ id: string }[], number]>(
      `UPDATE messages m
          SET status = 'pending', schedule_step = 0, next_attempt_at = now(), dead_lettered_at = NULL,
              updated_at = now()
        WHERE m.tenant_id = $1 AND m.status = 'dead_lettered' AND m.created_at >= $2 AND m.created_at < $3
          AND ($4::uuid IS NULL OR m.endpoint_id = $4)
          AND (m.endpoint_id IS NULL OR EXISTS (SELECT 1 FROM endpoints e WHERE e.id = m.endpoint_id AND e.status = 'enabled'))
       RETURNING m.id`,
      [tenantId, request.from, request.to, request.endpointId ?? null],
    );
    if (rows.length) this.dispatcher.wake();
    return { replayed: rows.length };
  }
}
