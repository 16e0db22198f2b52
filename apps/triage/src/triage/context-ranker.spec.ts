import {
  DEFAULT_TENANT_POLICY,
  type EventEnvelope,
  type TaskAccepted,
  type TenantPolicy,
  tenantPolicySchema,
} from '@deliberate/contracts';
import { ModelCallError, type ModelCallResult } from '@deliberate/llm';
import type { TenantPolicyCache } from '@deliberate/tenant-policy';
import { ContextRanker, type RankCall } from './context-ranker';

type Ranking = { index: number; score: number; reason: string }[];

const accepted = (documents: number, tenantId = 'acme'): EventEnvelope<TaskAccepted> =>
  ({
    specversion: '1.0',
    id: 'e1',
    type: 'tasks.task.accepted.v1',
    source: 'test',
    time: new Date().toISOString(),
    tenantId,
    taskId: 't1',
    data: {
      acceptedAt: new Date().toISOString(),
      spec: {
        input: 'Are the mortgage payments affordable?',
        context: Array.from({ length: documents }, (_, i) => ({
          id: `d${i}`,
          title: null,
          content: `document ${i}`,
        })),
        mode: 'auto',
        latencyBudgetMs: null,
        maxCostMicroUsd: null,
        maxThinkingTokens: null,
        reasoningEffort: null,
        webhookUrl: null,
        project: null,
        apiKeyId: null,
        metadata: {},
      },
    },
  }) as unknown as EventEnvelope<TaskAccepted>;

// The tenants' policies as the cache would answer them.
function rankerWith(policies: Record<string, TenantPolicy>): ContextRanker {
  const cache = { policyOf: (tenantId: string) => policies[tenantId] ?? DEFAULT_TENANT_POLICY };
  return new ContextRanker(cache as unknown as TenantPolicyCache);
}

const answering =
  (ranking: Ranking): RankCall =>
  () =>
    Promise.resolve({ content: JSON.stringify({ ranking }) } as ModelCallResult);

const policy = (topK: number, minRelevance: number) =>
  tenantPolicySchema.parse({ context: { topK, minRelevance } });

describe('ContextRanker', () => {
  it("keeps the tenant's top k by score", async () => {
    const ranker = rankerWith({ acme: policy(3, 0.01) });
    const ranking = [0.9, 0.2, 0.5, 0.7, 0.1].map((score, index) => ({ index, score, reason: `r${index}` }));
    const { spec, selection } = await ranker.select(accepted(5), answering(ranking));
    expect(spec.context.map((d) => d.id)).toEqual(['d0', 'd2', 'd3']);
    expect(selection?.filter((e) => e.kept).map((e) => e.index)).toEqual([0, 2, 3]);
  });

  it('drops a document below the relevance floor even when fewer than k remain, saying why', async () => {
    const ranker = rankerWith({ acme: policy(2, 0.01) });
    const ranking = [
      { index: 1, score: 0.6, reason: 'shares mortgage' },
      { index: 0, score: 0, reason: 'no overlap with the question' },
      { index: 2, score: 0, reason: 'no overlap with the question' },
    ];
    const { spec, selection } = await ranker.select(accepted(3), answering(ranking));
    expect(spec.context.map((d) => d.id)).toEqual(['d1']);
    expect(selection).toEqual([
      expect.objectContaining({
        index: 0,
        score: 0,
        kept: false,
        reason: expect.stringMatching(/no overlap with the question.*below the relevance floor 0\.01/),
      }),
      expect.objectContaining({ index: 1, score: 0.6, kept: true, reason: 'shares mortgage' }),
      expect.objectContaining({ index: 2, kept: false, reason: expect.stringContaining('relevance floor') }),
    ]);
  });

  it('drops a document the model left unranked under a floor, and lets it fill k with a floor of 0', async () => {
    const ranking = [{ index: 0, score: 0.8, reason: 'shares mortgage' }];
    const floored = await rankerWith({ acme: policy(2, 0.01) }).select(accepted(3), answering(ranking));
    expect(floored.spec.context.map((d) => d.id)).toEqual(['d0']);
    expect(floored.selection?.[1]).toMatchObject({
      kept: false,
      reason: expect.stringContaining('not ranked'),
    });

    const unfloored = await rankerWith({ acme: policy(2, 0) }).select(accepted(3), answering(ranking));
    expect(unfloored.spec.context.map((d) => d.id)).toEqual(['d0', 'd1']);
  });

  it("reads each tenant's own policy", async () => {
    const ranker = rankerWith({ acme: policy(1, 0.5), globex: policy(3, 0) });
    const ranking = [0.9, 0.4, 0.3].map((score, index) => ({ index, score, reason: 'r' }));
    // Three documents are within globex's k: no ranking call, every document passes.
    const rank = jest.fn(answering(ranking));
    expect((await ranker.select(accepted(3, 'globex'), rank)).selection).toBeNull();
    expect(rank).not.toHaveBeenCalled();
    expect((await ranker.select(accepted(3, 'acme'), rank)).spec.context.map((d) => d.id)).toEqual(['d0']);
  });

  it('passes every document when the ranking fails, rather than drop them blindly', async () => {
    const ranker = rankerWith({ acme: policy(1, 0.5) });
    const failing: RankCall = () =>
      Promise.reject(
        new ModelCallError('down', {
          kind: 'server_error',
          retryable: true,
          tier: 'fast',
          model: 'sim-fast',
          status: 503,
          code: null,
          requestId: null,
          retryAfterMs: null,
          cause: null,
        }),
      );
    const { spec, selection } = await ranker.select(accepted(3), failing);
    expect(spec.context).toHaveLength(3);
    expect(selection).toBeNull();
  });

  it("cuts a model's reason to what the event allows, the floor's note included", async () => {
    const ranker = rankerWith({ acme: policy(1, 0.5) });
    const long = 'x'.repeat(5_000);
    const ranking = [
      { index: 0, score: 0.9, reason: long },
      { index: 1, score: 0.1, reason: long },
    ];
    const { selection } = await ranker.select(accepted(2), answering(ranking));
    expect(selection?.[0]?.reason).toHaveLength(1_000);
    expect(selection?.[1]?.reason.length).toBeLessThanOrEqual(1_000);
    expect(selection?.[1]?.reason).toContain('below the relevance floor 0.5');
  });
});
