import type { TaskSpec } from '@deliberate/contracts';
import type { Sql } from '@deliberate/persistence';
import { Injectable } from '@nestjs/common';
import type { TerminalEvent } from './webhook-payload';

export interface TaskRow {
  webhook_url: string | null;
  metadata: Record<string, string | number | boolean>;
}

export interface WaitingEventRow {
  event_id: string;
  tenant_id: string;
  task_id: string;
  event_type: TerminalEvent['type'];
  data: TerminalEvent['data'];
  /** The W3C traceparent the event was consumed under; its messages' attempts join that trace. */
  traceparent: string | null;
}

export interface NewMessage {
  id: string;
  endpointId: string | null;
  url: string | null;
}

// The tasks, terminal events and messages that MessageIntake writes, each statement in the caller's transaction.
@Injectable()
export class MessageRepository {
  /** Serialises the accepted and terminal paths of one task until the transaction ends. */
  async lockTask(tx: Sql, taskId: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('webhooks.task.' || $1))`, [taskId]);
  }

  async insertTask(
    tx: Sql,
    task: { tenantId: string; taskId: string; spec: TaskSpec; acceptedAt: string },
  ): Promise<void> {
    await tx.execute(
      `INSERT INTO tasks (task_id, tenant_id, webhook_url, metadata, accepted_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (task_id) DO NOTHING`,
      [task.taskId, task.tenantId, task.spec.webhookUrl, JSON.stringify(task.spec.metadata), task.acceptedAt],
    );
  }

  findTask(tx: Sql, tenantId: string, taskId: string): Promise<TaskRow | undefined> {
    return tx.maybe<TaskRow>(
      `SELECT webhook_url, metadata FROM tasks WHERE task_id = $1 AND tenant_id = $2`,
      [taskId, tenantId],
    );
  }

  /** The task's terminal events not yet fanned out, locked. */
  waitingEvents(tx: Sql, taskId: string): Promise<WaitingEventRow[]> {
    return tx.query<WaitingEventRow>(
      `SELECT event_id, tenant_id, task_id, event_type, data, traceparent FROM terminal_events
        WHERE task_id = $1 AND fanned_out_at IS NULL FOR UPDATE`,
      [taskId],
    );
  }

  /** False when the event was stored before (a replay). */
  async insertTerminalEvent(
    tx: Sql,
    e: {
      eventId: string;
      tenantId: string;
      taskId: string;
      type: string;
      occurredAt: string;
      data: unknown;
      traceparent: string | null;
    },
  ): Promise<boolean> {
    const inserted = await tx.query(
      `INSERT INTO terminal_events (event_id, tenant_id, task_id, event_type, occurred_at, data, traceparent)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [e.eventId, e.tenantId, e.taskId, e.type, e.occurredAt, JSON.stringify(e.data), e.traceparent],
    );
    return inserted.length > 0;
  }

  /** Terminal events received more than `waitMs` ago and still waiting for their task, oldest first, locked. */
  overdueEvents(tx: Sql, waitMs: number, limit: number): Promise<WaitingEventRow[]> {
    return tx.query<WaitingEventRow>(
      `SELECT event_id, tenant_id, task_id, event_type, data, traceparent FROM terminal_events
        WHERE fanned_out_at IS NULL
          AND received_at < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [waitMs, limit],
    );
  }

  async subscribedEndpointIds(tx: Sql, tenantId: string, eventType: string): Promise<string[]> {
    const rows = await tx.query<{ id: string }>(
      `SELECT id FROM endpoints WHERE tenant_id = $1 AND status = 'enabled' AND $2 = ANY (event_types)`,
      [tenantId, eventType],
    );
    return rows.map((r) => r.id);
  }

  async markFannedOut(tx: Sql, eventId: string): Promise<void> {
    await tx.execute(`UPDATE terminal_events SET fanned_out_at = now() WHERE event_id = $1`, [eventId]);
  }

  /** Inserts the event's messages, first due after `firstDelayMs`; answers how many were new. */
  async insertMessages(
    tx: Sql,
    event: WaitingEventRow,
    body: string,
    firstDelayMs: number,
    messages: readonly NewMessage[],
  ): Promise<number> {
    const inserted = await tx.query(
      `INSERT INTO messages (id, tenant_id, task_id, source_event_id, event_type, endpoint_id, url, body, status,
                             next_attempt_at, traceparent)
       SELECT t.id, $1, $2, $3, $4, t.endpoint_id, t.url, $5, 'pending',
              now() + make_interval(secs => $6::double precision / 1000), $10
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
        messages.map((m) => m.id),
        messages.map((m) => m.endpointId),
        messages.map((m) => m.url),
        event.traceparent,
      ],
    );
    return inserted.length;
  }
}
