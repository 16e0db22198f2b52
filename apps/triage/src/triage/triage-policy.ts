import { TASK_LIMITS, type TaskSpec, type TriageRoute } from '@deliberate/contracts';

export interface RuleDecision {
  route: TriageRoute;
  rule: string;
  reason: string;
}

// Rules decide before any model is asked: they are free, instant and explainable. Null means "ask the classifier".
export function decideByRules(spec: TaskSpec): RuleDecision | null {
  const budget = spec.latencyBudgetMs;
  if (budget !== null && budget < TASK_LIMITS.reasoningMinLatencyBudgetMs) {
    return {
      route: 'fast',
      rule: 'latency-budget',
      reason: `latency budget ${budget} ms is under ${TASK_LIMITS.reasoningMinLatencyBudgetMs} ms; the reasoning tier cannot answer in time`,
    };
  }
  if (spec.mode === 'fast')
    return { route: 'fast', rule: 'explicit-mode', reason: "the client asked for mode 'fast'" };
  if (spec.mode === 'reasoning') {
    return { route: 'reasoning', rule: 'explicit-mode', reason: "the client asked for mode 'reasoning'" };
  }
  return null;
}
