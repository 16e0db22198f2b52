jest.setTimeout(120_000);

import {
  budgetThresholdCrossedEvent,
  deadLetterTopic,
  LEDGER_PATTERNS,
  modelCallRecordedEvent,
  uuidv7,
} from '@deliberate/contracts';
import { LedgerRequestError } from '@deliberate/ledger-client';
import { header, pollUntil, TEST_KAFKA_BROKERS } from '@deliberate/testing';
import { ClientKafka } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, timeout } from 'rxjs';
import { createLedgerApp } from '@deliberate/ledger/create-ledger-app';
import { ReservationService } from '@deliberate/ledger/reservations/reservation.service';
import { UsageBookingService } from '@deliberate/ledger/bookings/usage-booking.service';
import {
  json,
  ledgerHttp,
  type LedgerHarness,
  putBudget,
  readTopic,
  startLedger,
  tenantAdmin,
  usage,
  zeroUsage,
} from './ledger-harness';

// Reserve, settle, release, expiry, usage booking and its failure paths, on the real broker and Postgres.

let h: LedgerHarness;

// Overrides one seeded price and adds a model the catalogue does not know.
const CONFIGURED_PRICES = [
  { model: 'gpt-4o-mini', inputMicroUsdPerMTokens: 200_000, outputMicroUsdPerMTokens: 700_000 },
  { model: 'acme-llm', inputMicroUsdPerMTokens: 1_000_000, outputMicroUsdPerMTokens: 3_000_000 },
  {
    model: 'acme-llm',
    serviceTier: 'flex',
    inputMicroUsdPerMTokens: 400_000,
    outputMicroUsdPerMTokens: 1_000_000,
  },
];

beforeAll(async () => {
  h = await startLedger('lifecycle', { env: { LEDGER_PRICES: JSON.stringify(CONFIGURED_PRICES) } });
});

afterAll(async () => {
  await h?.close();
});

async function counters(tenantId: string) {
  const rows = await h.db.query<{ period: string; reserved: string; spent: string }>(
    `SELECT period, reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent FROM spend_counters
      WHERE tenant_id = $1 AND scope = 'tenant' ORDER BY period`,
    [tenantId],
  );
  return Object.fromEntries(
    rows.rows.map((r) => [r.period, { reserved: Number(r.reserved), spent: Number(r.spent) }]),
  ) as Record<'day' | 'month', { reserved: number; spent: number } | undefined>;
}

async function bookings(where: string, params: unknown[]) {
  const rows = await h.db.query<Record<string, string | null>>(
    `SELECT event_id, tenant_id, model, tier, purpose, outcome, input_tokens::text, cached_input_tokens::text,
            output_tokens::text, reasoning_tokens::text, cost_micro_usd::text, price_id::text, source
       FROM bookings WHERE ${where} ORDER BY id`,
    params,
  );
  return rows.rows;
}

const dlqReasons = async (tenantId: string) =>
  (await readTopic(h.topic(deadLetterTopic(modelCallRecordedEvent.topic))))
    .filter((m) => header(m, 'ce_tenantid') === tenantId)
    .map((m) => header(m, 'dlq_reason'));

describe('a caller that crashes between reserve and settle', () => {
  it('has its hold released by the sweeper, after which the full budget can be reserved again', async () => {
    const tenantId = 'crashy';
    // sim-fast output is 0.60 USD per 1M tokens: 12,500 tokens fill a 7,500 micro-USD budget exactly.
    await putBudget(h, tenantId, { dailyLimitUsd: 0.0075 });
    const held = await h.client.reserve({
      tenantId,
      taskId: randomUUID(),
      model: 'sim-fast',
      estimatedInputTokens: 0,
      maxOutputTokens: 1_250,
      ttlMs: 1_000,
    });
    expect(held).toMatchObject({ approved: true, amountMicroUsd: 750 });

    const full = { tenantId, model: 'sim-fast', estimatedInputTokens: 0, maxOutputTokens: 12_500 };
    expect(await h.client.reserve({ ...full, taskId: randomUUID() })).toMatchObject({
      approved: false,
      reason: 'budget_exceeded',
    });

    // Never settled: after its ttl the sweeper gives the hold back.
    await pollUntil(
      () => counters(tenantId),
      (c) => c.day?.reserved === 0,
      { timeoutMs: 10_000, what: 'the expired hold to be released' },
    );
    const row = await h.db.query<{ status: string }>(`SELECT status FROM reservations WHERE id = $1`, [
      held.approved ? held.reservationId : null,
    ]);
    expect(row.rows[0]!.status).toBe('expired');
    expect(await h.client.reserve({ ...full, taskId: randomUUID() })).toMatchObject({
      approved: true,
      amountMicroUsd: 7_500,
    });
  });
});

