import { observeGauge, ServiceMetrics } from '@deliberate/metrics';
import { Injectable, Optional } from '@nestjs/common';
import type { Counter, Meter } from '@opentelemetry/api';
import type { CallTier, ExecutionOutcome } from './execution-record';

const TIERS: readonly CallTier[] = ['reasoning', 'standard'];

/** How an execution ended: its outcome's kind, with an answer of a fallback tier told apart as `fallback`. */
export type ExecutionEnd = ExecutionOutcome['kind'] | 'fallback';

// The reasoner's own instruments, for this replica. Labels: the model tier and the execution's end (enums), never a
// tenant, task or execution id. A call is in flight from the request to the model until it answers or fails; an
// execution waiting for a worker of the pool is queued (one waiting on the ledger or a retry's backoff is neither).
@Injectable()
export class ReasonerMetrics {
  private readonly meter: Meter | undefined;
  private readonly executions: Counter | undefined;
  private readonly inFlight = new Map<CallTier, number>(TIERS.map((t) => [t, 0]));

  // A bare test module without a metrics module reasons unmeasured.
  constructor(@Optional() metrics?: ServiceMetrics) {
    if (!metrics) return;
    this.meter = metrics.meter('deliberate.reasoner');
    this.executions = this.meter.createCounter('deliberate.reasoner.executions', {
      description: 'Executions ended, by outcome, each once',
      unit: '{execution}',
    });
    observeGauge(
      this.meter,
      'deliberate.reasoner.calls.in_flight',
      { description: 'Model calls of this replica waiting for their answer, by model tier', unit: '{call}' },
      () => [...this.inFlight].map(([tier, calls]) => [{ 'deliberate.model_tier': tier }, calls] as const),
    );
  }

  /** Registered by the pool, which holds the queue: read at scrape time. */
  observeQueued(queued: () => number): void {
    if (!this.meter) return;
    observeGauge(
      this.meter,
      'deliberate.reasoner.calls.queued',
      {
        description: 'Executions accepted by this replica, waiting for a worker of its pool',
        unit: '{call}',
      },
      () => [[{}, queued()]],
    );
  }

  callStarted(tier: CallTier): void {
    this.inFlight.set(tier, (this.inFlight.get(tier) ?? 0) + 1);
  }

  callEnded(tier: CallTier): void {
    this.inFlight.set(tier, Math.max(0, (this.inFlight.get(tier) ?? 0) - 1));
  }

  executionEnded(end: ExecutionEnd): void {
    this.executions?.add(1, { outcome: end });
  }
}
