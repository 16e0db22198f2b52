import type {
  ReplayWebhooksRequest,
  WebhookDeliveryDetailResponse,
  WebhookDeliveryResponse,
} from '@deliberate/contracts';
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { Dispatcher } from '../dispatch/dispatcher';
import { redactUrl } from '../messages/webhook-payload';
import { Sql } from '@deliberate/persistence';
import { DeliveriesRepository, type DeliveryFilter, type DeliveryRow } from './deliveries.repository';

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
    private readonly sql: Sql,
    private readonly deliveries: DeliveriesRepository,
    private readonly dispatcher: Dispatcher,
  ) {}

  async list(
    tenantId: string,
    filter: DeliveryFilter,
  ): Promise<{ deliveries: WebhookDeliveryResponse[]; nextCursor: string | null }> {
    const rows = await this.deliveries.list(tenantId, filter);
    const page = rows.slice(0, filter.limit);
    return {
      deliveries: page.map(toDelivery),
      nextCursor: rows.length > filter.limit ? page[page.length - 1]!.id : null,
    };
  }

  async get(tenantId: string, id: string): Promise<WebhookDeliveryDetailResponse> {
    const row = await this.deliveries.find(tenantId, id);
    if (!row) throw new NotFoundException(`no webhook delivery ${id} for tenant '${tenantId}'`);
    const attempts = await this.deliveries.attemptsOf(id);
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
    const replayed = await this.sql.transaction(async (tx): Promise<DeliveryRow> => {
      const row = await this.deliveries.lockForReplay(tx, tenantId, id);
      if (!row) throw new NotFoundException(`no webhook delivery ${id} for tenant '${tenantId}'`);
      if (row.status === 'pending') throw new ConflictException(`delivery ${id} is already scheduled`);
      if (row.endpoint_status === 'disabled') {
        throw new ConflictException(
          `the endpoint of delivery ${id} is disabled; enable it first (POST /v1/webhooks/endpoints/{id}/enable)`,
        );
      }
      await this.deliveries.reschedule(tx, id);
      return (await this.deliveries.find(tenantId, id, tx))!;
    });
    this.dispatcher.wake();
    return toDelivery(replayed);
  }

  /** Replays every dead-lettered message created in [from, to), optionally of one endpoint; disabled endpoints are skipped. */
  async replayRange(tenantId: string, request: ReplayWebhooksRequest): Promise<{ replayed: number }> {
    const rows = await this.deliveries.rescheduleDeadLettered(tenantId, request);
    if (rows.length) this.dispatcher.wake();
    return { replayed: rows.length };
  }
}
