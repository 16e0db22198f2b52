import { uuidv7 } from '@deliberate/contracts';
import { buildService, killService, pollUntil, type ServiceProcess, spawnService } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import { attemptsOf, type ReasonerHarness, startHarness, taskSpec } from './reasoner-harness';

describe('reasoner crash recovery (child processes)', () => {
  let h: ReasonerHarness;
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;

  beforeAll(async () => {
    buildService('reasoner');
    h = await startHarness('reasoner-crash', { timeScale: 0.01 });
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
      REASONER_CRASH_RETRY_BASE_MS: '100',
      // 60 s budgets: the reasoning calls' deadline is 45 s after acceptance, the standard model has 15 s (room for
      // the second instance to start and take over on a loaded machine).
      REASONER_FALLBACK_RESERVE_MS: '15000',
    });

  it('finishes every task after a kill -9 mid-flight, never repeats a recorded call, nor one that may still run', async () => {
    first = spawnService('reasoner', { ...env('child-1'), LOG_LEVEL: 'info' });
    await h.recorder
      .waitFor(() => first!.output.join('').includes('"msg":"reasoning"'), 'the first child to start', 60_000)
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${first!.output.join('').slice(-3000)}`);
      });

    // Quick tasks finish before the kill; long ones (300 s of thinking: 3 s here) are cut off by it.
    const quick = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.submit('acme', `Quick ${i}. [[sim:think_ms=2000]]`)),
    );
    const long = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.submit('acme', `Long ${i}. [[sim:think_ms=300000]]`, { latencyBudgetMs: 60_000 }),
      ),
    );
    await h.recorder.outcomes(quick, 30_000);
    await h.recorder.waitFor(
      () => long.every((id) => h.recorder.of('tasks.task.reasoning-started.v1', id).length === 1),
      'the long calls to start',
    );
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(long.some((id) => h.recorder.outcome(id))).toBe(false);

    second = spawnService('reasoner', { ...env('child-2'), LOG_LEVEL: 'info' });
    const outcomes = await h.recorder.outcomes([...quick, ...long], 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${second!.output.join('').slice(-3000)}`);
    });

    // A failed task says why (its error), so a failure here names the cause without the logs.
    const ended = (ids: string[]) =>
      ids.map((id) => {
        const outcome = outcomes.get(id)!;
        return outcome.topic === 'tasks.task.completed.v1' ? 'completed' : outcome.data['error'];
      });
    expect(ended([...quick, ...long])).toEqual([...quick, ...long].map(() => 'completed'));
    for (const id of quick) expect(outcomes.get(id)!.data['result'].answeredBy).toBe('reasoning_model');
    // Recorded results are final: the quick tasks' single calls were not made again by the second instance.
    for (const id of quick) {
      const attempts = await attemptsOf(h.db, id);
      expect(attempts.map((a) => [a.attempt, a.status, a.instance_id])).toEqual([[1, 'finished', 'child-1']]);
    }
    // The cut-off calls might still have been running: the second instance waited out their deadline, gave them up
    // (booked at their worst case, as the provider may bill them) and asked the standard model, in time for it.
    for (const id of long) {
      expect(outcomes.get(id)!.data['result'].answeredBy).toBe('standard_model');
      const attempts = await attemptsOf(h.db, id);
      expect(attempts.map((a) => [a.attempt, a.tier, a.status, a.reason, a.instance_id])).toEqual([
        [1, 'reasoning', 'crashed', 'executor_crashed', 'child-1'],
        [2, 'reasoning', 'skipped', 'deadline', 'child-2'],
        [3, 'standard', 'finished', null, 'child-2'],
      ]);
      const [cut, , retry] = attempts as { deadline_at: Date; started_at: Date; reservation_id: string }[];
      expect(retry!.started_at.getTime()).toBeGreaterThanOrEqual(cut!.deadline_at.getTime());
      const started = h.recorder.of('tasks.task.reasoning-started.v1', id);
      expect([...new Set(started.map((e) => e.data['attempt']))].sort()).toEqual([1, 3]);
      const { rows } = await pollUntil(
        () =>
          h.ledgerDb.query<{ id: string; status: string; aborted: boolean | null }>(
            `SELECT r.id, r.status, b.aborted FROM reservations r LEFT JOIN bookings b ON b.reservation_id = r.id
              WHERE r.task_id = $1 ORDER BY r.created_at`,
            [id],
          ),
        (r) => r.rows.every((row) => row.status === 'settled' && row.aborted !== null),
        { what: 'both holds booked' },
      );
      expect(rows.map((r) => [r.id, r.status, r.aborted])).toEqual([
        [cut!.reservation_id, 'settled', true],
        [retry!.reservation_id, 'settled', false],
      ]);
    }
    // Everywhere: no call follows an attempt that recorded an answer, and each task completed once (by event id).
    const { rows: repeated } = await h.db.query(
      `SELECT count(*)::int AS n FROM attempts later JOIN attempts answered
          ON answered.execution_id = later.execution_id AND later.attempt > answered.attempt
       WHERE answered.status = 'finished' AND answered.reason IS NULL`,
    );
    expect(repeated[0].n).toBe(0);
    for (const id of [...quick, ...long]) {
      expect(new Set(h.recorder.of('tasks.task.completed.v1', id).map((e) => e.id)).size).toBe(1);
    }
  }, 180_000);

  it('publishes a recorded result or a stored outcome again after a crash, without calling the model', async () => {
    // What a crash leaves behind between two steps: a result recorded but no outcome yet, and an outcome stored but
    // not published. Their prompts would fail on any model call (fault 500): an answer proves no call was made.
    const recordedTask = randomUUID();
    const storedTask = randomUUID();
    const recordedExecution = randomUUID();
    const storedExecution = randomUUID();
    const outcomeEventId = uuidv7();
    const spec = taskSpec('Would fail if asked again. [[sim:fault=500]]');
    const decision = {
      route: 'reasoning',
      decidedBy: 'rule',
      rule: 'explicit-mode',
      classification: null,
      reason: 'test',
    };
    const insert = (id: string, taskId: string, outcome: unknown) =>
      h.db.query(
        `INSERT INTO executions (id, task_id, tenant_id, spec, decision, requested_at, created_at, deadline_at, status,
                                 owner, lease_expires_at, outcome, updated_at)
         VALUES ($1, $2, 'acme', $3, $4, now(), now(), now() + interval '10 minutes', $5, 'dead-instance',
                 now() - interval '1 second', $6, now())`,
        [
          id,
          taskId,
          JSON.stringify(spec),
          JSON.stringify(decision),
          outcome ? 'completed' : 'running',
          outcome ? JSON.stringify(outcome) : null,
        ],
      );
    const usage = { inputTokens: 100, cachedInputTokens: 0, outputTokens: 50, reasoningTokens: 30 };
    await insert(recordedExecution, recordedTask, null);
    await h.db.query(
      `INSERT INTO attempts (id, execution_id, attempt, tier, model, status, outcome, instance_id, started_at,
                             finished_at, finish_reason, usage, result, usage_event_id, trace_event_id)
       VALUES ($1, $2, 1, 'reasoning', 'sim-reasoner', 'finished', 'answered', 'dead-instance', now(), now(), 'stop',
               $3, $4, $5, $6)`,
      [
        uuidv7(),
        recordedExecution,
        JSON.stringify(usage),
        JSON.stringify({
          content: '<reasoning>r</reasoning><answer>the recorded answer</answer>',
          providerReasoning: null,
          trace: 'r',
          answer: 'the recorded answer',
          parse: 'tagged',
          latencyMs: 10,
          providerModel: 'sim-reasoner',
          errorKind: null,
          errorMessage: null,
          denial: null,
        }),
        uuidv7(),
        uuidv7(),
      ],
    );
    const stored = {
      kind: 'completed',
      data: {
        result: {
          answer: 'the stored answer',
          answeredBy: 'reasoning_model',
          model: 'sim-reasoner',
          usage,
          latencyMs: 5,
          degraded: null,
        },
        completedAt: new Date().toISOString(),
        review: null,
      },
    };
    await insert(storedExecution, storedTask, stored);
    // Its event, written to the outbox in the same transaction, still pending.
    await h.db.query(
      `INSERT INTO outbox (id, topic, tenant_id, task_id, payload) VALUES ($1, 'tasks.task.completed.v1', 'acme', $2, $3)`,
      [outcomeEventId, storedTask, JSON.stringify(stored.data)],
    );

    const outcomes = await h.recorder.outcomes([recordedTask, storedTask], 30_000);
    expect(outcomes.get(recordedTask)!.data['result']).toMatchObject({
      answer: 'the recorded answer',
      answeredBy: 'reasoning_model',
      usage,
    });
    expect(outcomes.get(storedTask)!.id).toBe(outcomeEventId);
    expect(outcomes.get(storedTask)!.data).toEqual(stored.data);
    expect(h.recorder.of('tasks.task.reasoning-started.v1', recordedTask)).toHaveLength(0);
    expect(await attemptsOf(h.db, recordedTask)).toHaveLength(1);
    // Marked published just after the event is acknowledged. The recorded result was finished by the second
    // instance; the stored outcome was its outbox relay's to send: a finished execution is never claimed again.
    const rows = await pollUntil(
      async () =>
        (
          await h.db.query<{ id: string; owner: string; published_at: Date | null }>(
            `SELECT e.id, e.owner, o.published_at FROM executions e JOIN outbox o ON o.task_id = e.task_id
              WHERE e.id = ANY($1::uuid[])`,
            [[recordedExecution, storedExecution]],
          )
        ).rows,
      (r) => r.length === 2 && r.every((row) => row.published_at !== null),
      { what: 'both outcomes published by the second instance' },
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.owner]))).toEqual({
      [recordedExecution]: 'child-2',
      [storedExecution]: 'dead-instance',
    });
  });
});
