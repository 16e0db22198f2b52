import { DEFAULT_TENANT_POLICY, type TaskSpec, type TenantPolicy } from '@deliberate/contracts';
import { deadlineFor, taskLimits } from './task-limits';

const spec = (over: Partial<TaskSpec> = {}): TaskSpec => ({
  input: 'q',
  context: [],
  mode: 'reasoning',
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
const policy: TenantPolicy = DEFAULT_TENANT_POLICY;
const defaults = {
  defaultMaxThinkingTokens: 32_000,
  maxThinkingTokensCeiling: 128_000,
  standardMaxCompletionTokens: 4_096,
  defaultDeadlineMs: 600_000,
  fallbackReserveMs: 30_000,
};
const createdAt = new Date('2026-01-01T00:00:00Z');

describe('taskLimits', () => {
  it('applies the defaults when the task asks for nothing', () => {
    const deadlineAt = deadlineFor(spec(), createdAt, defaults.defaultDeadlineMs);
    const limits = taskLimits(spec(), { createdAt, deadlineAt }, policy, defaults);
    expect(deadlineAt.toISOString()).toBe('2026-01-01T00:10:00.000Z');
    expect(limits).toMatchObject({
      maxCompletionTokens: 32_000,
      reasoningEffort: 'medium',
      standardMaxCompletionTokens: 4_096,
      taskCeilingMicroUsd: null,
    });
    // The last 30 s are kept for the standard model.
    expect(limits.reasoningDeadlineAt.toISOString()).toBe('2026-01-01T00:09:30.000Z');
  });

  it("takes the task's own limits, capped by the tenant's ceiling", () => {
    const s = spec({
      maxThinkingTokens: 500_000,
      reasoningEffort: 'high',
      latencyBudgetMs: 8_000,
      maxCostMicroUsd: 90_000,
    });
    const deadlineAt = deadlineFor(s, createdAt, defaults.defaultDeadlineMs);
    const limits = taskLimits(
      s,
      { createdAt, deadlineAt },
      { ...policy, maxThinkingTokensCeiling: 64_000 },
      defaults,
    );
    expect(limits.maxCompletionTokens).toBe(64_000);
    expect(limits.reasoningEffort).toBe('high');
    expect(limits.taskCeilingMicroUsd).toBe(90_000);
    // A short budget keeps a quarter of it for the fallback, not the 30 s default.
    expect(limits.reasoningDeadlineAt.getTime() - createdAt.getTime()).toBe(6_000);
    expect(limits.deadlineAt.getTime() - createdAt.getTime()).toBe(8_000);
  });

  it("takes the tenant's default effort for a task that names none, and the configured ceiling when it sets none", () => {
    const deadlineAt = deadlineFor(spec(), createdAt, defaults.defaultDeadlineMs);
    const s = spec({ maxThinkingTokens: 500_000 });
    const limits = taskLimits(
      s,
      { createdAt, deadlineAt },
      { ...policy, defaultReasoningEffort: 'low', maxThinkingTokensCeiling: null },
      defaults,
    );
    expect(limits.reasoningEffort).toBe('low');
    expect(limits.maxCompletionTokens).toBe(128_000);
    const own = taskLimits(
      spec({ reasoningEffort: 'high' }),
      { createdAt, deadlineAt },
      { ...policy, defaultReasoningEffort: 'low' },
      defaults,
    );
    expect(own.reasoningEffort).toBe('high');
  });

  it('gives the reasoning model the whole budget when no model follows it in the chain', () => {
    const deadlineAt = deadlineFor(spec(), createdAt, 60_000);
    const limits = taskLimits(
      spec(),
      { createdAt, deadlineAt },
      { ...policy, fallback: ['human'] },
      defaults,
    );
    expect(limits.reasoningDeadlineAt).toEqual(deadlineAt);
  });
});
