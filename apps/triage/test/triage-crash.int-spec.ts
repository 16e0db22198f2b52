import { taskCompletedEvent, taskFailedEvent } from '@deliberate/contracts';
import {
  buildService,
  killService,
  pollUntil,
  type ServiceProcess,
  spawnService,
  testTaskSpec,
} from '@deliberate/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { modelCallsOf, reservationsOf, startTriageHarness, type TriageHarness } from './triage-harness';

// A triage killed (SIGKILL) in the middle of a paid fast-model call: the next instance waits for the dead one's claim
// to expire, books the cut-off call at its worst case (aborted: the provider may have billed it), makes the call
// again under a new hold, and the task gets exactly one terminal event.

describe('triage crash mid-call (child processes)', () => {
  let h: TriageHarness;
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;

  beforeAll(async () => {
    buildService('triage');
    h = await startTriageHarness('triage-crash');
  }, 180_000);

  afterAll(async () => {
    await killService(first);
    await killService(second);
    await h?.close();
  });

  const env = (instanceId: string) => ({
    ...h.env({
      TRIAGE_INSTANCE_ID: instanceId,
      TRIAGE_CALL_TIMEOUT_MS: '4000',
      TRIAGE_CLAIM_MARGIN_MS: '500',
    }),
    LOG_LEVEL: 'info',
  });

  async function started(child: ServiceProcess): Promise<void> {
    await h.recorder
      .waitFor(() => child.output.join('').includes('"msg":"triaging"'), 'the child to start', 60_000)
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${child.output.join('').slice(-3000)}`);
      });
  }

  it('takes over a call whose handler died, settles the first hold as aborted, and answers the task once', async () => {
    first = spawnService('triage', env('child-1'));
    await started(first);
    // The simulator holds the first answer call open; the same request answers the second time.
    const taskId = await h.accept(
      'acme',
      testTaskSpec('What is 2 + 2? [[sim:fault=hangx1]]', { mode: 'fast' }),
    );
    await pollUntil(
      async () =>
        (await h.db.query(`SELECT claim_owner, reservation_id FROM tasks WHERE task_id = $1`, [taskId]))
          .rows[0],
      (row) => row?.reservation_id != null,
      { what: "the first call's claim and hold", timeoutMs: 60_000 },
    );
    // The hold is stored just before the request goes out: give it the time to reach the simulator and hang there.
    await sleep(1_500);
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(h.recorder.outcome(taskId)).toBeUndefined();

    second = spawnService('triage', env('child-2'));
    const outcome = (
      await h.recorder.outcomes([taskId], 120_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${second!.output.join('').slice(-3000)}`);
      })
    ).get(taskId)!;

    expect(outcome.topic).toBe(taskCompletedEvent.topic);
    expect(
      h.recorder.events.filter(
        (e) => e.taskId === taskId && [taskCompletedEvent.topic, taskFailedEvent.topic].includes(e.topic),
      ),
    ).toHaveLength(1);
    // The cut-off call left no usage event; the second is the one answer.
    expect(modelCallsOf(h.recorder, taskId)).toEqual([['answer', 'ok']]);
    const holds = await reservationsOf(h.ledgerDb, taskId);
    expect(holds).toHaveLength(2);
    // The first hold may have expired before the taker came (the broker hands the task over only after the dead
    // member's session ends); its call is booked all the same.
    expect(['settled', 'expired']).toContain(holds[0]!['status']);
    expect(holds[1]!['status']).toBe('settled');
    const { rows: bookings } = await h.ledgerDb.query(
      `SELECT reservation_id, aborted, cost_micro_usd FROM bookings WHERE reservation_id = ANY($1::uuid[])`,
      [holds.map((r) => r['id'])],
    );
    const firstBooking = bookings.find((b) => b.reservation_id === holds[0]!['id']);
    // Booked at the first hold's worst case, flagged aborted.
    expect(firstBooking).toMatchObject({ aborted: true });
    expect(Number(firstBooking.cost_micro_usd)).toBe(Number(holds[0]!['amount_micro_usd']));
    const { rows } = await h.db.query(`SELECT state, call_attempt FROM tasks WHERE task_id = $1`, [taskId]);
    expect(rows[0]).toEqual({ state: 'finished', call_attempt: 2 });
  }, 240_000);
});
