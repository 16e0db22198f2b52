import { listenOnFreePort, pollUntil, type PrometheusScrape, scrapeMetrics } from '@deliberate/testing';
import { type ReasonerHarness, startHarness } from './reasoner-harness';

// Per-tenant queues served round-robin: with 4 calls at a time, a tenant that queued 200 tasks does not make a
// tenant arriving after it wait behind all 200.
describe('reasoner: per-tenant fairness', () => {
  let h: ReasonerHarness;
  let url: string;

  beforeAll(async () => {
    h = await startHarness('reasoner-fairness', { timeScale: 0.01 });
    url = await listenOnFreePort(await h.startReasoner({ REASONER_CONCURRENCY: '4' }));
  });

  afterAll(async () => {
    await h?.close();
  });

  it("serves a small tenant's tasks long before a big tenant's backlog is through", async () => {
    const a = await Promise.all(
      Array.from({ length: 200 }, (_, i) => h.submit('tenant-a', `Backlog ${i}. [[sim:think_ms=5000]]`)),
    );
    // B's tasks are published only once all of A's are queued in the reasoner.
    await pollUntil(
      async () =>
        (await h.db.query(`SELECT count(*)::int AS n FROM executions WHERE tenant_id = 'tenant-a'`)).rows[0]
          .n,
      (n) => n === 200,
      { what: "tenant A's executions" },
    );
    const b = await Promise.all(
      Array.from({ length: 5 }, (_, i) => h.submit('tenant-b', `Small ${i}. [[sim:think_ms=5000]]`)),
    );
    await h.recorder.outcomes([...a, ...b], 120_000);
    const { rows } = await h.db.query<{ task_id: string }>(
      `SELECT task_id FROM executions ORDER BY finished_at, id`,
    );
    const order = rows.map((r) => r.task_id);
    const positions = b.map((id) => order.indexOf(id));
    const lastB = Math.max(...positions);
    // FIFO would finish B at positions 200-204; round-robin finishes it within a few rounds of its arrival.
    expect(lastB).toBeLessThan(100);
    expect(order.slice(lastB + 1).filter((id) => a.includes(id)).length).toBeGreaterThan(100);
  });
  it('reports its calls in flight by model tier and the executions queued behind them on /metrics', async () => {
    const IN_FLIGHT = 'deliberate_reasoner_calls_in_flight';
    const QUEUED = 'deliberate_reasoner_calls_queued';
    const COMPLETED = { outcome: 'completed' };
    const calls = (m: PrometheusScrape, tier: string) => m.value(IN_FLIGHT, { deliberate_model_tier: tier });
    const before = await scrapeMetrics(url);
    expect([calls(before, 'reasoning'), calls(before, 'standard'), before.value(QUEUED)]).toEqual([0, 0, 0]);

    // Six calls of 3 s each (300 s at time scale 0.01) for 4 workers: 4 run, 2 wait.
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => h.submit('tenant-c', `Held ${i}. [[sim:think_ms=300000]]`)),
    );
    const busy = await pollUntil(
      () => scrapeMetrics(url),
      (m) => calls(m, 'reasoning') === 4 && m.value(QUEUED) === 2,
      { what: '4 reasoning calls in flight and 2 executions queued' },
    );
    expect(calls(busy, 'standard')).toBe(0);

    await h.recorder.outcomes(ids, 60_000);
    const after = await scrapeMetrics(url);
    expect([calls(after, 'reasoning'), calls(after, 'standard'), after.value(QUEUED)]).toEqual([0, 0, 0]);
    expect(after.value('deliberate_reasoner_executions_total', COMPLETED)).toBe(
      before.value('deliberate_reasoner_executions_total', COMPLETED) + 6,
    );
  });
});
