import { pollUntil } from '@deliberate/testing';
import { type ReasonerHarness, startHarness } from './reasoner-harness';

// Per-tenant queues served round-robin: with 4 calls at a time, a tenant that queued 200 tasks does not make a
// tenant arriving after it wait behind all 200.
describe('reasoner: per-tenant fairness', () => {
  let h: ReasonerHarness;

  beforeAll(async () => {
    h = await startHarness('reasoner-fairness', { timeScale: 0.01 });
    await h.startReasoner({ REASONER_CONCURRENCY: '4' });
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
});