describe('settle', () => {
  it('still books a call whose hold expired before it reported, without releasing anything twice', async () => {
    const tenantId = 'latecomer';
    const r = await h.client.reserve({
      tenantId,
      taskId: randomUUID(),
      model: 'sim-fast',
      estimatedInputTokens: 1_000,
      maxOutputTokens: 1_000,
      ttlMs: 1_000,
    });
    if (!r.approved) throw new Error(r.message);
    await pollUntil(
      () => counters(tenantId),
      (c) => c.day?.reserved === 0,
      { timeoutMs: 10_000, what: 'the hold to expire' },
    );
    const reply = await h.client.settle({
      reservationId: r.reservationId,
      usageEventId: uuidv7(),
      model: 'sim-fast',
      usage: usage(1_000, 500),
    });
    expect(reply).toMatchObject({ booked: true, costMicroUsd: 450, releasedMicroUsd: 0 });
    expect(reply.message).toContain('already expired');
    expect(await counters(tenantId)).toMatchObject({ day: { reserved: 0, spent: 450 } });
  });

  it('books the actual cost, releases the rest, and publishes each soft threshold once', async () => {
    const tenantId = 'settler';
    await putBudget(h, tenantId, { dailyLimitUsd: 0.01, softThresholdPercents: [50, 90] });
    const taskId = randomUUID();
    const reserve = (estimatedInputTokens: number, maxOutputTokens: number) =>
      h.client.reserve({ tenantId, taskId, model: 'sim-reasoner', estimatedInputTokens, maxOutputTokens });

    // sim-reasoner: 2 USD/M input, 8 USD/M output. 1000 in + 500 out = 6,000 micro-USD: 60 % held, past 50 %.
    const a = await reserve(1_000, 500);
    if (!a.approved) throw new Error(`not approved: ${a.message}`);
    expect(a.amountMicroUsd).toBe(6_000);

    const usageEventId = uuidv7();
    // 800 uncached * 2 + 200 cached * 0.5 + 100 visible * 8 + 300 reasoning * 8 = 4,900 micro-USD.
    const settle = {
      reservationId: a.reservationId,
      usageEventId,
      model: 'sim-reasoner',
      usage: usage(1_000, 400, 200, 300),
    };
    expect(await h.client.settle(settle)).toEqual({
      booked: true,
      costMicroUsd: 4_900,
      releasedMicroUsd: 1_100,
      message: null,
    });
    expect(await counters(tenantId)).toMatchObject({ day: { reserved: 0, spent: 4_900 } });
    // A retried settle answers the same and books nothing more.
    expect(await h.client.settle(settle)).toMatchObject({
      booked: true,
      costMicroUsd: 4_900,
      releasedMicroUsd: 1_100,
    });

    // The call's usage event arrives later with the same id: nothing more is booked, its attribution is added.
    await h.publishUsage({
      id: usageEventId,
      tenantId,
      taskId,
      model: 'sim-reasoner',
      usage: usage(1_000, 400, 200, 300),
      tier: 'reasoning',
      purpose: 'reason',
      reservationId: a.reservationId,
    });
    await pollUntil(
      () => bookings('event_id = $1', [usageEventId]),
      (rows) => rows[0]?.['tier'] === 'reasoning',
      { what: 'the usage event to add its attribution' },
    );
    expect(await bookings('tenant_id = $1', [tenantId])).toHaveLength(1);
    expect(await counters(tenantId)).toMatchObject({ day: { reserved: 0, spent: 4_900 } });

    // 4,900 spent + 6,000 would pass the 10,000 limit: spend and holds count together.
    expect(await reserve(1_000, 500)).toMatchObject({ approved: false, reason: 'budget_exceeded' });
    expect(await reserve(1_000, 250)).toMatchObject({ approved: true, amountMicroUsd: 4_000 }); // 89 %
    expect(await reserve(0, 125)).toMatchObject({ approved: true, amountMicroUsd: 1_000 }); // 99 %: past 90 %

    const crossed = (await readTopic(h.topic(budgetThresholdCrossedEvent.topic)))
      .filter((m) => header(m, 'ce_tenantid') === tenantId)
      .map(json);
    expect(crossed.map((e) => e['thresholdPercent']).sort()).toEqual([50, 90]);
    expect(crossed[0]).toMatchObject({
      scope: 'tenant',
      scopeId: tenantId,
      period: 'day',
      limitMicroUsd: 10_000,
    });
  });

  it('release frees the hold once, and answers a retry the same way', async () => {
    const tenantId = 'releaser';
    const r = await h.client.reserve({
      tenantId,
      taskId: randomUUID(),
      model: 'sim-standard',
      estimatedInputTokens: 100,
      maxOutputTokens: 100,
    });
    if (!r.approved) throw new Error(r.message);
    expect(await counters(tenantId)).toMatchObject({ day: { reserved: r.amountMicroUsd } });
    const release = { reservationId: r.reservationId, reason: 'the call was cancelled' };
    expect(await h.client.release(release)).toEqual({ released: true, releasedMicroUsd: r.amountMicroUsd });
    expect(await h.client.release(release)).toEqual({ released: true, releasedMicroUsd: r.amountMicroUsd });
    expect(await counters(tenantId)).toMatchObject({ day: { reserved: 0, spent: 0 } });
    expect(await h.client.release({ reservationId: randomUUID(), reason: 'unknown' })).toEqual({
      released: false,
      releasedMicroUsd: 0,
    });
  });

  it('holds once for a request delivered twice (a rebalance or a producer retry), answering both the same', async () => {
    const tenantId = 'redelivered';
    const reservations = h.apps[0]!.get(ReservationService);
    const request = {
      tenantId,
      taskId: randomUUID(),
      model: 'sim-fast',
      estimatedInputTokens: 1_000,
      maxOutputTokens: 1_000,
    };
    const delivery = { requestId: `correlation-${randomUUID()}`, ageMs: 5 };
    const [first, second] = await Promise.all([
      reservations.reserve(request, delivery),
      reservations.reserve(request, delivery),
    ]);
    expect(first).toMatchObject({ approved: true, amountMicroUsd: 750 });
    expect(second).toEqual(first);
    expect(await reservations.reserve(request, delivery)).toEqual(first);
    expect(await counters(tenantId)).toMatchObject({ day: { reserved: 750 } });
    // A request its caller gave up on long ago takes no hold.
    expect(await reservations.reserve(request, { requestId: null, ageMs: 60_000 })).toMatchObject({
      approved: false,
      reason: 'ledger_unavailable',
    });
  });

  it('denies a call that would pass the task ceiling', async () => {
    const reply = await h.client.reserve({
      tenantId: 'ceiling',
      taskId: randomUUID(),
      model: 'sim-standard',
      estimatedInputTokens: 1_000,
      maxOutputTokens: 1_000,
      taskCeilingMicroUsd: 5_000,
    });
    expect(reply).toMatchObject({ approved: false, reason: 'task_ceiling_exceeded', policy: null });
  });
});

