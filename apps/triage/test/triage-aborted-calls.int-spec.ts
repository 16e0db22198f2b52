import { taskCompletedEvent } from '@deliberate/contracts';
import { FastCalls } from '@deliberate/triage/triage/fast-calls';
import { pollUntil, testTaskSpec } from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import { reservationsOf, startTriageHarness, type TriageHarness } from './triage-harness';

// A fast-model call cut off before its usage was known is booked at its hold's worst case, whichever of its usage
// event and its settle the ledger reads first; and a call settled as abandoned (by a handler that took its claim
// over) that gets its answer after all is booked once, at what the provider billed.

describe('triage: aborted and abandoned fast-model calls', () => {
  let h: TriageHarness;
  let triage: INestApplication;

  beforeAll(async () => {
    // Time scale 0.01: 300 s of simulated thinking take 3 s, within a try's 5 s.
    h = await startTriageHarness('triage-aborted', { timeScale: 0.01 });
    triage = await h.startTriage({ TRIAGE_CALL_TIMEOUT_MS: '5000', TRIAGE_CLAIM_MARGIN_MS: '500' });
  }, 120_000);

  afterAll(() => h?.close());

  const bookingsOf = async (reservationId: string) =>
    (
      await h.ledgerDb.query<{
        event_id: string;
        cost: string;
        aborted: boolean;
        supersedes: string | null;
        superseded_by: string | null;
      }>(
        `SELECT event_id, cost_micro_usd::text AS cost, aborted, supersedes_event_id AS supersedes,
                superseded_by_event_id AS superseded_by
           FROM bookings WHERE reservation_id = $1 ORDER BY id`,
        [reservationId],
      )
    ).rows;

  it('announces a timed-out call as aborted, booked at its hold however the ledger hears of it first', async () => {
    // The first answer call hangs until the try's timeout; the second answers.
    const taskId = await h.accept(
      'acme',
      testTaskSpec('What is 2 + 2? [[sim:fault=hangx1]]', { mode: 'fast' }),
    );
    const outcome = (await h.recorder.outcomes([taskId], 60_000)).get(taskId)!;
    expect(outcome.topic).toBe(taskCompletedEvent.topic);
    const [cutOff, answered] = h.recorder.of('usage.model-call.recorded.v1', taskId);
    expect(cutOff!.data).toMatchObject({
      purpose: 'answer',
      outcome: 'aborted',
      usage: { inputTokens: 0, outputTokens: 0 },
    });
    expect(answered!.data).toMatchObject({ purpose: 'answer', outcome: 'ok' });
    const holds = await reservationsOf(h.ledgerDb, taskId);
    expect(holds).toHaveLength(2);
    const rows = await pollUntil(
      () => bookingsOf(holds[0]!['id'] as string),
      (r) => r.length === 1,
      { what: "the cut-off call's booking" },
    );
    expect(rows).toMatchObject([
      { event_id: cutOff!.id, aborted: true, cost: String(holds[0]!['amount_micro_usd']) },
    ]);
  });

  it('books a call settled as abandoned while it still ran once, at its bill', async () => {
    const taskId = await h.accept(
      'acme',
      testTaskSpec('What is 2 + 2? [[sim:think_ms=300000]]', { mode: 'fast' }),
    );
    const claimed = await pollUntil(
      async () =>
        (
          await h.db.query<{ reservation_id: string | null }>(
            `SELECT reservation_id FROM tasks WHERE task_id = $1`,
            [taskId],
          )
        ).rows[0],
      (row) => row?.reservation_id != null,
      { what: "the call's claim and hold" },
    );
    const reservationId = claimed!.reservation_id!;
    // What a handler taking the claim over does with the call it finds unfinished: books it at its worst case.
    await triage.get(FastCalls).settleAborted(reservationId, 'taken over while the call ran');

    const outcome = (await h.recorder.outcomes([taskId], 60_000)).get(taskId)!;
    expect(outcome.topic).toBe(taskCompletedEvent.topic);
    const [real] = h.recorder.of('usage.model-call.recorded.v1', taskId);
    const bill = await h.billedCalls([reservationId]);
    expect(bill).toHaveLength(1);
    const abortId = `${reservationId}:aborted`;
    expect(
      await pollUntil(
        () => bookingsOf(reservationId),
        (r) => r.length === 2,
        { what: 'the real usage booked' },
      ),
    ).toEqual([
      { event_id: abortId, cost: '0', aborted: true, supersedes: null, superseded_by: real!.id },
      {
        event_id: real!.id,
        cost: String(bill[0]!.costMicroUsd),
        aborted: false,
        supersedes: abortId,
        superseded_by: null,
      },
    ]);
  });
});
