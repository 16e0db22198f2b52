import { pollUntil } from '@deliberate/testing';
import { header, newTask, startWebhooks, type WebhooksHarness } from './webhooks-harness';

const MESSAGES = 500;

// Two dispatchers on one database, claiming small batches so their claims interleave: SKIP LOCKED and the lease
// must hand every attempt to exactly one of them.
describe('two dispatcher instances (real Kafka and Postgres)', () => {
  let h: WebhooksHarness;

  beforeAll(async () => {
    h = await startWebhooks('webhooks-replicas', {
      instances: 2,
      env: { WEBHOOKS_BATCH_SIZE: '10', WEBHOOKS_CONCURRENCY: '20', WEBHOOKS_POLL_INTERVAL_MS: '20' },
    });
    h.receiver.behave((_r, res) => {
      // A little latency, so both instances have attempts in flight at once.
      setTimeout(() => res.writeHead(200).end('ok'), Math.floor(Math.random() * 5));
      return 'handled';
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('delivers each message exactly once', async () => {
    await h.registerEndpoint('replicas', `${h.receiver.url}/hook`);
    const tasks = Array.from({ length: MESSAGES }, () => newTask('replicas'));
    await Promise.all(tasks.map((t) => h.publishAccepted(t)));
    await Promise.all(tasks.map((t) => h.publishTerminal(t, 'completed')));
    await pollUntil(
      () => h.db.query<{ n: string }>(`SELECT count(*) AS n FROM messages WHERE status = 'delivered'`),
      (r) => Number(r.rows[0]!.n) === MESSAGES,
      { timeoutMs: 90_000, intervalMs: 250, what: `${MESSAGES} messages delivered` },
    );
    const ids = h.receiver.requests.map((r) => header(r, 'webhook-id'));
    expect(new Set(ids).size).toBe(MESSAGES);
    expect(ids).toHaveLength(MESSAGES);
    const attempts = await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM attempts`);
    expect(Number(attempts.rows[0]!.n)).toBe(MESSAGES);
  });
});
