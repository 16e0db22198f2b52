jest.setTimeout(120_000);

import { uuidv7 } from '@deliberate/contracts';
import { pollUntil } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import { type LedgerHarness, startLedger, usage, zeroUsage } from './ledger-harness';

// A call cut off before its usage was known is booked at its hold's worst case, however its settle and its usage
// event arrive; when the same call's real usage turns up later (a stalled caller woke up and got its answer), that
// usage replaces the worst case: the reservation is booked once, at what the call really cost.

let h: LedgerHarness;

beforeAll(async () => {
  h = await startLedger('aborted-calls');
});

afterAll(async () => {
  await h?.close();
});

// sim-fast: 1,000 input and 1,000 output tokens hold 750 micro-USD; 1,000 in and 100 out cost 210.
const WORST = 750;
const REAL = 210;

async function reserve(tenantId: string) {
  const taskId = randomUUID();
  const r = await h.client.reserve({
    tenantId,
    taskId,
    model: 'sim-fast',
    estimatedInputTokens: 1_000,
    maxOutputTokens: 1_000,
  });
  if (!r.approved) throw new Error(r.message);
  expect(r.amountMicroUsd).toBe(WORST);
  return { ...r, taskId };
}

async function counters(tenantId: string, taskId: string) {
  const period = await h.db.query<{ reserved: string; spent: string }>(
    `SELECT reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent FROM spend_counters
      WHERE tenant_id = $1 AND scope = 'tenant' AND scope_id = $1 AND period = 'day'`,
    [tenantId],
  );
  const task = await h.db.query<{ reserved: string; spent: string }>(
    `SELECT reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent FROM task_counters
      WHERE tenant_id = $1 AND task_id = $2`,
    [tenantId, taskId],
  );
  const read = (row: { reserved: string; spent: string } | undefined) => ({
    reserved: Number(row?.reserved ?? 0),
    spent: Number(row?.spent ?? 0),
  });
  return { period: read(period.rows[0]), task: read(task.rows[0]) };
}

interface BookingRow {
  eventId: string;
  cost: number;
  aborted: boolean;
  supersedes: string | null;
  supersededBy: string | null;
}

async function bookingsOf(reservationId: string): Promise<BookingRow[]> {
  const rows = await h.db.query<Record<string, unknown>>(
    `SELECT to_jsonb(b) AS b FROM bookings b WHERE reservation_id = $1 ORDER BY id`,
    [reservationId],
  );
  return rows.rows.map(({ b }) => {
    const r = b as Record<string, unknown>;
    return {
      eventId: String(r['event_id']),
      cost: Number(r['cost_micro_usd']),
      aborted: r['aborted'] === true,
      supersedes: (r['supersedes_event_id'] as string | undefined) ?? null,
      supersededBy: (r['superseded_by_event_id'] as string | undefined) ?? null,
    };
  });
}

const booked = (reservationId: string, n: number) =>
  pollUntil(
    () => bookingsOf(reservationId),
    (rows) => rows.length >= n,
    { what: `${n} booking(s) of reservation ${reservationId}` },
  );

describe("an aborted call's usage event", () => {
  it('reaching the ledger before its aborted settle books the worst case, and the settle is a duplicate', async () => {
    const tenantId = 'aborted-event-first';
    const r = await reserve(tenantId);
    const usageEventId = uuidv7();
    await h.publishUsage({
      id: usageEventId,
      tenantId,
      taskId: r.taskId,
      model: 'sim-fast',
      tier: 'fast',
      usage: zeroUsage,
      outcome: 'aborted',
      reservationId: r.reservationId,
    });
    expect(await booked(r.reservationId, 1)).toEqual([
      { eventId: usageEventId, cost: WORST, aborted: true, supersedes: null, supersededBy: null },
    ]);
    expect(
      await h.client.settle({
        reservationId: r.reservationId,
        usageEventId,
        model: 'sim-fast',
        usage: zeroUsage,
        aborted: true,
      }),
    ).toMatchObject({ booked: true, costMicroUsd: WORST });
    expect(await bookingsOf(r.reservationId)).toHaveLength(1);
    expect(await counters(tenantId, r.taskId)).toEqual({
      period: { reserved: 0, spent: WORST },
      task: { reserved: 0, spent: WORST },
    });
  });

  it('of a call that merely failed (outcome error) still closes its hold at zero', async () => {
    const tenantId = 'failed-event-first';
    const r = await reserve(tenantId);
    await h.publishUsage({
      tenantId,
      taskId: r.taskId,
      model: 'sim-fast',
      usage: zeroUsage,
      outcome: 'error',
      reservationId: r.reservationId,
    });
    expect(await booked(r.reservationId, 1)).toMatchObject([{ cost: 0, aborted: false }]);
    expect(await counters(tenantId, r.taskId)).toEqual({
      period: { reserved: 0, spent: 0 },
      task: { reserved: 0, spent: 0 },
    });
  });
});