describe('usage events', () => {
  it('books a replayed event once, and dead-letters the same id with a different amount', async () => {
    const tenantId = 'replayer';
    const id = uuidv7();
    const event = {
      id,
      tenantId,
      model: 'sim-fast',
      usage: usage(1_000, 1_000),
      tier: 'fast' as const,
      purpose: 'classify',
    };
    await h.publishUsage(event);
    await h.publishUsage(event);
    await h.publishUsage({ ...event, usage: usage(1_000, 2_000) });

    const reasons = await pollUntil(
      () => dlqReasons(tenantId),
      (r) => r.length >= 1,
      { what: 'the conflicting replay to be dead-lettered' },
    );
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain(`usage event ${id} is already booked with a different amount or model`);
    const rows = await bookings('tenant_id = $1', [tenantId]);
    expect(rows).toEqual([expect.objectContaining({ event_id: id, cost_micro_usd: '750', source: 'event' })]);
    expect(await counters(tenantId)).toMatchObject({
      day: { spent: 750, reserved: 0 },
      month: { spent: 750 },
    });
  });

  // The usual order is a settle, then the call's usage event under the same id, which only adds its attribution.
  async function settledCall(tenantId: string) {
    const reserved = await h.client.reserve({
      tenantId,
      taskId: randomUUID(),
      model: 'sim-fast',
      estimatedInputTokens: 1_000,
      maxOutputTokens: 1_000,
    });
    if (!reserved.approved) throw new Error(reserved.message);
    const eventId = uuidv7();
    const settled = await h.client.settle({
      reservationId: reserved.reservationId,
      usageEventId: eventId,
      model: 'sim-fast',
      usage: usage(1_000, 500),
    });
    expect(settled).toMatchObject({ booked: true, costMicroUsd: 450 });
    return { eventId, reservationId: reserved.reservationId };
  }

  it("adds a settled call's attribution once when its usage event arrives many times at once", async () => {
    const tenantId = 'echoes';
    const { eventId, reservationId } = await settledCall(tenantId);
    const booking = h.apps[0]!.get(UsageBookingService);
    const copy = (callId: string) => ({
      eventId,
      tenantId,
      taskId: null,
      reservationId,
      callId,
      model: 'sim-fast',
      tier: 'fast',
      purpose: 'classify',
      outcome: 'ok',
      usage: usage(1_000, 500),
      serviceTier: 'default' as const,
      calledAt: new Date(),
      source: 'event' as const,
      aborted: false,
    });
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => booking.book(copy(`call-${i}`))));
    expect(outcomes.map((o) => o.kind)).toEqual(Array(8).fill('duplicate'));
    const rows = await h.db.query<{ n: string; call_id: string; tier: string; purpose: string }>(
      `SELECT count(*) OVER ()::text AS n, call_id, tier, purpose FROM bookings WHERE tenant_id = $1`,
      [tenantId],
    );
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]).toMatchObject({ tier: 'fast', purpose: 'classify' });
    expect(rows.rows[0]!.call_id).toMatch(/^call-[0-7]$/);
    expect(await counters(tenantId)).toMatchObject({
      day: { spent: 450, reserved: 0 },
      month: { spent: 450, reserved: 0 },
    });
  });

  it("dead-letters a usage event under a settled call's id that names another tenant, leaving the booking as it was", async () => {
    const owner = 'rightful';
    const intruder = 'intruder';
    const { eventId } = await settledCall(owner);
    // Same id, model and usage: only the tenant differs, so it is no replay of the call that was booked.
    await h.publishUsage({ id: eventId, tenantId: intruder, model: 'sim-fast', usage: usage(1_000, 500) });
    const reasons = await pollUntil(
      () => dlqReasons(intruder),
      (r) => r.length >= 1,
      { what: 'the foreign replay to be dead-lettered' },
    );
    expect(reasons[0]).toContain(`usage event ${eventId} is already booked with a different amount or model`);
    expect(reasons[0]).toContain(`for tenant ${owner}`);
    expect(await bookings('event_id = $1', [eventId])).toEqual([
      expect.objectContaining({ tenant_id: owner, cost_micro_usd: '450', tier: null, purpose: null }),
    ]);
    expect(await bookings('tenant_id = $1', [intruder])).toEqual([]);
    expect(await counters(intruder)).toEqual({});
    expect(await counters(owner)).toMatchObject({ day: { spent: 450, reserved: 0 } });
  });

  it('prices reasoning tokens once and stores the cost, the token counts and the price version', async () => {
    const tenantId = 'thinker';
    const id = await h.publishUsage({
      tenantId,
      // A dated snapshot name is priced as its model.
      model: 'sim-reasoner-2026',
      usage: usage(10_000, 5_000, 4_000, 3_000),
    });
    const [row] = await pollUntil(
      () => bookings('event_id = $1', [id]),
      (r) => r.length === 1,
      { what: 'the reasoning call to be booked' },
    );
    const price = await h.db.query<{ id: string }>(
      `SELECT id::text FROM prices WHERE model = 'sim-reasoner'`,
    );
    // 6000 uncached * 2 + 4000 cached * 0.5 + 2000 visible * 8 + 3000 reasoning * 8 = 54,000 (not 78,000).
    expect(row).toMatchObject({
      model: 'sim-reasoner-2026',
      input_tokens: '10000',
      cached_input_tokens: '4000',
      output_tokens: '5000',
      reasoning_tokens: '3000',
      cost_micro_usd: '54000',
      price_id: price.rows[0]!.id,
    });
  });

  it('books unreserved usage even past the budget: the money is already spent', async () => {
    const tenantId = 'overspender';
    await putBudget(h, tenantId, { dailyLimitUsd: 0.0005 });
    const id = await h.publishUsage({ tenantId, model: 'sim-fast', usage: usage(0, 1_000), tier: 'fast' });
    await pollUntil(
      () => bookings('event_id = $1', [id]),
      (r) => r.length === 1,
    );
    expect(await counters(tenantId)).toMatchObject({ day: { spent: 600, reserved: 0 } });
  });

  it('counts a failed call that consumed nothing as a zero-cost booking', async () => {
    const id = await h.publishUsage({
      tenantId: 'failing',
      model: 'sim-standard',
      usage: zeroUsage,
      outcome: 'error',
    });
    const [row] = await pollUntil(
      () => bookings('event_id = $1', [id]),
      (r) => r.length === 1,
    );
    expect(row).toMatchObject({ outcome: 'error', cost_micro_usd: '0' });
  });
});

