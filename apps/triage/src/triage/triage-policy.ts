import type { TaskSpec, TenantPolicy, TriageRoute } from '@deliberate/contracts';

export interface RuleDecision {
  route: TriageRoute;
  rule: string;
  reason: string;
}

// Rules decide before any model is asked: they are free, instant and explainable. Null means "ask the classifier".
// The latency threshold is the tenant's (its policy's default is the platform's floor, TASK_LIMITS').
export function decideByRules(spec: TaskSpec, policy: TenantPolicy): RuleDecision | null {
  const budget = spec.latencyBudgetMs;
  const threshold = policy.reasoningMinLatencyBudgetMs;
  if (budget !== null && budget < threshold) {
    return {
      route: 'fast',
      rule: 'latency-budget',
      reason: `latency budget ${budget} ms is under ${threshold} ms, the tenant's threshold for the reasoning tier; it cannot answer in time`,
    };
  }
  if (spec.mode === 'fast')
    return { route: 'fast', rule: 'explicit-mode', reason: "the client asked for mode 'fast'" };
  if (spec.mode === 'reasoning') {
    return { route: 'reasoning', rule: 'explicit-mode', reason: "the client asked for mode 'reasoning'" };
  }
  return null;
}
