import { createHash } from 'node:crypto';
import { DEFAULT_RETRY_AFTER_MS, parseFaultSpec, type FaultSpec } from './fault-spec';
import { seededRandom } from './seeded-random';

// Bounds the memory of transient-fault counters when a test suite runs for a long time.
const MAX_TRACKED_BODIES = 10_000;

export interface FaultRates {
  rate429: number;
  rate500: number;
  randomSeed: number;
}

export class FaultInjector {
  private readonly attempts = new Map<string, number>();
  private readonly random: () => number;

  constructor(private readonly rates: FaultRates) {
    this.random = seededRandom(rates.randomSeed);
  }

  /**
   * The fault to inject for this attempt, or null to answer normally. `requested` comes from the header or the
   * prompt directive; `body` identifies "the same request" for transient faults (`429x2`).
   * Returns `{ error }` when the requested fault does not parse.
   */
  decide(requested: string | undefined, body: unknown): FaultSpec | { error: string } | null {
    if (requested !== undefined) {
      const spec = parseFaultSpec(requested);
      if ('error' in spec) return spec;
      if (spec.times === undefined) return spec;
      const key = createHash('sha256')
        .update(requested)
        .update('\u0000')
        .update(JSON.stringify(body))
        .digest('hex');
      const seen = this.attempts.get(key) ?? 0;
      this.remember(key, seen + 1);
      return seen < spec.times ? spec : null;
    }
    if (this.rates.rate429 === 0 && this.rates.rate500 === 0) return null;
    const draw = this.random();
    if (draw < this.rates.rate429)
      return { kind: '429', times: undefined, retryAfterMs: DEFAULT_RETRY_AFTER_MS };
    if (draw < this.rates.rate429 + this.rates.rate500) {
      return { kind: '500', times: undefined, retryAfterMs: DEFAULT_RETRY_AFTER_MS };
    }
    return null;
  }

  private remember(key: string, count: number): void {
    this.attempts.delete(key);
    this.attempts.set(key, count);
    if (this.attempts.size > MAX_TRACKED_BODIES) {
      // Maps iterate in insertion order: the first key is the least recently used.
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
  }
}
