import { ZERO_USAGE } from '@deliberate/contracts';
import { ReservationService } from '@deliberate/ledger/reservations/reservation.service';
import { SimulatorBill } from '@deliberate/model-simulator/bill/simulator-bill';
import { pollUntil } from '@deliberate/testing';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// A call whose attempt another instance gave up while it still ran (the executor stalled past its lease and the
// call's deadline) and booked at its hold's worst case, yet which got its answer: its real usage replaces that
// booking, so the reservation is booked once, at what the provider billed. The give-up is made here as the new
// owner makes it (the attempt ended as crashed, the hold settled as aborted), while this executor's call runs.

describe('reasoner: the usage of a call that ended after its attempt was given up', () => {
  let h: ReasonerHarness;

  beforeAll(async () => {
    h = await startHarness('reasoner-late-usage', { timeScale: 0.01 });
    await h.startReasoner();
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('replaces the worst-case booking of its hold and is billed once', async () => {
    // 300 s of thinking: 3 s here, the time to give the attempt up while the call runs.
    const taskId = await h.submit('acme', 'Think slowly. [[sim:think_ms=300000]]');
    await h.recorder.waitFor(
      () => h.recorder.of('tasks.task.reasoning-started.v1', taskId)[0],
      'the call to start',
    );
    const [attempt] = (await attemptsOf(h.db, taskId)) as {
      id: string;
      reservation_id: string;
      usage_event_id: string;
      model: string;
    }[];
    const { rowCount } = await h.db.query(
      `UPDATE attempts SET status = 'crashed', outcome = 'error', reason = 'executor_crashed',
              detail = 'given up by the test as a new owner would', finished_at = now()
        WHERE id = $1 AND status = 'started'`,
      [attempt!.id],
    );
    expect(rowCount).toBe(1);
    expect(
      await h.ledger!.get(ReservationService).settle({
        reservationId: attempt!.reservation_id,
        usageEventId: attempt!.usage_event_id,
        model: attempt!.model,
        usage: ZERO_USAGE,
        aborted: true,
      }),
    ).toMatchObject({ booked: true });

    const lateId = `${attempt!.usage_event_id}:late`;
    const late = await h.recorder.waitFor(
      () => h.recorder.events.find((e) => e.topic === 'usage.model-call.recorded.v1' && e.id === lateId),
      'the late usage event',
      30_000,
    );
    expect(late.data).toMatchObject({ reservationId: attempt!.reservation_id, outcome: 'ok' });
    const bookings = await pollUntil(
      async () =>
        (
          await h.ledgerDb.query<{
            event_id: string;
            cost: string;
            aborted: boolean;
            supersedes: string | null;
            superseded_by: string | null;
          }>(
            `SELECT event_id, cost_micro_usd AS cost, aborted, supersedes_event_id AS supersedes,
                    superseded_by_event_id AS superseded_by
               FROM bookings WHERE reservation_id = $1 ORDER BY id`,
            [attempt!.reservation_id],
          )
        ).rows,
      (rows) => rows.length === 2,
      { what: 'the late usage booked' },
    );
    const bill = h.simulator.app
      .get(SimulatorBill)
      .statement(null)
      .calls.filter((c) => c.clientRequestId === attempt!.reservation_id);
    expect(bill).toHaveLength(1);
    expect(bookings).toEqual([
      {
        event_id: attempt!.usage_event_id,
        cost: '0',
        aborted: true,
        supersedes: null,
        superseded_by: lateId,
      },
      {
        event_id: lateId,
        cost: String(bill[0]!.costMicroUsd),
        aborted: false,
        supersedes: attempt!.usage_event_id,
        superseded_by: null,
      },
    ]);
  });
});
