import { type ReasonerHarness, startHarness } from './reasoner-harness';

// The reasoning tier configured for the Responses API (LLM_REASONING_API=responses), the other tiers on chat
// completions: the reasoner is unchanged, the summaries reach the trace and an incomplete response is a limit hit.
describe('reasoner: a reasoning tier on the Responses API', () => {
  let h: ReasonerHarness;

  beforeAll(async () => {
    h = await startHarness('reasoner-responses-api');
    await h.startReasoner({ LLM_REASONING_API: 'responses' });
  });

  afterAll(async () => {
    await h?.close();
  });

  const billOf = async (model: string) =>
    (
      (await (await fetch(`${h.simulator.url}/v1/bill`)).json()) as {
        calls: {
          model: string;
          api: string;
          responseId: string | null;
          usage: { reasoningTokens: number };
        }[];
      }
    ).calls.filter((c) => c.model === model);

  const tracesOf = (taskId: string, count: number) =>
    h.recorder.waitFor(() => {
      const traces = h.recorder.of('reasoning.trace.recorded.v1', taskId);
      return traces.length === count && traces;
    }, `${count} trace(s)`);

  it('answers through /v1/responses and records the reasoning summary as the provider’s reasoning', async () => {
    const taskId = await h.submit('acme', 'Derive the quadratic formula. [[sim:reasoning_tokens=500]]');
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'reasoning_model', model: 'sim-reasoner' });

    const [trace] = await tracesOf(taskId, 1);
    expect(trace!.data).toMatchObject({ outcome: 'answered', finishReason: 'stop' });
    expect(trace!.data['providerReasoning']).toEqual(expect.stringMatching(/\S{3,}.*\S{3,}/));
    expect(trace!.data['usage'].reasoningTokens).toBe(500);

    const calls = await billOf('sim-reasoner');
    expect(calls.map((c) => c.api)).toEqual(['responses']);
    expect(calls[0]!.responseId).toMatch(/^resp_/);
  });

  it('ends a response left incomplete by its token limit as limit_hit, its usage kept, and falls back', async () => {
    const taskId = await h.submit('acme', 'Think forever. [[sim:fault=runaway]]', {
      maxThinkingTokens: 2_000,
    });
    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    expect(outcome.data['result']).toMatchObject({ answeredBy: 'standard_model', model: 'sim-standard' });
    expect(outcome.data['result'].degraded.reason).toMatch(/^limit_hit: .*finish_reason length/);

    const traces = await tracesOf(taskId, 2);
    const first = traces.find((t) => t.data['attempt'] === 1)!.data;
    expect(first).toMatchObject({ outcome: 'limit_hit', finishReason: 'length', answer: null });
    expect(first['usage'].reasoningTokens).toBe(2_000);
    // The standard tier stayed on chat completions.
    expect((await billOf('sim-standard')).map((c) => c.api)).toContain('chat.completions');
    await h.recorder.waitFor(
      () => h.recorder.of('usage.model-call.recorded.v1', taskId).length === 2,
      'usage events',
    );
    const usage = h.recorder.of('usage.model-call.recorded.v1', taskId).map((e) => e.data);
    expect(usage.find((u) => u['model'] === 'sim-reasoner')).toMatchObject({
      usage: { reasoningTokens: 2_000 },
    });
  });
});
