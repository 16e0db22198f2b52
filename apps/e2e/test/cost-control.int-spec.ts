import {
  CE_HEADERS,
  modelCallRecordedEvent,
  type SpendResponse,
  type TaskResponse,
} from '@deliberate/contracts';
import { collectMessages, header, pollUntil } from '@deliberate/testing';
import { ADMIN_KEY, createTenant, http, startStack, type TestStack } from './stack';

// Money through the whole stack: every model call the triage makes is booked by the ledger at the simulator's
// prices, the gateway serves the ledger API to the tenant's admins, and the tenant's cost breaker stops the
// triage from spending while it is open.

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack('costs');
});

afterAll(async () => {
  await stack?.close();
});

type Keys = Awaited<ReturnType<typeof createTenant>>;

async function submit(key: string, body: unknown) {
  const res = await http<{ id: string }>(stack, 'POST', '/v1/tasks', { key, body });
  expect(res.status).toBe(202);
  return res.body.id;
}

async function waitForTask(key: string, id: string): Promise<TaskResponse> {
  return pollUntil(
    async () => (await http<TaskResponse>(stack, 'GET', `/v1/tasks/${id}`, { key })).body,
    (t) => ['completed', 'failed'].includes(t.status),
    { timeoutMs: 30_000, what: `task ${id}` },
  );
}

async function breakerOf(key: string): Promise<string | undefined> {
  const res = await http<{ budgets: { scope: string; breaker: string }[] }>(
    stack,
    'GET',
    '/v1/ledger/budgets',
    { key },
  );
  return res.body.budgets?.find((b) => b.scope === 'tenant')?.breaker;
}

