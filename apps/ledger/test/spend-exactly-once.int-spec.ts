jest.setTimeout(120_000);

import { budgetBreakerOpenedEvent, uuidv7 } from '@deliberate/contracts';
import { ReservationService } from '@deliberate/ledger/reservations/reservation.service';
import { header, pollUntil, scrapeMetrics } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import {
  json,
  type LedgerHarness,
  putBudget,
  readTopic,
  setTenantPolicy,
  startLedger,
  usage,
  zeroUsage,
} from './ledger-harness';

// One hold per reservation key, every budget scope a call falls under, and settles that say more than their hold:
// the paths where the ledger's money could drift from what the provider bills.

let h: LedgerHarness;

beforeAll(async () => {
  h = await startLedger('exactly-once');
});

afterAll(async () => {
  await h?.close();
});

async function counter(tenantId: string, scope: string, scopeId: string) {
  const rows = await h.db.query<{ reserved: string; spent: string }>(
    `SELECT reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent FROM spend_counters
      WHERE tenant_id = $1 AND scope = $2 AND scope_id = $3 AND period = 'day'`,
    [tenantId, scope, scopeId],
  );
  const row = rows.rows[0];
  return { reserved: Number(row?.reserved ?? 0), spent: Number(row?.spent ?? 0) };
}

