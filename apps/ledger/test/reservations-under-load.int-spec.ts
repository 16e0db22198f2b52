jest.setTimeout(120_000);

import { randomUUID } from 'node:crypto';
import type { ReserveReply } from '@deliberate/contracts';
import { testKafka } from '@deliberate/testing';
import { type LedgerHarness, putBudget, startLedger } from './ledger-harness';

// The budget must hold under a stampede: a thousand worst-case reservations at once, through LedgerClient over
// Kafka, against a daily budget that fits exactly one hundred of them — with one ledger instance and with two
// instances sharing the consumer group and the database.

const TENANT = 'stampede';
// sim-fast: 1000 input tokens at 0.15 USD/M + 1000 output tokens at 0.60 USD/M = 750 micro-USD worst case.
const AMOUNT = 750;
const LIMIT = 100 * AMOUNT;

async function stampede(h: LedgerHarness): Promise<void> {
  await putBudget(h, TENANT, { dailyLimitUsd: LIMIT / 1_000_000 });

  // Watches the counter while the requests run: spend plus holds must never pass the limit, not even for a moment.
  let watching = true;
  let highest = 0;
  const watcher = (async () => {
    while (watching) {
      const rows = await h.db.query<{ used: string }>(
        `SELECT (spent_micro_usd + reserved_micro_usd)::text AS used FROM spend_counters
          WHERE tenant_id = $1 AND scope = 'tenant' AND period = 'day'`,
        [TENANT],
      );
      for (const r of rows.rows) highest = Math.max(highest, Number(r.used));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();

  const replies: ReserveReply[] = await Promise.all(
    Array.from({ length: 1_000 }, () =>
      h.client.reserve({
        tenantId: TENANT,
        taskId: randomUUID(),
        model: 'sim-fast',
        estimatedInputTokens: 1_000,
        maxOutputTokens: 1_000,
      }),
    ),
  );
  watching = false;
  await watcher;

  const approved = replies.filter((r) => r.approved);
  const denied = replies.filter((r) => !r.approved);
  expect(approved).toHaveLength(100);
  expect(denied).toHaveLength(900);
  expect(new Set(denied.map((r) => (r.approved ? 'approved' : r.reason)))).toEqual(
    new Set(['budget_exceeded']),
  );
  expect(denied[0]).toMatchObject({
    policy: 'fail',
    message: expect.stringContaining(`limit ${LIMIT} micro-USD`),
  });
  expect(approved.reduce((sum, r) => sum + (r.approved ? r.amountMicroUsd : 0), 0)).toBe(LIMIT);
  expect(new Set(approved.map((r) => (r.approved ? r.reservationId : null))).size).toBe(100);

  expect(highest).toBeLessThanOrEqual(LIMIT);
  const counters = await h.db.query<{ period: string; reserved: string; spent: string }>(
    `SELECT period, reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent FROM spend_counters
      WHERE tenant_id = $1 AND scope = 'tenant' ORDER BY period`,
    [TENANT],
  );
  expect(counters.rows).toEqual([
    { period: 'day', reserved: String(LIMIT), spent: '0' },
    { period: 'month', reserved: String(LIMIT), spent: '0' },
  ]);
  const active = await h.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM reservations WHERE tenant_id = $1 AND status = 'active'`,
    [TENANT],
  );
  expect(active.rows[0]!.n).toBe('100');
}

describe('one ledger instance', () => {
  let h: LedgerHarness;
  beforeAll(async () => {
    h = await startLedger('load1');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('approves exactly the 100 of 1,000 concurrent reservations that fit, and denies 900 as budget_exceeded', () =>
    stampede(h));
});

describe('two ledger instances on one database and one consumer group', () => {
  let h: LedgerHarness;
  beforeAll(async () => {
    h = await startLedger('load2', { instances: 2 });
    // Both instances must be serving the request topics before the stampede, or it proves nothing about two.
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const group = `${h.prefix}deliberate.ledger.commands`;
      for (const deadline = Date.now() + 30_000; ;) {
        const { groups } = await admin.describeGroups([group]);
        if (groups[0]?.state === 'Stable' && groups[0].members.length === 2) break;
        if (Date.now() > deadline) throw new Error(`group ${group} never had two stable members`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await admin.disconnect();
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  it('still approves exactly 100 and denies 900: the limit is enforced by the database, not by an instance', () =>
    stampede(h));
});
