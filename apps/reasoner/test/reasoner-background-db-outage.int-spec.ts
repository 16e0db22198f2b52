import { pollUntil, proxyTestDatabase, type TcpProxy, throughProxy } from '@deliberate/testing';
import { PollProxy } from './poll-proxy';
import { attemptsOf, type ReasonerHarness, startHarness } from './reasoner-harness';

// A background call whose response id cannot be written at once: the reasoner's Postgres is cut the moment the call
// is submitted, so the provider accepts it while the database is unreachable. The id is kept and written once the
// database answers; the call is then followed by it to its end, never submitted again and paid once.

// Shorter than the suite's lease, so the execution stays this reasoner's through the outage.
const OUTAGE_MS = 3_000;
const LEASE_MS = 10_000;

interface BilledCall {
  responseId: string | null;
  background: boolean;
  clientRequestId: string | null;
  costMicroUsd: number;
}

describe('reasoner: Postgres unreachable when a background call is accepted', () => {
  let postgres: TcpProxy;
  let proxy: PollProxy;
  let h: ReasonerHarness;

  beforeAll(async () => {
    postgres = await proxyTestDatabase();
    h = await startHarness('reasoner-background-db-outage', { timeScale: 0.01 });
    proxy = new PollProxy(h.simulator);
    await proxy.start();
    await h.startReasoner({
      DATABASE_URL: throughProxy(h.databaseUrl, postgres),
      LLM_REASONING_BASE_URL: proxy.baseURL,
      LLM_REASONING_API: 'responses',
      LLM_REASONING_BACKGROUND: 'true',
      LLM_BACKGROUND_POLL_FIRST_MS: '50',
      LLM_BACKGROUND_POLL_FACTOR: '2',
      LLM_BACKGROUND_POLL_MAX_MS: '400',
      REASONER_LEASE_MS: String(LEASE_MS),
    });
  }, 120_000);

  afterAll(async () => {
    postgres?.restore();
    await h?.close();
    await proxy?.close();
    await postgres?.close();
  });

  it('writes the id once the database is back, follows the call by it and books it once', async () => {
    let cutAt = 0;
    proxy.beforeForward = (req) => {
      if (req.method !== 'POST' || req.url !== '/v1/responses' || cutAt) return;
      cutAt = Date.now();
      postgres.cut();
      setTimeout(() => postgres.restore(), OUTAGE_MS);
    };
    // 100 s of thinking: 1 s here, so the response has ended before its id can be written.
    const taskId = await h.submit('acme', 'Think through an outage. [[sim:think_ms=100000]]');
    const completed = await h.recorder.waitFor(
      () => h.recorder.of('tasks.task.completed.v1', taskId)[0],
      'the task to complete after the outage',
      60_000,
    );
    expect(cutAt).toBeGreaterThan(0);
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect(completed.data).toMatchObject({ result: { answeredBy: 'reasoning_model', degraded: null } });

    const attempts = await attemptsOf(h.db, taskId);
    expect(attempts.map((a) => [a['status'], a['reason']])).toEqual([['finished', null]]);
    const responseId = attempts[0]!['response_id'] as string;
    expect(responseId).toMatch(/^resp_/);

    // One background response for the task, the one recorded; booked at what the provider billed for it.
    const reservationId = attempts[0]!['reservation_id'] as string;
    const billed = (
      (await (await fetch(`${h.simulator.url}/v1/bill`)).json()) as { calls: BilledCall[] }
    ).calls.filter((c) => c.clientRequestId === reservationId);
    expect(billed.map((c) => [c.responseId, c.background])).toEqual([[responseId, true]]);
    const booked = await pollUntil(
      async () =>
        (
          await h.ledgerDb.query<{ cost: string }>(
            `SELECT cost_micro_usd::text AS cost FROM bookings
              WHERE reservation_id = $1 AND superseded_by_event_id IS NULL AND cost_micro_usd > 0`,
            [reservationId],
          )
        ).rows,
      (rows) => rows.length > 0,
      { what: 'the call booked', timeoutMs: 30_000 },
    );
    expect(booked).toEqual([{ cost: String(billed[0]!.costMicroUsd) }]);
  });
});
