import { DEFAULT_TENANT_POLICY, tenantPolicySchema, tenantPolicyUpdatedEvent } from '@deliberate/contracts';
import { CE_HEADERS } from '@deliberate/contracts';
import { header, json, pollUntil, readTopic } from '@deliberate/testing';
import { type GatewayHarness, startGateway } from './gateway-harness';

// One policy per tenant through the API: versions, history, the event, who may read and set it, precise 400s,
// conditional PUTs, and concurrent PUTs that each get their own consecutive version (two replicas, one database).

const ADMIN_KEY = 'policy-admin-key-0123456789abcdef';

interface PolicyAnswer {
  tenantId: string;
  version: number;
  policy: Record<string, unknown>;
  updatedBy: string | null;
  updatedAt: string | null;
  message?: string;
  issues?: { path: string; message: string }[];
}

let h: GatewayHarness;
let acme: Record<string, string>;
let globex: Record<string, string>;

beforeAll(async () => {
  h = await startGateway('policy', { adminKey: ADMIN_KEY, instances: 2 });
  acme = await h.createTenant('acme', ['admin', 'submitter', 'auditor']);
  globex = await h.createTenant('globex', ['admin']);
});

afterAll(async () => {
  await h?.close();
});

const getPolicy = (key: string, url?: string) =>
  h.call<PolicyAnswer>('GET', '/v1/policy', { key, ...(url ? { url } : {}) });
const putPolicy = (key: string, body: unknown, headers: Record<string, string> = {}, url?: string) =>
  h.call<PolicyAnswer>('PUT', '/v1/policy', { key, body, headers, ...(url ? { url } : {}) });

const policyEvents = async (tenantId: string) =>
  (await readTopic(h.topic(tenantPolicyUpdatedEvent.topic)))
    .filter((m) => header(m, CE_HEADERS.tenantId) === tenantId)
    .map((m) => ({ key: m.key?.toString(), data: json(m) }));

it('answers the default policy at version 0 for a tenant that never set one', async () => {
  const res = await getPolicy(globex['admin']!);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    tenantId: 'globex',
    version: 0,
    policy: DEFAULT_TENANT_POLICY,
    updatedBy: null,
    updatedAt: null,
  });
  expect(res.headers.get('etag')).toBe('"0"');
});

it('stores a PUT as a new version with its history row, and publishes it on tenants.policy.updated.v1', async () => {
  const body = {
    onBudgetDenied: 'route_cheap',
    context: { topK: 4, minRelevance: 0.2 },
    shadow: { model: 'o4-mini', sampleRate: 0.1, dailyBudgetUsd: 5 },
  };
  const put = await putPolicy(acme['admin']!, body);
  expect(put.status).toBe(200);
  const expected = tenantPolicySchema.parse(body);
  // The shadow route's service tier defaults to the default one, and it has no judge model.
  expect(expected.shadow).toEqual({
    model: 'o4-mini',
    serviceTier: 'default',
    sampleRate: 0.1,
    dailyBudgetUsd: 5,
    judgeModel: null,
  });
  expect(put.body).toMatchObject({ tenantId: 'acme', version: 1, policy: expected });
  expect(put.body.updatedBy).toMatch(/^key:/);
  expect(put.headers.get('etag')).toBe('"1"');

  const get = await getPolicy(acme['admin']!);
  expect(get.body).toEqual(put.body);

  const { rows } = await h.db.query(
    `SELECT version, policy, updated_by FROM tenant_policy_versions WHERE tenant_id = 'acme' ORDER BY version`,
  );
  expect(rows).toEqual([{ version: 1, policy: expected, updated_by: put.body.updatedBy }]);

  const events = await pollUntil(
    () => policyEvents('acme'),
    (e) => e.length >= 1,
    { what: 'the policy event' },
  );
  expect(events).toEqual([
    {
      key: 'acme',
      data: { version: 1, policy: expected, updatedBy: put.body.updatedBy, updatedAt: put.body.updatedAt },
    },
  ]);
});

it('lets the platform admin read and set any tenant, and answers 404 for an unknown one', async () => {
  const put = await h.call<PolicyAnswer>('PUT', '/v1/admin/tenants/globex/policy', {
    key: ADMIN_KEY,
    body: { fallback: ['human'] },
  });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ tenantId: 'globex', version: 1, updatedBy: 'platform-admin' });
  expect((await getPolicy(globex['admin']!)).body.policy).toMatchObject({ fallback: ['human'] });
  expect((await h.call('GET', '/v1/admin/tenants/globex/policy', { key: ADMIN_KEY })).body).toEqual(put.body);

  for (const method of ['GET', 'PUT']) {
    const res = await h.call(method, '/v1/admin/tenants/nobody/policy', {
      key: ADMIN_KEY,
      ...(method === 'PUT' ? { body: {} } : {}),
    });
    expect(res.status).toBe(404);
  }
});

