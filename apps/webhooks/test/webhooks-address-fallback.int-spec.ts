import { pollUntil } from '@deliberate/testing';
import {
  type Delivery,
  newTask,
  startWebhooks,
  tenantPrincipal,
  type WebhooksHarness,
} from './webhooks-harness';

// A name with several addresses: when the first refuses the connection, the next checked address is tried within
// the same attempt; nothing is resolved again, and an address that is not allowed is never among those tried.
describe('webhook delivery to a name with several addresses (real Kafka and Postgres)', () => {
  let h: WebhooksHarness;

  beforeAll(async () => {
    // The harness's receiver listens on 127.0.0.1 only, so 127.0.0.2 refuses connections.
    h = await startWebhooks('webhooks-fallback', {
      env: { WEBHOOKS_ALLOWED_NETWORKS: '127.0.0.0/8', WEBHOOKS_RETRY_SCHEDULE: '0,100ms' },
      resolver: (hostname) =>
        Promise.resolve(
          hostname === 'multi.example.test'
            ? [
                { address: '127.0.0.2', family: 4 },
                { address: '127.0.0.1', family: 4 },
              ]
            : hostname === 'dead.example.test'
              ? [
                  { address: '127.0.0.2', family: 4 },
                  { address: '127.0.0.3', family: 4 },
                ]
              : [
                  { address: '127.0.0.1', family: 4 },
                  { address: '10.0.0.7', family: 4 },
                ],
        ),
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function deliveryOf(tenant: string, done: (d: Delivery | null) => boolean): Promise<Delivery> {
    const delivery = await pollUntil(
      async () => {
        const list = await h.http<{ deliveries: { id: string }[] }>('GET', '/v1/webhooks/deliveries', {
          principal: tenantPrincipal(tenant),
        });
        const id = list.body.deliveries[0]?.id;
        if (!id) return null;
        const res = await h.http<Delivery>('GET', `/v1/webhooks/deliveries/${id}`, {
          principal: tenantPrincipal(tenant),
        });
        return res.body;
      },
      done,
      { what: `a finished delivery of tenant ${tenant}` },
    );
    return delivery!;
  }

  it('delivers through the second address when the first refuses, in one attempt', async () => {
    const port = new URL(h.receiver.url).port;
    await h.registerEndpoint('fallback', `http://multi.example.test:${port}/hook`);
    const task = newTask('fallback');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const delivery = await deliveryOf('fallback', (d) => d?.status === 'delivered');
    expect(delivery.attempts).toBe(1);
    expect(delivery.attemptLog).toEqual([expect.objectContaining({ outcome: 'delivered', httpStatus: 200 })]);
    const received = h.receiver.requests.filter((r) => r.headers['host'] === `multi.example.test:${port}`);
    expect(received).toHaveLength(1);
  });

  it('fails the attempt when every address refuses, naming the refusal', async () => {
    const port = new URL(h.receiver.url).port;
    await h.registerEndpoint('unreachable', `http://dead.example.test:${port}/hook`);
    const task = newTask('unreachable');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const delivery = await deliveryOf('unreachable', (d) => d?.status === 'dead_lettered');
    expect(delivery.attemptLog.map((a) => a.outcome)).toEqual(['failed', 'failed']);
    expect(delivery.attemptLog[0]!.error).toMatch(/ECONNREFUSED/);
  });

  it('refuses a name when any of its addresses is blocked, even if another one is allowed', async () => {
    const port = new URL(h.receiver.url).port;
    const before = h.receiver.requests.length;
    await h.registerEndpoint('mixed', `http://mixed.example.test:${port}/hook`);
    const task = newTask('mixed');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const delivery = await deliveryOf('mixed', (d) => d?.status === 'dead_lettered');
    expect(delivery.attemptLog.map((a) => a.outcome)).toEqual(['refused', 'refused']);
    expect(delivery.attemptLog[0]!.error).toMatch(/10\.0\.0\.7/);
    expect(h.receiver.requests.length).toBe(before);
  });
});
