jest.setTimeout(120_000);

import type { BudgetResponse, Principal, SpendResponse } from '@deliberate/contracts';
import { type InternalRequest, pollUntil, sendForgeries, signedInternalHeaders } from '@deliberate/testing';
import {
  INTERNAL_KEY,
  ledgerHttp,
  type LedgerHarness,
  PLATFORM_ADMIN,
  startLedger,
  tenantAdmin,
  usage,
} from './ledger-harness';

// The HTTP API behind the gateway: the gateway's signed principal, tenant scoping, roles, spend reports whose totals are the
// sums of their rows, the CSV export, budgets and their precise 400s.

let h: LedgerHarness;

// Costs: sim-fast 1000 in + 500 out = 150 + 300 = 450; sim-reasoner 1000 in + 1000 out (800 reasoning) = 2000 + 8000.
const CALLS = [
  {
    tenantId: 'acme',
    model: 'sim-fast',
    tier: 'fast',
    purpose: 'classify',
    usage: usage(1_000, 500),
    cost: 450,
  },
  {
    tenantId: 'acme',
    model: 'sim-fast',
    tier: 'fast',
    purpose: 'classify',
    usage: usage(1_000, 500),
    cost: 450,
  },
  {
    tenantId: 'acme',
    model: 'sim-fast',
    tier: 'fast',
    purpose: 'answer',
    usage: usage(1_000, 500),
    cost: 450,
  },
  {
    tenantId: 'acme',
    model: 'sim-reasoner',
    tier: 'reasoning',
    purpose: 'reason',
    usage: usage(1_000, 1_000, 0, 800),
    cost: 10_000,
  },
  {
    tenantId: 'globex',
    model: 'sim-standard',
    tier: 'standard',
    purpose: 'answer',
    usage: usage(1, 1),
    cost: 12,
  },
] as const;

