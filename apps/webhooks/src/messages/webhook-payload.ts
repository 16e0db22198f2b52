import {
  type TaskCancelled,
  type TaskCompleted,
  type TaskEscalated,
  type TaskFailed,
  type WebhookEventType,
  type WebhookPayload,
  webhookPayloadSchema,
} from '@deliberate/contracts';
import { uuidv7 } from '@deliberate/contracts';

/** A terminal task event as the webhooks service keeps it until it has become messages. */
export type TerminalEvent =
  | { type: 'task.completed'; data: TaskCompleted }
  | { type: 'task.failed'; data: TaskFailed }
  | { type: 'task.escalated'; data: TaskEscalated }
  | { type: 'task.cancelled'; data: TaskCancelled };

export function occurredAt(event: TerminalEvent): string {
  switch (event.type) {
    case 'task.completed':
      return event.data.completedAt;
    case 'task.failed':
      return event.data.failedAt;
    case 'task.escalated':
      return event.data.escalatedAt;
    case 'task.cancelled':
      return event.data.cancelledAt;
  }
}

/** The body every target of this event receives, byte for byte the same on every attempt. */
export function buildPayload(
  taskId: string,
  event: TerminalEvent,
  metadata: Record<string, string | number | boolean>,
): string {
  const base = { taskId, metadata };
  let data: WebhookPayload['data'];
  switch (event.type) {
    case 'task.completed':
      data = { ...base, status: 'completed', result: event.data.result };
      break;
    case 'task.failed':
      data = { ...base, status: 'failed', error: event.data.error };
      break;
    case 'task.escalated':
      data = { ...base, status: 'needs_human', reason: event.data.reason, attempts: event.data.attempts };
      break;
    case 'task.cancelled':
      data = { ...base, status: 'cancelled', reason: event.data.reason, usage: event.data.usage };
      break;
  }
  const payload: WebhookPayload = webhookPayloadSchema.parse({
    type: event.type satisfies WebhookEventType,
    timestamp: new Date(occurredAt(event)).toISOString(),
    data,
  });
  return JSON.stringify(payload);
}

/** `msg_` and a UUIDv7 without dashes: unique, and sorted by creation time (the deliveries list pages on it). */
export function newMessageId(): string {
  return `msg_${uuidv7().replace(/-/g, '')}`;
}

/** Scheme, host and path: a query string may carry credentials, so logs and events never show it. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`.slice(0, 2048);
  } catch {
    return '(unparseable URL)';
  }
}
