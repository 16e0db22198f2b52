import { CE_HEADERS, tenantPolicyUpdatedEvent } from '@deliberate/contracts';
import { type GatewayConfig, loadGatewayConfig } from '@deliberate/gateway/config';
import { createGatewayApp } from '@deliberate/gateway/create-gateway-app';
import {
  createGatewayApiKey,
  createGatewayTenant,
  gatewayHttp,
  header,
  type HttpResult,
  json,
  pollUntil,
  readTopic,
  type ServiceUnderTest,
  startServiceUnderTest,
  proxyTestBroker,
  proxyTestDatabase,
  type TcpProxy,
  throughProxy,
} from '@deliberate/testing';

// The policy API while the gateway's Postgres or broker is cut: reads and writes answer 503 with Retry-After naming
// the database (never 500, never a half-written version), a client that retries its PUT with If-Match after the
// restore writes exactly the next version, and a version stored while the broker is away has its event published
// once when it is back. No version is lost or repeated, in the table, its history or the topic.

const ADMIN_KEY = 'policy-outage-admin-0123456789abcdef';

type Answer = HttpResult<{ version?: number; message?: string; dependency?: string }>;

describe('the policy API while its database or broker is unreachable', () => {
  let postgres: TcpProxy;
  let kafka: TcpProxy;
  let gateway: ServiceUnderTest<GatewayConfig>;
  let admin: string;

  beforeAll(async () => {
    postgres = await proxyTestDatabase();
    kafka = await proxyTestBroker();
    gateway = await startServiceUnderTest('policy_outage', {
      schema: 'gateway',
      config: (env) => {
        return loadGatewayConfig({
          ...env,
          DATABASE_URL: throughProxy(env.DATABASE_URL, postgres),
          KAFKA_BROKERS: kafka.address,
          LOG_LEVEL: 'error',
          GATEWAY_ADMIN_API_KEY: ADMIN_KEY,
          GATEWAY_OUTBOX_INTERVAL_MS: '300',
        });
      },
      create: createGatewayApp,
    });
    await createGatewayTenant(gateway.url, ADMIN_KEY, 'acme');
    admin = await createGatewayApiKey(gateway.url, ADMIN_KEY, 'acme', 'admin');
  });

  afterAll(async () => {
    postgres?.restore();
    kafka?.restore();
    await gateway?.close();
    await postgres?.close();
    await kafka?.close();
  });

  const call = (
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; key?: string } = {},
  ) => gatewayHttp(gateway.url, method, path, { key: admin, ...options }) as Promise<Answer>;
  const put = (body: unknown, headers: Record<string, string> = {}) =>
    call('PUT', '/v1/policy', { body, headers });

  function expectDatabaseUnavailable(answer: Answer): void {
    expect({ status: answer.status, dependency: answer.body.dependency }).toEqual({
      status: 503,
      dependency: 'postgres',
    });
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }

  const history = async () =>
    (
      await gateway.db.query<{ version: number }>(
        `SELECT version FROM tenant_policy_versions WHERE tenant_id = 'acme' ORDER BY version`,
      )
    ).rows.map((r) => r.version);

  const publishedVersions = async () =>
    (await readTopic(`${gateway.prefix}${tenantPolicyUpdatedEvent.topic}`))
      .filter((m) => header(m, CE_HEADERS.tenantId) === 'acme')
      .map((m) => json(m)['version'] as number);

  async function waitForPublished(versions: number[]) {
    await pollUntil(
      async () =>
        (
          await gateway.db.query<{ pending: number }>(
            `SELECT count(*)::int AS pending FROM outbox WHERE published_at IS NULL AND dead_at IS NULL`,
          )
        ).rows[0]!.pending,
      (pending) => pending === 0,
      { what: 'every outbox row published', timeoutMs: 60_000 },
    );
    // In the order of the topic: the topic is compacted, so its last record per tenant is all a cache started later
    // reads; an older version put out again after a newer one would set the tenant's policy back.
    return pollUntil(publishedVersions, (v) => v.length >= versions.length, {
      what: `policy events of versions ${versions.join(', ')}`,
    });
  }

  it('answers 503 naming Postgres to reads and writes while it is cut, and the retried PUT writes the next version once', async () => {
    const first = await put({ onBudgetDenied: 'route_cheap' });
    expect({ status: first.status, version: first.body.version }).toEqual({ status: 200, version: 1 });

    postgres.cut();
    expectDatabaseUnavailable(await put({ onBudgetDenied: 'human' }, { 'if-match': '"1"' }));
    expectDatabaseUnavailable(await call('GET', '/v1/policy'));
    expectDatabaseUnavailable(
      await call('PUT', '/v1/admin/tenants/acme/policy', {
        key: ADMIN_KEY,
        body: { onBudgetDenied: 'human' },
      }),
    );
    expectDatabaseUnavailable(await call('GET', '/v1/admin/tenants/acme/policy', { key: ADMIN_KEY }));
    postgres.restore();

    // The client retries its conditional PUT until the database answers: it lands once, as version 2.
    const retried = await pollUntil(
      () => put({ onBudgetDenied: 'human' }, { 'if-match': '"1"' }),
      (a) => a.status !== 503,
      { what: 'the PUT answered after the restore', timeoutMs: 60_000 },
    );
    expect({ status: retried.status, version: retried.body.version }).toEqual({ status: 200, version: 2 });
    // Its retry once more is stale: the version it was based on is gone, nothing is written twice.
    expect((await put({ onBudgetDenied: 'human' }, { 'if-match': '"1"' })).status).toBe(412);

    const current = await call('GET', '/v1/policy');
    expect(current.body).toMatchObject({ version: 2, policy: { onBudgetDenied: 'human' } });
    expect(await history()).toEqual([1, 2]);
    expect(await waitForPublished([1, 2])).toEqual([1, 2]);
  });

  it('stores a PUT while the broker is cut and publishes its version once the broker is back', async () => {
    kafka.cut();
    const stored = await put({ context: { topK: 3 } }, { 'if-match': '"2"' });
    expect({ status: stored.status, version: stored.body.version }).toEqual({ status: 200, version: 3 });
    kafka.restore();

    expect(await history()).toEqual([1, 2, 3]);
    expect(await waitForPublished([1, 2, 3])).toEqual([1, 2, 3]);
  });
});
