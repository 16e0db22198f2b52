import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// A ledger that does not answer is an outage, waited out until the task's deadline: never a budget denial, never
// a person's work. The reasoner asks with a 1 s timeout, so it asks many times while the ledger is down; one
// reservation key per attempt keeps that to one hold.
describe('reasoner: the ledger down', () => {
  let h: ReasonerHarness;

  beforeAll(async () => {
    h = await startHarness('reasoner-ledger-outage');
    await h.startReasoner({ LEDGER_TIMEOUT_MS: '1000', REASONER_MODEL_MAX_RETRIES: '1' });
  });

  afterAll(async () => {
    await h?.close();
  });

  const reservationsOf = async (taskId: string) =>
    (
      await h.ledgerDb.query<{ id: string; status: string }>(
        `SELECT id, status FROM reservations WHERE task_id = $1 ORDER BY created_at`,
        [taskId],
      )
    ).rows;

  it('completes every task after the ledger was down for 10 s, none escalated, one hold per call', async () => {
    await h.stopLedger();
    const tasks = await Promise.all(
      Array.from({ length: 5 }, (_, i) => h.submit('acme', `Task ${i}. [[sim:think_ms=30000]]`)),
    );
    await new Promise((r) => setTimeout(r, 10_000));
    expect(tasks.some((id) => h.recorder.outcome(id))).toBe(false);
    await h.startLedger();

    const outcomes = await h.recorder.outcomes(tasks, 90_000);
    for (const id of tasks) {
      expect(outcomes.get(id)!.topic).toBe('tasks.task.completed.v1');
      expect(outcomes.get(id)!.data['result']).toMatchObject({
        answeredBy: 'reasoning_model',
        degraded: null,
      });
      expect(h.recorder.of('tasks.task.escalated.v1', id)).toHaveLength(0);
      const attempts = await attemptsOf(h.db, id);
      expect(attempts.map((a) => [a.tier, a.status, a.reason])).toEqual([['reasoning', 'finished', null]]);
      // Every reserve the ledger read late was the same attempt's: it holds once, and that hold was the one used.
      const holds = await reservationsOf(id);
      expect(holds.map((r) => r.id)).toEqual([attempts[0]!.reservation_id]);
    }
  });

  it('fails a task whose deadline passes while the ledger is down with code deadline, naming the ledger', async () => {
    await h.stopLedger();
    try {
      const taskId = await h.submit('acme', 'Short budget. [[sim:think_ms=30000]]', {
        latencyBudgetMs: 4_000,
      });
      const outcome = (await h.recorder.outcomes([taskId], 30_000)).get(taskId)!;
      expect(outcome.topic).toBe('tasks.task.failed.v1');
      expect(outcome.data['error'].code).toBe('deadline_exceeded');
      expect(outcome.data['error'].message).toMatch(/ledger did not answer/);
      expect(h.recorder.of('tasks.task.escalated.v1', taskId)).toHaveLength(0);
      expect(h.recorder.of('tasks.task.reasoning-started.v1', taskId)).toHaveLength(0);
    } finally {
      await h.startLedger();
    }
  });
});
