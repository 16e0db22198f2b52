import type { TaskSpec } from '@deliberate/contracts';
import { decideByRules } from './triage-policy';

const spec = (over: Partial<TaskSpec>): TaskSpec => ({
  input: 'x',
  context: [],
  mode: 'auto',
  latencyBudgetMs: null,
  maxCostMicroUsd: null,
  maxThinkingTokens: null,
  reasoningEffort: null,
  webhookUrl: null,
  project: null,
  apiKeyId: null,
  metadata: {},
  ...over,
});

describe('decideByRules', () => {
  it('never sends a task with a latency budget under 3 s to the reasoning tier, whatever its mode', () => {
    expect(decideByRules(spec({ latencyBudgetMs: 2_999, mode: 'reasoning' }))).toMatchObject({
      route: 'fast',
      rule: 'latency-budget',
    });
    expect(decideByRules(spec({ latencyBudgetMs: 100 }))?.reason).toContain('100 ms is under 3000 ms');
  });

  it('respects an explicit mode once the budget allows it', () => {
    expect(decideByRules(spec({ mode: 'reasoning', latencyBudgetMs: 3_000 }))).toMatchObject({
      route: 'reasoning',
      rule: 'explicit-mode',
    });
    expect(decideByRules(spec({ mode: 'fast' }))).toMatchObject({ route: 'fast', rule: 'explicit-mode' });
  });

  it('leaves auto mode to the classifier', () => {
    expect(decideByRules(spec({ mode: 'auto', latencyBudgetMs: 60_000 }))).toBeNull();
  });
});
