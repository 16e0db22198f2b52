import { buildService, killService, pollUntil, type ServiceProcess, spawnService } from '@deliberate/testing';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// A background call outlives its executor: kill -9 while the provider thinks, and the instance that takes the
// execution over polls the recorded response id to its end. The simulator's bill proves no second call was paid.
describe('reasoner: background calls survive kill -9 of their executor (child processes)', () => {
  let h: ReasonerHarness;
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;

  beforeAll(async () => {
    buildService('reasoner');
    h = await startHarness('reasoner-background-crash', { timeScale: 0.01 });
  }, 120_000);

  afterAll(async () => {
    await killService(first);
    await killService(second);
    await h?.close();
  });

  const env = (instanceId: string) =>
    h.env({
      REASONER_INSTANCE_ID: instanceId,
      REASONER_LEASE_MS: '2000',
      LLM_REASONING_API: 'responses',
      LLM_REASONING_BACKGROUND: 'true',
      LLM_BACKGROUND_POLL_FIRST_MS: '50',
      LLM_BACKGROUND_POLL_MAX_MS: '400',
      LOG_LEVEL: 'info',
    });

  it('resumes each call by its response id after the kill: one paid response per task, answered by the reasoning model', async () => {
    first = spawnService('reasoner', env('child-1'));
    await h.recorder
      .waitFor(() => first!.output.join('').includes('"msg":"reasoning"'), 'the first child to start', 60_000)
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${first!.output.join('').slice(-3000)}`);
      });

    // 500 s of thinking: 5 s here, well past the kill.
    const tasks = await Promise.all(
      Array.from({ length: 5 }, (_, i) => h.submit('acme', `Long ${i}. [[sim:think_ms=500000]]`)),
    );
    const responseIds = new Map<string, string>();
    for (const id of tasks) {
      const attempts = await pollUntil(
        () => attemptsOf(h.db, id),
        (a) => typeof a[0]?.['response_id'] === 'string',
        { what: `the response id of ${id}`, timeoutMs: 30_000, intervalMs: 20 },
      );
      responseIds.set(id, attempts[0]!['response_id'] as string);
    }
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(tasks.some((id) => h.recorder.outcome(id))).toBe(false);

    second = spawnService('reasoner', env('child-2'));
    const outcomes = await h.recorder.outcomes(tasks, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${second!.output.join('').slice(-3000)}`);
    });
    expect(second.output.join('')).toContain('a background call is resumed by its response id');

    const calls = (
      (await (await fetch(`${h.simulator.url}/v1/bill`)).json()) as {
        calls: { model: string; responseId: string | null; background: boolean; status: string }[];
      }
    ).calls.filter((c) => c.model === 'sim-reasoner');
    // Exactly the five responses created before the kill, each billed once: nothing was created again.
    expect(calls.map((c) => c.responseId).sort()).toEqual([...responseIds.values()].sort());
    for (const c of calls) expect(c).toMatchObject({ background: true, status: 'completed' });

    for (const id of tasks) {
      expect(outcomes.get(id)!.topic).toBe('tasks.task.completed.v1');
      expect(outcomes.get(id)!.data['result']).toMatchObject({
        answeredBy: 'reasoning_model',
        degraded: null,
      });
      const attempts = await attemptsOf(h.db, id);
      // Started by the first child, adopted and ended by the second.
      expect(
        attempts.map((a) => [a['attempt'], a['status'], a['reason'], a['instance_id'], a['response_id']]),
      ).toEqual([[1, 'finished', null, 'child-2', responseIds.get(id)]]);
      expect(h.recorder.of('tasks.task.reasoning-started.v1', id).map((e) => e.data['attempt'])).toEqual([1]);
      // Booked once, at the usage the provider reported.
      const { rows } = await pollUntil(
        () =>
          h.ledgerDb.query<{ status: string; aborted: boolean | null }>(
            `SELECT r.status, b.aborted FROM reservations r LEFT JOIN bookings b ON b.reservation_id = r.id
              WHERE r.task_id = $1`,
            [id],
          ),
        (r) => r.rows.length === 1 && r.rows[0]!.status === 'settled' && r.rows[0]!.aborted !== null,
        { what: 'the hold settled' },
      );
      expect(rows).toEqual([{ status: 'settled', aborted: false }]);
    }
  });
});
