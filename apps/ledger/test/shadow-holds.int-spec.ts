import { randomUUID } from 'node:crypto';
import {
  type LedgerHarness,
  ledgerHttp,
  putBudget,
  setTenantPolicy,
  startLedger,
  tenantAdmin,
  usage,
} from './ledger-harness';

// Shadow evaluation's money: a shadow call is held on the tenant's shadow counter within its policy's daily shadow
// budget, and on nothing else. The tenant's budgets, its tasks' counters and its cost breaker never see it, so live
// work goes on whatever the shadow spends, and shadow spend stops at its own budget.

let h: LedgerHarness;

beforeAll(async () => {
  h = await startLedger('shadow_holds');
});

afterAll(async () => {
  await h?.close();
});

const shadowPolicy = (dailyBudgetUsd: number) => ({
  shadow: { model: 'sim-standard', serviceTier: 'default' as const, sampleRate: 1, dailyBudgetUsd },
});
// sim-standard: 1.25 USD per 1M input tokens, 10 per 1M output; 1,000 output tokens hold 10,000 micro-USD.
const shadowReserve = (tenantId: string, taskId = randomUUID()) => ({
  tenantId,
  taskId,
  model: 'sim-standard',
  tier: 'reasoning' as const,
  estimatedInputTokens: 0,
  maxOutputTokens: 1_000,
  shadow: true,
});

async function counters(tenantId: string) {
  const { rows } = await h.db.query<{ scope: string; period: string; reserved: string; spent: string }>(
    `SELECT scope, period, reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent
       FROM spend_counters WHERE tenant_id = $1 ORDER BY scope, period`,
    [tenantId],
  );
  return rows.map((r) => `${r.scope}/${r.period}: held ${r.reserved}, spent ${r.spent}`);
}

it("holds and books a shadow call on its shadow counter only, even when the tenant's budget is spent", async () => {
  const tenantId = 'shadow-apart';
  await setTenantPolicy(h, tenantId, shadowPolicy(1));
  await putBudget(h, tenantId, { dailyLimitUsd: 0.000001 });
  const taskId = randomUUID();
  // The live budget admits nothing; the shadow budget admits the shadow call.
  expect(
    await h.client.reserve({ ...shadowReserve(tenantId, taskId), shadow: false, maxOutputTokens: 1_000 }),
  ).toMatchObject({ approved: false, reason: 'budget_exceeded' });
  const held = await h.client.reserve(shadowReserve(tenantId, taskId));
  if (!held.approved) throw new Error(held.message);
  expect(held.amountMicroUsd).toBe(10_000);
  expect(await counters(tenantId)).toEqual(['shadow/day: held 10000, spent 0']);

  const settled = await h.client.settle({
    reservationId: held.reservationId,
    usageEventId: `shadow-${randomUUID()}`,
    model: 'sim-standard',
    usage: usage(400, 200),
  });
  // 400 × 1.25 + 200 × 10 = 2,500 micro-USD.
  expect(settled).toMatchObject({ booked: true, costMicroUsd: 2_500, releasedMicroUsd: 7_500 });
  expect(await counters(tenantId)).toEqual(['shadow/day: held 0, spent 2500']);
  const { rows: booked } = await h.db.query<{ shadow: boolean; cost: string }>(
    `SELECT shadow, cost_micro_usd::text AS cost FROM bookings WHERE reservation_id = $1`,
    [held.reservationId],
  );
  expect(booked).toEqual([{ shadow: true, cost: '2500' }]);
  // The task's counter, which its ceiling and its cost read, never saw the shadow call.
  const { rows: task } = await h.db.query(`SELECT * FROM task_counters WHERE task_id = $1`, [taskId]);
  expect(task).toEqual([]);
});