beforeAll(async () => {
  h = await startLedger('http');
  for (const c of CALLS) {
    await h.publishUsage({
      tenantId: c.tenantId,
      model: c.model,
      tier: c.tier,
      purpose: c.purpose,
      usage: c.usage,
    });
  }
  await pollUntil(
    async () => (await h.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM bookings`)).rows[0]!.n,
    (n) => n === String(CALLS.length),
    { what: 'every call to be booked' },
  );
});

afterAll(async () => {
  await h?.close();
});

const sumRows = (r: SpendResponse) => r.rows.reduce((sum, row) => sum + row.costMicroUsd, 0);

describe('authentication', () => {
  const read: InternalRequest = {
    key: INTERNAL_KEY,
    service: 'ledger',
    method: 'GET',
    target: '/v1/ledger/spend?groupBy=model',
    principal: tenantAdmin('acme', 'auditor'),
  };
  const write: InternalRequest = {
    key: INTERNAL_KEY,
    service: 'ledger',
    method: 'PUT',
    target: '/v1/ledger/budgets',
    body: JSON.stringify({ monthlyLimitUsd: 5 }),
    principal: tenantAdmin('forgery-target', 'auditor'),
  };

  // Each forgery claims a principal the route would accept: were one believed, the request would succeed.
  it.each<[string, InternalRequest, Principal]>([
    ['a read', read, PLATFORM_ADMIN],
    ['a write', write, tenantAdmin('forgery-target')],
  ])(
    'refuses %s under any identity the gateway did not sign for that exact request, saying why',
    async (_what, request, claimed) => {
      const outcomes = await sendForgeries(h.url, request, claimed);
      expect(outcomes).toEqual(
        outcomes.map((o) => ({ forgery: o.forgery, status: 401, message: 'as expected' })),
      );
      const budgets = await ledgerHttp<{ budgets: BudgetResponse[] }>(h, 'GET', '/v1/ledger/budgets', {
        principal: tenantAdmin('forgery-target'),
      });
      expect(budgets.body.budgets).toEqual([]);
    },
  );

  it('accepts a signed request once and refuses the same request replayed', async () => {
    const identity = signedInternalHeaders(read);
    expect((await ledgerHttp(h, read.method, read.target, { identity })).status).toBe(200);
    const replayed = await ledgerHttp(h, read.method, read.target, { identity });
    expect(replayed.status).toBe(401);
    expect(replayed.body['message']).toMatch(/replayed/);
  });

  it('refuses a request without identity, and a signed principal that is not a valid one', async () => {
    const none = await ledgerHttp(h, 'GET', '/v1/ledger/spend', { principal: null });
    expect(none.status).toBe(401);
    expect(none.body['message']).toContain('x-deliberate-principal');
    const invalid = await ledgerHttp(h, read.method, read.target, {
      identity: signedInternalHeaders({ ...read, principal: { kind: 'tenant' } as Principal }),
    });
    expect(invalid.status).toBe(401);
    expect(invalid.body['message']).toContain('invalid x-deliberate-principal');
  });

  it('lets admins and auditors read, not submitters', async () => {
    expect(
      (await ledgerHttp(h, 'GET', '/v1/ledger/spend', { principal: tenantAdmin('acme', 'auditor') })).status,
    ).toBe(200);
    const submitter = await ledgerHttp(h, 'GET', '/v1/ledger/spend', {
      principal: tenantAdmin('acme', 'submitter'),
    });
    expect(submitter.status).toBe(403);
  });

  it('answers /health without credentials', async () => {
    expect((await ledgerHttp(h, 'GET', '/health', { principal: null })).status).toBe(200);
  });
});

describe('GET /v1/ledger/spend', () => {
  it("reports a tenant's spend by model, with a total that is the exact sum of the rows", async () => {
    const res = await ledgerHttp<SpendResponse>(h, 'GET', '/v1/ledger/spend?groupBy=model', {
      principal: tenantAdmin('acme'),
    });
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([
      {
        key: 'sim-fast',
        costMicroUsd: 1_350,
        calls: 3,
        inputTokens: 3_000,
        cachedInputTokens: 0,
        outputTokens: 1_500,
        reasoningTokens: 0,
      },
      {
        key: 'sim-reasoner',
        costMicroUsd: 10_000,
        calls: 1,
        inputTokens: 1_000,
        cachedInputTokens: 0,
        outputTokens: 1_000,
        reasoningTokens: 800,
      },
    ]);
    expect(res.body.total).toMatchObject({
      key: 'total',
      costMicroUsd: 11_350,
      calls: 4,
      inputTokens: 4_000,
    });
    expect(res.body.total.costMicroUsd).toBe(sumRows(res.body));
    const stored = await h.db.query<{ sum: string }>(
      `SELECT sum(cost_micro_usd)::text AS sum FROM bookings WHERE tenant_id = 'acme'`,
    );
    expect(String(res.body.total.costMicroUsd)).toBe(stored.rows[0]!.sum);
  });

  it('groups by route (tier/purpose) and by day, adding up the same', async () => {
    const route = await ledgerHttp<SpendResponse>(h, 'GET', '/v1/ledger/spend?groupBy=route', {
      principal: tenantAdmin('acme'),
    });
    expect(route.body.rows.map((r) => [r.key, r.costMicroUsd, r.calls])).toEqual([
      ['fast/answer', 450, 1],
      ['fast/classify', 900, 2],
      ['reasoning/reason', 10_000, 1],
    ]);
    expect(route.body.total.costMicroUsd).toBe(sumRows(route.body));
    const day = await ledgerHttp<SpendResponse>(h, 'GET', '/v1/ledger/spend?groupBy=day', {
      principal: tenantAdmin('acme'),
    });
    expect(day.body.rows.map((r) => r.key)).toEqual([new Date().toISOString().slice(0, 10)]);
    expect(day.body.total.costMicroUsd).toBe(11_350);
  });

  it("reports one task's calls with taskId, and nothing of another tenant's task", async () => {
    const { rows } = await h.db.query<{ task_id: string }>(
      `SELECT task_id FROM bookings WHERE tenant_id = 'acme' AND tier = 'reasoning'`,
    );
    const taskId = rows[0]!.task_id;
    const task = await ledgerHttp<SpendResponse>(
      h,
      'GET',
      `/v1/ledger/spend?groupBy=model&taskId=${taskId}`,
      {
        principal: tenantAdmin('acme'),
      },
    );
    expect(task.status).toBe(200);
    expect(task.body.rows.map((r) => [r.costMicroUsd, r.calls])).toEqual([[10_000, 1]]);
    const foreign = await ledgerHttp<SpendResponse>(h, 'GET', `/v1/ledger/spend?taskId=${taskId}`, {
      principal: tenantAdmin('globex'),
    });
    expect(foreign.body.rows).toEqual([]);
    expect(
      (await ledgerHttp(h, 'GET', '/v1/ledger/spend?taskId=nope', { principal: tenantAdmin('acme') })).status,
    ).toBe(400);
  });

  it('scopes a tenant to itself; the platform admin sees every tenant or picks one', async () => {
    const other = await ledgerHttp(h, 'GET', '/v1/ledger/spend?tenantId=globex', {
      principal: tenantAdmin('acme'),
    });
    expect(other.status).toBe(403);
    const globex = await ledgerHttp<SpendResponse>(h, 'GET', '/v1/ledger/spend?groupBy=tenant', {
      principal: tenantAdmin('globex'),
    });
    expect(globex.body.rows.map((r) => r.key)).toEqual(['globex']);
    const all = await ledgerHttp<SpendResponse>(h, 'GET', '/v1/ledger/spend?groupBy=tenant', {
      principal: PLATFORM_ADMIN,
    });
    expect(all.body.rows.map((r) => [r.key, r.costMicroUsd])).toEqual([
      ['acme', 11_350],
      ['globex', 12],
    ]);
    const picked = await ledgerHttp<SpendResponse>(h, 'GET', '/v1/ledger/spend?tenantId=globex', {
      principal: PLATFORM_ADMIN,
    });
    expect(picked.body.total.costMicroUsd).toBe(12);
  });

  it('filters by time, and refuses bad parameters precisely', async () => {
    const empty = await ledgerHttp<SpendResponse>(
      h,
      'GET',
      '/v1/ledger/spend?from=2020-01-01&to=2020-02-01',
      {
        principal: tenantAdmin('acme'),
      },
    );
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({
      from: '2020-01-01T00:00:00.000Z',
      rows: [],
      total: { costMicroUsd: 0 },
    });

    const cases: [string, string][] = [
      ['groupBy=color', 'groupBy'],
      ['from=yesterday', "from: 'yesterday' is not an ISO 8601 date"],
      ['from=2025-02-01&to=2025-01-01', 'from: from must be before to'],
      ['limit=10', 'Unrecognized key'],
      ['tenantId=Not_A_Slug', 'tenantId'],
    ];
    for (const [query, message] of cases) {
      const res = await ledgerHttp(h, 'GET', `/v1/ledger/spend?${query}`, { principal: PLATFORM_ADMIN });
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body['message']).toContain(message);
    }
  });
});

describe('GET /v1/ledger/spend.csv', () => {
  it('exports the same rows as CSV with a header row', async () => {
    const res = await ledgerHttp(h, 'GET', '/v1/ledger/spend.csv?groupBy=route', {
      principal: tenantAdmin('acme'),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain('attachment; filename="spend-acme-route-');
    expect(res.text.trimEnd().split('\r\n')).toEqual([
      'route,cost_micro_usd,cost_usd,calls,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens',
      'fast/answer,450,0.000450,1,1000,0,500,0',
      'fast/classify,900,0.000900,2,2000,0,1000,0',
      'reasoning/reason,10000,0.010000,1,1000,0,1000,800',
    ]);
  });
});

describe('budgets', () => {
  it('PUT creates a budget (USD in, micro-USD out) and GET lists it with its spend', async () => {
    const put = await ledgerHttp<BudgetResponse>(h, 'PUT', '/v1/ledger/budgets', {
      principal: tenantAdmin('acme'),
      body: { dailyLimitUsd: 5, monthlyLimitUsd: 100.5, softThresholdPercents: [90, 50, 90] },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      tenantId: 'acme',
      scope: 'tenant',
      scopeId: 'acme',
      dailyLimitMicroUsd: 5_000_000,
      monthlyLimitMicroUsd: 100_500_000,
      perTaskLimitMicroUsd: null,
      softThresholdPercents: [50, 90],
      breakerWindowSeconds: 60,
      breakerMaxSpendMicroUsd: null,
      spentTodayMicroUsd: 11_350,
      spentThisMonthMicroUsd: 11_350,
      breaker: 'closed',
    });
    // Fields left out keep their value; null clears a limit.
    const changed = await ledgerHttp<BudgetResponse>(h, 'PUT', '/v1/ledger/budgets', {
      principal: tenantAdmin('acme'),
      body: { monthlyLimitUsd: null, breakerWindowSeconds: 30 },
    });
    expect(changed.body).toMatchObject({
      dailyLimitMicroUsd: 5_000_000,
      monthlyLimitMicroUsd: null,
      breakerWindowSeconds: 30,
    });
    expect(changed.body).not.toHaveProperty('overBudgetPolicy');
    const key = await ledgerHttp<BudgetResponse>(h, 'PUT', '/v1/ledger/budgets?tenantId=acme', {
      principal: PLATFORM_ADMIN,
      body: { scope: 'api_key', scopeId: 'key-1', perTaskLimitUsd: 0.25 },
    });
    expect(key.body).toMatchObject({ scope: 'api_key', scopeId: 'key-1', perTaskLimitMicroUsd: 250_000 });

    const list = await ledgerHttp<{ tenantId: string; budgets: BudgetResponse[] }>(
      h,
      'GET',
      '/v1/ledger/budgets',
      {
        principal: tenantAdmin('acme', 'auditor'),
      },
    );
    expect(list.status).toBe(200);
    expect(list.body.budgets.map((b) => [b.scope, b.scopeId])).toEqual([
      ['api_key', 'key-1'],
      ['tenant', 'acme'],
    ]);
  });

  it('refuses bad bodies with the field and the reason', async () => {
    const cases: [unknown, string][] = [
      [{ dailyLimitUsd: -1 }, 'dailyLimitUsd'],
      [{ dailyLimitUsd: 'ten' }, 'dailyLimitUsd'],
      [{ softThresholdPercents: [120] }, 'softThresholdPercents.0'],
      [{ scope: 'planet' }, 'scope'],
      [{ daily: 5 }, 'Unrecognized key'],
      [{ scope: 'api_key' }, "scopeId: is required for scope 'api_key'"],
      [{ scope: 'tenant', scopeId: 'other' }, 'scopeId: must be omitted for the tenant scope'],
      [{ perTaskLimitUsd: 0.0000001 }, 'perTaskLimitUsd: must be at least 0.000001 USD'],
      // What a denial does moved to the tenant policy: the refusal says where.
      [{ overBudgetPolicy: 'route_cheap' }, 'overBudgetPolicy: is no longer part of a budget'],
      [
        { dailyLimitUsd: 1, overBudgetPolicy: 'fail' },
        'onBudgetDenied in the tenant policy (PUT /v1/policy)',
      ],
    ];
    for (const [body, message] of cases) {
      const res = await ledgerHttp(h, 'PUT', '/v1/ledger/budgets', { principal: tenantAdmin('acme'), body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body['message']).toContain(message);
    }
    const noBody = await ledgerHttp(h, 'PUT', '/v1/ledger/budgets', { principal: tenantAdmin('acme') });
    expect(noBody.status).toBe(400);
  });

  it('lets only admins change budgets, and makes the platform admin name the tenant', async () => {
    const auditor = await ledgerHttp(h, 'PUT', '/v1/ledger/budgets', {
      principal: tenantAdmin('acme', 'auditor'),
      body: { dailyLimitUsd: 1 },
    });
    expect(auditor.status).toBe(403);
    const unnamed = await ledgerHttp(h, 'GET', '/v1/ledger/budgets', { principal: PLATFORM_ADMIN });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body['message']).toContain('tenantId');
    const foreign = await ledgerHttp(h, 'GET', '/v1/ledger/budgets?tenantId=globex', {
      principal: tenantAdmin('acme'),
    });
    expect(foreign.status).toBe(403);
  });
});

describe('GET /v1/ledger/spend?groupBy=call', () => {
  // Its own tenant, so the reports above keep their figures whichever order they run in.
  const taskId = '0193a0c4-5e3b-7c41-9d2e-4f6a7b8c9d0e';

  beforeAll(async () => {
    await h.publishUsage({ tenantId: 'initech', taskId, model: 'sim-fast', usage: usage(1_000, 500) });
    await h.publishUsage({
      tenantId: 'initech',
      taskId,
      model: 'sim-reasoner',
      usage: usage(1_000, 1_000, 0, 800),
    });
    await pollUntil(
      async () =>
        (
          await h.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM bookings WHERE task_id = $1`, [
            taskId,
          ])
        ).rows[0]!.n,
      (n) => n === '2',
      { what: "the task's two calls to be booked" },
    );
  });

  it("gives a task's calls a row each, keyed by call id, adding up to the task's spend by model", async () => {
    const { rows: booked } = await h.db.query<{ call_id: string; cost: string }>(
      `SELECT call_id, cost_micro_usd::text AS cost FROM bookings WHERE task_id = $1 ORDER BY call_id`,
      [taskId],
    );
    const byCall = await ledgerHttp<SpendResponse>(
      h,
      'GET',
      `/v1/ledger/spend?groupBy=call&taskId=${taskId}`,
      {
        principal: tenantAdmin('initech', 'auditor'),
      },
    );
    expect(byCall.status).toBe(200);
    expect(byCall.body.groupBy).toBe('call');
    expect(byCall.body.rows.map((r) => [r.key, r.costMicroUsd, r.calls])).toEqual(
      booked.map((b) => [b.call_id, Number(b.cost), 1]),
    );
    expect(byCall.body.rows.map((r) => r.costMicroUsd).sort((a, b) => a - b)).toEqual([450, 10_000]);
    const byModel = await ledgerHttp<SpendResponse>(
      h,
      'GET',
      `/v1/ledger/spend?groupBy=model&taskId=${taskId}`,
      {
        principal: tenantAdmin('initech'),
      },
    );
    expect(sumRows(byCall.body)).toBe(sumRows(byModel.body));
    expect(byCall.body.total).toEqual({ ...byModel.body.total });
  });

  it('gives another tenant nothing of the task, and refuses a row per call without a task', async () => {
    const foreign = await ledgerHttp<SpendResponse>(
      h,
      'GET',
      `/v1/ledger/spend?groupBy=call&taskId=${taskId}`,
      {
        principal: tenantAdmin('acme'),
      },
    );
    expect(foreign.status).toBe(200);
    expect(foreign.body.rows).toEqual([]);
    for (const path of ['/v1/ledger/spend?groupBy=call', '/v1/ledger/spend.csv?groupBy=call']) {
      const unbounded = await ledgerHttp(h, 'GET', path, { principal: tenantAdmin('initech') });
      expect({ path, status: unbounded.status }).toEqual({ path, status: 400 });
      expect(unbounded.body['message']).toContain('groupBy: groupBy=call needs a taskId');
    }
  });

  it('exports the rows per call as CSV, headed by the grouping', async () => {
    const res = await ledgerHttp(h, 'GET', `/v1/ledger/spend.csv?groupBy=call&taskId=${taskId}`, {
      principal: tenantAdmin('initech'),
    });
    expect(res.status).toBe(200);
    const lines = res.text.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^call,cost_micro_usd,/);
    expect(lines).toHaveLength(3);
  });
});
