import type { EventDefinition } from '@deliberate/contracts';
import type { z } from 'zod';

/**
 * What the outbox runs its SQL on: the caller's transaction or the pool. Any driver fits whose SELECT answers its
 * rows; the outbox reads no other result.
 */
export interface OutboxSql {
  query(text: string, params?: unknown[]): Promise<unknown>;
}

/** A row of a service's `outbox` table, as the relay publishes it. */
export interface OutboxMessage {
  /** Also the event id, so a republished event is recognisably the same event. */
  id: string;
  topic: string;
  tenantId: string;
  taskId: string | null;
  payload: unknown;
}

/** Who an event is about: the tenant, and the task when there is one (the Kafka key follows the event's `key`). */
export interface OutboxAddress {
  tenantId: string;
  taskId?: string | null;
}

/** One event to write, for `Outbox.addMany`. */
export interface OutboxDraft<D extends EventDefinition = EventDefinition> extends OutboxAddress {
  event: D;
  data: z.input<D['schema']>;
}