describe('budgets per API key', () => {
  it("limit the calls made with that key, naming the key's budget in the denial", async () => {
    const tenantId = 'keyed';
    await ledgerHttp(h, 'PUT', '/v1/ledger/budgets', {
      principal: tenantAdmin(tenantId),
      body: { scope: 'api_key', scopeId: 'key-small', dailyLimitUsd: 0.001 },
    });
    const call = { tenantId, model: 'sim-reasoner', estimatedInputTokens: 0, maxOutputTokens: 250 }; // 2,000
    expect(await h.client.reserve({ ...call, taskId: randomUUID(), apiKeyId: 'key-small' })).toMatchObject({
      approved: false,
      reason: 'budget_exceeded',
      message: expect.stringContaining("daily budget of API key 'key-small' exceeded"),
    });
    expect(await h.client.reserve({ ...call, taskId: randomUUID(), apiKeyId: 'key-large' })).toMatchObject({
      approved: true,
    });
  });
});

describe('the price catalogue', () => {
  it('adds LEDGER_PRICES as new versions at start, once, however many instances start', async () => {
    const versions = async () =>
      (
        await h.db.query<{ model: string; tier: string; input: string; source: string; from: string }>(
          `SELECT model, service_tier AS tier, input_micro_usd_per_mtok::text AS input, source,
                  effective_from::text AS from FROM prices
            WHERE model = ANY($1::text[]) ORDER BY model, service_tier, effective_from`,
          [CONFIGURED_PRICES.map((p) => p.model)],
        )
      ).rows;
    const first = await versions();
    expect(first.map((v) => [v.model, v.tier, v.input, v.source])).toEqual([
      ['acme-llm', 'default', '1000000', 'config'],
      ['acme-llm', 'flex', '400000', 'config'],
      ['gpt-4o-mini', 'default', '150000', 'seed'],
      ['gpt-4o-mini', 'default', '200000', 'config'],
    ]);
    // A new model's first price covers all time; a changed price applies from the start that brought it.
    expect(first[0]!.from).toMatch(/^1970-01-01/);

    const second = await createLedgerApp(h.config);
    await second.close();
    expect(await versions()).toEqual(first);

    // 1000 in * 1 + 1000 out * 3 (reasoning defaults to the output price) = 4,000 micro-USD.
    expect(
      await h.client.reserve({
        tenantId: 'catalogued',
        taskId: randomUUID(),
        model: 'acme-llm',
        estimatedInputTokens: 1_000,
        maxOutputTokens: 1_000,
      }),
    ).toMatchObject({ approved: true, amountMicroUsd: 4_000 });
  });
});

