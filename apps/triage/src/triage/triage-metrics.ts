import type { TriageDecision } from '@deliberate/contracts';
import { ServiceMetrics } from '@deliberate/metrics';
import { Injectable, Optional } from '@nestjs/common';
import type { Counter } from '@opentelemetry/api';

/**
 * What decided the route: the rule's name (named by this service's code: triage-policy.ts and the cost breaker's
 * cheap-tier rule, a bounded set), `model` (the classifier) or `fallback`; never the decision's free-text reason.
 */
function decisionReason(decision: TriageDecision): string {
  return decision.decidedBy === 'rule' ? (decision.rule ?? 'rule') : decision.decidedBy;
}

// The triage's own instruments. Labels: the route and what decided it (both bounded), never a tenant or task id.
@Injectable()
export class TriageMetrics {
  private readonly decisions: Counter | undefined;

  // A bare test module without a metrics module triages unmeasured.
  constructor(@Optional() metrics?: ServiceMetrics) {
    if (!metrics) return;
    this.decisions = metrics.meter('deliberate.triage').createCounter('deliberate.triage.decisions', {
      description: 'Triage decisions recorded, one per task, by route and what decided it',
      unit: '{task}',
    });
  }

  decided(decision: TriageDecision): void {
    this.decisions?.add(1, { route: decision.route, reason: decisionReason(decision) });
  }
}
