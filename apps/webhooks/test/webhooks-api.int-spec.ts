import type { Principal } from '@deliberate/contracts';
import { type InternalRequest, pollUntil, sendForgeries, signedInternalHeaders } from '@deliberate/testing';
import {
  INTERNAL_KEY,
  json,
  newTask,
  PLATFORM_ADMIN,
  readTopic,
  startWebhooks,
  tenantPrincipal,
  type WebhooksHarness,
} from './webhooks-harness';

interface Endpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string;
  eventTypes: string[];
  status: string;
  disabledReason: string | null;
  secret?: string;
}

describe('webhooks HTTP API (real Kafka and Postgres)', () => {
  let h: WebhooksHarness;

  beforeAll(async () => {
    h = await startWebhooks('webhooks-api');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('creates an endpoint with a whsec_ secret shown once, lists, reads and updates it', async () => {
    const created = await h.http<Endpoint>('POST', '/v1/webhooks/endpoints', {
      principal: tenantPrincipal('crud'),
      body: { url: `${h.receiver.url}/a`, description: 'orders', eventTypes: ['task.completed'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      tenantId: 'crud',
      url: `${h.receiver.url}/a`,
      description: 'orders',
      eventTypes: ['task.completed'],
      status: 'enabled',
    });
    expect(created.body.secret).toMatch(/^whsec_/);

    const listed = await h.http<{ endpoints: Endpoint[] }>('GET', '/v1/webhooks/endpoints', {
      principal: tenantPrincipal('crud', 'auditor'),
    });
    expect(listed.body.endpoints).toHaveLength(1);
    expect(listed.body.endpoints[0]).not.toHaveProperty('secret');
    const read = await h.http<Endpoint>('GET', `/v1/webhooks/endpoints/${created.body.id}`, {
      principal: tenantPrincipal('crud'),
    });
    expect(read.body).not.toHaveProperty('secret');

    const updated = await h.http<Endpoint>('PATCH', `/v1/webhooks/endpoints/${created.body.id}`, {
      principal: tenantPrincipal('crud'),
      body: { eventTypes: ['task.failed', 'task.cancelled'] },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      url: `${h.receiver.url}/a`,
      eventTypes: ['task.failed', 'task.cancelled'],
    });
    const all = await h.http<Endpoint>('POST', '/v1/webhooks/endpoints', {
      principal: tenantPrincipal('crud'),
      body: { url: `${h.receiver.url}/b` },
    });
    expect(all.body.eventTypes).toEqual([
      'task.completed',
      'task.failed',
      'task.escalated',
      'task.cancelled',
    ]);
  });

  it('answers bad input with a precise 400', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/v1/webhooks/endpoints', {}, /url/],
      [
        'POST',
        '/v1/webhooks/endpoints',
        { url: 'http://example.com', eventTypes: ['task.started'] },
        /eventTypes/,
      ],
      ['POST', '/v1/webhooks/endpoints', { url: 'http://example.com', eventTypes: [] }, /at least one/],
      ['POST', '/v1/webhooks/endpoints', { url: 'http://example.com', extra: 1 }, /extra/],
      ['POST', '/v1/webhooks/endpoints', { url: 'javascript:alert(1)' }, /http/],
      ['PATCH', '/v1/webhooks/endpoints/not-a-uuid', { description: 'x' }, /UUID/],
      ['GET', '/v1/webhooks/deliveries?status=lost', undefined, /status/],
      ['GET', '/v1/webhooks/deliveries?limit=0', undefined, /limit/],
      ['GET', '/v1/webhooks/deliveries?from=yesterday', undefined, /from/],
      ['GET', '/v1/webhooks/deliveries/123', undefined, /msg_/],
      [
        'POST',
        '/v1/webhooks/replay',
        { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
        /after from/,
      ],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await h.http(method, path, { principal: tenantPrincipal('bad'), body });
      expect([method, path, res.status]).toEqual([method, path, 400]);
      expect(res.text).toMatch(message);
    }
    const empty = await h.http<Endpoint>('POST', '/v1/webhooks/endpoints', {
      principal: tenantPrincipal('bad'),
      body: { url: `${h.receiver.url}/x` },
    });
    const noChange = await h.http('PATCH', `/v1/webhooks/endpoints/${empty.body.id}`, {
      principal: tenantPrincipal('bad'),
      body: {},
    });
    expect(noChange.status).toBe(400);
    const malformed = await h.http('POST', '/v1/webhooks/endpoints', {
      principal: tenantPrincipal('bad'),
      rawBody: '{"url":',
    });
    expect(malformed.status).toBe(400);
  });

  it('scopes every tenant to its own data and refuses roles that may not act', async () => {
    const mine = await h.registerEndpoint('owner', `${h.receiver.url}/owner`);
    const other = await h.http('GET', `/v1/webhooks/endpoints/${mine.id}`, {
      principal: tenantPrincipal('intruder'),
    });
    expect(other.status).toBe(404);
    const cross = await h.http('GET', '/v1/webhooks/endpoints?tenantId=owner', {
      principal: tenantPrincipal('intruder'),
    });
    expect(cross.status).toBe(403);
    const auditorWrites = await h.http('POST', '/v1/webhooks/endpoints', {
      principal: tenantPrincipal('owner', 'auditor'),
      body: { url: `${h.receiver.url}/z` },
    });
    expect(auditorWrites.status).toBe(403);
    const submitter = await h.http('GET', '/v1/webhooks/deliveries', {
      principal: tenantPrincipal('owner', 'submitter'),
    });
    expect(submitter.status).toBe(403);
    const noTenant = await h.http('GET', '/v1/webhooks/endpoints', { principal: PLATFORM_ADMIN });
    expect(noTenant.status).toBe(400);
    const platform = await h.http<{ endpoints: Endpoint[] }>('GET', '/v1/webhooks/endpoints?tenantId=owner', {
      principal: PLATFORM_ADMIN,
    });
    expect(platform.body.endpoints.map((e) => e.id)).toEqual([mine.id]);
    const unsigned = await h.http('GET', '/v1/webhooks/endpoints', {
      identity: { 'x-deliberate-principal': JSON.stringify(tenantPrincipal('owner')) },
    });
    expect(unsigned.status).toBe(401);
    const unknown = await h.http('GET', '/v1/webhooks/endpoints/0190aaaa-0000-7000-8000-000000000000', {
      principal: tenantPrincipal('owner'),
    });
    expect(unknown.status).toBe(404);
  });

  // Each forgery claims a principal the route would accept: were one believed, the request would succeed.
  it.each<[string, () => InternalRequest, Principal]>([
    [
      'a read',
      () => ({
        key: INTERNAL_KEY,
        service: 'webhooks',
        method: 'GET',
        target: '/v1/webhooks/endpoints?tenantId=forged',
        principal: tenantPrincipal('forged', 'submitter'),
      }),
      PLATFORM_ADMIN,
    ],
    [
      'a write',
      () => ({
        key: INTERNAL_KEY,
        service: 'webhooks',
        method: 'POST',
        target: '/v1/webhooks/endpoints',
        body: JSON.stringify({ url: `${h.receiver.url}/forged` }),
        principal: tenantPrincipal('forged', 'auditor'),
      }),
      tenantPrincipal('forged'),
    ],
  ])(
    'refuses %s under any identity the gateway did not sign for that exact request, saying why',
    async (_what, request, claimed) => {
      const outcomes = await sendForgeries(h.url, request(), claimed);
      expect(outcomes).toEqual(
        outcomes.map((o) => ({ forgery: o.forgery, status: 401, message: 'as expected' })),
      );
      const listed = await h.http<{ endpoints: Endpoint[] }>('GET', '/v1/webhooks/endpoints', {
        principal: tenantPrincipal('forged'),
      });
      expect(listed.body.endpoints).toEqual([]);
    },
  );

  it('accepts a signed request once and refuses the same request replayed', async () => {
    const request: InternalRequest = {
      key: INTERNAL_KEY,
      service: 'webhooks',
      method: 'POST',
      target: '/v1/webhooks/endpoints',
      body: JSON.stringify({ url: `${h.receiver.url}/replayed` }),
      principal: tenantPrincipal('replay'),
    };
    const identity = signedInternalHeaders(request);
    const send = () => h.http(request.method, request.target, { identity, rawBody: request.body! });
    expect((await send()).status).toBe(201);
    const replayed = await send();
    expect(replayed.status).toBe(401);
    expect(replayed.body['message']).toMatch(/replayed/);
    const listed = await h.http<{ endpoints: Endpoint[] }>('GET', '/v1/webhooks/endpoints', {
      principal: tenantPrincipal('replay'),
    });
    expect(listed.body.endpoints).toHaveLength(1);
  });

  it('disables and enables an endpoint; a disabled endpoint gets no new messages and its event is published', async () => {
    const endpoint = await h.registerEndpoint('toggle', `${h.receiver.url}/toggle`);
    const disabled = await h.http<Endpoint>('POST', `/v1/webhooks/endpoints/${endpoint.id}/disable`, {
      principal: tenantPrincipal('toggle'),
    });
    expect(disabled.body).toMatchObject({ status: 'disabled', disabledReason: 'manual' });
    const events = await pollUntil(
      async () => (await readTopic(h.topic('webhooks.endpoint.disabled.v1'))).map(json),
      (e) => e.some((x) => x['endpointId'] === endpoint.id),
      { what: 'the endpoint.disabled event' },
    );
    expect(events.find((e) => e['endpointId'] === endpoint.id)).toMatchObject({ reason: 'manual' });

    const task = newTask('toggle');
    await h.publishAccepted(task);
    await h.publishTerminal(task, 'completed');
    await pollUntil(
      () =>
        h.db.query(`SELECT 1 FROM terminal_events WHERE task_id = $1 AND fanned_out_at IS NOT NULL`, [
          task.taskId,
        ]),
      (r) => r.rowCount === 1,
      { what: 'the event handled' },
    );
    const none = await h.http<{ deliveries: unknown[] }>('GET', '/v1/webhooks/deliveries', {
      principal: tenantPrincipal('toggle'),
    });
    expect(none.body.deliveries).toHaveLength(0);

    const enabled = await h.http<Endpoint>('POST', `/v1/webhooks/endpoints/${endpoint.id}/enable`, {
      principal: tenantPrincipal('toggle'),
    });
    expect(enabled.body).toMatchObject({ status: 'enabled', disabledReason: null });
  });

  it('manages the task webhook secret: created once (409 after), read without the secret, rotated', async () => {
    const missing = await h.http('GET', '/v1/webhooks/task-secret', {
      principal: tenantPrincipal('ts'),
    });
    expect(missing.status).toBe(404);
    const created = await h.http<{ secret: string }>('POST', '/v1/webhooks/task-secret', {
      principal: tenantPrincipal('ts'),
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const again = await h.http('POST', '/v1/webhooks/task-secret', {
      principal: tenantPrincipal('ts'),
    });
    expect(again.status).toBe(409);
    const read = await h.http('GET', '/v1/webhooks/task-secret', {
      principal: tenantPrincipal('ts', 'auditor'),
    });
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    const rotated = await h.http<{ secret: string; previousSecretExpiresAt: string | null }>(
      'POST',
      '/v1/webhooks/task-secret/rotate',
      { principal: tenantPrincipal('ts'), body: { overlapSeconds: 0 } },
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(rotated.body.previousSecretExpiresAt).toBeNull();
  });

  it('pages the delivery log with a cursor, newest first, and filters it', async () => {
    const endpoint = await h.registerEndpoint('pages', `${h.receiver.url}/pages`);
    const tasks = Array.from({ length: 5 }, () => newTask('pages'));
    for (const task of tasks) {
      await h.publishAccepted(task);
      await h.publishTerminal(task, 'completed');
    }
    await pollUntil(
      () =>
        h.http<{ deliveries: unknown[] }>('GET', '/v1/webhooks/deliveries?status=delivered', {
          principal: tenantPrincipal('pages'),
        }),
      (r) => r.body.deliveries.length === 5,
      { what: 'five deliveries' },
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { deliveries: { id: string }[]; nextCursor: string | null } } = await h.http(
        'GET',
        `/v1/webhooks/deliveries?limit=2&endpointId=${endpoint.id}${cursor ? `&cursor=${cursor}` : ''}`,
        { principal: tenantPrincipal('pages', 'auditor') },
      );
      expect(page.body.deliveries.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.deliveries.map((d) => d.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect([...seen].sort().reverse()).toEqual(seen);
    const byTask = await h.http<{ deliveries: { taskId: string }[] }>(
      'GET',
      `/v1/webhooks/deliveries?taskId=${tasks[2]!.taskId}`,
      { principal: tenantPrincipal('pages') },
    );
    expect(byTask.body.deliveries.map((d) => d.taskId)).toEqual([tasks[2]!.taskId]);
    const replayPending = await h.http('POST', `/v1/webhooks/deliveries/msg_0000000000000000/replay`, {
      principal: tenantPrincipal('pages'),
    });
    expect(replayPending.status).toBe(404);
  });
});