describe('spend', () => {
  let initech: Keys;

  beforeAll(async () => {
    initech = await createTenant(stack, 'initech');
  });

  it('books every model call once, at the provider prices, and the totals add up', async () => {
    const ids = [];
    for (let i = 0; i < 4; i += 1)
      ids.push(await submit(initech.submitter, { input: `What is ${i} + ${i}?` }));
    ids.push(await submit(initech.submitter, { input: 'Name a colour.', mode: 'fast' }));
    for (const id of ids) expect((await waitForTask(initech.submitter, id)).status).toBe('completed');

    // Four classified tasks make two calls each, the explicit fast one a single call.
    const usage = await collectMessages(stack.topic(modelCallRecordedEvent.topic), 9, {
      filter: (m) => header(m, CE_HEADERS.tenantId) === 'initech',
    });
    const models = (await (await fetch(`${stack.simulator.url}/v1/models`)).json()) as {
      data: { id: string; pricing: { input: number; cached_input: number; output: number } }[];
    };
    const prices = new Map<string, { input: number; cached_input: number; output: number }>(
      models.data.map(
        (m: { id: string; pricing: { input: number; cached_input: number; output: number } }) => [
          m.id,
          m.pricing,
        ],
      ),
    );
    // Each call is billed on its own and rounded up to a whole micro-USD; reasoning tokens are output tokens.
    const expected = usage
      .map((m) => JSON.parse(m.value!.toString()))
      .reduce((sum: bigint, e: { model: string; usage: Record<string, number> }) => {
        const p = prices.get(e.model)!;
        const u = e.usage;
        const pico =
          BigInt(u['inputTokens']! - u['cachedInputTokens']!) * BigInt(p.input) +
          BigInt(u['cachedInputTokens']!) * BigInt(p.cached_input) +
          BigInt(u['outputTokens']!) * BigInt(p.output);
        return sum + (pico + 999_999n) / 1_000_000n;
      }, 0n);
    expect(expected).toBeGreaterThan(0n);

    const spend = await pollUntil(
      async () =>
        (await http<SpendResponse>(stack, 'GET', '/v1/ledger/spend?groupBy=route', { key: initech.admin }))
          .body,
      (s) => s.total?.calls === 9,
      { timeoutMs: 20_000, what: 'the ledger to book nine calls' },
    );
    expect(BigInt(spend.total.costMicroUsd)).toBe(expected);
    expect(spend.rows.reduce((sum, r) => sum + r.costMicroUsd, 0)).toBe(spend.total.costMicroUsd);
    expect(spend.rows.map((r) => r.key).sort()).toEqual(['fast/answer', 'fast/classify']);

    const csv = await fetch(`${stack.url}/v1/ledger/spend.csv?groupBy=model`, {
      headers: { authorization: `Bearer ${initech.auditor}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(await csv.text()).toContain('sim-fast');
  });

  it('serves the ledger API only to admins and auditors, each within its own tenant', async () => {
    const globex = await createTenant(stack, 'globex-costs');
    expect((await http(stack, 'GET', '/v1/ledger/spend', { key: initech.submitter })).status).toBe(403);
    expect((await http(stack, 'GET', '/v1/ledger/spend')).status).toBe(401);
    const foreign = await http<SpendResponse>(stack, 'GET', '/v1/ledger/spend', { key: globex.admin });
    expect(foreign.status).toBe(200);
    expect(foreign.body.total.calls).toBe(0);
    const platform = await http<SpendResponse>(stack, 'GET', '/v1/ledger/spend?tenantId=initech', {
      key: ADMIN_KEY,
    });
    expect(platform.body.total.calls).toBeGreaterThan(0);
    const bad = await http(stack, 'PUT', '/v1/ledger/budgets', {
      key: initech.admin,
      body: { dailyLimitUsd: -1 },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('dailyLimitUsd');
    expect(
      (await http(stack, 'PUT', '/v1/ledger/budgets', { key: initech.auditor, body: { dailyLimitUsd: 1 } }))
        .status,
    ).toBe(403);
  });
});

describe('cost circuit breaker', () => {
  let hooli: Keys;

  beforeAll(async () => {
    hooli = await createTenant(stack, 'hooli');
  });

  async function tripBreaker(policy: 'fail' | 'route_cheap') {
    // What an open breaker does to work is the tenant's policy; the budget only sets the rate.
    const setPolicy = await http(stack, 'PUT', '/v1/policy', {
      key: hooli.admin,
      body: { onBudgetDenied: policy },
    });
    expect(setPolicy.status).toBe(200);
    const put = await http(stack, 'PUT', '/v1/ledger/budgets', {
      key: hooli.admin,
      body: { breakerWindowSeconds: 10, breakerMaxSpendUsd: 0.000001 },
    });
    expect(put.status).toBe(200);
    // A burst of calls, as a runaway loop would make, passes 1 micro-USD within the ten-second window: any one of them
    // does, and the window counts calls by when they were made, so it is wide enough for a loaded machine to book a
    // call well after it was made and still see it in the window.
    const ids = await Promise.all(
      [0, 1, 2, 3].map((i) => submit(hooli.submitter, { input: `Burst ${i}`, mode: 'fast' })),
    );
    for (const id of ids) await waitForTask(hooli.submitter, id);
    await pollUntil(
      () => breakerOf(hooli.admin),
      (b) => b === 'open',
      { timeoutMs: 15_000, what: 'the breaker to open' },
    );
  }

  it('fails new work with budget_exceeded while open, and lets it through again once closed', async () => {
    await tripBreaker('fail');
    // The triage learns of the breaker through its event; the first refused task proves it has.
    const refused = await pollUntil(
      async () =>
        waitForTask(
          hooli.submitter,
          await submit(hooli.submitter, { input: 'Anything?', mode: 'reasoning' }),
        ),
      (t) => t.status === 'failed',
      { timeoutMs: 15_000, intervalMs: 200, what: 'a task refused by the breaker' },
    );
    expect(refused.error).toMatchObject({ code: 'budget_exceeded' });
    expect(refused.error!.message).toContain('spend_rate');
    expect(refused.triage).toBeNull();

    await pollUntil(
      () => breakerOf(hooli.admin),
      (b) => b === 'closed',
      { timeoutMs: 45_000, what: 'the breaker to close' },
    );
    const after = await pollUntil(
      async () =>
        waitForTask(hooli.submitter, await submit(hooli.submitter, { input: 'Back to work.', mode: 'fast' })),
      (t) => t.status === 'completed',
      { timeoutMs: 15_000, intervalMs: 200, what: 'a task completed after the breaker closed' },
    );
    expect(after.result!.answeredBy).toBe('fast_model');
  });

  it("routes to the cheap tier while open when the tenant's policy says so", async () => {
    await pollUntil(
      () => breakerOf(hooli.admin),
      (b) => b === 'closed',
      { timeoutMs: 45_000, what: 'a closed breaker' },
    );
    await tripBreaker('route_cheap');
    const cheap = await pollUntil(
      async () =>
        waitForTask(
          hooli.submitter,
          await submit(hooli.submitter, { input: 'Prove it step by step.', mode: 'reasoning' }),
        ),
      (t) => t.triage?.rule === 'cost-breaker',
      { timeoutMs: 15_000, intervalMs: 200, what: 'a task routed to the cheap tier by the breaker' },
    );
    expect(cheap.status).toBe('completed');
    expect(cheap.triage).toMatchObject({ route: 'fast', decidedBy: 'rule', rule: 'cost-breaker' });
    expect(cheap.result!.answeredBy).toBe('fast_model');
  });
});
