import { PRINCIPAL_HEADER, type Principal } from '@deliberate/contracts';
import { buildOpenApiDocument } from '@deliberate/gateway/docs/openapi-document';
import { type Receiver, startReceiver } from '@deliberate/testing';
import { type GatewayHarness, startGateway } from './gateway-harness';

// Every route of the OpenAPI document, called about one tenant's resources with another tenant's key of every role
// (and with no key), answers 401, 403 or 404: never a 5xx, and a 2xx only where the route acts on the caller's own
// tenant, with none of the other tenant's data. The ledger, webhooks and audit routes go to a stub service that
// checks the gateway forwarded the caller's own identity, nothing else.

const ADMIN_KEY = 'route-sweep-admin-key-0123456789';
const OWNER = 'sweep-owner';
const FOREIGN = 'sweep-foreign';
const ROLES = ['submitter', 'auditor', 'admin', 'reviewer'] as const;

// Routes that name no tenant and no resource: they act on the caller's own tenant, so a 2xx is right.
// Routes that answer any key of a tenant about that tenant (or the key itself, /v1/me), never about another.
const OWN_TENANT_ROUTES = new Set([
  'POST /v1/tasks',
  'GET /v1/reviews',
  'GET /v1/policy',
  'PUT /v1/policy',
  'GET /v1/me',
]);

// A valid body for each request schema, so a refusal comes from the access check and not from validation.
const EXAMPLE_BODIES: Record<string, unknown> = {
  TaskSubmission: { input: 'sweep', mode: 'fast' },
  CancelTask: { reason: 'sweep' },
  ReviewAnswer: { answer: 'sweep' },
  CreateTenant: { id: 'sweep-new', name: 'sweep' },
  CreateApiKey: { role: 'admin' },
  PatchTenant: { quotas: { maxUnfinishedTasks: 1_000_000 } },
  PutBudget: { dailyLimitUsd: 1 },
  CreateWebhookEndpoint: { url: 'https://example.com/hook' },
  UpdateWebhookEndpoint: { description: 'sweep' },
  RotateWebhookSecret: {},
  ReplayWebhooks: { since: new Date(0).toISOString() },
  IssueIntakeSecret: { overlapSeconds: 60 },
  TenantPolicy: { onBudgetDenied: 'fail' },
};

interface Operation {
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
}

interface Forwarded {
  route: string;
  principal: Principal;
}

