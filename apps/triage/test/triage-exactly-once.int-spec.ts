import {
  reasoningRequestedEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  taskTriagedEvent,
} from '@deliberate/contracts';
import { testTaskSpec } from '@deliberate/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { modelCallsOf, reservationsOf, startTriageHarness, type TriageHarness } from './triage-harness';

// Exactly once under redelivery, duplicates, two instances and outages: a task's fast-model calls are paid for once,
// it has one terminal event whose id never changes, and a ledger or model outage is waited out, not turned into a
// verdict. Budget denials follow the tenant's policy.

const SIMPLE = 'What is 2 + 2?';
const TERMINAL = [taskCompletedEvent, taskFailedEvent, taskEscalatedEvent, reasoningRequestedEvent].map(
  (d) => d.topic,
);

describe('triage exactly once (real Kafka, Postgres, ledger; simulated models)', () => {
  let h: TriageHarness;

  const terminalEvents = (taskId: string) =>
    h.recorder.events.filter((e) => e.taskId === taskId && TERMINAL.includes(e.topic));

  async function storedOutcome(taskId: string): Promise<{ state: string; outcome_event_id: string | null }> {
    const { rows } = await h.db.query(`SELECT state, outcome_event_id FROM tasks WHERE task_id = $1`, [
      taskId,
    ]);
    return rows[0];
  }

  beforeAll(async () => {
    h = await startTriageHarness('triage-once');
    // Two instances in one group: tasks spread over both, and a duplicate may meet another's call in progress.
    await h.startTriage({ TRIAGE_INSTANCE_ID: 'one' });
    await h.startTriage({ TRIAGE_INSTANCE_ID: 'two' });
  }, 120_000);

  afterAll(() => h?.close());

  it('answers a redelivered task once: one paid call, one terminal event, and the redelivery publishes nothing', async () => {
    const taskId = await h.accept('acme', testTaskSpec(SIMPLE));
    const first = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(first.topic).toBe(taskCompletedEvent.topic);

    await h.accept('acme', testTaskSpec(SIMPLE), taskId);
    await h.drained();
    // The outbox relays what it holds at once; give a stray republish the time to show before counting.
    await sleep(1_500);

    expect(terminalEvents(taskId).map((e) => e.id)).toEqual([first.id]);
    expect(h.recorder.of(taskTriagedEvent.topic, taskId)).toHaveLength(1);
    expect(modelCallsOf(h.recorder, taskId).sort()).toEqual([
      ['answer', 'ok'],
      ['classify', 'ok'],
    ]);
    expect(await storedOutcome(taskId)).toEqual({ state: 'finished', outcome_event_id: first.id });
    const holds = await reservationsOf(h.ledgerDb, taskId);
    expect(holds.map((r) => r['status'])).toEqual(['settled', 'settled']);
    // The provider charged two calls, each under its hold, and the ledger booked what the provider charged.
    const billed = await h.billedCalls(holds.map((r) => r['id'] as string));
    expect(billed).toHaveLength(2);
    const { rows } = await h.ledgerDb.query(
      `SELECT coalesce(sum(cost_micro_usd), 0)::bigint AS booked FROM bookings WHERE task_id = $1`,
      [taskId],
    );
    expect(Number(rows[0].booked)).toBe(billed.reduce((sum, c) => sum + c.costMicroUsd, 0));
  });

  it('answers tasks delivered several times at once, over two instances, with one call each and one terminal event', async () => {
    const ids = Array.from({ length: 6 }, () => crypto.randomUUID());
    await Promise.all(
      ids.flatMap((id, i) =>
        [1, 2, 3].map(() => h.accept('acme', testTaskSpec(`${SIMPLE} (${i})`, { mode: 'fast' }), id)),
      ),
    );
    await h.recorder.outcomes(ids);
    await h.drained();
    await sleep(1_500);

    for (const id of ids) {
      expect(terminalEvents(id)).toHaveLength(1);
      expect(terminalEvents(id)[0]!.topic).toBe(taskCompletedEvent.topic);
      expect(h.recorder.of(taskTriagedEvent.topic, id)).toHaveLength(1);
      expect(modelCallsOf(h.recorder, id)).toEqual([['answer', 'ok']]);
      const holds = await reservationsOf(h.ledgerDb, id);
      expect(holds).toHaveLength(1);
      expect(await h.billedCalls(holds.map((r) => r['id'] as string))).toHaveLength(1);
      expect(await storedOutcome(id)).toEqual({
        state: 'finished',
        outcome_event_id: terminalEvents(id)[0]!.id,
      });
    }
  });

  it('waits out a ledger that is down for a few seconds, then answers the task under one hold', async () => {
    await h.stopLedger();
    let taskId: string;
    try {
      taskId = await h.accept('acme', testTaskSpec(SIMPLE, { mode: 'fast' }));
      await sleep(3_000);
      // No verdict while the ledger is away: the task waits.
      expect(h.recorder.outcome(taskId)).toBeUndefined();
      expect(modelCallsOf(h.recorder, taskId)).toEqual([]);
    } finally {
      await h.startLedger();
    }
    const outcome = (await h.recorder.outcomes([taskId], 90_000)).get(taskId)!;
    expect(outcome.topic).toBe(taskCompletedEvent.topic);
    expect(modelCallsOf(h.recorder, taskId)).toEqual([['answer', 'ok']]);
    // Every ask went under the same reservation key: one hold, settled.
    expect((await reservationsOf(h.ledgerDb, taskId)).map((r) => r['status'])).toEqual(['settled']);
  }, 120_000);

  it('retries a fast model that answers 500 for a while, each try under its own hold, and completes the task', async () => {
    const taskId = await h.accept('acme', testTaskSpec(`${SIMPLE} [[sim:fault=500x3]]`, { mode: 'fast' }));

    const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
    expect(outcome.topic).toBe(taskCompletedEvent.topic);
    await h.recorder.waitFor(() => modelCallsOf(h.recorder, taskId).length >= 4, 'four answer calls');
    expect(modelCallsOf(h.recorder, taskId)).toEqual([
      ['answer', 'error'],
      ['answer', 'error'],
      ['answer', 'error'],
      ['answer', 'ok'],
    ]);
    const holds = await reservationsOf(h.ledgerDb, taskId);
    expect(holds).toHaveLength(4);
    expect(holds.every((r) => r['status'] === 'settled')).toBe(true);
  });

  describe('with the budget used up', () => {
    beforeAll(async () => {
      for (const [tenantId, onBudgetDenied] of [
        ['tight-fail', 'fail'],
        ['tight-cheap', 'route_cheap'],
        ['tight-human', 'human'],
      ] as const) {
        await h.putBudget(tenantId, { dailyLimitUsd: 0.000001 });
        await h.setPolicy(tenantId, { onBudgetDenied });
      }
    });

    it.each(['tight-fail', 'tight-cheap'])(
      'fails the task of %s with budget_exceeded, calls no model, and never sends it to a person',
      async (tenantId) => {
        const taskId = await h.accept(tenantId, testTaskSpec(SIMPLE));

        const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
        expect(outcome.topic).toBe(taskFailedEvent.topic);
        expect(outcome.data.error).toMatchObject({ code: 'budget_exceeded' });
        expect(h.recorder.of(taskEscalatedEvent.topic, taskId)).toHaveLength(0);
        expect(modelCallsOf(h.recorder, taskId)).toEqual([]);
      },
    );

    it('escalates the task of a tenant whose policy sends denied work to a person, saying it was the budget', async () => {
      const taskId = await h.accept('tight-human', testTaskSpec(SIMPLE));

      const outcome = (await h.recorder.outcomes([taskId])).get(taskId)!;
      expect(outcome.topic).toBe(taskEscalatedEvent.topic);
      expect(outcome.data.reason).toMatch(/^budget denied/);
      expect(outcome.data.attempts).toEqual(['fast:budget_exceeded']);
      expect(modelCallsOf(h.recorder, taskId)).toEqual([]);
    });
  });
});