it('refuses every key but the tenant admin, and never shows another tenant its policy', async () => {
  for (const role of ['submitter', 'auditor']) {
    expect((await getPolicy(acme[role]!)).status).toBe(403);
    expect((await putPolicy(acme[role]!, {})).status).toBe(403);
  }
  // A tenant admin cannot reach another tenant through the platform admin's route.
  expect((await h.call('GET', '/v1/admin/tenants/globex/policy', { key: acme['admin']! })).status).toBe(403);
  expect(
    (await h.call('PUT', '/v1/admin/tenants/globex/policy', { key: acme['admin']!, body: {} })).status,
  ).toBe(403);
  expect((await getPolicy(acme['admin']!)).body.tenantId).toBe('acme');
  // The platform admin's key is not a tenant: /v1/policy is not its route.
  expect((await getPolicy(ADMIN_KEY)).status).toBe(403);
  expect((await h.call('GET', '/v1/policy')).status).toBe(401);
});

describe('a PUT that is not a valid policy is a 400 naming every bad field, and changes nothing', () => {
  const cases: [string, unknown, string[]][] = [
    ['an unknown field', { onBudgetDenied: 'fail', colour: 'blue' }, ['colour']],
    ['an unknown nested field', { context: { topK: 2, depth: 3 } }, ['depth']],
    ['a bad enum', { onBudgetDenied: 'retry' }, ['onBudgetDenied']],
    [
      'a number out of range',
      { context: { topK: 0, minRelevance: 1.5 } },
      ['context.topK', 'context.minRelevance'],
    ],
    ['a chain not ending with human', { fallback: ['human', 'standard'] }, ['fallback']],
    ['a repeated step', { fallback: ['standard', 'standard'] }, ['fallback']],
    [
      'a threshold under the platform floor',
      { reasoningMinLatencyBudgetMs: 10 },
      ['reasoningMinLatencyBudgetMs'],
    ],
    ['a ceiling that is not an integer', { maxThinkingTokensCeiling: 100.5 }, ['maxThinkingTokensCeiling']],
    ['a body that is not an object', [1, 2], ['(root)']],
  ];
  it.each(cases)('%s', async (_, body, named) => {
    const before = (await getPolicy(acme['admin']!)).body.version;
    const res = await putPolicy(acme['admin']!, body);
    expect(res.status).toBe(400);
    for (const field of named) expect(JSON.stringify(res.body)).toContain(field);
    expect((await getPolicy(acme['admin']!)).body.version).toBe(before);
  });

  it('a missing or malformed body', async () => {
    expect((await h.call('PUT', '/v1/policy', { key: acme['admin']! })).status).toBe(400);
    const raw = await h.call('PUT', '/v1/policy', { key: acme['admin']!, rawBody: '{"context":' });
    expect(raw.status).toBe(400);
  });
});

it('applies If-Match: the current version succeeds, a stale one is a 412, a malformed one a 400', async () => {
  const current = (await getPolicy(acme['admin']!)).body.version;
  const stale = await putPolicy(acme['admin']!, {}, { 'if-match': `"${current - 1}"` });
  expect(stale.status).toBe(412);
  expect(stale.body.message).toContain(`version ${current}`);
  expect((await putPolicy(acme['admin']!, {}, { 'if-match': 'yesterday' })).status).toBe(400);
  const ok = await putPolicy(acme['admin']!, { context: { topK: 3 } }, { 'if-match': `"${current}"` });
  expect(ok.status).toBe(200);
  expect(ok.body.version).toBe(current + 1);
});

it('gives concurrent PUTs on two replicas consecutive versions, each with its history row and its event', async () => {
  await h.createTenant('initech');
  const admin = await h.createKey('initech', 'admin');
  const writes = 12;
  const answers = await Promise.all(
    Array.from({ length: writes }, (_, i) =>
      putPolicy(admin, { context: { topK: 1 + (i % 5) } }, {}, h.urls[i % h.urls.length]),
    ),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(writes).fill(200));
  const versions = answers.map((a) => a.body.version).sort((a, b) => a - b);
  expect(versions).toEqual(Array.from({ length: writes }, (_, i) => i + 1));

  const { rows } = await h.db.query(
    `SELECT version FROM tenant_policy_versions WHERE tenant_id = 'initech' ORDER BY version`,
  );
  expect(rows.map((r) => r.version)).toEqual(versions);
  const events = await pollUntil(
    () => policyEvents('initech'),
    (e) => e.length >= writes,
    { what: 'one event per version' },
  );
  expect(events.map((e) => e.data['version']).sort((a, b) => Number(a) - Number(b))).toEqual(versions);
  // The current policy is the one the last version wrote.
  const last = answers.find((a) => a.body.version === writes)!;
  expect((await getPolicy(admin)).body.policy).toEqual(last.body.policy);
});
