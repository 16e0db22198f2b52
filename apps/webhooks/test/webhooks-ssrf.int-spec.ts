import { pollUntil, scrapeMetrics } from '@deliberate/testing';
import {
  type Delivery,
  newTask,
  startWebhooks,
  tenantPrincipal,
  type WebhooksHarness,
} from './webhooks-harness';

// The same service as in production: nothing allowlisted. The receiver listens on loopback, so every attempt
// must be refused before a connection is made.
describe('SSRF protection (real Kafka and Postgres, loopback not allowlisted)', () => {
  let h: WebhooksHarness;

  beforeAll(async () => {
    // A public-looking name whose DNS answer is the loopback address: what a rebinding attacker would serve.
    h = await startWebhooks('webhooks-ssrf', {
      env: { WEBHOOKS_ALLOWED_NETWORKS: '', WEBHOOKS_RETRY_SCHEDULE: '0,100ms' },
      resolver: (hostname) =>
        Promise.resolve(
          hostname === 'hooks.example.com'
            ? [{ address: '127.0.0.1', family: 4 }]
            : [{ address: '93.184.216.34', family: 4 }],
        ),
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it.each([
    'http://127.0.0.1:9/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://10.0.0.1/',
    'http://localhost:8080/',
    'ftp://example.com/',
    'https://user:secret@example.com/',
  ])('refuses to register %s with a 400', async (url) => {
    const res = await h.http('POST', '/v1/webhooks/endpoints', {
      principal: tenantPrincipal('ssrf'),
      body: { url },
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('url:');
  });

  it("sends nothing to a task's loopback webhookUrl and records the attempt as refused", async () => {
    const before = await scrapeMetrics(h.url);
    await h.http('POST', '/v1/webhooks/task-secret', { principal: tenantPrincipal('ssrf') });
    const task = newTask('ssrf', `${h.receiver.url}/internal`);
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const delivery = await pollUntil(
      async () => {
        const list = await h.http<{ deliveries: { id: string }[] }>(
          'GET',
          `/v1/webhooks/deliveries?taskId=${task.taskId}`,
          {
            principal: tenantPrincipal('ssrf'),
          },
        );
        const id = list.body.deliveries[0]?.id;
        return id
          ? (
              await h.http<Delivery>('GET', `/v1/webhooks/deliveries/${id}`, {
                principal: tenantPrincipal('ssrf'),
              })
            ).body
          : null;
      },
      (d) => d?.status === 'dead_lettered',
      { what: 'the refused delivery dead-lettered' },
    );
    expect(delivery!.attemptLog.map((a) => [a.outcome, a.httpStatus])).toEqual([
      ['refused', null],
      ['refused', null],
    ]);
    expect(delivery!.attemptLog[0]!.error).toMatch(/127\.0\.0\.1 is in a blocked range/);
    expect(h.receiver.requests).toHaveLength(0);
    // Both attempts counted as refused by the guard, and the delivery given up once.
    const after = await scrapeMetrics(h.url);
    const moved = (name: string, labels: Record<string, string> = {}) =>
      after.value(name, labels) - before.value(name, labels);
    expect(
      moved('deliberate_webhooks_attempts_total', { outcome: 'refused', error_type: 'ssrf_refused' }),
    ).toBe(2);
    expect(moved('deliberate_webhooks_attempts_total')).toBe(2);
    expect(moved('deliberate_webhooks_dead_letters_total')).toBe(1);
  });

  it('refuses a registered name that resolves to loopback (DNS rebinding): nothing is sent', async () => {
    const port = new URL(h.receiver.url).port;
    const endpoint = await h.registerEndpoint('rebind', `http://hooks.example.com:${port}/hook`);
    expect(endpoint.id).toBeDefined();
    const task = newTask('rebind');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const delivery = await pollUntil(
      async () => {
        const list = await h.http<{ deliveries: { id: string }[] }>('GET', '/v1/webhooks/deliveries', {
          principal: tenantPrincipal('rebind'),
        });
        const id = list.body.deliveries[0]?.id;
        return id
          ? (
              await h.http<Delivery>('GET', `/v1/webhooks/deliveries/${id}`, {
                principal: tenantPrincipal('rebind'),
              })
            ).body
          : null;
      },
      (d) => (d?.attemptLog.length ?? 0) >= 1,
      { what: 'a refused attempt' },
    );
    expect(delivery!.attemptLog[0]).toMatchObject({ outcome: 'refused', httpStatus: null });
    expect(delivery!.attemptLog[0]!.error).toMatch(/refused hooks\.example\.com: 127\.0\.0\.1/);
    expect(h.receiver.requests).toHaveLength(0);
  });
});
