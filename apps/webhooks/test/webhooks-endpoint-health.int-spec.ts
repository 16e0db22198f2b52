import { pollUntil } from '@deliberate/testing';
import {
  type Delivery,
  json,
  newTask,
  readTopic,
  startWebhooks,
  tenantPrincipal,
  type WebhooksHarness,
} from './webhooks-harness';

const deliveries = async (h: WebhooksHarness, tenantId: string) =>
  (
    await h.http<{ deliveries: Delivery[] }>('GET', '/v1/webhooks/deliveries', {
      principal: tenantPrincipal(tenantId),
    })
  ).body.deliveries;

// A compressed failure window (2 s instead of 5 days) and a long schedule, so an endpoint that only fails is
// disabled before its messages run out of attempts.
describe('endpoint health and Retry-After (real Kafka and Postgres)', () => {
  let h: WebhooksHarness;

  beforeAll(async () => {
    h = await startWebhooks('webhooks-health', {
      env: {
        WEBHOOKS_DISABLE_AFTER_FAILING_MS: '2000',
        WEBHOOKS_RETRY_SCHEDULE: ['0', ...new Array<string>(19).fill('300ms')].join(','),
        WEBHOOKS_RETRY_AFTER_MAX_MS: '1200',
      },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('disables an endpoint that has only failed for longer than the window, and dead-letters its messages', async () => {
    const endpoint = await h.registerEndpoint('sick', `${h.receiver.url}/sick`);
    h.receiver.behave((r) => (r.path === '/sick' ? { status: 500 } : { status: 200 }));
    const task = newTask('sick');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const state = await pollUntil(
      () =>
        h.http<{ status: string; disabledReason: string | null }>(
          'GET',
          `/v1/webhooks/endpoints/${endpoint.id}`,
          { principal: tenantPrincipal('sick') },
        ),
      (r) => r.body.status === 'disabled',
      { what: 'the endpoint disabled for sustained failure' },
    );
    expect(state.body.disabledReason).toBe('sustained_failure');
    const [message] = await deliveries(h, 'sick');
    expect(message!.status).toBe('dead_lettered');
    expect(message!.lastError).toMatch(
      /endpoint disabled \(sustained_failure\): every attempt failed for 2 s/,
    );
    // Disabled before the schedule ran out: fewer than its twenty attempts.
    const detail = await h.http<Delivery>('GET', `/v1/webhooks/deliveries/${message!.id}`, {
      principal: tenantPrincipal('sick'),
    });
    expect(detail.body.attemptLog.length).toBeLessThan(20);
    const events = await pollUntil(
      async () => (await readTopic(h.topic('webhooks.endpoint.disabled.v1'))).map(json),
      (e) => e.some((x) => x['endpointId'] === endpoint.id),
      { what: 'the endpoint.disabled event' },
    );
    expect(events.find((e) => e['endpointId'] === endpoint.id)).toMatchObject({
      reason: 'sustained_failure',
    });
  });

  it('honours Retry-After on 429 within the cap', async () => {
    await h.registerEndpoint('busy', `${h.receiver.url}/busy`);
    let calls = 0;
    h.receiver.behave((r) => {
      if (r.path !== '/busy') return { status: 200 };
      calls += 1;
      if (calls === 1) return { status: 429, headers: { 'retry-after': '1' } };
      if (calls === 2) return { status: 503, headers: { 'retry-after': '3600' } };
      return { status: 200 };
    });
    const task = newTask('busy');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const [listed] = await pollUntil(
      () => deliveries(h, 'busy'),
      (d) => d.length === 1 && d[0]!.status === 'delivered',
      { what: 'delivered after two postponements' },
    );
    const detail = await h.http<Delivery>('GET', `/v1/webhooks/deliveries/${listed!.id}`, {
      principal: tenantPrincipal('busy'),
    });
    const [first, second] = detail.body.attemptLog;
    const delay = (a: Delivery['attemptLog'][number]) =>
      Date.parse(a.nextAttemptAt!) - Date.parse(a.attemptedAt);
    // The schedule says 300 ms; Retry-After: 1 asks for 1 s, and 3600 s is capped at 1.2 s.
    expect(delay(first!)).toBeGreaterThanOrEqual(1_000);
    expect(delay(second!)).toBeGreaterThanOrEqual(1_200);
    expect(delay(second!)).toBeLessThan(1_200 + 1_000);
  });
});
