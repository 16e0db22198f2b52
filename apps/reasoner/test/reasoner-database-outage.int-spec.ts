import { SimulatorBill } from '@deliberate/model-simulator/bill/simulator-bill';
import { pollUntil, proxyTestDatabase, type TcpProxy, throughProxy } from '@deliberate/testing';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// The reasoner reaches its Postgres through a proxy this suite cuts while a reasoning call runs: the call ends while
// the database is unreachable, so its end cannot be recorded then. Once the database is back the execution goes on
// from that call (its usage booked once, at what the provider billed) and the task gets its one outcome.

// Longer than the call still has to run and than the reasoner's lease (3 s in the harness).
const OUTAGE_MS = 5_000;

describe('reasoner: Postgres unreachable while a reasoning call runs', () => {
  let postgres: TcpProxy;
  let h: ReasonerHarness;

  beforeAll(async () => {
    postgres = await proxyTestDatabase();
    h = await startHarness('reasoner-db-outage', { timeScale: 0.01 });
    await h.startReasoner({ DATABASE_URL: throughProxy(h.databaseUrl, postgres) });
  }, 120_000);

  afterAll(async () => {
    postgres?.restore();
    await h?.close();
    await postgres?.close();
  });

  it('records the call once the database is back, books its usage once and finishes the task', async () => {
    // 150 s of thinking: 1.5 s here, ending inside the outage.
    const taskId = await h.submit('acme', 'Think a while. [[sim:think_ms=150000]]');
    await h.recorder.waitFor(
      () => h.recorder.of('tasks.task.reasoning-started.v1', taskId)[0],
      'the call to start',
    );
    expect(postgres.accepted()).toBeGreaterThan(0);
    postgres.cut();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    postgres.restore();

    const completed = await h.recorder.waitFor(
      () => h.recorder.of('tasks.task.completed.v1', taskId)[0],
      'the task to complete after the outage',
      60_000,
    );
    expect(completed.data).toMatchObject({ result: { answeredBy: 'reasoning_model' } });
    const outcomes = ['tasks.task.failed.v1', 'tasks.task.escalated.v1', 'tasks.task.cancelled.v1'].flatMap(
      (topic) => h.recorder.of(topic, taskId),
    );
    expect(outcomes).toEqual([]);

    const attempts = (await attemptsOf(h.db, taskId)) as { reservation_id: string; status: string }[];
    expect(attempts.map((a) => a.status)).toEqual(['finished']);
    const reservationId = attempts[0]!.reservation_id;
    const bill = h.simulator.app
      .get(SimulatorBill)
      .statement(null)
      .calls.filter((c) => c.clientRequestId === reservationId);
    expect(bill).toHaveLength(1);
    const booked = await pollUntil(
      async () =>
        (
          await h.ledgerDb.query<{ cost: string }>(
            `SELECT cost_micro_usd AS cost FROM bookings
              WHERE reservation_id = $1 AND superseded_by_event_id IS NULL`,
            [reservationId],
          )
        ).rows,
      (rows) => rows.length > 0,
      { what: 'the call booked', timeoutMs: 30_000 },
    );
    expect(booked).toEqual([{ cost: String(bill[0]!.costMicroUsd) }]);
  });
});
