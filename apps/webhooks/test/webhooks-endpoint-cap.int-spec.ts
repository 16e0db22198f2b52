import type { Principal } from '@deliberate/contracts';
import { PLATFORM_ADMIN, startWebhooks, tenantPrincipal, type WebhooksHarness } from './webhooks-harness';

// A tenant's key may leave its tenant with at most WEBHOOKS_MAX_ENDPOINTS_PER_TENANT endpoints, or the tenant's own
// cap when the platform admin set one (the gateway carries it in the signed principal). Counted under the tenant's
// lock, so creations racing for the last place do not both win.

const withCap = (tenantId: string, maxWebhookEndpoints: number): Principal => ({
  kind: 'tenant',
  tenantId,
  role: 'admin',
  keyId: `key-${tenantId}-admin`,
  maxWebhookEndpoints,
});

describe('webhook endpoints per tenant (real Postgres)', () => {
  let h: WebhooksHarness;

  beforeAll(async () => {
    h = await startWebhooks('webhooks-endpoint-cap', {
      env: {
        WEBHOOKS_MAX_ENDPOINTS_PER_TENANT: '2',
        WEBHOOKS_SECRET_ENCRYPTION_KEY: '7'.repeat(64),
      },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  const create = (principal: Principal, n: number, query = '') =>
    h.http<{ message?: string }>('POST', `/v1/webhooks/endpoints${query}`, {
      principal,
      body: { url: `https://example.com/hook/${n}` },
    });

  async function endpointsOf(tenantId: string): Promise<number> {
    const { rows } = await h.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM endpoints WHERE tenant_id = $1',
      [tenantId],
    );
    return rows[0]!.n;
  }

  it('refuses a tenant key past the default cap with 409 naming the limit; other tenants are not affected', async () => {
    expect((await create(tenantPrincipal('cap-default'), 1)).status).toBe(201);
    expect((await create(tenantPrincipal('cap-default'), 2)).status).toBe(201);
    const refused = await create(tenantPrincipal('cap-default'), 3);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe(
      "tenant 'cap-default' has 2 webhook endpoints, its limit (quotas.maxWebhookEndpoints); change an existing " +
        "endpoint's url with PATCH, or ask the platform admin for a higher limit",
    );
    expect(await endpointsOf('cap-default')).toBe(2);
    expect((await create(tenantPrincipal('cap-neighbour'), 1)).status).toBe(201);
  });

  it("applies the tenant's own cap when its principal carries one", async () => {
    for (let n = 1; n <= 3; n++) expect((await create(withCap('cap-own', 3), n)).status).toBe(201);
    expect((await create(withCap('cap-own', 3), 4)).status).toBe(409);
    expect((await create(withCap('cap-zero', 0), 1)).status).toBe(409);
    expect(await endpointsOf('cap-zero')).toBe(0);
  });

  it('lets only as many racing creations win as there are places left', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, n) => create(tenantPrincipal('cap-race'), n)),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 409, 409, 409, 409, 409, 409]);
    expect(await endpointsOf('cap-race')).toBe(2);
  });

  it('does not bind the platform admin, who sets the caps', async () => {
    for (let n = 1; n <= 3; n++) {
      expect((await create(PLATFORM_ADMIN, n, '?tenantId=cap-platform')).status).toBe(201);
    }
    expect(await endpointsOf('cap-platform')).toBe(3);
  });
});