const reservationCount = async (tenantId: string) =>
  Number(
    (
      await h.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM reservations WHERE tenant_id = $1`, [
        tenantId,
      ])
    ).rows[0]!.n,
  );

describe('a reserve repeated under its reservation key', () => {
  const request = (tenantId: string, reservationKey: string, taskId = randomUUID()) => ({
    reservationKey,
    tenantId,
    taskId,
    model: 'sim-fast',
    estimatedInputTokens: 1_000,
    maxOutputTokens: 1_000,
  });

  it('answers a retry after a lost reply with the same reservation and holds once', async () => {
    const tenantId = 'key-retry';
    const req = request(tenantId, `call-${randomUUID()}`);
    const first = await h.client.reserve(req);
    expect(first).toMatchObject({ approved: true, amountMicroUsd: 750 });
    // A new request (a new correlation id) under the same key: the caller timed out and asked again.
    expect(await h.client.reserve(req)).toEqual(first);
    expect(await counter(tenantId, 'tenant', tenantId)).toEqual({ reserved: 750, spent: 0 });
    expect(await reservationCount(tenantId)).toBe(1);
  });

  it('holds once for the same key sent many times at once', async () => {
    const tenantId = 'key-race';
    const req = request(tenantId, `call-${randomUUID()}`);
    const reservations = h.apps[0]!.get(ReservationService);
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        reservations.reserve(req, { requestId: `correlation-${i}-${randomUUID()}`, ageMs: 1 }),
      ),
    );
    expect(replies[0]).toMatchObject({ approved: true, amountMicroUsd: 750 });
    for (const reply of replies) expect(reply).toEqual(replies[0]);
    expect(await counter(tenantId, 'tenant', tenantId)).toEqual({ reserved: 750, spent: 0 });
    expect(await reservationCount(tenantId)).toBe(1);
  });

  it('answers every twin with the reservation, never a denial, when the budget fits the call once', async () => {
    const tenantId = 'key-race-full';
    await putBudget(h, tenantId, { dailyLimitUsd: 0.00075 });
    const req = request(tenantId, `call-${randomUUID()}`);
    const reservations = h.apps[0]!.get(ReservationService);
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        reservations.reserve(req, { requestId: `correlation-${i}-${randomUUID()}`, ageMs: 1 }),
      ),
    );
    expect(replies[0]).toMatchObject({ approved: true, amountMicroUsd: 750 });
    for (const reply of replies) expect(reply).toEqual(replies[0]);
    expect(await counter(tenantId, 'tenant', tenantId)).toEqual({ reserved: 750, spent: 0 });
  });

  it('answers with the settled reservation after it was settled, booking nothing more', async () => {
    const tenantId = 'key-after-settle';
    const req = request(tenantId, `call-${randomUUID()}`);
    const first = await h.client.reserve(req);
    if (!first.approved) throw new Error(first.message);
    await h.client.settle({
      reservationId: first.reservationId,
      usageEventId: uuidv7(),
      model: 'sim-fast',
      usage: usage(1_000, 500),
    });
    expect(await h.client.reserve(req)).toEqual(first);
    expect(await counter(tenantId, 'tenant', tenantId)).toEqual({ reserved: 0, spent: 450 });
  });

  it('refuses a different request under a key already used, naming the key', async () => {
    const tenantId = 'key-reused';
    const key = `call-${randomUUID()}`;
    const first = await h.client.reserve(request(tenantId, key));
    expect(first).toMatchObject({ approved: true });
    const other = await h.client.reserve({ ...request(tenantId, key), maxOutputTokens: 2_000 });
    expect(other).toMatchObject({ approved: false, reason: 'invalid_request', policy: null });
    if (other.approved) throw new Error('approved');
    expect(other.message).toContain(key);
    expect(await counter(tenantId, 'tenant', tenantId)).toEqual({ reserved: 750, spent: 0 });
  });

  it('keeps keys apart per tenant', async () => {
    const key = `call-${randomUUID()}`;
    const a = await h.client.reserve(request('key-tenant-a', key));
    const b = await h.client.reserve(request('key-tenant-b', key));
    expect(a).toMatchObject({ approved: true });
    expect(b).toMatchObject({ approved: true });
    if (!a.approved || !b.approved) throw new Error('denied');
    expect(b.reservationId).not.toBe(a.reservationId);
  });
});

describe('budgets per API key and per project', () => {
  // sim-reasoner output is 8 USD per 1M tokens: 250 tokens are 2,000 micro-USD.
  const call = (tenantId: string, over: { apiKeyId?: string; project?: string }) => ({
    tenantId,
    taskId: randomUUID(),
    model: 'sim-reasoner',
    estimatedInputTokens: 0,
    maxOutputTokens: 250,
    ...over,
  });

  it("refuses a call over its key's budget while the tenant still has room, naming the key", async () => {
    const tenantId = 'scoped-key';
    await putBudget(h, tenantId, { dailyLimitUsd: 1 });
    await putBudget(h, tenantId, { scope: 'api_key', scopeId: 'key-a', dailyLimitUsd: 0.003 });
    expect(await h.client.reserve(call(tenantId, { apiKeyId: 'key-a' }))).toMatchObject({ approved: true });
    const denied = await h.client.reserve(call(tenantId, { apiKeyId: 'key-a' }));
    expect(denied).toMatchObject({ approved: false, reason: 'budget_exceeded' });
    if (denied.approved) throw new Error('approved');
    expect(denied.message).toContain("API key 'key-a'");
    expect(await h.client.reserve(call(tenantId, { apiKeyId: 'key-b' }))).toMatchObject({ approved: true });
  });

  it("refuses a call over its project's budget while the tenant still has room, naming the project", async () => {
    const tenantId = 'scoped-project';
    await putBudget(h, tenantId, { dailyLimitUsd: 1 });
    await putBudget(h, tenantId, { scope: 'project', scopeId: 'apollo', dailyLimitUsd: 0.003 });
    expect(await h.client.reserve(call(tenantId, { project: 'apollo' }))).toMatchObject({ approved: true });
    const denied = await h.client.reserve(call(tenantId, { project: 'apollo', apiKeyId: 'key-a' }));
    expect(denied).toMatchObject({ approved: false, reason: 'budget_exceeded' });
    if (denied.approved) throw new Error('approved');
    expect(denied.message).toContain("project 'apollo'");
    expect(await h.client.reserve(call(tenantId, { project: 'gemini' }))).toMatchObject({ approved: true });
  });

  it('never lets concurrent reserves through two keys overspend their project', async () => {
    const tenantId = 'scoped-race';
    // Room for exactly 10 calls in the project; each key alone could take 20.
    await putBudget(h, tenantId, { scope: 'project', scopeId: 'apollo', dailyLimitUsd: 0.02 });
    await putBudget(h, tenantId, { scope: 'api_key', scopeId: 'key-a', dailyLimitUsd: 0.04 });
    await putBudget(h, tenantId, { scope: 'api_key', scopeId: 'key-b', dailyLimitUsd: 0.04 });
    const reservations = h.apps[0]!.get(ReservationService);
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        reservations.reserve(call(tenantId, { project: 'apollo', apiKeyId: i % 2 ? 'key-a' : 'key-b' })),
      ),
    );
    expect(replies.filter((r) => r.approved)).toHaveLength(10);
    expect(replies.filter((r) => !r.approved && r.reason === 'budget_exceeded')).toHaveLength(30);
    expect(await counter(tenantId, 'project', 'apollo')).toEqual({ reserved: 20_000, spent: 0 });
    const keyA = await counter(tenantId, 'api_key', 'key-a');
    const keyB = await counter(tenantId, 'api_key', 'key-b');
    expect(keyA.reserved + keyB.reserved).toBe(20_000);
  });

  it('counts spend per key and project, and records both on the booking', async () => {
    const tenantId = 'scoped-spend';
    // No budget for the key or the project yet: their spend is still counted, for a budget set later.
    const r = await h.client.reserve(call(tenantId, { apiKeyId: 'key-c', project: 'hermes' }));
    if (!r.approved) throw new Error(r.message);
    const usageEventId = uuidv7();
    await h.client.settle({
      reservationId: r.reservationId,
      usageEventId,
      model: 'sim-reasoner',
      usage: usage(0, 100),
    });
    expect(await counter(tenantId, 'api_key', 'key-c')).toEqual({ reserved: 0, spent: 800 });
    expect(await counter(tenantId, 'project', 'hermes')).toEqual({ reserved: 0, spent: 800 });
    const booking = await h.db.query<{ api_key_id: string; project: string }>(
      `SELECT api_key_id, project FROM bookings WHERE event_id = $1`,
      [usageEventId],
    );
    expect(booking.rows).toEqual([{ api_key_id: 'key-c', project: 'hermes' }]);
  });
});

describe("what a denial asks the caller to do: the tenant policy's onBudgetDenied", () => {
  const call = (tenantId: string) => ({
    tenantId,
    taskId: randomUUID(),
    model: 'sim-reasoner',
    estimatedInputTokens: 0,
    maxOutputTokens: 250,
  });

  it('is fail for a tenant that never set a policy', async () => {
    const tenantId = 'policy-default';
    await putBudget(h, tenantId, { dailyLimitUsd: 0.001 });
    expect(await h.client.reserve(call(tenantId))).toMatchObject({
      approved: false,
      reason: 'budget_exceeded',
      policy: 'fail',
    });
  });

  it("follows the tenant's policy, and its change, on a budget denial and an open breaker", async () => {
    const tenantId = 'policy-human';
    await setTenantPolicy(h, tenantId, { onBudgetDenied: 'human' });
    await putBudget(h, tenantId, { scope: 'project', scopeId: 'apollo', dailyLimitUsd: 0.001 });
    expect(await h.client.reserve({ ...call(tenantId), project: 'apollo' })).toMatchObject({
      approved: false,
      reason: 'budget_exceeded',
      policy: 'human',
    });
    await setTenantPolicy(h, tenantId, { onBudgetDenied: 'route_cheap' });
    expect(await h.client.reserve({ ...call(tenantId), project: 'apollo' })).toMatchObject({
      policy: 'route_cheap',
    });

    // A call over its hold opens the breaker: its event and the denials carry the policy too.
    const r = await h.client.reserve(call(tenantId));
    if (!r.approved) throw new Error(r.message);
    await h.client.settle({
      reservationId: r.reservationId,
      usageEventId: uuidv7(),
      model: 'sim-reasoner',
      usage: usage(0, 500),
    });
    const [opened] = await pollUntil(
      async () =>
        (await readTopic(h.topic(budgetBreakerOpenedEvent.topic)))
          .filter((m) => header(m, 'ce_tenantid') === tenantId)
          .map(json),
      (e) => e.length === 1,
      { what: 'the breaker to open' },
    );
    expect(opened).toMatchObject({ reason: 'exceeded_hold', policy: 'route_cheap' });
    await setTenantPolicy(h, tenantId, { onBudgetDenied: 'fail' });
    expect(await h.client.reserve(call(tenantId))).toMatchObject({
      approved: false,
      reason: 'breaker_open',
      policy: 'fail',
    });
  });
});

describe('a settle that says more than its hold', () => {
  const breakerEvents = async (tenantId: string) =>
    (await readTopic(h.topic(budgetBreakerOpenedEvent.topic)))
      .filter((m) => header(m, 'ce_tenantid') === tenantId)
      .map(json);

  it('books the full actual cost, flags the excess and opens the tenant breaker saying why', async () => {
    const tenantId = 'over-hold';
    const r = await h.client.reserve({
      tenantId,
      taskId: randomUUID(),
      model: 'sim-fast',
      estimatedInputTokens: 1_000,
      maxOutputTokens: 1_000,
    });
    if (!r.approved) throw new Error(r.message);
    const usageEventId = uuidv7();
    // 4,000 input and 2,000 output tokens: 600 + 1,200 = 1,800 micro-USD against a 750 hold.
    const reply = await h.client.settle({
      reservationId: r.reservationId,
      usageEventId,
      model: 'sim-fast',
      usage: usage(4_000, 2_000),
    });
    expect(reply).toMatchObject({ booked: true, costMicroUsd: 1_800, releasedMicroUsd: 0 });
    expect(reply.message).toContain('exceeded its hold');
    expect(await counter(tenantId, 'tenant', tenantId)).toEqual({ reserved: 0, spent: 1_800 });
    const booking = await h.db.query<{ cost: string; excess: string | null; aborted: boolean }>(
      `SELECT cost_micro_usd::text AS cost, exceeded_hold_micro_usd::text AS excess, aborted
         FROM bookings WHERE event_id = $1`,
      [usageEventId],
    );
    expect(booking.rows).toEqual([{ cost: '1800', excess: '1050', aborted: false }]);

    const [opened] = await pollUntil(
      () => breakerEvents(tenantId),
      (e) => e.length === 1,
      { what: 'the breaker to open on the excess' },
    );
    expect(opened).toMatchObject({ reason: 'exceeded_hold' });
    expect(opened!['message']).toContain(r.reservationId);
    expect(
      await h.client.reserve({
        tenantId,
        taskId: randomUUID(),
        model: 'sim-fast',
        estimatedInputTokens: 1,
        maxOutputTokens: 1,
      }),
    ).toMatchObject({
      approved: false,
      reason: 'breaker_open',
    });
  });
});

describe('an aborted call', () => {
  const reserve = async (tenantId: string) => {
    const r = await h.client.reserve({
      tenantId,
      taskId: randomUUID(),
      model: 'sim-fast',
      estimatedInputTokens: 1_000,
      maxOutputTokens: 1_000,
    });
    if (!r.approved) throw new Error(r.message);
    return r;
  };
  const bookingOf = async (usageEventId: string) =>
    (
      await h.db.query<{ cost: string; aborted: boolean; excess: string | null }>(
        `SELECT cost_micro_usd::text AS cost, aborted, exceeded_hold_micro_usd::text AS excess
           FROM bookings WHERE event_id = $1`,
        [usageEventId],
      )
    ).rows;

  it('without reported usage is booked at its hold, flagged aborted, and a retry books nothing more', async () => {
    const tenantId = 'aborted-blind';
    const r = await reserve(tenantId);
    const settle = {
      reservationId: r.reservationId,
      usageEventId: uuidv7(),
      model: 'sim-fast',
      usage: zeroUsage,
      aborted: true,
    };
    expect(await h.client.settle(settle)).toMatchObject({
      booked: true,
      costMicroUsd: 750,
      releasedMicroUsd: 0,
    });
    expect(await h.client.settle(settle)).toMatchObject({ booked: true, costMicroUsd: 750 });
    expect(await bookingOf(settle.usageEventId)).toEqual([{ cost: '750', aborted: true, excess: null }]);
    expect(await counter(tenantId, 'tenant', tenantId)).toEqual({ reserved: 0, spent: 750 });
  });

  it('with reported usage is booked at that usage', async () => {
    const tenantId = 'aborted-reported';
    const r = await reserve(tenantId);
    const usageEventId = uuidv7();
    expect(
      await h.client.settle({
        reservationId: r.reservationId,
        usageEventId,
        model: 'sim-fast',
        usage: usage(1_000, 100),
        aborted: true,
      }),
    ).toMatchObject({ booked: true, costMicroUsd: 210, releasedMicroUsd: 540 });
    expect(await bookingOf(usageEventId)).toEqual([{ cost: '210', aborted: false, excess: null }]);
    expect(await counter(tenantId, 'tenant', tenantId)).toEqual({ reserved: 0, spent: 210 });
  });
});

describe('the ledger metrics on GET /metrics', () => {
  const tenant = (tenantId: string) => ({ deliberate_tenant_id: tenantId });
  const reserveCall = (tenantId: string, reservationKey: string | null = null, taskId = randomUUID()) =>
    h.client.reserve({
      tenantId,
      taskId,
      model: 'sim-fast',
      estimatedInputTokens: 1_000,
      maxOutputTokens: 1_000,
      reservationKey,
    });

  it('hold a reservation until it settles, and add its cost to spend once however often it is booked', async () => {
    const tenantId = 'metrics-spend';
    const before = await scrapeMetrics(h.url);
    expect(before.has('deliberate_ledger_held', tenant(tenantId))).toBe(false);
    const r = await reserveCall(tenantId);
    if (!r.approved) throw new Error(r.message);
    const holding = await scrapeMetrics(h.url);
    expect(holding.value('deliberate_ledger_held', tenant(tenantId))).toBeCloseTo(0.00075, 12);
    expect(holding.value('deliberate_ledger_spend_total', tenant(tenantId))).toBe(0);

    // The same settle twice, then its usage event under the same id: one booking of 450 micro-USD.
    const usageEventId = uuidv7();
    const settle = {
      reservationId: r.reservationId,
      usageEventId,
      model: 'sim-fast',
      usage: usage(1_000, 500),
    };
    expect(await h.client.settle(settle)).toMatchObject({ booked: true, costMicroUsd: 450 });
    expect(await h.client.settle(settle)).toMatchObject({ booked: true, costMicroUsd: 450 });
    await h.publishUsage({
      id: usageEventId,
      tenantId,
      model: 'sim-fast',
      usage: usage(1_000, 500),
      reservationId: r.reservationId,
    });
    await pollUntil(
      async () =>
        (
          await h.db.query<{ call_id: string | null }>(`SELECT call_id FROM bookings WHERE event_id = $1`, [
            usageEventId,
          ])
        ).rows[0]?.call_id ?? null,
      (callId) => callId !== null,
      { what: 'the usage event to add its attribution to the settled booking' },
    );

    const after = await scrapeMetrics(h.url);
    expect(after.value('deliberate_ledger_spend_total', tenant(tenantId))).toBeCloseTo(0.00045, 12);
    // Nothing held any more: the tenant's series reads 0.
    expect(after.value('deliberate_ledger_held', tenant(tenantId))).toBe(0);
    // Spend is labelled by tenant only.
    for (const sample of after.find('deliberate_ledger_spend_total'))
      expect(Object.keys(sample.labels)).toEqual(['deliberate_tenant_id']);
  });

  it('count each denial under its reason, and never a retry answered with its earlier reservation', async () => {
    const tenantId = 'metrics-denied';
    // Room for one call of 750 micro-USD.
    await putBudget(h, tenantId, { dailyLimitUsd: 0.001 });
    const before = await scrapeMetrics(h.url);
    const key = `call-${randomUUID()}`;
    const taskId = randomUUID();
    expect(await reserveCall(tenantId, key, taskId)).toMatchObject({ approved: true });
    // The retry under its key finds the budget full, yet is answered with the reservation: not a denial.
    expect(await reserveCall(tenantId, key, taskId)).toMatchObject({ approved: true });
    expect(await reserveCall(tenantId)).toMatchObject({ approved: false, reason: 'budget_exceeded' });
    expect(await reserveCall(tenantId)).toMatchObject({ approved: false, reason: 'budget_exceeded' });
    expect(
      await h.client.reserve({
        tenantId,
        taskId: randomUUID(),
        model: 'no-such-model',
        estimatedInputTokens: 1,
        maxOutputTokens: 1,
      }),
    ).toMatchObject({ approved: false, reason: 'no_price' });

    const after = await scrapeMetrics(h.url);
    const denials = (reason: string) =>
      after.value('deliberate_ledger_reservation_denials_total', { reason }) -
      before.value('deliberate_ledger_reservation_denials_total', { reason });
    expect(denials('budget_exceeded')).toBe(2);
    expect(denials('no_price')).toBe(1);
    expect(denials('breaker_open')).toBe(0);
    expect(after.value('deliberate_ledger_held', tenant(tenantId))).toBeCloseTo(0.00075, 12);
  });

  it("show a tenant's open breaker, and book the cost that opened it in full", async () => {
    const tenantId = 'metrics-breaker';
    const before = await scrapeMetrics(h.url);
    expect(before.has('deliberate_ledger_breaker_open', tenant(tenantId))).toBe(false);
    const r = await reserveCall(tenantId);
    if (!r.approved) throw new Error(r.message);
    // 1,800 micro-USD against a hold of 750: booked in full, and the breaker opens.
    expect(
      await h.client.settle({
        reservationId: r.reservationId,
        usageEventId: uuidv7(),
        model: 'sim-fast',
        usage: usage(4_000, 2_000),
      }),
    ).toMatchObject({ booked: true, costMicroUsd: 1_800 });
    expect(await reserveCall(tenantId)).toMatchObject({ approved: false, reason: 'breaker_open' });

    const after = await scrapeMetrics(h.url);
    expect(after.find('deliberate_ledger_breaker_open', tenant(tenantId))).toEqual([
      { name: 'deliberate_ledger_breaker_open', labels: tenant(tenantId), value: 1 },
    ]);
    expect(after.value('deliberate_ledger_spend_total', tenant(tenantId))).toBeCloseTo(0.0018, 12);
    expect(
      after.value('deliberate_ledger_reservation_denials_total', { reason: 'breaker_open' }) -
        before.value('deliberate_ledger_reservation_denials_total', { reason: 'breaker_open' }),
    ).toBe(1);
  });
});
