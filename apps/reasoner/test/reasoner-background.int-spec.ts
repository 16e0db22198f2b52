import { startSimulator, type RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import { pollUntil } from '@deliberate/testing';
import { PollProxy } from './poll-proxy';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// The reasoning tier in background mode (LLM_REASONING_API=responses, LLM_REASONING_BACKGROUND=true): the call is
// submitted with background: true, its response id recorded on the attempt, then polled by id. The reasoning tier
// reaches the simulator through a small HTTP proxy that can fail its polls (a provider whose API is down for a while)
// or send them to another simulator (a provider that restarted and no longer knows the id).

interface BilledCall {
  model: string;
  serviceTier: string;
  api: string;
  responseId: string | null;
  background: boolean;
  status: string;
  usage: { reasoningTokens: number };
}

describe('reasoner: a reasoning tier in background mode', () => {
  let h: ReasonerHarness;
  let proxy: PollProxy;
  let restarted: RunningSimulator | undefined;

  beforeAll(async () => {
    h = await startHarness('reasoner-background', { timeScale: 0.01 });
    proxy = new PollProxy(h.simulator);
    await proxy.start();
    await h.putPolicy('patient', { serviceTiers: [{ minLatencyBudgetMs: 600_000, tier: 'flex' }] });
    await h.startReasoner({
      LLM_REASONING_BASE_URL: proxy.baseURL,
      LLM_REASONING_API: 'responses',
      LLM_REASONING_BACKGROUND: 'true',
      LLM_BACKGROUND_POLL_FIRST_MS: '50',
      LLM_BACKGROUND_POLL_FACTOR: '2',
      LLM_BACKGROUND_POLL_MAX_MS: '400',
      LLM_BACKGROUND_POLL_CONCURRENCY: '2',
    });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await restarted?.close();
  });

  const bill = async (simulator = h.simulator): Promise<BilledCall[]> =>
    ((await (await fetch(`${simulator.url}/v1/bill`)).json()) as { calls: BilledCall[] }).calls;

  const responseOf = async (id: string) =>
    (await (await fetch(`${h.simulator.url}/v1/responses/${id}`)).json()) as { status: string };

  // The first attempt's response id, once it is recorded.
  const recordedResponseId = async (taskId: string): Promise<string> => {
    const attempts = await pollUntil(
      () => attemptsOf(h.db, taskId),
      (a) => typeof a[0]?.['response_id'] === 'string',
      { what: 'the response id recorded', timeoutMs: 20_000, intervalMs: 20 },
    );
    return attempts[0]!['response_id'] as string;
  };

  it('answers through a background response, its id on the attempt and one background response billed', async () => {
    const taskId = await h.submit('acme', 'Derive the quadratic formula. [[sim:think_ms=100000]]');
    const responseId = await recordedResponseId(taskId);
    expect(responseId).toMatch(/^resp_/);
    const outcome = (await h.recorder.outcomes([taskId], 30_000)).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'reasoning_model', degraded: null });

    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a['tier'], a['status'], a['reason'], a['response_id']])).toEqual([
      ['reasoning', 'finished', null, responseId],
    ]);
    const billed = (await bill()).filter((c) => c.responseId === responseId);
    expect(billed).toEqual([
      expect.objectContaining({
        api: 'responses',
        background: true,
        status: 'completed',
        model: 'sim-reasoner',
      }),
    ]);
    const usage = await h.recorder.waitFor(
      () => h.recorder.of('usage.model-call.recorded.v1', taskId)[0],
      'the usage event',
    );
    expect(usage.data['usage']).toEqual(attempts[0]!['usage']);
  });

  it('submits a flex task in background at flex, and after a flex refusal again in background at the default tier', async () => {
    const flex = await h.submit('patient', 'Plan it slowly. [[sim:think_ms=100000]]', {
      latencyBudgetMs: 900_000,
    });
    const refused = await h.submit('patient', 'Plan it slowly. [[sim:fault=flex_unavailable]]', {
      latencyBudgetMs: 900_000,
    });
    const outcomes = await h.recorder.outcomes([flex, refused], 30_000);
    for (const id of [flex, refused])
      expect(outcomes.get(id)!.data['result']).toMatchObject({
        answeredBy: 'reasoning_model',
        degraded: null,
      });

    const tiers = async (taskId: string) =>
      (await attemptsOf(h.db, taskId)).map((a) => [
        a['reason'],
        a['service_tier'],
        a['response_id'] !== null,
      ]);
    expect(await tiers(flex)).toEqual([[null, 'flex', true]]);
    // The refused create returned no response: nothing to poll, nothing billed; the retry is a background call too.
    expect(await tiers(refused)).toEqual([
      ['flex_unavailable', 'flex', false],
      [null, 'default', true],
    ]);
    const ids = new Set(
      [...(await attemptsOf(h.db, flex)), ...(await attemptsOf(h.db, refused))]
        .map((a) => a['response_id'])
        .filter((id): id is string => typeof id === 'string'),
    );
    const billed = (await bill()).filter((c) => c.responseId !== null && ids.has(c.responseId));
    expect(billed.map((c) => [c.background, c.serviceTier]).sort()).toEqual([
      [true, 'default'],
      [true, 'flex'],
    ]);
  });

  it('sends at most LLM_BACKGROUND_POLL_CONCURRENCY polls at once, the others waiting their turn, and every call ends', async () => {
    proxy.pollLatencyMs = 100;
    proxy.maxPollsInFlight = 0;
    try {
      const tasks = await Promise.all(
        Array.from({ length: 8 }, (_, i) => h.submit('acme', `Think ${i}. [[sim:think_ms=100000]]`)),
      );
      const outcomes = await h.recorder.outcomes(tasks, 60_000);
      expect([...outcomes.values()].map((o) => o.topic)).toEqual(Array(8).fill('tasks.task.completed.v1'));
      // Eight calls polled every 50 to 400 ms, each poll answered in 100 ms: without the limit they overlap.
      expect(proxy.maxPollsInFlight).toBe(2);
    } finally {
      proxy.pollLatencyMs = 0;
    }
  });

  it('cancels the response at the provider when the task is cancelled', async () => {
    const taskId = await h.submit('acme', 'Think for a long time. [[sim:think_ms=3000000]]');
    const responseId = await recordedResponseId(taskId);
    await h.cancel('acme', taskId);
    const outcome = (await h.recorder.outcomes([taskId], 30_000)).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.cancelled.v1');
    expect((await responseOf(responseId)).status).toBe('cancelled');
    const billed = (await bill()).filter((c) => c.responseId === responseId);
    expect(billed).toEqual([expect.objectContaining({ background: true, status: 'cancelled' })]);
    const [attempt] = await attemptsOf(h.db, taskId);
    expect(attempt).toMatchObject({ status: 'finished', reason: 'cancelled', outcome: 'cancelled' });
  });

  it('cancels the response at the provider at the reasoning deadline, and ends as a sync call would', async () => {
    // A 4 s budget: the reasoning call has 3 s (a quarter is kept for the fallback); the prompt thinks 60 s on either
    // model, so the standard one misses the deadline too: failed, deadline_exceeded, as on the sync path.
    const taskId = await h.submit('acme', 'Think past the deadline. [[sim:think_ms=6000000]]', {
      latencyBudgetMs: 4_000,
    });
    const responseId = await recordedResponseId(taskId);
    const outcome = (await h.recorder.outcomes([taskId], 30_000)).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.failed.v1');
    expect(outcome.data['error'].code).toBe('deadline_exceeded');
    expect(outcome.data['error'].message).toMatch(/reasoning: deadline: .*standard: deadline: /);
    expect((await responseOf(responseId)).status).toBe('cancelled');
    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a['tier'], a['reason']])).toEqual([
      ['reasoning', 'deadline'],
      ['standard', 'deadline'],
    ]);
    expect(attempts[0]!['detail']).toMatch(new RegExp(`background response ${responseId} was cancelled`));
    // Booked at what the provider billed for the part that ran, not at the hold's worst case.
    const billed = (await bill()).filter((c) => c.responseId === responseId);
    expect(billed).toEqual([expect.objectContaining({ background: true, status: 'cancelled' })]);
    expect(attempts[0]!['usage']).toMatchObject({ inputTokens: expect.any(Number) });
    expect((attempts[0]!['usage'] as { inputTokens: number }).inputTokens).toBeGreaterThan(0);
  });

  it('ends an incomplete response as limit_hit with its usage booked, and falls back', async () => {
    const taskId = await h.submit('acme', 'Think forever. [[sim:fault=runaway]]', {
      maxThinkingTokens: 2_000,
    });
    const responseId = await recordedResponseId(taskId);
    const outcome = (await h.recorder.outcomes([taskId], 30_000)).get(taskId)!;
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'standard_model' });
    expect(outcome.data['result'].degraded.reason).toMatch(/^limit_hit: .*finish_reason length/);
    const [first] = await attemptsOf(h.db, taskId);
    expect(first).toMatchObject({ reason: 'limit_hit', finish_reason: 'length', response_id: responseId });
    expect((first!['usage'] as { reasoningTokens: number }).reasoningTokens).toBe(2_000);
    expect((await bill()).filter((c) => c.responseId === responseId)).toEqual([
      expect.objectContaining({ background: true, status: 'incomplete' }),
    ]);
    await h.recorder.waitFor(
      () => h.recorder.of('usage.model-call.recorded.v1', taskId).length === 2,
      'usage events',
    );
    const usage = h.recorder.of('usage.model-call.recorded.v1', taskId).map((e) => e.data);
    expect(usage.filter((u) => u['model'] === 'sim-reasoner')).toEqual([
      expect.objectContaining({ usage: expect.objectContaining({ reasoningTokens: 2_000 }) }),
    ]);
  });

  it('polls through a provider answering 503 for a while, and the call still completes', async () => {
    proxy.failedPolls = 0;
    proxy.failPollsUntilMs = Date.now() + 3_000;
    const taskId = await h.submit('acme', 'Answer through an outage. [[sim:think_ms=100000]]');
    const responseId = await recordedResponseId(taskId);
    const outcome = (await h.recorder.outcomes([taskId], 30_000)).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'reasoning_model' });
    expect(proxy.failedPolls).toBeGreaterThanOrEqual(3);
    expect((await attemptsOf(h.db, taskId)).map((a) => [a['status'], a['reason']])).toEqual([
      ['finished', null],
    ]);
    expect((await bill()).filter((c) => c.responseId === responseId)).toHaveLength(1);
  });

  it('ends the attempt with a precise error when the provider no longer knows the id, and falls back', async () => {
    // The provider restarted: a fresh simulator answers the polls, and has never heard of the response.
    restarted = await startSimulator({ timeScale: 0.01 });
    proxy.pollTarget = restarted;
    try {
      const taskId = await h.submit('acme', 'Be forgotten. [[sim:think_ms=100000]]');
      const responseId = await recordedResponseId(taskId);
      const outcome = (await h.recorder.outcomes([taskId], 30_000)).get(taskId)!;
      expect(outcome.topic).toBe('tasks.task.completed.v1');
      expect(outcome.data['result']).toMatchObject({ answeredBy: 'standard_model' });
      const [first] = await attemptsOf(h.db, taskId);
      expect(first).toMatchObject({ status: 'finished', reason: 'model_error', response_id: responseId });
      expect(first!['detail']).toMatch(
        new RegExp(`^polling background response ${responseId} failed with not_found \\(HTTP 404\\)`),
      );
    } finally {
      proxy.pollTarget = null;
    }
  });
});
