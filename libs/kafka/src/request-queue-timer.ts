import { createRequire } from 'node:module';

// kafkajs 2.2.4 arms its request queue's pending check with `throttledUntil - now`, and throttledUntil starts at -1:
// every new broker connection set a timer of about minus the epoch in ms, which Node reports as a
// TimeoutNegativeWarning and runs after 1 ms (https://github.com/tulios/kafkajs/issues/1751). The delay is computed
// here instead, never below zero; what the queue does is unchanged.

/** kafkajs's interval for re-checking queued requests that are not throttled. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/** When a request queue checks its pending requests next: at the end of a throttle still in force, soon when
 * requests wait without one, and at once otherwise. */
export function pendingCheckDelayMs(throttledUntilMs: number, nowMs: number, pendingCount: number): number {
  const untilThrottleEndsMs = throttledUntilMs - nowMs;
  if (untilThrottleEndsMs > 0) return untilThrottleEndsMs;
  return pendingCount > 0 ? CHECK_PENDING_REQUESTS_INTERVAL_MS : 0;
}

interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

let installed = false;

/** Replaces kafkajs's RequestQueue.scheduleCheckPendingRequests with one whose delay is pendingCheckDelayMs. */
export function installRequestQueueTimerFix(): void {
  if (installed) return;
  installed = true;
  const load = createRequire(require.resolve('kafkajs'));
  const RequestQueue = load('./src/network/requestQueue') as { prototype: RequestQueueInternals };
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId) return;
    const delayMs = pendingCheckDelayMs(this.throttledUntil, Date.now(), this.pending.length);
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, delayMs);
  };
}
