import { type HttpResult } from '@deliberate/testing';
import { type GatewayHarness, startGateway } from './gateway-harness';

// Hostile PUTs of a tenant's policy: text Postgres cannot store, numbers no policy holds, values of the wrong type,
// nesting and sizes no client sends, If-Match values that are not a version, forged headers and tenant ids. Each is a
// precise 4xx that changes nothing, never a 500.

const ADMIN_KEY = 'policy-hostile-admin-0123456789abcdef';

let h: GatewayHarness;
let admin: string;

beforeAll(async () => {
  h = await startGateway('policy_hostile', { adminKey: ADMIN_KEY });
  admin = (await h.createTenant('acme', ['admin'])).admin!;
  await h.createTenant('globex');
  // A version to keep: every refusal below must leave it as it is.
  const first = await h.call('PUT', '/v1/policy', { key: admin, body: { onBudgetDenied: 'route_cheap' } });
  expect(first.status).toBe(200);
});

afterAll(async () => {
  await h?.close();
});

interface Stored {
  version: number;
  rows: number;
}

async function stored(tenantId = 'acme'): Promise<Stored> {
  const { rows } = await h.db.query<{ version: number | null; rows: number }>(
    `SELECT (SELECT version FROM tenant_policies WHERE tenant_id = $1) AS version,
            (SELECT count(*)::int FROM tenant_policy_versions WHERE tenant_id = $1) AS rows`,
    [tenantId],
  );
  return { version: rows[0]!.version ?? 0, rows: rows[0]!.rows };
}

/** Sends `send`, expects `status` with a problem body, and that the tenant's policy did not move. */
async function refused(
  send: () => Promise<HttpResult<Record<string, unknown>>>,
  status: number,
  named: string[] = [],
  tenantId = 'acme',
): Promise<void> {
  const before = await stored(tenantId);
  const res = await send();
  expect({ status: res.status, text: res.text }).toMatchObject({ status });
  for (const name of named) expect(res.text).toContain(name);
  expect(await stored(tenantId)).toEqual(before);
}

const putRaw = (rawBody: string, headers: Record<string, string> = {}) =>
  h.call('PUT', '/v1/policy', { key: admin, rawBody, headers });
const put = (body: unknown, headers: Record<string, string> = {}) =>
  h.call('PUT', '/v1/policy', { key: admin, body, headers });