describe('route sweep: a foreign tenant reaches nothing', () => {
  let h: GatewayHarness;
  let stub: Receiver;
  const forwarded: Forwarded[] = [];
  let currentRoute = '';

  const ownerIds: string[] = [OWNER];
  let ownerTaskId: string;
  let ownerKeyId: string;
  const foreignKeys = new Map<string, { key: string; id: string }>();

  const call = (method: string, path: string, key?: string, body?: unknown) =>
    h.call(method, path, { ...(key ? { key } : {}), ...(body !== undefined ? { body } : {}) });

  beforeAll(async () => {
    stub = await startReceiver((req) => {
      forwarded.push({
        route: currentRoute,
        principal: JSON.parse(String(req.headers[PRINCIPAL_HEADER])) as Principal,
      });
      return {
        status: 404,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'stub service' }),
      };
    });
    h = await startGateway('route_sweep', {
      adminKey: ADMIN_KEY,
      env: {
        GATEWAY_LEDGER_URL: stub.url,
        LEDGER_INTERNAL_TOKEN: 'route-sweep-ledger-key-0123456789',
        GATEWAY_WEBHOOKS_URL: stub.url,
        WEBHOOKS_INTERNAL_TOKEN: 'route-sweep-webhooks-key-0123456789',
        GATEWAY_AUDIT_URL: stub.url,
        AUDIT_INTERNAL_TOKEN: 'route-sweep-audit-key-0123456789',
      },
    });

    for (const tenant of [OWNER, FOREIGN]) {
      expect((await call('POST', '/v1/admin/tenants', ADMIN_KEY, { id: tenant, name: tenant })).status).toBe(
        201,
      );
    }
    const ownerKey = JSON.parse(
      (await call('POST', `/v1/admin/tenants/${OWNER}/api-keys`, ADMIN_KEY, { role: 'admin' })).text,
    ) as { key: string; id: string };
    ownerKeyId = ownerKey.id;
    const task = await call('POST', '/v1/tasks', ownerKey.key, { input: 'the owner task', mode: 'fast' });
    expect(task.status).toBe(202);
    ownerTaskId = (JSON.parse(task.text) as { id: string }).id;
    ownerIds.push(ownerTaskId, ownerKeyId, ownerKey.key);
    for (const role of ROLES) {
      const created = await call('POST', `/v1/admin/tenants/${FOREIGN}/api-keys`, ADMIN_KEY, { role });
      foreignKeys.set(role, JSON.parse(created.text) as { key: string; id: string });
    }
  });

  afterAll(async () => {
    await h?.close();
    await stub?.close();
  });

  /** Each documented operation with a key, as [route, concrete path, body]. */
  function securedOperations(): { route: string; method: string; path: string; body: unknown }[] {
    const paths = buildOpenApiDocument()['paths'] as Record<string, Record<string, Operation>>;
    const operations = [];
    for (const [template, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (!operation.security?.length) continue; // public: docs, health
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) =>
          name === 'tenantId' ? OWNER : name === 'keyId' ? ownerKeyId : ownerTaskId,
        );
        const namesTenant = operation.parameters?.some((p) => p.in === 'query' && p.name === 'tenantId');
        const ref = operation.requestBody?.content?.['application/json']?.schema?.$ref;
        const schemaName = ref?.split('/').pop();
        if (schemaName !== undefined && !(schemaName in EXAMPLE_BODIES)) {
          throw new Error(`add an example body for ${schemaName} (${method.toUpperCase()} ${template})`);
        }
        operations.push({
          route: `${method.toUpperCase()} ${template}`,
          method: method.toUpperCase(),
          path: namesTenant ? `${path}?tenantId=${OWNER}` : path,
          body: schemaName === undefined ? undefined : EXAMPLE_BODIES[schemaName],
        });
      }
    }
    return operations;
  }

  it('covers every documented route that takes a key', () => {
    const routes = securedOperations().map((o) => o.route);
    expect(routes.length).toBeGreaterThan(30);
    for (const route of [
      'PATCH /v1/admin/tenants/{tenantId}',
      'GET /v1/tasks/{id}',
      'GET /v1/audit/verify',
      'GET /v1/ledger/denials',
    ]) {
      expect(routes).toContain(route);
    }
  });

  it('answers a call without a key with 401 and forwards nothing', async () => {
    forwarded.length = 0;
    const answers = [];
    for (const op of securedOperations()) {
      const { status } = await call(op.method, op.path, undefined, op.body);
      answers.push({ route: op.route, status });
    }
    expect(answers.filter((a) => a.status !== 401)).toEqual([]);
    expect(forwarded).toEqual([]);
  });

  it.each(ROLES)(
    "refuses another tenant's %s key everywhere, or answers with its own tenant only",
    async (role) => {
      const { key, id } = foreignKeys.get(role)!;
      forwarded.length = 0;
      const wrong = [];
      for (const op of securedOperations()) {
        currentRoute = op.route;
        const { status, text } = await call(op.method, op.path, key, op.body);
        const leaked = ownerIds.filter((v) => text.includes(v));
        const ok =
          status >= 200 && status < 300
            ? OWN_TENANT_ROUTES.has(op.route) && leaked.length === 0
            : [401, 403, 404].includes(status);
        if (!ok) wrong.push({ route: op.route, status, leaked, text: text.slice(0, 300) });
      }
      expect(wrong).toEqual([]);
      // What reached a service went with the caller's own identity.
      const expected = { kind: 'tenant', tenantId: FOREIGN, role, keyId: id };
      expect(forwarded.filter((f) => JSON.stringify(f.principal) !== JSON.stringify(expected))).toEqual([]);
      if (role === 'admin' || role === 'auditor') expect(forwarded.length).toBeGreaterThan(0);
    },
  );
});
