import { startSimulator, type RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// The reasoning tier gets a provider of its own: one that answers every call with a 500, later replaced, on the
// same address, by a healthy one (the provider recovering). The standard tier stays healthy throughout.
const COOLDOWN_MS = 6_000;

describe('reasoner: model circuit breaker', () => {
  let h: ReasonerHarness;
  let reasoningProvider: RunningSimulator;
  let port: number;

  beforeAll(async () => {
    h = await startHarness('reasoner-breaker', { timeScale: 0.01 });
    reasoningProvider = await startSimulator({ timeScale: 0.01, faultRate500: 1 });
    port = Number(new URL(reasoningProvider.url).port);
    await h.startReasoner({
      LLM_REASONING_BASE_URL: reasoningProvider.baseURL,
      REASONER_MODEL_MAX_RETRIES: '0',
      REASONER_BREAKER_FAILURES: '3',
      // Long enough that the fourth task, on a loaded machine, still meets the breaker open; the test waits out
      // only what remains of it.
      REASONER_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
    });
  });

  afterAll(async () => {
    await h?.close();
    await reasoningProvider?.close();
  });

  const solve = async (input: string) => {
    const taskId = await h.submit('acme', `${input} [[sim:reasoning_tokens=100]]`);
    return { taskId, outcome: (await h.recorder.outcomes([taskId])).get(taskId)! };
  };

  it('opens after consecutive 5xx, sends work straight to the fallback, and closes on a success after the cool-down', async () => {
    for (let i = 0; i < 3; i += 1) {
      const { outcome } = await solve(`Failing provider ${i}.`);
      expect(outcome.data['result'].answeredBy).toBe('standard_model');
      expect(outcome.data['result'].degraded.reason).toMatch(/^server_error: .*HTTP 500/);
    }
    const openedBy = Date.now();

    // Open: the reasoning model is not called at all.
    const skipped = await solve('Breaker open.');
    expect(skipped.outcome.data['result'].answeredBy).toBe('standard_model');
    expect(skipped.outcome.data['result'].degraded.reason).toMatch(/^model_breaker_open: /);
    expect(
      h.recorder.of('tasks.task.reasoning-started.v1', skipped.taskId).map((e) => e.data['tier']),
    ).toEqual(['standard']);
    expect((await attemptsOf(h.db, skipped.taskId)).map((a) => [a.tier, a.status, a.reason])).toEqual([
      ['reasoning', 'skipped', 'model_breaker_open'],
      ['standard', 'finished', null],
    ]);

    // The provider recovers; after the cool-down one trial call goes through, succeeds, and closes the breaker.
    await reasoningProvider.close();
    reasoningProvider = await startSimulator({ timeScale: 0.01, port });
    await new Promise((r) => setTimeout(r, Math.max(0, openedBy + COOLDOWN_MS + 100 - Date.now())));
    for (const input of ['Trial call.', 'Closed again.']) {
      const { taskId, outcome } = await solve(input);
      expect(outcome.data['result']).toMatchObject({ answeredBy: 'reasoning_model', degraded: null });
      expect(h.recorder.of('tasks.task.reasoning-started.v1', taskId).map((e) => e.data['tier'])).toEqual([
        'reasoning',
      ]);
    }
  });
});
