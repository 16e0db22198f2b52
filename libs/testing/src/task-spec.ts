import type { TaskSpec } from '@deliberate/contracts';

/** A normalized task as the services receive it: `input` in mode 'auto' with every option unset, unless given. */
export function testTaskSpec(input: string, over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    input,
    context: [],
    mode: 'auto',
    latencyBudgetMs: null,
    maxCostMicroUsd: null,
    maxThinkingTokens: null,
    reasoningEffort: null,
    webhookUrl: null,
    metadata: {},
    ...over,
  };
}
