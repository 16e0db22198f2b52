import type { TaskSpec } from '@deliberate/contracts';

/**
 * The part of a task's spec that a run reads: the prompt and its context documents, the task's own limits, and the
 * API key and project its calls are reserved under.
 */
export type RunSpec = Pick<
  TaskSpec,
  'input' | 'context' | 'maxThinkingTokens' | 'reasoningEffort' | 'maxCostMicroUsd' | 'apiKeyId' | 'project'
>;

/**
 * An execution's record stays in memory for as long as it runs, model calls included, so it keeps only what a run
 * reads: the client's metadata (up to 50 values), its webhook URL, the mode and the latency budget (already turned
 * into the deadline) are stored with the execution and travel with the task's events, not here.
 */
export function runSpecOf(spec: TaskSpec): RunSpec {
  return {
    input: spec.input,
    context: spec.context,
    maxThinkingTokens: spec.maxThinkingTokens,
    reasoningEffort: spec.reasoningEffort,
    maxCostMicroUsd: spec.maxCostMicroUsd,
    apiKeyId: spec.apiKeyId,
    project: spec.project,
  };
}
