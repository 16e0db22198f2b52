import { DEFAULT_TENANT_POLICY, type TaskSpec, tenantPolicySchema } from '@deliberate/contracts';
import { decideByRules } from './triage-policy';

const policy = DEFAULT_TENANT_POLICY;

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
    expect(decideByRules(spec({ latencyBudgetMs: 2_999, mode: 'reasoning' }), policy)).toMatchObject({
      route: 'fast',
      rule: 'latency-budget',
    });
    expect(decideByRules(spec({ latencyBudgetMs: 100 }), policy)?.reason).toContain(
      '100 ms is under 3000 ms',
    );
  });

  it('respects an explicit mode once the budget allows it', () => {
    expect(decideByRules(spec({ mode: 'reasoning', latencyBudgetMs: 3_000 }), policy)).toMatchObject({
      route: 'reasoning',
      rule: 'explicit-mode',
    });
    expect(decideByRules(spec({ mode: 'fast' }), policy)).toMatchObject({
      route: 'fast',
      rule: 'explicit-mode',
    });
  });

  it('leaves auto mode to the classifier', () => {
    expect(decideByRules(spec({ mode: 'auto', latencyBudgetMs: 60_000 }), policy)).toBeNull();
  });

  it("takes the latency threshold from the tenant's policy", () => {
    const patient = tenantPolicySchema.parse({ reasoningMinLatencyBudgetMs: 30_000 });
    expect(decideByRules(spec({ mode: 'reasoning', latencyBudgetMs: 29_999 }), patient)).toMatchObject({
      route: 'fast',
      rule: 'latency-budget',
      reason: expect.stringContaining("29999 ms is under 30000 ms, the tenant's threshold"),
    });
    expect(decideByRules(spec({ mode: 'auto', latencyBudgetMs: 20_000 }), patient)?.route).toBe('fast');
    expect(decideByRules(spec({ mode: 'reasoning', latencyBudgetMs: 30_000 }), patient)?.route).toBe(
      'reasoning',
    );
    // The same task under the default threshold is left to its mode.
    expect(decideByRules(spec({ mode: 'reasoning', latencyBudgetMs: 29_999 }), policy)?.route).toBe(
      'reasoning',
    );
  });

  it('applies no latency rule to a task without a latency budget, whatever the threshold', () => {
    const patient = tenantPolicySchema.parse({ reasoningMinLatencyBudgetMs: 600_000 });
    expect(decideByRules(spec({ mode: 'auto' }), patient)).toBeNull();
  });
});
