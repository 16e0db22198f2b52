import { taskFailedEvent } from '@deliberate/contracts';
import { pollUntil, type PrometheusScrape, scrapeMetrics } from '@deliberate/testing';
import type { ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import {
  type Delivery,
  header,
  json,
  newTask,
  readTopic,
  startWebhooks,
  tenantPrincipal,
  type WebhooksHarness,
} from './webhooks-harness';

const deliveriesOf = async (h: WebhooksHarness, tenantId: string, query = '') =>
  (
    await h.http<{ deliveries: Delivery[] }>('GET', `/v1/webhooks/deliveries${query}`, {
      principal: tenantPrincipal(tenantId, 'auditor'),
    })
  ).body.deliveries;

const deliveryOf = async (h: WebhooksHarness, tenantId: string, id: string) =>
  (
    await h.http<Delivery>('GET', `/v1/webhooks/deliveries/${id}`, {
      principal: tenantPrincipal(tenantId),
    })
  ).body;

const waitForDelivery = (
  h: WebhooksHarness,
  tenantId: string,
  id: string,
  done: (d: Delivery) => boolean,
  what: string,
) => pollUntil(() => deliveryOf(h, tenantId, id), done, { timeoutMs: 20_000, what });

describe('webhook delivery (real Kafka and Postgres)', () => {
  let h: WebhooksHarness;

  beforeAll(async () => {
    h = await startWebhooks('webhooks-delivery');
  });

  afterAll(async () => {
    await h?.close();
  });

  beforeEach(() => {
    h.receiver.behave(() => ({ status: 200 }));
  });

  it("signs a task's completion for its endpoint and its webhookUrl; the signatures verify with standardwebhooks", async () => {
    const endpoint = await h.registerEndpoint('acme', `${h.receiver.url}/endpoint`);
    const created = await h.http<{ secret: string }>('POST', '/v1/webhooks/task-secret', {
      principal: tenantPrincipal('acme'),
    });
    expect(created.status).toBe(201);
    const task = newTask('acme', `${h.receiver.url}/task?token=abc`, { order: 'A-17' });
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');

    const [toEndpoint, toTask] = await pollUntil(
      () =>
        Promise.resolve([
          h.receiver.requests.find((r) => r.path === '/endpoint' && r.body.includes(task.taskId)),
          h.receiver.requests.find((r) => r.path === '/task?token=abc' && r.body.includes(task.taskId)),
        ]),
      ([a, b]) => a !== undefined && b !== undefined,
      { timeoutMs: 20_000, what: 'both deliveries' },
    );
    const payload = new Webhook(endpoint.secret).verify(toEndpoint!.body, {
      'webhook-id': header(toEndpoint!, 'webhook-id'),
      'webhook-timestamp': header(toEndpoint!, 'webhook-timestamp'),
      'webhook-signature': header(toEndpoint!, 'webhook-signature'),
    });
    expect(payload).toMatchObject({
      type: 'task.completed',
      data: {
        taskId: task.taskId,
        status: 'completed',
        result: { answer: '4' },
        metadata: { order: 'A-17' },
      },
    });
    const taskHeaders = {
      'webhook-id': header(toTask!, 'webhook-id'),
      'webhook-timestamp': header(toTask!, 'webhook-timestamp'),
      'webhook-signature': header(toTask!, 'webhook-signature'),
    };
    expect(new Webhook(created.body.secret).verify(toTask!.body, taskHeaders)).toMatchObject({
      type: 'task.completed',
    });
    expect(header(toTask!, 'webhook-id')).toMatch(/^msg_/);
    expect(header(toTask!, 'webhook-id')).not.toBe(header(toEndpoint!, 'webhook-id'));

    // The receiver's own checks reject a tampered body, a wrong secret and a stale timestamp.
    expect(() =>
      new Webhook(created.body.secret).verify(toTask!.body.replace('"4"', '"5"'), taskHeaders),
    ).toThrow();
    expect(() => new Webhook(endpoint.secret).verify(toTask!.body, taskHeaders)).toThrow();
    expect(() =>
      new Webhook(created.body.secret).verify(toTask!.body, {
        ...taskHeaders,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600),
      }),
    ).toThrow();

    // The receiver has answered; the dispatcher records the batch right after.
    const listed = await pollUntil(
      () => deliveriesOf(h, 'acme', `?taskId=${task.taskId}`),
      (d) => d.length === 2 && d.every((x) => x.status === 'delivered'),
      { what: 'both deliveries recorded' },
    );
    const mine = await pollUntil(
      async () =>
        (await readTopic(h.topic('webhooks.delivery.attempted.v1')))
          .map(json)
          .filter((e) => listed.some((d) => d.id === e['messageId'])),
      (events) => events.length >= 2,
      { what: 'the delivery-attempted events' },
    );
    expect(mine).toHaveLength(2);
    expect(mine.every((e) => e['outcome'] === 'delivered' && e['httpStatus'] === 200)).toBe(true);
    // A query string may carry credentials: the event and the log show scheme, host and path only.
    expect(mine.map((e) => e['url'])).toContain(`${h.receiver.url}/task`);
  });

  it('creates no second message when the same Kafka event arrives again', async () => {
    const task = newTask('dedup', `${h.receiver.url}/dedup`);
    await h.http('POST', '/v1/webhooks/task-secret', { principal: tenantPrincipal('dedup') });
    await h.publishAccepted(task);
    const eventId = await h.publishTerminal(task, 'failed');
    await h.publishTerminal(task, 'failed', eventId);
    // A distinct event after the duplicate, on the same partition: once it is handled, so was the duplicate.
    const marker = await h.publishTerminal(task, 'failed');
    const deliveries = await pollUntil(
      () => deliveriesOf(h, 'dedup'),
      (d) => d.length >= 2 && d.every((x) => x.status === 'delivered'),
      { what: 'the original and the marker delivered' },
    );
    expect(deliveries).toHaveLength(2);
    const sources = await h.db.query<{ source_event_id: string }>(
      `SELECT source_event_id FROM messages WHERE task_id = $1 ORDER BY id`,
      [task.taskId],
    );
    expect(sources.rows.map((r) => r.source_event_id)).toEqual([eventId, marker]);
    expect(h.receiver.requests.filter((r) => r.path === '/dedup')).toHaveLength(2);
  });

  it('keeps a terminal event that arrives before the accepted event, and delivers it once the task is known', async () => {
    const task = newTask('early', `${h.receiver.url}/early`, { source: 'late-accepted' });
    await h.http('POST', '/v1/webhooks/task-secret', { principal: tenantPrincipal('early') });
    await h.publishTerminal(task, 'cancelled');
    await pollUntil(
      () =>
        h.db.query(`SELECT 1 FROM terminal_events WHERE task_id = $1 AND fanned_out_at IS NULL`, [
          task.taskId,
        ]),
      (r) => r.rowCount === 1,
      { what: 'the waiting terminal event' },
    );
    await h.publishAccepted(task);
    const request = await pollUntil(
      () => Promise.resolve(h.receiver.requests.find((r) => r.path === '/early')),
      (r) => r !== undefined,
      { what: 'the delivery to the late task' },
    );
    expect(JSON.parse(request!.body)).toMatchObject({
      type: 'task.cancelled',
      data: { status: 'cancelled', reason: 'client cancelled', metadata: { source: 'late-accepted' } },
    });
  });

  it('retries a receiver that is down on the schedule, with the same webhook-id, and delivers when it is back', async () => {
    await h.registerEndpoint('flaky', `${h.receiver.url}/flaky`);
    let calls = 0;
    h.receiver.behave((r) => {
      if (r.path !== '/flaky') return { status: 200 };
      calls += 1;
      return calls <= 3 ? { status: 503, body: 'down for maintenance' } : { status: 204 };
    });
    const task = newTask('flaky');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'escalated');
    const [listed] = await pollUntil(
      () => deliveriesOf(h, 'flaky'),
      (d) => d.length === 1,
      { what: 'the message' },
    );
    const delivery = await waitForDelivery(
      h,
      'flaky',
      listed!.id,
      (d) => d.status === 'delivered',
      'delivered',
    );
    const attempts = h.receiver.requests.filter((r) => r.path === '/flaky');
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((a) => header(a, 'webhook-id')))).toEqual(new Set([listed!.id]));
    expect(delivery.attemptLog.map((a) => [a.attempt, a.outcome, a.httpStatus])).toEqual([
      [1, 'failed', 503],
      [2, 'failed', 503],
      [3, 'failed', 503],
      [4, 'delivered', 204],
    ]);
    // Each retry waited at least its scheduled delay (150 ms, 300 ms, 300 ms).
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    expect(gaps.every((g, i) => g >= [150, 300, 300][i]! - 20)).toBe(true);
  });

  it('disables an endpoint that answers 410 Gone, and announces it', async () => {
    const endpoint = await h.registerEndpoint('gone', `${h.receiver.url}/gone`);
    h.receiver.behave((r) => (r.path === '/gone' ? { status: 410 } : { status: 200 }));
    const task = newTask('gone');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const state = await pollUntil(
      () =>
        h.http<{ status: string; disabledReason: string | null }>(
          'GET',
          `/v1/webhooks/endpoints/${endpoint.id}`,
          {
            principal: tenantPrincipal('gone'),
          },
        ),
      (r) => r.body.status === 'disabled',
      { what: 'the endpoint disabled' },
    );
    expect(state.body.disabledReason).toBe('gone');
    const [message] = await deliveriesOf(h, 'gone');
    expect(message).toMatchObject({ status: 'dead_lettered', attempts: 1 });
    expect(h.receiver.requests.filter((r) => r.path === '/gone')).toHaveLength(1);
    const disabled = await pollUntil(
      async () => (await readTopic(h.topic('webhooks.endpoint.disabled.v1'))).map(json),
      (events) => events.some((e) => e['endpointId'] === endpoint.id),
      { what: 'the endpoint.disabled event' },
    );
    expect(disabled.find((e) => e['endpointId'] === endpoint.id)).toMatchObject({ reason: 'gone' });
  });

  it('dead-letters a message whose attempts are exhausted, with its last error; replay delivers it with the same id', async () => {
    await h.registerEndpoint('dead', `${h.receiver.url}/dead`);
    h.receiver.behave((r) => (r.path === '/dead' ? { status: 500, body: 'boom' } : { status: 200 }));
    const task = newTask('dead');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'failed');
    const [listed] = await pollUntil(
      () => deliveriesOf(h, 'dead'),
      (d) => d.length === 1,
      { what: 'the message' },
    );
    const dead = await waitForDelivery(
      h,
      'dead',
      listed!.id,
      (d) => d.status === 'dead_lettered',
      'dead letter',
    );
    expect(dead).toMatchObject({ attempts: 5, lastError: 'HTTP 500' });
    expect(dead.attemptLog.at(-1)).toMatchObject({ outcome: 'failed', httpStatus: 500 });
    const deadLetters = await pollUntil(
      async () => (await readTopic(h.topic('webhooks.message.dead-lettered.v1'))).map(json),
      (events) => events.some((e) => e['messageId'] === listed!.id),
      { what: 'the dead-letter event' },
    );
    expect(deadLetters.find((e) => e['messageId'] === listed!.id)).toMatchObject({
      attempts: 5,
      lastError: 'HTTP 500',
    });

    h.receiver.behave(() => ({ status: 200 }));
    const replay = await h.http('POST', `/v1/webhooks/deliveries/${listed!.id}/replay`, {
      principal: tenantPrincipal('dead'),
    });
    expect(replay.status).toBe(202);
    const delivered = await waitForDelivery(
      h,
      'dead',
      listed!.id,
      (d) => d.status === 'delivered',
      'replayed',
    );
    expect(delivered.attempts).toBe(6);
    expect(header(h.receiver.requests.filter((r) => r.path === '/dead').at(-1)!, 'webhook-id')).toBe(
      listed!.id,
    );
    const again = await h.http('POST', `/v1/webhooks/deliveries/${listed!.id}/replay`, {
      principal: tenantPrincipal('dead', 'auditor'),
    });
    expect(again.status).toBe(403);
  });

  it('replays every dead letter of a time range', async () => {
    await h.registerEndpoint('bulk', `${h.receiver.url}/bulk`);
    h.receiver.behave((r) => (r.path === '/bulk' ? { status: 502 } : { status: 200 }));
    const from = new Date(Date.now() - 1_000).toISOString();
    const tasks = [newTask('bulk'), newTask('bulk'), newTask('bulk')];
    for (const task of tasks) {
      await h.publishAccepted(task);
      await h.publishTerminal(task, 'completed');
    }
    await pollUntil(
      () => deliveriesOf(h, 'bulk', '?status=dead_lettered'),
      (d) => d.length === 3,
      { what: 'three dead letters' },
    );
    h.receiver.behave(() => ({ status: 200 }));
    const replayed = await h.http<{ replayed: number }>('POST', '/v1/webhooks/replay', {
      principal: tenantPrincipal('bulk'),
      body: { from, to: new Date(Date.now() + 1_000).toISOString() },
    });
    expect(replayed.body).toEqual({ replayed: 3 });
    await pollUntil(
      () => deliveriesOf(h, 'bulk', '?status=delivered'),
      (d) => d.length === 3,
      { what: 'replayed' },
    );
  });

  it("refuses a task's delivery while the tenant has no task secret, names the call that creates one, and delivers once it exists", async () => {
    const task = newTask('nosecret', `${h.receiver.url}/nosecret`);
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const [listed] = await pollUntil(
      () => deliveriesOf(h, 'nosecret'),
      (d) => d.length === 1,
      {
        what: 'the message',
      },
    );
    const refused = await waitForDelivery(
      h,
      'nosecret',
      listed!.id,
      (d) => d.attemptLog.length >= 1,
      'a refused attempt recorded',
    );
    expect(refused.attemptLog[0]).toMatchObject({ outcome: 'refused', httpStatus: null });
    expect(refused.attemptLog[0]!.error).toContain('POST /v1/webhooks/task-secret');
    await h.http('POST', '/v1/webhooks/task-secret', { principal: tenantPrincipal('nosecret') });
    const delivery = await waitForDelivery(
      h,
      'nosecret',
      listed!.id,
      (d) => d.status !== 'pending',
      'an outcome',
    );
    expect(delivery.status).toBe('delivered');
    expect(h.receiver.requests.filter((r) => r.path === '/nosecret')).toHaveLength(1);
  });

  it('signs with the old and the new secret during a rotation overlap', async () => {
    const endpoint = await h.registerEndpoint('rotate', `${h.receiver.url}/rotate`);
    const rotated = await h.http<{ secret: string; previousSecretExpiresAt: string }>(
      'POST',
      `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`,
      { principal: tenantPrincipal('rotate'), body: { overlapSeconds: 3600 } },
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    const task = newTask('rotate');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const request = await pollUntil(
      () => Promise.resolve(h.receiver.requests.find((r) => r.path === '/rotate')),
      (r) => r !== undefined,
      { what: 'the delivery' },
    );
    const headers = {
      'webhook-id': header(request!, 'webhook-id'),
      'webhook-timestamp': header(request!, 'webhook-timestamp'),
      'webhook-signature': header(request!, 'webhook-signature'),
    };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(rotated.body.secret).verify(request!.body, headers)).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(request!.body, headers)).not.toThrow();
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    await h.registerEndpoint('redirect', `${h.receiver.url}/redirect`);
    h.receiver.behave((r) =>
      r.path === '/redirect'
        ? { status: 302, headers: { location: `${h.receiver.url}/elsewhere` } }
        : { status: 200 },
    );
    const task = newTask('redirect');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    const [listed] = await pollUntil(
      () => deliveriesOf(h, 'redirect'),
      (d) => d.length === 1,
      {
        what: 'the message',
      },
    );
    const delivery = await waitForDelivery(
      h,
      'redirect',
      listed!.id,
      (d) => d.attemptLog.length >= 1,
      'an attempt recorded',
    );
    expect(delivery.attemptLog[0]).toMatchObject({ outcome: 'failed', httpStatus: 302 });
    expect(delivery.attemptLog[0]!.error).toMatch(/redirects are not followed/);
    expect(h.receiver.requests.some((r) => r.path === '/elsewhere')).toBe(false);
  });

  it('counts attempts by outcome and a dead letter once, and shows the backlog while a delivery waits', async () => {
    // From an idle dispatcher (earlier cases' retries over), so every movement below is this case's.
    const before = await pollUntil(
      () => scrapeMetrics(h.url),
      (m) => m.value('deliberate_webhooks_backlog') === 0,
      { timeoutMs: 20_000, what: 'an empty backlog' },
    );
    expect(before.value('deliberate_webhooks_backlog_age')).toBe(0);
    const moved = (after: PrometheusScrape, name: string, labels: Record<string, string> = {}) =>
      after.value(name, labels) - before.value(name, labels);

    const failing = await h.registerEndpoint('metrics', `${h.receiver.url}/metrics-failing`);
    await h.registerEndpoint('metrics', `${h.receiver.url}/metrics-ok`);
    // The failing endpoint's first attempt is held past the timeout (2 s); every later one answers 500.
    let held: ServerResponse | undefined;
    h.receiver.behave((r, response) => {
      if (r.path !== '/metrics-failing') return { status: 200 };
      if (held) return { status: 500, body: 'boom' };
      held = response;
      return 'handled';
    });
    const task = newTask('metrics');
    await h.publishAccepted(task);
    const eventId = await h.publishTerminal(task, 'failed');
    // The same event again: no second message, so no attempt of its own.
    await h.publishTerminal(task, 'failed', eventId);

    const waiting = await pollUntil(
      () => scrapeMetrics(h.url),
      (m) => held !== undefined && m.value('deliberate_webhooks_backlog') >= 1,
      { timeoutMs: 20_000, what: 'the held delivery in the backlog' },
    );
    expect(waiting.value('deliberate_webhooks_backlog_age')).toBeGreaterThan(0);

    const deliveries = await pollUntil(
      () => deliveriesOf(h, 'metrics'),
      (d) =>
        d.length === 2 &&
        d.some((m) => m.status === 'dead_lettered') &&
        d.some((m) => m.status === 'delivered'),
      { timeoutMs: 20_000, what: 'one delivery delivered and one dead-lettered' },
    );
    expect(deliveries.find((m) => m.status === 'dead_lettered')).toMatchObject({ attempts: 5 });
    const after = await pollUntil(
      () => scrapeMetrics(h.url),
      (m) =>
        m.value('deliberate_webhooks_backlog') === 0 &&
        moved(m, 'messaging_client_consumed_messages_total', {
          messaging_destination_name: taskFailedEvent.topic,
        }) === 2,
      { timeoutMs: 20_000, what: 'both copies of the event consumed and the backlog empty' },
    );
    expect(after.value('deliberate_webhooks_backlog_age')).toBe(0);
    expect(moved(after, 'deliberate_webhooks_attempts_total', { outcome: 'delivered' })).toBe(1);
    expect(
      moved(after, 'deliberate_webhooks_attempts_total', { outcome: 'failed', error_type: 'timeout' }),
    ).toBe(1);
    expect(moved(after, 'deliberate_webhooks_attempts_total', { outcome: 'failed', error_type: '5xx' })).toBe(
      4,
    );
    expect(moved(after, 'deliberate_webhooks_attempts_total')).toBe(6);
    expect(moved(after, 'deliberate_webhooks_dead_letters_total')).toBe(1);
    // Labels are outcomes and error types only: no URL, endpoint, tenant or message id.
    for (const sample of after.find('deliberate_webhooks_attempts_total'))
      expect(Object.keys(sample.labels).every((k) => k === 'outcome' || k === 'error_type')).toBe(true);

    // Disabling the dead endpoint by hand: one more disabled endpoint, and nothing pending to give up.
    const disabled = await h.http('POST', `/v1/webhooks/endpoints/${failing.id}/disable`, {
      principal: tenantPrincipal('metrics'),
    });
    expect(disabled.status).toBe(200);
    const last = await scrapeMetrics(h.url);
    expect(moved(last, 'deliberate_webhooks_endpoints_disabled')).toBe(1);
    expect(moved(last, 'deliberate_webhooks_dead_letters_total')).toBe(1);
  });
});