describe('service tiers', () => {
  const reserveAt = (tenantId: string, model: string, serviceTier: 'default' | 'flex') =>
    h.client.reserve({
      tenantId,
      taskId: randomUUID(),
      model,
      serviceTier,
      estimatedInputTokens: 1_000,
      maxOutputTokens: 1_000,
    });

  it('holds a flex call at the flex price, and a model without one at its default price', async () => {
    // acme-llm at flex: 1000 in * 0.4 + 1000 out * 1 = 1,400 micro-USD; at default 4,000.
    expect(await reserveAt('tiers', 'acme-llm', 'flex')).toMatchObject({
      approved: true,
      amountMicroUsd: 1_400,
    });
    expect(await reserveAt('tiers', 'acme-llm', 'default')).toMatchObject({
      approved: true,
      amountMicroUsd: 4_000,
    });
    // gpt-4.1 has no flex price: 1000 in * 2 + 1000 out * 8 = 10,000, never less than the provider may bill.
    expect(await reserveAt('tiers', 'gpt-4.1', 'flex')).toMatchObject({
      approved: true,
      amountMicroUsd: 10_000,
    });
    // The seeded flex price of the simulator's reasoning model: half its list price.
    expect(await reserveAt('tiers', 'sim-reasoner', 'flex')).toMatchObject({
      approved: true,
      amountMicroUsd: 5_000,
    });
  });

  it('books a call at the tier it was served at, and refuses a replay of its event that names another tier', async () => {
    const tenantId = 'tier-booker';
    const held = await reserveAt(tenantId, 'acme-llm', 'flex');
    if (!held.approved) throw new Error(held.message);
    const usageEventId = uuidv7();
    // 1000 in * 0.4 + 500 out * 1 = 900 micro-USD at flex.
    expect(
      await h.client.settle({
        reservationId: held.reservationId,
        usageEventId,
        model: 'acme-llm',
        serviceTier: 'flex',
        usage: usage(1_000, 500),
      }),
    ).toMatchObject({ booked: true, costMicroUsd: 900, releasedMicroUsd: 500 });
    const [booked] = (
      await h.db.query<{ service_tier: string; cost: string }>(
        `SELECT service_tier, cost_micro_usd::text AS cost FROM bookings WHERE event_id = $1`,
        [usageEventId],
      )
    ).rows;
    expect(booked).toEqual({ service_tier: 'flex', cost: '900' });

    const booking = h.apps[0]!.get(UsageBookingService);
    const replay = {
      eventId: usageEventId,
      tenantId,
      taskId: null,
      reservationId: held.reservationId,
      callId: 'call-1',
      model: 'acme-llm',
      tier: 'reasoning',
      purpose: 'reason',
      outcome: 'ok',
      usage: usage(1_000, 500),
      calledAt: new Date(),
      source: 'event' as const,
      aborted: false,
    };
    expect(await booking.book({ ...replay, serviceTier: 'flex' })).toMatchObject({ kind: 'duplicate' });
    const forged = await booking.book({ ...replay, serviceTier: 'default' });
    expect(forged).toMatchObject({ kind: 'rejected' });
    expect((forged as { message: string }).message).toContain('(flex tier)');
  });
});

