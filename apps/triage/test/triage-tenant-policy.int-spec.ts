import { reasoningRequestedEvent, taskTriagedEvent, tenantPolicySchema } from '@deliberate/contracts';
import { testTaskSpec, type TopicRecorder } from '@deliberate/testing';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import { startTriageHarness, type TriageHarness } from './triage-harness';

// The triage decides by each tenant's own policy, as the gateway announces it on tenants.policy.updated.v1: the
// latency threshold of the rules, and the context's top k and relevance floor.

const PROOF =
  'Prove step by step that the mortgage payments remain affordable after the interest rates rise.';

describe('triage with tenant policies (real Kafka, simulated models)', () => {
  let h: TriageHarness;
  let recorder: TopicRecorder;

  const triaged = (taskId: string) =>
    recorder.waitFor(() => recorder.of(taskTriagedEvent.topic, taskId)[0], `task.triaged of ${taskId}`);
  const reasoningRequested = (taskId: string) =>
    recorder.waitFor(
      () => recorder.of(reasoningRequestedEvent.topic, taskId)[0],
      `reasoning.task.requested of ${taskId}`,
    );

  beforeAll(async () => {
    h = await startTriageHarness('triage_policy');
    recorder = h.recorder;
    await h.startTriage();
  });

  afterAll(() => h?.close());

  it("routes a task under its tenant's latency threshold to the fast tier, and the same task of another tenant to reasoning", async () => {
    await h.setPolicy('patient', { reasoningMinLatencyBudgetMs: 60_000 });
    const spec = testTaskSpec(PROOF, { mode: 'reasoning', latencyBudgetMs: 30_000 });

    const patientTask = await h.accept('patient', spec);
    const defaultTask = await h.accept('hurried', spec);

    expect((await triaged(patientTask)).data.decision).toMatchObject({
      route: 'fast',
      decidedBy: 'rule',
      rule: 'latency-budget',
      reason: expect.stringContaining('30000 ms is under 60000 ms'),
    });
    expect((await triaged(defaultTask)).data.decision).toMatchObject({
      route: 'reasoning',
      rule: 'explicit-mode',
    });
    expect(recorder.of(reasoningRequestedEvent.topic, patientTask)).toHaveLength(0);
  });

  it("drops a document under the tenant's relevance floor even though k is not filled, and says why", async () => {
    await h.setPolicy('floored', { context: { topK: 2, minRelevance: 0.05 } });
    const context = [
      { id: 'weather', title: 'Weather', content: 'Tomorrow will be sunny with light winds.' },
      {
        id: 'rates',
        title: 'Rates',
        content: 'The central bank raised interest rates; mortgage payments increase.',
      },
      { id: 'menu', title: 'Menu', content: 'The canteen serves soup on Fridays.' },
    ];
    const taskId = await h.accept('floored', testTaskSpec(PROOF, { mode: 'reasoning', context }));

    const { data } = await reasoningRequested(taskId);
    expect(data.spec.context.map((d: { id: string }) => d.id)).toEqual(['rates']);
    expect(data.contextSelection).toEqual([
      expect.objectContaining({
        id: 'weather',
        kept: false,
        score: 0,
        reason: expect.stringContaining('relevance floor'),
      }),
      expect.objectContaining({ id: 'rates', kept: true }),
      expect.objectContaining({
        id: 'menu',
        kept: false,
        score: 0,
        reason: expect.stringContaining('relevance floor'),
      }),
    ]);
  });

  it("keeps the tenant's top k, more than the default of 2, when they are relevant", async () => {
    await h.setPolicy('wide', { context: { topK: 3, minRelevance: 0 } });
    const context = Array.from({ length: 5 }, (_, i) => ({
      id: `doc-${i}`,
      content:
        i < 3 ? `Mortgage payments and interest rates, note ${i}.` : `The canteen serves soup, note ${i}.`,
    }));
    const taskId = await h.accept('wide', testTaskSpec(PROOF, { mode: 'reasoning', context }));

    const { data } = await reasoningRequested(taskId);
    expect(data.spec.context.map((d: { id: string }) => d.id)).toEqual(['doc-0', 'doc-1', 'doc-2']);
  });

  it('a triage started after a policy was set has read it by the time it takes tasks', async () => {
    await h.setPolicy('settled', {
      reasoningMinLatencyBudgetMs: 45_000,
      context: { topK: 5, minRelevance: 0.3 },
    });
    const late = await h.startTriage();
    // No waiting: the cache caught up during the start.
    expect(late.get(TenantPolicyCache).policyOf('settled')).toEqual(
      tenantPolicySchema.parse({
        reasoningMinLatencyBudgetMs: 45_000,
        context: { topK: 5, minRelevance: 0.3 },
      }),
    );
  });
});