describe('a PUT body no policy can be', () => {
  const cases: [string, string, string[]][] = [
    ['a NUL in an enum string', JSON.stringify({ onBudgetDenied: 'fail\u0000' }), ['onBudgetDenied']],
    ['a lone surrogate in an enum string', JSON.stringify({ onBudgetDenied: '\ud800' }), ['onBudgetDenied']],
    ['a lone surrogate in a fallback step', JSON.stringify({ fallback: ['\udfff'] }), ['fallback']],
    ['a NUL in an unknown key', JSON.stringify({ 'colour\u0000': 1 }), []],
    ['a lone surrogate in a nested unknown key', JSON.stringify({ context: { '\ud800x': 1 } }), ['context']],
    ['topK 1e300', '{"context":{"topK":1e300}}', ['context.topK']],
    ['topK past any double (1e400 parses to Infinity)', '{"context":{"topK":1e400}}', ['context.topK']],
    ['topK a negative zero fraction', '{"context":{"topK":-0.0000001}}', ['context.topK']],
    ['minRelevance "NaN"', '{"context":{"minRelevance":"NaN"}}', ['context.minRelevance']],
    ['minRelevance "Infinity"', '{"context":{"minRelevance":"Infinity"}}', ['context.minRelevance']],
    ['minRelevance a numeric string', '{"context":{"minRelevance":"0.5"}}', ['context.minRelevance']],
    [
      'minRelevance 1e-400 written as a string',
      '{"context":{"minRelevance":"1e-400"}}',
      ['context.minRelevance'],
    ],
    ['a ceiling past 2^53', '{"maxThinkingTokensCeiling":9007199254740993}', ['maxThinkingTokensCeiling']],
    ['a threshold as a boolean', '{"reasoningMinLatencyBudgetMs":true}', ['reasoningMinLatencyBudgetMs']],
    ['fallback as a string', '{"fallback":"human"}', ['fallback']],
    ['context as an array', '{"context":[1,2]}', ['context']],
    ['context as null', '{"context":null}', ['context']],
    ['nested unknown keys', '{"context":{"topK":2,"extra":{"deeper":{"deepest":1}}}}', ['extra']],
    ['a prototype key', '{"__proto__":{"onBudgetDenied":"human"},"constructor":{"prototype":{}}}', []],
    [
      'a service tier it does not know',
      '{"serviceTiers":[{"minLatencyBudgetMs":0,"tier":"priority"}]}',
      ['serviceTiers.0.tier'],
    ],
    [
      'two service-tier rules from the same budget',
      '{"serviceTiers":[{"minLatencyBudgetMs":600000,"tier":"flex"},{"minLatencyBudgetMs":600000,"tier":"default"}]}',
      ['serviceTiers'],
    ],
    [
      'a service-tier budget past a day',
      '{"serviceTiers":[{"minLatencyBudgetMs":86400001,"tier":"flex"}]}',
      ['serviceTiers.0.minLatencyBudgetMs'],
    ],
    [
      'a service-tier rule with a NUL tier',
      JSON.stringify({ serviceTiers: [{ minLatencyBudgetMs: 0, tier: 'flex\u0000' }] }),
      ['serviceTiers[0].tier', 'NUL'],
    ],
    [
      'nine service-tier rules',
      JSON.stringify({
        serviceTiers: Array.from({ length: 9 }, (_, i) => ({ minLatencyBudgetMs: i, tier: 'flex' })),
      }),
      ['serviceTiers'],
    ],
    [
      'a shadow route without a sample rate',
      '{"shadow":{"model":"o4-mini","dailyBudgetUsd":5}}',
      ['shadow.sampleRate'],
    ],
    [
      'a shadow sample rate of 0',
      '{"shadow":{"model":"o4-mini","sampleRate":0,"dailyBudgetUsd":5}}',
      ['sampleRate'],
    ],
    [
      'a shadow sample rate above 1',
      '{"shadow":{"model":"o4-mini","sampleRate":1.5,"dailyBudgetUsd":5}}',
      ['sampleRate'],
    ],
    [
      'a negative shadow budget',
      '{"shadow":{"model":"o4-mini","sampleRate":0.1,"dailyBudgetUsd":-1}}',
      ['dailyBudgetUsd'],
    ],
    [
      'a shadow budget past a million USD',
      '{"shadow":{"model":"o4-mini","sampleRate":0.1,"dailyBudgetUsd":1e300}}',
      ['dailyBudgetUsd'],
    ],
    [
      'a shadow model with a NUL',
      JSON.stringify({ shadow: { model: 'o4-mini\u0000', sampleRate: 0.1, dailyBudgetUsd: 5 } }),
      ['shadow.model'],
    ],
    [
      'a shadow model with spaces',
      '{"shadow":{"model":"o4 mini; drop","sampleRate":0.1,"dailyBudgetUsd":5}}',
      ['shadow.model'],
    ],
    [
      'a shadow model of 201 characters',
      JSON.stringify({ shadow: { model: 'm'.repeat(201), sampleRate: 0.1, dailyBudgetUsd: 5 } }),
      ['shadow.model'],
    ],
    [
      'a shadow service tier it does not know',
      '{"shadow":{"model":"o4-mini","serviceTier":"priority","sampleRate":0.1,"dailyBudgetUsd":5}}',
      ['shadow.serviceTier'],
    ],
    [
      'a shadow route with an unknown key',
      '{"shadow":{"model":"o4-mini","sampleRate":0.1,"dailyBudgetUsd":5,"judge":"gpt-4.1"}}',
      ['judge'],
    ],
    [
      'a judge model with a NUL',
      JSON.stringify({
        shadow: { model: 'o4-mini', sampleRate: 0.1, dailyBudgetUsd: 5, judgeModel: 'gpt\u0000' },
      }),
      ['shadow.judgeModel'],
    ],
    [
      'a judge model as a number',
      '{"shadow":{"model":"o4-mini","sampleRate":0.1,"dailyBudgetUsd":5,"judgeModel":4}}',
      ['judgeModel'],
    ],
    ['a shadow route as a string', '{"shadow":"o4-mini"}', ['shadow']],
    ['a bare string', '"fail"', ['(root)']],
    ['a bare number', '42', ['(root)']],
    ['null', 'null', []],
  ];

  it.each(cases)('%s is a 400 naming the field', async (_, raw, named) => {
    await refused(() => putRaw(raw), 400, named);
  });

  it('JSON that is not JSON is a 400', async () => {
    for (const raw of [
      '{',
      '{"context":{"topK":2,}}',
      "{'onBudgetDenied':'fail'}",
      '{"a":1}{"b":2}',
      'NaN',
      '\u0000',
    ]) {
      await refused(() => putRaw(raw), 400);
    }
  });

  it('a body whose bytes are not UTF-8 is a 400', async () => {
    const before = await stored();
    const res = await fetch(`${h.url}/v1/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    });
    expect(res.status).toBe(400);
    expect(await stored()).toEqual(before);
  });

  it('a body nested 100,000 deep is a 4xx', async () => {
    const raw = `${'{"context":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const before = await stored();
    const res = await putRaw(raw);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await stored()).toEqual(before);
  });

  it('a 1 MB body is refused as too large', async () => {
    const raw = JSON.stringify({ onBudgetDenied: 'fail', padding: 'x'.repeat(1_048_576) });
    await refused(() => putRaw(raw), 413);
  });

  it('a body that is not JSON by its content type is a 4xx, whatever it holds', async () => {
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-16',
    ]) {
      const before = await stored();
      const res = await putRaw('onBudgetDenied=human', { 'content-type': contentType });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await stored()).toEqual(before);
    }
  });
});