it('refuses shadow calls past the daily shadow budget, naming it, and takes them again once holds are freed', async () => {
  const tenantId = 'shadow-thrifty';
  await setTenantPolicy(h, tenantId, shadowPolicy(0.025));
  const first = await h.client.reserve(shadowReserve(tenantId));
  const second = await h.client.reserve(shadowReserve(tenantId));
  expect([first.approved, second.approved]).toEqual([true, true]);
  const third = await h.client.reserve(shadowReserve(tenantId));
  expect(third).toMatchObject({ approved: false, reason: 'shadow_budget_exceeded', policy: null });
  if (third.approved) return;
  expect(third.message).toBe(
    `daily shadow budget of tenant '${tenantId}' exceeded: limit 25000 micro-USD, 0 spent and 20000 held since ` +
      `${new Date().toISOString().slice(0, 10)}; this shadow call may cost up to 10000 micro-USD`,
  );
  if (!first.approved) return;
  expect(
    await h.client.release({ reservationId: first.reservationId, reason: 'ended without usage' }),
  ).toMatchObject({ released: true, releasedMicroUsd: 10_000 });
  expect(await h.client.reserve(shadowReserve(tenantId))).toMatchObject({ approved: true });
  expect(await counters(tenantId)).toEqual(['shadow/day: held 20000, spent 0']);
});

it('refuses every shadow call of a tenant whose policy names no shadow route', async () => {
  expect(await h.client.reserve(shadowReserve('shadowless'))).toMatchObject({
    approved: false,
    reason: 'shadow_budget_exceeded',
    message: "tenant 'shadowless' has no shadow route in its policy: shadow calls have no budget",
  });
  expect(await counters('shadowless')).toEqual([]);
});

it.each([['yes'], [1], [null], [{}]])(
  'refuses shadow %j as an invalid request naming the field',
  async (shadow) => {
    const reply = await h.client.reserve({ ...shadowReserve('shadow-apart'), shadow } as never);
    expect(reply).toMatchObject({ approved: false, reason: 'invalid_request' });
    if (!reply.approved) expect(reply.message).toContain('shadow');
  },
);

it("never trips the tenant's cost breaker with shadow spend", async () => {
  const tenantId = 'shadow-breaker';
  await setTenantPolicy(h, tenantId, shadowPolicy(1));
  await putBudget(h, tenantId, { breakerWindowSeconds: 60, breakerMaxSpendUsd: 0.000001 });
  const held = await h.client.reserve(shadowReserve(tenantId));
  if (!held.approved) throw new Error(held.message);
  await h.client.settle({
    reservationId: held.reservationId,
    usageEventId: `shadow-${randomUUID()}`,
    model: 'sim-standard',
    usage: usage(0, 500),
  });
  const breaker = async () =>
    (await h.db.query(`SELECT count(*)::int AS n FROM breakers WHERE tenant_id = $1`, [tenantId])).rows[0].n;
  expect(await breaker()).toBe(0);
  // The same spend on a live call opens it: the check itself works.
  const live = await h.client.reserve({ ...shadowReserve(tenantId), shadow: false });
  if (!live.approved) throw new Error(live.message);
  await h.client.settle({
    reservationId: live.reservationId,
    usageEventId: `live-${randomUUID()}`,
    model: 'sim-standard',
    usage: usage(0, 500),
  });
  expect(await breaker()).toBe(1);
});

it('serves the shadow report only within the tenant, and refuses bad queries precisely', async () => {
  const ok = await ledgerHttp<{ tasksCompared: number; agreement: { rate: null } }>(
    h,
    'GET',
    '/v1/shadow/report',
    { principal: tenantAdmin('shadow-apart') },
  );
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ tasksCompared: 0, agreement: { rate: null, confidence95: null } });
  const foreign = await ledgerHttp(h, 'GET', '/v1/shadow/report?tenantId=other', {
    principal: tenantAdmin('shadow-apart'),
  });
  expect(foreign.status).toBe(403);
  for (const [query, field] of [
    ['route=Reasoning%00', 'route'],
    ['from=2026-12-02&to=2026-12-01', 'from'],
    ['from=yesterday', 'from'],
    ['limit=5', 'limit'],
  ] as const) {
    const bad = await ledgerHttp(h, 'GET', `/v1/shadow/report?${query}`, {
      principal: tenantAdmin('shadow-apart'),
    });
    expect([query, bad.status, bad.text.includes(field)]).toEqual([query, 400, true]);
  }
  const submitter = await ledgerHttp(h, 'GET', '/v1/shadow/report', {
    principal: tenantAdmin('shadow-apart', 'submitter'),
  });
  expect(submitter.status).toBe(403);
});
