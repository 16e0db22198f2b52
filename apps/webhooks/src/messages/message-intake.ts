import type { TaskSpec } from '@deliberate/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { WEBHOOKS_CONFIG, type WebhooksConfig } from '../config';
import { Dispatcher } from '../dispatch/dispatcher';
import { type Sql, ServiceDatabase } from '@deliberate/persistence';
import { buildPayload, newMessageId, occurredAt, type TerminalEvent } from './webhook-payload';

interface TaskRow {
  webhook_url: string | null;
  metadata: Record<string, string | number | boolean>;
}

interface WaitingEventRow {
  event_id: string;
  tenant_id: string;
  task_id: string;
  event_type: TerminalEvent['type'];
  data: TerminalEvent['data'];
}

// Turns terminal task events into messages: one per enabled endpoint of the tenant subscribed to the event type,
// plus one for the task's own webhookUrl. The task's accepted event and its terminal event travel on different
// topics, so either may come first: a terminal event whose task is unknown waits (in terminal_events) for the
// accepted event, or for WEBHOOKS_ACCEPTED_WAIT_MS, and is never lost. A transaction-scoped advisory lock per task
// keeps the two paths from missing each other.
@Injectable()
export class MessageIntake {
  constructor(
    private readonly database: ServiceDatabase,
    private readonly dispatcher: Dispatcher,
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
  ) {}

  async taskAccepted(tenantId: string, taskId: string, spec: TaskSpec, acceptedAt: string): Promise<void> {
    const created = await this.database.transaction(async (tx) => {
      await lockTask(tx, taskId);
      await tx.query(
        `INSERT INTO tasks (task_id, tenant_id, webhook_url, metadata, accepted_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (task_id) DO NOTHING`,
        [taskId, tenantId, spec.webhookUrl, JSON.stringify(spec.metadata), acceptedAt],
      );
      const waiting = await tx.query<WaitingEventRow[]>(
        `SELECT event_id, tenant_id, task_id, event_type, data FROM terminal_events
          WHERE task_id = $1 AND fanned_out_at IS NULL FOR UPDATE`,
        [taskId],
      );
      let count = 0;
      for (const event of waiting) {
        if (event.tenant_id !== tenantId) continue; // another tenant's task id: never mix them
        count += await this.fanOut(tx, event, { webhook_url: spec.webhookUrl, metadata: spec.metadata });
      }
      return count;
    });
    if (created) this.dispatcher.wake();
  }

  /** Idempotent on the event id: a replayed Kafka event creates no second message. */
  async terminalEvent(
    eventId: string,
    tenantId: string,
    taskId: string,
    event: TerminalEvent,
  ): Promise<void> {
    const created = await this.database.transaction(async (tx) => {
      await lockTask(tx, taskId);
      const inserted = await tx.query<{ event_id: string }[]>(
        `INSERT INTO terminal_events (event_id, tenant_id, task_id, event_type, occurred_at, data)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        [eventId, tenantId, taskId, event.type, occurredAt(event), JSON.stringify(event.data)],
      );
      if (!inserted.length) return 0;
      const [task] = await tx.query<TaskRow[]>(
        `SELECT webhook_url, metadata FROM tasks WHERE task_id = $1 AND tenant_id = $2`,
        [taskId, tenantId],
      );
      if (!task) return 0;
      return this.fanOut(
        tx,
        { event_id: eventId, tenant_id: tenantId, task_id: taskId, event_type: event.type, data: event.data },
        task,
      );
    });
    if (created) this.dispatcher.wake();
  }

  /** Terminal events that waited long enough for an accepted event: they go to the tenant's endpoints as they are. */
  async releaseOverdue(limit = 500): Promise<number> {
    const created = await this.database.transaction(async (tx) => {
      const overdue = await tx.query<WaitingEventRow[]>(
        `SELECT event_id, tenant_id, task_id, event_type, data FROM terminal_events
          WHERE fanned_out_at IS NULL
            AND received_at < now() - make_interval(secs => $1::double precision / 1000)
          ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [this.config.WEBHOOKS_ACCEPTED_WAIT_MS, limit],
      );
      let count = 0;
      for (const event of overdue) count += await this.fanOut(tx, event, null);
      return count;
    });
    if (created) this.dispatcher.wake();
    return created;
  }

  private async fanOut(tx: Sql, event: WaitingEventRow, task: TaskRow | null): Promise<number> {
    const terminal = { type: event.event_type, data: event.data } as TerminalEvent;
    const body = buildPayload(event.task_id, terminal, task?.metadata ?? {});
    const endpoints = await tx.query<{ id: string }[]>(
      `SELECT id FROM endpoints WHERE tenant_id = $1 AND status = 'enabled' AND $2 = ANY (event_types)`,
      [event.tenant_id, event.event_type],
    );
    const targets: { endpointId: string | null; url: string | null }[] = endpoints.map((e) => ({
      endpointId: e.id,
      url: null,
    }));
    if (task?.webhook_url) targets.push({ endpointId: null, url: task.webhook_url });
    await tx.query(`UPDATE terminal_events SET fanned_out_at = now() WHERE event_id = $1`, [event.event_id]);
    if (!targets.length) return 0;
    const firstDelayMs = this.config.WEBHOOKS_RETRY_SCHEDULE[0] ?? 0;
    const inserted = await tx.query<{ id: string }[]>(
      `INSERT INTO messages (id, tenant_id, task_id, source_event_id, event_type, endpoint_id, url, body, status,
                             next_attempt_at)
       SELECT t.id, $1, $2, $3, $4, t.endpoint_id, t.url, $5, 'pending',
              now() + make_interval(secs => $6::double precision / 1000)
         FROM unnest($7::text[], $8::uuid[], $9::text[]) AS t (id, endpoint_id, url)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        event.tenant_id,
        event.task_id,
        event.event_id,
        event.event_type,
        body,
        firstDelayMs,
        targets.map(() => newMessageId()),
        targets.map((t) => t.endpointId),
        targets.map((t) => t.url),
      ],
    );
    return inserted.length;
  }
}

function lockTask(tx: Sql, taskId: string): Promise<unknown> {
  return tx.query(`SELECT pg_advisory_xact_lock(hashtext('webhooks.task.' || $1))`, [taskId]);
}
