export interface ModelBreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  now?: () => number;
}

export type BreakerOutcome = 'success' | 'failure' | 'neutral';

export interface BreakerSnapshot {
  state: 'closed' | 'open' | 'half_open';
  consecutiveFailures: number;
  openedAtMs: number | null;
}

interface Breaker {
  consecutiveFailures: number;
  openedAtMs: number | null;
  trialInFlight: boolean;
}

// One circuit breaker per model, in this instance's memory: after N consecutive failed calls the model is skipped
// (work goes down the fallback chain) until a cool-down passes; then one trial call decides whether it closes.
// A call the model did not fail (cancelled, cut at our deadline) neither opens nor closes it.
export class ModelBreakers {
  private readonly breakers = new Map<string, Breaker>();
  private readonly now: () => number;

  constructor(private readonly options: ModelBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Whether a call to `model` may go ahead; true at most once per cool-down while the breaker is open. */
  tryAcquire(model: string): boolean {
    const b = this.breaker(model);
    if (b.openedAtMs === null) return true;
    if (b.trialInFlight || this.now() - b.openedAtMs < this.options.cooldownMs) return false;
    b.trialInFlight = true;
    return true;
  }

  /** Ends a call acquired with tryAcquire. */
  record(model: string, outcome: BreakerOutcome): void {
    const b = this.breaker(model);
    const trial = b.trialInFlight;
    b.trialInFlight = false;
    switch (outcome) {
      case 'success':
        b.consecutiveFailures = 0;
        b.openedAtMs = null;
        return;
      case 'failure':
        b.consecutiveFailures += 1;
        if (trial || b.consecutiveFailures >= this.options.failureThreshold) b.openedAtMs = this.now();
        return;
      case 'neutral':
        return;
    }
  }

  snapshot(model: string): BreakerSnapshot {
    const b = this.breaker(model);
    const state =
      b.openedAtMs === null
        ? 'closed'
        : b.trialInFlight || this.now() - b.openedAtMs >= this.options.cooldownMs
          ? 'half_open'
          : 'open';
    return { state, consecutiveFailures: b.consecutiveFailures, openedAtMs: b.openedAtMs };
  }

  private breaker(model: string): Breaker {
    let b = this.breakers.get(model);
    if (!b) {
      b = { consecutiveFailures: 0, openedAtMs: null, trialInFlight: false };
      this.breakers.set(model, b);
    }
    return b;
  }
}
