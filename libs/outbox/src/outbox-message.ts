import type { EventDefinition } from '@deliberate/contracts';
import type { Sql } from '@deliberate/persistence';
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

/** A row set aside as dead, with the reason the publisher gave. */
export interface DeadOutboxMessage {
  message: OutboxMessage;
  reason: string;
}

/**
 * What a service does about the rows it set aside (for example, fail the task an event announced), run on the same
 * connection as the mark, inside the sweep's transaction when the sweep found them.
 */
export type OutboxDeadHandler = (sql: Sql, dead: readonly DeadOutboxMessage[]) => Promise<void>;
