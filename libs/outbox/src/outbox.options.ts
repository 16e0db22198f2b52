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
}

export const DEFAULT_STALE_AFTER_MS = 3_000;
export const DEFAULT_SWEEP_BATCH = 1_000;
