import type { EventDefinition } from '@deliberate/contracts';

export const OUTBOX_OPTIONS = Symbol('OUTBOX_OPTIONS');

export interface OutboxOptions {
  /** The events this service writes to its outbox: the relay publishes no other topic. */
  events: readonly EventDefinition[];
  /** Rows left pending this long are taken over by the sweep (a crash or a broker outage after the commit). */
  staleAfterMs?: number;
  /** When set, the relay sweeps on its own at this interval; otherwise the service calls `relayStale` itself. */
  sweepIntervalMs?: number;
  sweepBatch?: number;
  /**
   * When set, rows published right after their commit are marked published many per UPDATE, this long after the
   * first: `publish` then resolves once Kafka has the event. A lost mark only means the sweep sends the event again.
   */
  batchPublishedMarksMs?: number;
}

export const DEFAULT_STALE_AFTER_MS = 3_000;
export const DEFAULT_SWEEP_BATCH = 1_000;
