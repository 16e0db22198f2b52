import type { TaskSpec } from '@deliberate/contracts';
import { currentTraceparent } from '@deliberate/kafka';
import { Inject, Injectable } from '@nestjs/common';
import { WEBHOOKS_CONFIG, type WebhooksConfig } from '../config';
import { Dispatcher } from '../dispatch/dispatcher';
import { Sql } from '@deliberate/persistence';
import { MessageRepository, type TaskRow, type WaitingEventRow } from './message.repository';
import { buildPayload, newMessageId, occurredAt, type TerminalEvent } from './webhook-payload';

// Turns terminal task events into messages: one per enabled endpoint of the tenant subscribed to the event type,
// plus one for the task's own webhookUrl. The task's accepted event and its terminal event travel on different
// topics, so either may come first: a terminal event whose task is unknown waits (in terminal_events) for the
// accepted event, or for WEBHOOKS_ACCEPTED_WAIT_MS, and is never lost. A transaction-scoped advisory lock per task
// keeps the two paths from missing each other.
@Injectable()
export class MessageIntake {
  constructor(
    private readonly sql: Sql,
    private readonly messages: MessageRepository,
    private readonly dispatcher: Dispatcher,
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
  ) {}

  async taskAccepted(tenantId: string, taskId: string, spec: TaskSpec, acceptedAt: string): Promise<void> {
    const created = await this.sql.transaction(async (tx) => {
      await this.messages.lockTask(tx, taskId);
      await this.messages.insertTask(tx, { tenantId, taskId, spec, acceptedAt });
      const waiting = await this.messages.waitingEvents(tx, taskId);
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
    const created = await this.sql.transaction(async (tx) => {
      await this.messages.lockTask(tx, taskId);
      const inserted = await this.messages.insertTerminalEvent(tx, {
        eventId,
        tenantId,
        taskId,
        type: event.type,
        occurredAt: occurredAt(event),
        data: event.data,
        traceparent: currentTraceparent(),
      });
      if (!inserted) return 0;
      const task = await this.messages.findTask(tx, tenantId, taskId);
      if (!task) return 0;
      return this.fanOut(
        tx,
        {
          event_id: eventId,
          tenant_id: tenantId,
          task_id: taskId,
          event_type: event.type,
          data: event.data,
          traceparent: currentTraceparent(),
        },
        task,
      );
    });
    if (created) this.dispatcher.wake();
  }

  /** Terminal events that waited long enough for an accepted event: they go to the tenant's endpoints as they are. */
  async releaseOverdue(limit = 500): Promise<number> {
    const created = await this.sql.transaction(async (tx) => {
      const overdue = await this.messages.overdueEvents(tx, this.config.WEBHOOKS_ACCEPTED_WAIT_MS, limit);
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
    const endpointIds = await this.messages.subscribedEndpointIds(tx, event.tenant_id, event.event_type);
    const targets: { endpointId: string | null; url: string | null }[] = endpointIds.map((id) => ({
      endpointId: id,
      url: null,
    }));
    if (task?.webhook_url) targets.push({ endpointId: null, url: task.webhook_url });
    await this.messages.markFannedOut(tx, event.event_id);
    if (!targets.length) return 0;
    const firstDelayMs = this.config.WEBHOOKS_RETRY_SCHEDULE[0] ?? 0;
    return this.messages.insertMessages(
      tx,
      event,
      body,
      firstDelayMs,
      targets.map((t) => ({ id: newMessageId(), ...t })),
    );
  }
}
