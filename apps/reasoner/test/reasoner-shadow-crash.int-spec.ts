import type { ShadowComparisonRecorded } from '@deliberate/contracts';
import { buildService, killService, pollUntil, type ServiceProcess, spawnService } from '@deliberate/testing';
import { type ReasonerHarness, startHarness } from './reasoner-harness';

// A reasoner killed with SIGKILL in the middle of a shadow call: the call may have run, and the provider bills it
// (the simulator does, though its client is gone), or it may not have left yet (its hold is recorded first). The next instance takes the run over once its lease is out, never
// calls again, and books the hold at its worst case; the live task, answered before, is untouched.

interface BilledCall {
  clientRequestId: string | null;
  model: string;
  costMicroUsd: number;
}

describe('reasoner: a shadow call cut off by kill -9', () => {
  let h: ReasonerHarness;
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;

  beforeAll(async () => {
    buildService('reasoner');
    h = await startHarness('reasoner-shadow-crash', { timeScale: 0.01 });
    await h.putPolicy('acme', {
      shadow: { model: 'sim-standard', serviceTier: 'default', sampleRate: 1, dailyBudgetUsd: 10 },
    });
  }, 120_000);

  afterAll(async () => {
    await killService(first);
    await killService(second);
    await h?.close();
  });

  // A shadow call of 5 s at most: its run's lease runs out 10 s after that.
  const env = (instanceId: string) =>
    h.env({
      REASONER_INSTANCE_ID: instanceId,
      REASONER_SHADOW_POLL_MS: '100',
      REASONER_SHADOW_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'info',
    });

  it('books the cut-off call at its worst case, never calls again, and leaves the live answer as it was', async () => {
    first = spawnService('reasoner', env('shadow-child-1'));
    await h.recorder
      .waitFor(
        () => first!.output.join('').includes('"msg":"reasoner started"'),
        'the first child to start',
        60_000,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${first!.output.join('').slice(-3000)}`);
      });
    // 300 s of thinking is 3 s here, for the live call and then for the shadow one.
    const taskId = await h.submit('acme', 'Think it over. [[sim:think_ms=300000]]', {
      reasoningEffort: 'low',
    });
    const outcome = (await h.recorder.outcomes([taskId], 60_000)).get(taskId)!;
    expect(outcome.topic).toBe('tasks.task.completed.v1');
    const started = await pollUntil(
      async () =>
        (
          await h.db.query<{ status: string; reservation_id: string | null }>(
            `SELECT status, reservation_id FROM shadow_runs WHERE task_id = $1`,
            [taskId],
          )
        ).rows[0],
      (row) => row?.status === 'started',
      { what: 'the shadow call to start', timeoutMs: 30_000 },
    );
    first.proc.kill('SIGKILL');
    await first.exited;
    const holdId = started!.reservation_id!;

    second = spawnService('reasoner', env('shadow-child-2'));
    await h.recorder
      .waitFor(
        () => h.recorder.of('shadow.comparison.recorded.v1', taskId).length > 0,
        'the comparison after the takeover',
        60_000,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${second!.output.join('').slice(-3000)}`);
      });
    const [comparison] = h.recorder.of('shadow.comparison.recorded.v1', taskId) as unknown as {
      data: ShadowComparisonRecorded;
    }[];
    expect(comparison!.data.shadow).toMatchObject({
      outcome: 'error',
      reservationId: holdId,
      answer: null,
      errorMessage: 'the shadow executor stopped before the call ended',
    });
    expect(comparison!.data.agreement.agreed).toBeNull();

    // The kill may come before or after the call reached the simulator (its hold is recorded first). If it did, the
    // simulator ends it within its 3 s and bills it, though its client is gone: by now it is on the bill. Either way
    // it is the only call under the hold: the second instance never called again.
    await new Promise((r) => setTimeout(r, 5_000));
    const bill = (
      (await (await fetch(`${h.simulator.url}/v1/bill`)).json()) as { calls: BilledCall[] }
    ).calls.filter((c) => c.clientRequestId === holdId);
    expect(bill.length).toBeLessThanOrEqual(1);
    // Booked at the hold's worst case, as aborted: never below what the provider billed.
    const { rows } = await pollUntil(
      () =>
        h.ledgerDb.query<{ amount: string; cost: string; aborted: boolean; shadow: boolean }>(
          `SELECT r.amount_micro_usd::text AS amount, b.cost_micro_usd::text AS cost, b.aborted, b.shadow
             FROM reservations r JOIN bookings b ON b.reservation_id = r.id WHERE r.id = $1`,
          [holdId],
        ),
      (r) => r.rows.length === 1,
      { what: 'the booking of the cut-off shadow call' },
    );
    expect(rows[0]).toEqual({ amount: rows[0]!.amount, cost: rows[0]!.amount, aborted: true, shadow: true });
    expect(Number(rows[0]!.cost)).toBeGreaterThanOrEqual(bill[0]?.costMicroUsd ?? 0);
    // The run is done, by the second instance; the task completed once, by the live model.
    const { rows: runs } = await h.db.query(`SELECT status, owner FROM shadow_runs WHERE task_id = $1`, [
      taskId,
    ]);
    expect(runs).toEqual([{ status: 'done', owner: null }]);
    expect(h.recorder.of('tasks.task.completed.v1', taskId)).toHaveLength(1);
  }, 180_000);
});
