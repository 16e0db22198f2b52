import { deadLetterTopic, modelCallRecordedEvent } from '@deliberate/contracts';
import { SimulatorBill } from '@deliberate/model-simulator/bill/simulator-bill';
import { buildService, killService, pollUntil, type ServiceProcess, spawnService } from '@deliberate/testing';
import { Kafka, logLevel } from 'kafkajs';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// An executor that stalls past its lease (SIGSTOP) while its call runs: another instance takes the execution over,
// waits until that call's deadline has passed before calling again, and the stalled one, continued, cannot end the
// call a second time. Both calls are booked, the first at its worst case, replaced by its real usage when the stalled
// call got its answer after all; nothing is dead-lettered.

const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

async function messagesIn(topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'stalled-test', brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('reasoner stalled executor (child process)', () => {
  let h: ReasonerHarness;
  let stalled: ServiceProcess | undefined;

  beforeAll(async () => {
    buildService('reasoner');
    h = await startHarness('reasoner-stall', { timeScale: 0.01 });
  }, 120_000);

  afterAll(async () => {
    if (stalled?.proc.exitCode === null) stalled.proc.kill('SIGCONT');
    await killService(stalled);
    await h?.close();
  });

  const env = {
    REASONER_LEASE_MS: '1500',
    REASONER_CRASH_RETRY_BASE_MS: '50',
    // 24 s of budget: the reasoning call's deadline is 18 s after acceptance, the standard model has the rest.
    REASONER_FALLBACK_RESERVE_MS: '6000',
  };

  it('books both calls once, publishes one terminal event, and dead-letters nothing', async () => {
    stalled = spawnService('reasoner', {
      ...h.env({ ...env, REASONER_INSTANCE_ID: 'stall-1' }),
      LOG_LEVEL: 'info',
    });
    await h.recorder
      .waitFor(
        () => stalled!.output.join('').includes('"msg":"reasoning"'),
        'the first child to start',
        60_000,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${stalled!.output.join('').slice(-3000)}`);
      });

    // 200 s of thinking: 2 s here, so the call is still running when its executor stops.
    const taskId = await h.submit('acme', 'Stall while thinking. [[sim:think_ms=200000]]', {
      latencyBudgetMs: 24_000,
    });
    await h.recorder.waitFor(
      () => h.recorder.of('tasks.task.reasoning-started.v1', taskId).length === 1,
      'the first call to start',
    );
    // Stopped once its request has most likely reached the provider (the call itself lasts 2 s).
    await new Promise((r) => setTimeout(r, 500));
    stalled.proc.kill('SIGSTOP');

    // The second instance claims it once the lease lapses, and calls again only after the first call's deadline.
    await h.startReasoner({ ...env, REASONER_INSTANCE_ID: 'stall-2' });
    await h.recorder.waitFor(
      () =>
        h.recorder.of('tasks.task.reasoning-started.v1', taskId).some((e) => e.data['tier'] === 'standard'),
      'the new owner to call the standard model',
      60_000,
    );
    stalled.proc.kill('SIGCONT');

    const outcomes = await h.recorder.outcomes([taskId], 60_000);
    expect(outcomes.get(taskId)!.topic).toBe('tasks.task.completed.v1');
    expect(outcomes.get(taskId)!.data['result'].answeredBy).toBe('standard_model');

    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a.attempt, a.tier, a.status, a.instance_id])).toEqual([
      [1, 'reasoning', 'crashed', 'stall-1'],
      [2, 'reasoning', 'skipped', 'stall-2'],
      [3, 'standard', 'finished', 'stall-2'],
    ]);
    // The first call was not made again before its deadline passed.
    const [first, , third] = attempts as { deadline_at: Date; started_at: Date; reservation_id: string }[];
    expect(third!.started_at.getTime()).toBeGreaterThanOrEqual(first!.deadline_at.getTime());

    // The continued executor ends nothing twice: it finds its attempt given up, and books the usage its call
    // reported after all (it replaces the worst case) or leaves the worst case booked.
    await pollUntil(
      () => Promise.resolve(stalled!.output.join('')),
      (out) => out.includes('its attempt given up'),
      { what: 'the continued executor to notice it lost the execution' },
    );
    // Both calls booked against their holds: the cut-off one at its worst case or its real usage, the other at the provider's bill.
    const bill = h.simulator.app.get(SimulatorBill).statement(null);
    const billed = (reservationId: string) => bill.calls.filter((c) => c.clientRequestId === reservationId);
    // The provider bills the first call if the request reached it before the stop (it finished generating).
    expect(billed(first!.reservation_id).length).toBeLessThanOrEqual(1);
    expect(billed(third!.reservation_id)).toHaveLength(1);
    const bookingsOf = async (reservationId: string) =>
      (
        await h.ledgerDb.query<{ cost: string; aborted: boolean; supersedes: string | null }>(
          `SELECT cost_micro_usd AS cost, aborted, supersedes_event_id AS supersedes FROM bookings
            WHERE reservation_id = $1 ORDER BY id`,
          [reservationId],
        )
      ).rows;
    await pollUntil(
      async () => [await bookingsOf(first!.reservation_id), await bookingsOf(third!.reservation_id)],
      ([a, b]) => a!.length > 0 && b!.length === 1,
      { what: 'both calls booked' },
    );
    const { rows: holds } = await h.ledgerDb.query<{ id: string; amount: string; status: string }>(
      `SELECT id, amount_micro_usd AS amount, status FROM reservations WHERE task_id = $1 ORDER BY created_at`,
      [taskId],
    );
    expect(holds.map((r) => [r.id, r.status])).toEqual([
      [first!.reservation_id, 'settled'],
      [third!.reservation_id, 'settled'],
    ]);
    const firstBookings = await bookingsOf(first!.reservation_id);
    const firstCost = firstBookings.reduce((sum, b) => sum + Number(b.cost), 0);
    const firstBill = billed(first!.reservation_id)[0]?.costMicroUsd ?? 0;
    if (firstBookings.some((b) => b.supersedes !== null)) {
      // The stalled call got its answer: booked once, at what the provider billed, the worst case replaced.
      expect(firstBookings.map((b) => [b.aborted, Number(b.cost) === 0])).toEqual([
        [true, true],
        [false, false],
      ]);
      expect(firstCost).toBe(firstBill);
    } else {
      expect(firstBookings).toHaveLength(1);
      expect(firstCost).toBeGreaterThanOrEqual(firstBill);
      if (firstBookings[0]!.aborted) expect(firstCost).toBe(Number(holds[0]!.amount));
    }
    expect(Number((await bookingsOf(third!.reservation_id))[0]!.cost)).toBe(
      billed(third!.reservation_id)[0]!.costMicroUsd,
    );

    expect(new Set(h.recorder.of('tasks.task.completed.v1', taskId).map((e) => e.id)).size).toBe(1);
    expect(h.recorder.of('tasks.task.failed.v1', taskId)).toHaveLength(0);
    expect(h.recorder.of('tasks.task.escalated.v1', taskId)).toHaveLength(0);
    expect(await messagesIn(`${h.prefix}${deadLetterTopic(modelCallRecordedEvent.topic)}`)).toBe(0);
  });
});
