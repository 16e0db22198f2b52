import {
  budgetBreakerOpenedEvent,
  deadLetterTopic,
  modelCallRecordedEvent,
  reasoningRequestedEvent,
  taskAcceptedEvent,
  taskCompletedEvent,
  taskFailedEvent,
  type TaskSpec,
  taskTriagedEvent,
} from '@deliberate/contracts';
import { BreakerStateCache } from '@deliberate/ledger-client';
import {
  header,
  listenOnFreePort,
  openedBreaker,
  pollUntil,
  readTopic,
  type RecordedEvent,
  scrapeMetrics,
  testTaskSpec,
  testKafka,
  type TopicRecorder,
} from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { startTriageHarness, type TriageHarness } from './triage-harness';

// The triage on the real broker, the simulator as the fast model: an accepted task is triaged by the rules or the
// classifier, then answered by the fast model or handed to the reasoning tier; an open cost breaker decides first,
// and a message that is not a task.accepted event goes to the dead-letter topic without holding up the next task.

const SIMPLE = 'What is 2 + 2?';
// The simulator's classifier calls a request to prove something complex.
const COMPLEX = 'Prove that sqrt(2) is irrational';

describe('triage (real Kafka, simulated models)', () => {
  let h: TriageHarness;
  let triage: INestApplication;
  let recorder: TopicRecorder;

  const accept = (tenantId: string, spec: TaskSpec): Promise<string> => h.accept(tenantId, spec);

  const triaged = (taskId: string) =>
    recorder.waitFor(() => recorder.of(taskTriagedEvent.topic, taskId)[0], `task.triaged of ${taskId}`);

  const modelCalls = (taskId: string): RecordedEvent[] => recorder.of(modelCallRecordedEvent.topic, taskId);

  /** `rule` sent the task to the fast model, which answered it: no classifier call, no reasoning tier. */
  async function expectAnsweredFastByRule(taskId: string, rule: string): Promise<void> {
    const completed = (await recorder.outcomes([taskId])).get(taskId)!;
    expect(completed.topic).toBe(taskCompletedEvent.topic);
    expect(completed.data.result).toMatchObject({ answeredBy: 'fast_model' });
    expect((await triaged(taskId)).data.decision).toMatchObject({
      route: 'fast',
      decidedBy: 'rule',
      rule,
      classification: null,
    });
    expect(recorder.of(reasoningRequestedEvent.topic, taskId)).toHaveLength(0);
    await recorder.waitFor(() => modelCalls(taskId).length >= 1, `the answer's model call of ${taskId}`);
    expect(modelCalls(taskId).map((e) => e.data.purpose)).toEqual(['answer']);
  }

  // What an open breaker asks of the triage is the tenant's policy, set beside it.
  async function openBreaker(tenantId: string, policy: 'fail' | 'route_cheap'): Promise<void> {
    await h.setPolicy(tenantId, { onBudgetDenied: policy });
    await h.publisher.publish(budgetBreakerOpenedEvent, { tenantId, data: openedBreaker(policy) });
  }

  beforeAll(async () => {
    h = await startTriageHarness('triage');
    recorder = h.recorder;
    triage = await h.startTriage();
  });

  afterAll(() => h?.close());

  it('sends a simple task the classifier calls simple to the fast model, which completes it', async () => {
    const taskId = await accept('acme', testTaskSpec(SIMPLE));

    const completed = (await recorder.outcomes([taskId])).get(taskId)!;
    expect(completed.topic).toBe(taskCompletedEvent.topic);
    expect(completed.data.result).toMatchObject({ answeredBy: 'fast_model', answer: expect.any(String) });
    expect(completed.data.result.answer.length).toBeGreaterThan(0);

    const decision = (await triaged(taskId)).data.decision;
    expect(decision).toMatchObject({ route: 'fast', decidedBy: 'model', rule: null });
    expect(decision.classification).toMatchObject({ complexity: 'simple' });
    expect(recorder.of(reasoningRequestedEvent.topic, taskId)).toHaveLength(0);

    // Both fast-model calls (the classification and the answer) are recorded for the ledger to book.
    await recorder.waitFor(() => modelCalls(taskId).length >= 2, `two model calls of ${taskId}`);
    expect(
      modelCalls(taskId)
        .map((e) => [e.data.tier, e.data.purpose, e.data.outcome])
        .sort(),
    ).toEqual([
      ['fast', 'answer', 'ok'],
      ['fast', 'classify', 'ok'],
    ]);
  });

  it('hands a task the classifier calls complex to the reasoning tier, without answering it', async () => {
    const taskId = await accept('acme', testTaskSpec(COMPLEX));

    const requested = await recorder.waitFor(
      () => recorder.of(reasoningRequestedEvent.topic, taskId)[0],
      `reasoning.requested of ${taskId}`,
    );
    expect(requested.data.spec).toMatchObject({ input: COMPLEX });
    expect(requested.data.decision).toMatchObject({ route: 'reasoning', decidedBy: 'model' });
    expect(requested.data.decision.classification).toMatchObject({ complexity: 'complex' });
    expect((await triaged(taskId)).data.decision).toEqual(requested.data.decision);
    expect(recorder.outcome(taskId)).toBeUndefined();
  });

  it('answers a task whose latency budget the reasoning tier cannot meet with the fast model, asking no classifier', async () => {
    const taskId = await accept('acme', testTaskSpec(COMPLEX, { latencyBudgetMs: 1_000 }));

    await expectAnsweredFastByRule(taskId, 'latency-budget');
  });

  it.each([
    ['fast', SIMPLE, 'fast'],
    ['reasoning', SIMPLE, 'reasoning'],
  ] as const)(
    "follows the client's explicit mode '%s' without asking the classifier",
    async (mode, input, route) => {
      const taskId = await accept('acme', testTaskSpec(input, { mode }));

      expect((await triaged(taskId)).data.decision).toMatchObject({
        route,
        decidedBy: 'rule',
        rule: 'explicit-mode',
        classification: null,
      });
      if (route === 'reasoning') {
        await recorder.waitFor(
          () => recorder.of(reasoningRequestedEvent.topic, taskId)[0],
          `reasoning.requested of ${taskId}`,
        );
      } else {
        expect((await recorder.outcomes([taskId])).get(taskId)!.topic).toBe(taskCompletedEvent.topic);
      }
      expect(modelCalls(taskId).filter((e) => e.data.purpose === 'classify')).toHaveLength(0);
    },
  );

  describe('with the fast model failing (the simulator answers 503)', () => {
    const FAILING = `${SIMPLE} [[sim:fault=503]]`;

    it('retries a fast-mode task until its deadline, then fails it as deadline_exceeded naming the fast model', async () => {
      // A 6 s latency budget is the task's deadline: the outage is waited out until then, never longer.
      const taskId = await accept('acme', testTaskSpec(FAILING, { mode: 'fast', latencyBudgetMs: 6_000 }));

      const failed = (await recorder.outcomes([taskId])).get(taskId)!;
      expect(failed.topic).toBe(taskFailedEvent.topic);
      expect(failed.data.error).toMatchObject({ code: 'deadline_exceeded' });
      expect(failed.data.error.message).toMatch(/the fast model did not answer before the task's deadline/);
      await recorder.waitFor(() => modelCalls(taskId).length >= 2, `the failed calls of ${taskId}`);
      expect(new Set(modelCalls(taskId).map((e) => `${e.data.purpose}:${e.data.outcome}`))).toEqual(
        new Set(['answer:error']),
      );
    });

    it('sends an auto-mode task to the reasoning tier when the classifier cannot answer', async () => {
      const taskId = await accept('acme', testTaskSpec(FAILING));

      const requested = await recorder.waitFor(
        () => recorder.of(reasoningRequestedEvent.topic, taskId)[0],
        `reasoning.requested of ${taskId}`,
      );
      expect(requested.data.decision).toMatchObject({
        route: 'reasoning',
        decidedBy: 'fallback',
        classification: null,
      });
      expect(requested.data.decision.reason).toMatch(/classifier was unavailable/);
      await recorder.waitFor(() => modelCalls(taskId).length >= 1, `the failed classification of ${taskId}`);
      // The classifier is tried 1 + LLM_MAX_RETRIES times, each try under its own hold, then the task is routed.
      expect(modelCalls(taskId).map((e) => [e.data.purpose, e.data.outcome])).toEqual([
        ['classify', 'error'],
        ['classify', 'error'],
      ]);
      expect(recorder.outcome(taskId)).toBeUndefined();
    });
  });

  describe('with the tenant cost breaker open', () => {
    beforeAll(async () => {
      await openBreaker('breaker-cheap', 'route_cheap');
      await openBreaker('breaker-fail', 'fail');
      // The triage learns breaker states from the ledger's events; wait until it has both, as a task would see them.
      const breakers = triage.get(BreakerStateCache);
      await pollUntil(
        () => Promise.resolve([breakers.state('breaker-cheap').open, breakers.state('breaker-fail').open]),
        ([cheap, fail]) => cheap === true && fail === true,
        { what: 'both breakers open in the triage' },
      );
    });

    it("under a 'route_cheap' policy, routes even a complex task to the fast model by the cost-breaker rule", async () => {
      const taskId = await accept('breaker-cheap', testTaskSpec(COMPLEX));

      await expectAnsweredFastByRule(taskId, 'cost-breaker');
    });

    it("under a 'fail' policy, fails the task with budget_exceeded and spends nothing", async () => {
      const taskId = await accept('breaker-fail', testTaskSpec(SIMPLE));

      const failed = (await recorder.outcomes([taskId])).get(taskId)!;
      expect(failed.topic).toBe(taskFailedEvent.topic);
      expect(failed.data.error).toMatchObject({ code: 'budget_exceeded' });
      expect(failed.data.error.message).toMatch(/cost circuit breaker is open \(spend_rate\)/);
      expect(recorder.of(taskTriagedEvent.topic, taskId)).toHaveLength(0);
      expect(modelCalls(taskId)).toHaveLength(0);
    });
  });

  it('dead-letters a message that is not a task.accepted event, with its reason, and triages the task behind it', async () => {
    const key = `malformed-${randomUUID()}`;
    const producer = testKafka().producer();
    await producer.connect();
    try {
      await producer.send({
        topic: `${h.prefix}${taskAcceptedEvent.topic}`,
        messages: [{ key, value: '{"spec": "not a task"' }],
      });
    } finally {
      await producer.disconnect();
    }
    const behind = await accept('acme', testTaskSpec(SIMPLE, { mode: 'fast' }));

    const dead = await pollUntil(
      () => readTopic(`${h.prefix}${deadLetterTopic(taskAcceptedEvent.topic)}`),
      (messages) => messages.some((m) => m.key?.toString() === key),
      { what: 'the malformed message on the dead-letter topic' },
    );
    const letter = dead.find((m) => m.key?.toString() === key)!;
    expect(letter.value?.toString()).toBe('{"spec": "not a task"');
    expect(header(letter, 'dlq_source_topic')).toBe(`${h.prefix}${taskAcceptedEvent.topic}`);
    expect(header(letter, 'dlq_reason')).toBeTruthy();
    expect((await recorder.outcomes([behind])).get(behind)!.topic).toBe(taskCompletedEvent.topic);
  });
  it('counts each recorded decision once on /metrics, by route and what decided it, a redelivery not again', async () => {
    const url = await listenOnFreePort(triage);
    const decisions = 'deliberate_triage_decisions_total';
    const before = await scrapeMetrics(url);

    const byMode = await accept('acme', testTaskSpec(SIMPLE, { mode: 'fast' }));
    const byBudget = await accept('acme', testTaskSpec(COMPLEX, { latencyBudgetMs: 1_000 }));
    const byModel = await accept('acme', testTaskSpec(COMPLEX));
    await recorder.outcomes([byMode, byBudget]);
    await recorder.waitFor(
      () => recorder.of(reasoningRequestedEvent.topic, byModel)[0],
      `reasoning.requested of ${byModel}`,
    );
    // The hostile part: a decided task delivered again, once finished and once more at the same time as itself.
    await Promise.all([
      h.accept('acme', testTaskSpec(SIMPLE, { mode: 'fast' }), byMode),
      h.accept('acme', testTaskSpec(COMPLEX), byModel),
    ]);
    await h.drained();

    const after = await scrapeMetrics(url);
    const moved = (labels: Record<string, string>) =>
      after.value(decisions, labels) - before.value(decisions, labels);
    expect(moved({ route: 'fast', reason: 'explicit-mode' })).toBe(1);
    expect(moved({ route: 'fast', reason: 'latency-budget' })).toBe(1);
    expect(moved({ route: 'reasoning', reason: 'model' })).toBe(1);
    expect(moved({})).toBe(3);
    // Only the route and what decided it label a decision: no tenant, task or free text.
    for (const sample of after.find(decisions))
      expect(Object.keys(sample.labels).sort()).toEqual(['reason', 'route']);
    expect(recorder.of(taskTriagedEvent.topic, byMode)).toHaveLength(1);
  });
});
