// The one backoff and the one wait of every retry loop: a reserve the ledger did not answer, a model call cut off by
// a crash, a Kafka handler waiting out its database.

/** Exponential backoff with "equal jitter": half of the capped delay fixed, half random. `retry` counts from 1. */
export function jitteredBackoffMs(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Waits `ms`, or less if `signal` aborts first (it resolves either way: the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
