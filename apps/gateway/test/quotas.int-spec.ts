import { request } from 'node:http';
import { type GatewayHarness, startGateway } from './gateway-harness';

// Quotas hold across gateway replicas: two apps on one database share each key's rate and each tenant's count of
// unfinished tasks. A body is read only from a caller with a valid key within its rate.

const ADMIN_KEY = 'quotas-admin-key-0123456789abcdef';
const NO_SUCH_TASK = '/v1/tasks/0190a0b0-0000-7000-8000-00000000dead';

interface Answer {
  status: number;
  headers: Headers;
  body: { message?: string; quotas?: Record<string, unknown> } & Record<string, unknown>;
}

describe('gateway quotas', () => {
  let h: GatewayHarness;
  let urls: string[] = [];

  const call = (
    url: string,
    method: string,
    path: string,
    options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> => h.call<Answer['body']>(method, path, { ...options, url });

  async function createTenant(id: string): Promise<void> {
    const res = await call(urls[0]!, 'POST', '/v1/admin/tenants', { key: ADMIN_KEY, body: { id, name: id } });
    expect(res.status).toBe(201);
  }

  async function createKey(tenantId: string, role: string): Promise<string> {
    const res = await call(urls[0]!, 'POST', `/v1/admin/tenants/${tenantId}/api-keys`, {
      key: ADMIN_KEY,
      body: { role },
    });
    expect(res.status).toBe(201);
    return res.body['key'] as string;
  }

  async function setQuotas(tenantId: string, quotas: Record<string, unknown>): Promise<Answer> {
    return call(urls[0]!, 'PATCH', `/v1/admin/tenants/${tenantId}`, { key: ADMIN_KEY, body: { quotas } });
  }

  beforeAll(async () => {
    h = await startGateway('quotas', {
      adminKey: ADMIN_KEY,
      instances: 2,
      env: { GATEWAY_MAX_BODY_BYTES: '65536' },
    });
    urls = h.urls;
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('admin API', () => {
    it('lets the platform admin set and reset a tenant quota, and nobody else', async () => {
      await createTenant('quota-admin');
      const tenantAdmin = await createKey('quota-admin', 'admin');
      const set = await setQuotas('quota-admin', { requestsPerSecond: 2.5, maxWebhookEndpoints: 3 });
      expect(set.status).toBe(200);
      expect(set.body.quotas).toEqual({
        requestsPerSecond: 2.5,
        burst: null,
        maxUnfinishedTasks: null,
        maxWebhookEndpoints: 3,
      });
      const reset = await setQuotas('quota-admin', { requestsPerSecond: null, burst: 10 });
      expect(reset.body.quotas).toEqual({
        requestsPerSecond: null,
        burst: 10,
        maxUnfinishedTasks: null,
        maxWebhookEndpoints: 3,
      });
      const listed = await call(urls[1]!, 'GET', '/v1/admin/tenants', { key: ADMIN_KEY });
      expect(
        (listed.body as unknown as { id: string; quotas: unknown }[]).find((t) => t.id === 'quota-admin'),
      ).toMatchObject({ quotas: { burst: 10, maxWebhookEndpoints: 3 } });

      const byTenantAdmin = await call(urls[0]!, 'PATCH', '/v1/admin/tenants/quota-admin', {
        key: tenantAdmin,
        body: { quotas: { maxUnfinishedTasks: 1_000_000 } },
      });
      expect(byTenantAdmin.status).toBe(403);
      expect((await setQuotas('no-such-tenant', { burst: 5 })).status).toBe(404);
      const invalid = await setQuotas('quota-admin', { burst: 0, somethingElse: 1 });
      expect(invalid.status).toBe(400);
    });
  });

  describe('request rate per API key', () => {
    it('answers 429 with Retry-After once a key spent its burst, counted across both replicas', async () => {
      await createTenant('quota-rate');
      // One request per 100 s after the burst: the test never waits long enough for a refill.
      expect((await setQuotas('quota-rate', { requestsPerSecond: 0.01, burst: 3 })).status).toBe(200);
      const key = await createKey('quota-rate', 'submitter');
      const other = await createKey('quota-rate', 'submitter');

      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await call(urls[i % 2]!, 'GET', NO_SUCH_TASK, { key }));
      expect(answers.map((a) => a.status)).toEqual([404, 404, 404]);

      for (const url of urls) {
        const limited = await call(url, 'GET', NO_SUCH_TASK, { key });
        expect(limited.status).toBe(429);
        const retryAfter = Number(limited.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(100);
        expect(limited.body.message).toMatch(
          /over its rate limit of 0\.01 requests per second \(burst 3\); retry in \d+ s/,
        );
      }
      // The bucket is the key's, not the tenant's.
      expect((await call(urls[1]!, 'GET', NO_SUCH_TASK, { key: other })).status).toBe(404);
    });

    it('refuses a limited key before reading its body', async () => {
      await createTenant('quota-rate-body');
      await setQuotas('quota-rate-body', { requestsPerSecond: 0.01, burst: 1 });
      const key = await createKey('quota-rate-body', 'submitter');
      expect((await call(urls[0]!, 'GET', NO_SUCH_TASK, { key })).status).toBe(404);
      const res = await rawPost(urls[1]!, '/v1/tasks', { authorization: `Bearer ${key}` }, 'not json at all');
      expect(res.status).toBe(429);
    });
  });

  describe('unfinished tasks per tenant', () => {
    it('admits exactly the free slots when submissions race on both replicas', async () => {
      await createTenant('quota-unfinished');
      await setQuotas('quota-unfinished', { maxUnfinishedTasks: 3 });
      const key = await createKey('quota-unfinished', 'submitter');
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          call(urls[i % 2]!, 'POST', '/v1/tasks', { key, body: { input: `task ${i}`, mode: 'fast' } }),
        ),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([202, 202, 202, 429, 429, 429, 429, 429, 429, 429]);
      const refused = answers.find((a) => a.status === 429)!;
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.body.message).toBe(
        "tenant 'quota-unfinished' already has 3 unfinished tasks, its limit (quotas.maxUnfinishedTasks); " +
          'submit again when one completes, fails or is cancelled',
      );
      expect(await storedTasks('quota-unfinished')).toBe(3);
    });

    it('still answers an idempotent retry at the limit, and admits again once a task ended', async () => {
      await createTenant('quota-slots');
      await setQuotas('quota-slots', { maxUnfinishedTasks: 1 });
      const key = await createKey('quota-slots', 'submitter');
      const body = { input: 'the only slot', mode: 'fast' };
      const headers = { 'idempotency-key': 'only-slot' };
      const first = await call(urls[0]!, 'POST', '/v1/tasks', { key, body, headers });
      expect(first.status).toBe(202);
      const retried = await call(urls[1]!, 'POST', '/v1/tasks', { key, body, headers });
      expect(retried.status).toBe(202);
      expect(retried.headers.get('idempotent-replayed')).toBe('true');
      const next = { input: 'the next one', mode: 'fast' };
      expect((await call(urls[1]!, 'POST', '/v1/tasks', { key, body: next })).status).toBe(429);

      await h.db.query(`UPDATE gateway.tasks SET status = 'completed', status_rank = 10 WHERE id = $1`, [
        first.body['id'],
      ]);
      expect((await call(urls[0]!, 'POST', '/v1/tasks', { key, body: next })).status).toBe(202);
      expect(await storedTasks('quota-slots')).toBe(2);
    });
  });

  describe('authentication before the body', () => {
    it('answers 401 to a request without a valid key before its body arrives', async () => {
      const withoutValidKey: Record<string, string>[] = [
        {},
        { authorization: 'Bearer dlb_not-a-key-of-anyone' },
      ];
      for (const headers of withoutValidKey) {
        // 50 MB announced, 1 KB sent: an answer that waited for (or parsed) the body would never come.
        const res = await postWithoutFinishing(urls[0]!, '/v1/tasks', headers, 50 * 1024 * 1024);
        expect(res.status).toBe(401);
      }
    });

    it('answers 401, not a parse error or 413, to a body without a valid key', async () => {
      expect((await rawPost(urls[0]!, '/v1/tasks', {}, '{"input": ')).status).toBe(401);
      expect((await rawPost(urls[0]!, '/v1/tasks', {}, 'x'.repeat(70_000))).status).toBe(401);
      const unknown = await rawPost(urls[1]!, '/v1/admin/tenants', { authorization: 'Bearer nope' }, '{');
      expect(unknown.status).toBe(401);
      expect(unknown.body).toMatch(/unknown or revoked API key/);
    });

    it('still parses and checks the body of an authenticated caller', async () => {
      await createTenant('quota-body');
      const key = await createKey('quota-body', 'submitter');
      const auth = { authorization: `Bearer ${key}` };
      expect((await rawPost(urls[0]!, '/v1/tasks', auth, '{"input": ')).status).toBe(400);
      expect((await rawPost(urls[0]!, '/v1/tasks', auth, 'x'.repeat(70_000))).status).toBe(413);
    });
  });

  async function storedTasks(tenantId: string): Promise<number> {
    const { rows } = await h.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM gateway.tasks WHERE tenant_id = $1',
      [tenantId],
    );
    return rows[0]!.n;
  }
});

function rawPost(
  base: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Announces `announcedBytes` of body, sends 1 KB of it, and resolves with the answer that comes before the rest. */
function postWithoutFinishing(
  base: string,
  path: string,
  headers: Record<string, string>,
  announcedBytes: number,
): Promise<{ status: number }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': announcedBytes, ...headers },
      },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
        req.destroy();
      },
    );
    req.on('error', (e) => {
      if (!req.destroyed) reject(e);
    });
    // A gateway that waits for the rest of the body never answers; say so instead of hanging the suite.
    req.setTimeout(10_000, () => {
      reject(new Error('no answer while the body was unfinished: the gateway waited for the body'));
      req.destroy();
    });
    req.write(`{"input": "${'a'.repeat(1000)}`);
  });
}