describe('the real usage of a call booked as a blind abort', () => {
  const abort = (reservationId: string, usageEventId = uuidv7()) =>
    h.client.settle({ reservationId, usageEventId, model: 'sim-fast', usage: zeroUsage, aborted: true });

  it('replaces the worst case: booked once at the real cost, the abort booking marked superseded', async () => {
    const tenantId = 'stalled-settle';
    const r = await reserve(tenantId);
    const abortId = uuidv7();
    expect(await abort(r.reservationId, abortId)).toMatchObject({ booked: true, costMicroUsd: WORST });

    const realId = uuidv7();
    const real = {
      reservationId: r.reservationId,
      usageEventId: realId,
      model: 'sim-fast',
      usage: usage(1_000, 100),
    };
    expect(await h.client.settle(real)).toMatchObject({
      booked: true,
      costMicroUsd: REAL,
      releasedMicroUsd: WORST - REAL,
    });
    const expected = [
      { eventId: abortId, cost: 0, aborted: true, supersedes: null, supersededBy: realId },
      { eventId: realId, cost: REAL, aborted: false, supersedes: abortId, supersededBy: null },
    ];
    expect(await bookingsOf(r.reservationId)).toEqual(expected);
    const moved = { period: { reserved: 0, spent: REAL }, task: { reserved: 0, spent: REAL } };
    expect(await counters(tenantId, r.taskId)).toEqual(moved);

    // The same real usage again (a retried settle): a duplicate, nothing moves.
    const again = await h.client.settle(real);
    expect(again).toMatchObject({ booked: true, costMicroUsd: REAL });
    expect(again.message).toContain('already booked');
    // And its usage event, under the same id: a duplicate too.
    await h.publishUsage({
      id: realId,
      tenantId,
      taskId: r.taskId,
      model: 'sim-fast',
      tier: 'fast',
      usage: usage(1_000, 100),
      reservationId: r.reservationId,
    });
    // The aborted settle asked again: still a duplicate of the superseded booking.
    expect(await abort(r.reservationId, abortId)).toMatchObject({ booked: true });
    const sentinel = uuidv7();
    await h.publishUsage({ id: sentinel, tenantId, model: 'sim-fast', usage: zeroUsage, outcome: 'error' });
    await pollUntil(
      () => h.db.query(`SELECT 1 FROM bookings WHERE event_id = $1`, [sentinel]),
      (res) => res.rows.length === 1,
      { what: 'the usage consumer to pass the replayed event' },
    );
    expect(await bookingsOf(r.reservationId)).toEqual(expected);
    expect(await counters(tenantId, r.taskId)).toEqual(moved);
    const reservation = await h.db.query<{ usage_event_id: string; cost: string; released: string }>(
      `SELECT usage_event_id, cost_micro_usd::text AS cost, released_micro_usd::text AS released
         FROM reservations WHERE id = $1`,
      [r.reservationId],
    );
    expect(reservation.rows).toEqual([
      { usage_event_id: realId, cost: String(REAL), released: String(WORST - REAL) },
    ]);
  });

  it('arriving as its usage event replaces the worst case the same way', async () => {
    const tenantId = 'stalled-event';
    const r = await reserve(tenantId);
    const abortId = uuidv7();
    await abort(r.reservationId, abortId);
    const realId = await h.publishUsage({
      tenantId,
      taskId: r.taskId,
      model: 'sim-fast',
      tier: 'fast',
      usage: usage(1_000, 100),
      reservationId: r.reservationId,
    });
    await pollUntil(
      () => bookingsOf(r.reservationId),
      (rows) => rows.some((b) => b.eventId === realId),
      { what: 'the real usage to be booked' },
    );
    expect(await bookingsOf(r.reservationId)).toEqual([
      { eventId: abortId, cost: 0, aborted: true, supersedes: null, supersededBy: realId },
      { eventId: realId, cost: REAL, aborted: false, supersedes: abortId, supersededBy: null },
    ]);
    expect(await counters(tenantId, r.taskId)).toEqual({
      period: { reserved: 0, spent: REAL },
      task: { reserved: 0, spent: REAL },
    });
  });

  it('sent many times at once, by settle and by its event, is booked once', async () => {
    const tenantId = 'stalled-race';
    const r = await reserve(tenantId);
    const abortId = uuidv7();
    await abort(r.reservationId, abortId);
    const realId = uuidv7();
    const settle = () =>
      h.client.settle({
        reservationId: r.reservationId,
        usageEventId: realId,
        model: 'sim-fast',
        usage: usage(1_000, 100),
      });
    const replies = await Promise.all([
      settle(),
      settle(),
      settle(),
      h.publishUsage({
        id: realId,
        tenantId,
        taskId: r.taskId,
        model: 'sim-fast',
        tier: 'fast',
        usage: usage(1_000, 100),
        reservationId: r.reservationId,
      }),
      settle(),
    ]);
    for (const reply of replies)
      if (typeof reply !== 'string') expect(reply).toMatchObject({ costMicroUsd: REAL });
    const sentinel = uuidv7();
    await h.publishUsage({ id: sentinel, tenantId, model: 'sim-fast', usage: zeroUsage, outcome: 'error' });
    await pollUntil(
      () => h.db.query(`SELECT 1 FROM bookings WHERE event_id = $1`, [sentinel]),
      (res) => res.rows.length === 1,
      { what: 'the usage consumer to pass the real usage event' },
    );
    expect(await bookingsOf(r.reservationId)).toEqual([
      { eventId: abortId, cost: 0, aborted: true, supersedes: null, supersededBy: realId },
      { eventId: realId, cost: REAL, aborted: false, supersedes: abortId, supersededBy: null },
    ]);
    expect(await counters(tenantId, r.taskId)).toEqual({
      period: { reserved: 0, spent: REAL },
      task: { reserved: 0, spent: REAL },
    });
  });

  it('that came first leaves a later blind abort of the same reservation at zero', async () => {
    const tenantId = 'stalled-real-first';
    const r = await reserve(tenantId);
    const realId = uuidv7();
    await h.client.settle({
      reservationId: r.reservationId,
      usageEventId: realId,
      model: 'sim-fast',
      usage: usage(1_000, 100),
    });
    const abortId = uuidv7();
    const reply = await abort(r.reservationId, abortId);
    expect(reply).toMatchObject({ booked: true, costMicroUsd: 0 });
    expect(reply.message).toContain(realId);
    expect(await bookingsOf(r.reservationId)).toEqual([
      { eventId: realId, cost: REAL, aborted: false, supersedes: null, supersededBy: null },
      { eventId: abortId, cost: 0, aborted: true, supersedes: null, supersededBy: realId },
    ]);
    expect(await counters(tenantId, r.taskId)).toEqual({
      period: { reserved: 0, spent: REAL },
      task: { reserved: 0, spent: REAL },
    });
  });

  it('does not replace a reservation settled normally: a second usage is booked beside it and flagged', async () => {
    const tenantId = 'settled-twice';
    const r = await reserve(tenantId);
    const firstId = uuidv7();
    await h.client.settle({
      reservationId: r.reservationId,
      usageEventId: firstId,
      model: 'sim-fast',
      usage: usage(1_000, 100),
    });
    const secondId = uuidv7();
    const reply = await h.client.settle({
      reservationId: r.reservationId,
      usageEventId: secondId,
      model: 'sim-fast',
      usage: usage(1_000, 100),
    });
    expect(reply).toMatchObject({ booked: true, costMicroUsd: REAL });
    expect(reply.message).toContain('already settled');
    expect(await bookingsOf(r.reservationId)).toEqual([
      { eventId: firstId, cost: REAL, aborted: false, supersedes: null, supersededBy: null },
      { eventId: secondId, cost: REAL, aborted: false, supersedes: null, supersededBy: null },
    ]);
    expect((await counters(tenantId, r.taskId)).period).toEqual({ reserved: 0, spent: 2 * REAL });
  });
});