describe('an If-Match that names no version', () => {
  const values = [
    '*',
    '"1", "2"',
    '"-1"',
    '"1.0"',
    '"1e3"',
    '"0x1"',
    '"9999999999"',
    '""',
    'W/""',
    '"1',
    '1"',
    ' ',
    '"é"',
    `"${'9'.repeat(8_000)}"`,
  ];

  it.each(values.map((v) => [v.length > 40 ? `${v.slice(0, 12)}… (${v.length} chars)` : v, v]))(
    'If-Match %s is a 400 naming If-Match',
    async (_, value) => {
      await refused(() => put({ onBudgetDenied: 'human' }, { 'if-match': value }), 400, ['If-Match']);
    },
  );

  it('a version far ahead is a 412, not a write', async () => {
    await refused(() => put({ onBudgetDenied: 'human' }, { 'if-match': '"999999999"' }), 412);
  });
});

describe('forged headers and tenant ids', () => {
  it("a tenant admin's key with a forged x-principal or tenant header still reaches only its own tenant", async () => {
    const forged = {
      'x-principal': JSON.stringify({ kind: 'platform-admin' }),
      'x-tenant-id': 'globex',
      'x-forwarded-for': '127.0.0.1',
    };
    await refused(
      () => h.call('PUT', '/v1/admin/tenants/globex/policy', { key: admin, body: {}, headers: forged }),
      403,
      [],
      'globex',
    );
    const own = await h.call<{ tenantId: string }>('GET', '/v1/policy', { key: admin, headers: forged });
    expect({ status: own.status, tenantId: own.body.tenantId }).toEqual({ status: 200, tenantId: 'acme' });
    await refused(() => h.call('PUT', '/v1/policy', { body: {}, headers: forged }), 401, [], 'globex');
  });

  it('a key that is not one, or sent the wrong way, is a 401', async () => {
    for (const authorization of [
      `Basic ${admin}`,
      `Bearer ${admin}x`,
      'Bearer',
      `Bearer ${admin.slice(0, -1)}`,
    ]) {
      await refused(() => h.call('PUT', '/v1/policy', { body: {}, headers: { authorization } }), 401);
    }
  });

  const tenantIds: [string, string][] = [
    ['a NUL', '%00'],
    ['a lone surrogate as UTF-8 bytes', '%ED%A0%80'],
    ['bytes that are not UTF-8', '%FF%FE'],
    ['10,000 characters', 'a'.repeat(10_000)],
    ['a path traversal', '..%2Facme'],
    ['a quote', "acme'--"],
  ];

  it.each(tenantIds)("the platform admin's route with %s as tenant id is a 4xx", async (_, id) => {
    const before = await stored();
    for (const method of ['GET', 'PUT']) {
      const res = await h.call(method, `/v1/admin/tenants/${id}/policy`, {
        key: ADMIN_KEY,
        ...(method === 'PUT' ? { body: {} } : {}),
      });
      expect({ method, status: res.status, text: res.text }).toMatchObject({ status: expect.any(Number) });
      expect([method, Math.floor(res.status / 100)]).toEqual([method, 4]);
    }
    expect(await stored()).toEqual(before);
  });
});

describe('the same conditional PUT twice at once', () => {
  it('writes once: one 200 with the next version, the other 412', async () => {
    const { version } = await stored();
    const answers = await Promise.all(
      [1, 2, 3, 4].map(() => put({ context: { topK: 5 } }, { 'if-match': `"${version}"` })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412, 412, 412]);
    expect(answers.find((a) => a.status === 200)!.body['version']).toBe(version + 1);
    expect(await stored()).toEqual({ version: version + 1, rows: version + 1 });
  });
});
