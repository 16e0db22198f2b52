import type { TaskSpec } from '@deliberate/contracts';
import { runSpecOf } from './run-spec';

const spec: TaskSpec = {
  input: [{ role: 'user', content: 'Plan the migration.' }],
  context: [{ id: 'doc-1', content: 'The schema.' }],
  mode: 'reasoning',
  latencyBudgetMs: 120_000,
  maxCostMicroUsd: 5_000,
  maxThinkingTokens: 8_000,
  reasoningEffort: 'high',
  webhookUrl: 'https://client.example/hook',
  metadata: { order: 'A-1', priority: 2 },
  project: 'billing',
  apiKeyId: 'key-1',
};

describe('runSpecOf', () => {
  it('keeps the prompt, the limits and the reservation scopes, and shares the prompt rather than copying it', () => {
    const run = runSpecOf(spec);
    expect(run).toEqual({
      input: spec.input,
      context: spec.context,
      maxThinkingTokens: 8_000,
      reasoningEffort: 'high',
      maxCostMicroUsd: 5_000,
      apiKeyId: 'key-1',
      project: 'billing',
    });
    expect(run.input).toBe(spec.input);
    expect(run.context).toBe(spec.context);
  });

  it('leaves out the metadata, the webhook, the mode and the latency budget', () => {
    const run = runSpecOf(spec);
    for (const key of ['metadata', 'webhookUrl', 'mode', 'latencyBudgetMs'])
      expect(run).not.toHaveProperty(key);
  });
});