describe('a model without a price', () => {
  it('is refused at reserve with no_price', async () => {
    expect(
      await h.client.reserve({
        tenantId: 'unpriced',
        taskId: randomUUID(),
        model: 'mystery-model',
        estimatedInputTokens: 10,
        maxOutputTokens: 10,
      }),
    ).toMatchObject({
      approved: false,
      reason: 'no_price',
      message: expect.stringContaining('mystery-model'),
    });
  });

  it('has its usage dead-lettered, never booked as zero', async () => {
    const tenantId = 'unpriced';
    const id = await h.publishUsage({ tenantId, model: 'mystery-model', usage: usage(100, 100) });
    const reasons = await pollUntil(
      () => dlqReasons(tenantId),
      (r) => r.length >= 1,
      { what: 'the unpriced usage to be dead-lettered' },
    );
    expect(reasons).toEqual(['no price for model mystery-model']);
    expect(await bookings('event_id = $1', [id])).toEqual([]);
  });
});

describe('requests the ledger must refuse', () => {
  let raw: ClientKafka;

  beforeAll(async () => {
    // A bare Nest client, to send what LedgerClient would refuse to send.
    raw = new ClientKafka({
      postfixId: '',
      client: { clientId: 'ledger-test-raw', brokers: TEST_KAFKA_BROKERS },
      consumer: { groupId: `${h.prefix}raw-replies`, maxWaitTimeInMs: 100 },
    });
    raw.subscribeToResponseOf(h.topic(LEDGER_PATTERNS.reserve));
    raw.subscribeToResponseOf(h.topic(LEDGER_PATTERNS.settle));
    await raw.connect();
    // A new reply group resolves its offsets (the log end) on its first fetch: replies before it would be missed.
    await new Promise<void>((resolve) => {
      const remove = raw.consumer.on(raw.consumer.events.FETCH, () => {
        remove();
        resolve();
      });
    });
  });

  afterAll(async () => {
    await raw?.close();
  });

  const send = (pattern: string, data: unknown) =>
    firstValueFrom(raw.send<unknown>(h.topic(pattern), data).pipe(timeout(15_000)));

  it('refuses a reserve or a settle naming a service tier it does not know, naming the field', async () => {
    const reserve = {
      tenantId: 'tiers',
      taskId: randomUUID(),
      model: 'acme-llm',
      estimatedInputTokens: 1,
      maxOutputTokens: 1,
    };
    for (const serviceTier of ['priority', '', null, 7, 'flex\u0000'])
      expect(await send(LEDGER_PATTERNS.reserve, { ...reserve, serviceTier })).toMatchObject({
        approved: false,
        reason: 'invalid_request',
        message: expect.stringContaining('serviceTier'),
      });
    await expect(
      send(LEDGER_PATTERNS.settle, {
        reservationId: randomUUID(),
        usageEventId: uuidv7(),
        model: 'acme-llm',
        usage: usage(1, 1),
        serviceTier: 'scale',
      }),
    ).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringContaining('serviceTier') });
  });

  it('answers an invalid reserve with an invalid_request denial', async () => {
    expect(await send(LEDGER_PATTERNS.reserve, { tenantId: 'x', taskId: 'not-a-uuid' })).toMatchObject({
      approved: false,
      reason: 'invalid_request',
      message: expect.stringContaining('taskId'),
      policy: null,
    });
    expect(await send(LEDGER_PATTERNS.reserve, 'not even an object')).toMatchObject({
      reason: 'invalid_request',
    });
  });

  it('answers an invalid settle with an error reply naming the problem', async () => {
    await expect(send(LEDGER_PATTERNS.settle, { reservationId: 'nope' })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('reservationId'),
    });
  });

  it('LedgerClient refuses invalid requests before sending them', async () => {
    expect(
      await h.client.reserve({
        tenantId: '',
        taskId: randomUUID(),
        model: 'sim-fast',
        estimatedInputTokens: -1,
        maxOutputTokens: 1,
      }),
    ).toMatchObject({ approved: false, reason: 'invalid_request' });
    await expect(
      h.client.settle({ reservationId: 'x', usageEventId: '', model: 'm', usage: zeroUsage }),
    ).rejects.toBeInstanceOf(LedgerRequestError);
  });

  it('answers a settle of an unknown reservation without booking it', async () => {
    expect(
      await h.client.settle({
        reservationId: randomUUID(),
        usageEventId: uuidv7(),
        model: 'sim-fast',
        usage: usage(1, 1),
      }),
    ).toMatchObject({ booked: false, message: expect.stringContaining('unknown reservation') });
  });
});
