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

// Reserves, settles and releases of the same tasks at once, on the tenant's, an API key's and a project's budgets:
// every transaction takes the rows it changes in one lock order (reservation, task counter, period counters), so none
// waits on another in a cycle. Postgres would break a cycle by aborting one side, and the ledger would redo it
// unseen: only the database's deadlock count tells, so that is what is asserted, with the sums.
async function mixedTraffic(h: LedgerHarness): Promise<void> {
  const tenantId = 'mesh';
  await putBudget(h, tenantId, { dailyLimitUsd: 100 });
  await putBudget(h, tenantId, { scope: 'api_key', scopeId: 'k1', dailyLimitUsd: 100 });
  await putBudget(h, tenantId, { scope: 'project', scopeId: 'p1', monthlyLimitUsd: 100 });
  const deadlocks = async () =>
    Number(
      (
        await h.db.query<{ n: string }>(
          `SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()`,
        )
      ).rows[0]!.n,
    );
  const before = await deadlocks();
  const tasks = Array.from({ length: 12 }, () => randomUUID());
  let settledCost = 0;
  // Each task: reserves on every combination of scopes, each settled (odd) or released (even) as soon as it is
  // approved, while the task's other reserves are still coming in.
  await Promise.all(
    tasks.flatMap((taskId) =>
      Array.from({ length: 8 }, async (_, i) => {
        const reply = await h.client.reserve({
          tenantId,
          taskId,
          apiKeyId: i % 2 ? 'k1' : null,
          project: i % 4 < 2 ? 'p1' : null,
          model: 'sim-fast',
          estimatedInputTokens: 1_000,
          maxOutputTokens: 1_000,
        });
        if (!reply.approved) throw new Error(`denied: ${reply.message}`);
        if (i % 2) {
          const settled = await h.client.settle({
            reservationId: reply.reservationId,
            usageEventId: randomUUID(),
            model: 'sim-fast',
            usage: { inputTokens: 1_000, cachedInputTokens: 0, outputTokens: 500, reasoningTokens: 0 },
          });
          expect(settled).toMatchObject({ booked: true, costMicroUsd: 450, releasedMicroUsd: 300 });
          settledCost += settled.costMicroUsd;
        } else {
          expect(
            await h.client.release({ reservationId: reply.reservationId, reason: 'not needed' }),
          ).toEqual({
            released: true,
            releasedMicroUsd: 750,
          });
        }
      }),
    ),
  );
  // Statistics reach pg_stat_database when a backend is idle for a moment: long enough to see the ledger's.
  await new Promise((r) => setTimeout(r, 1_500));
  expect(await deadlocks()).toBe(before);

  expect(settledCost).toBe(12 * 4 * 450);
  const counters = await h.db.query<{ scope: string; period: string; reserved: string; spent: string }>(
    `SELECT scope, period, reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent FROM spend_counters
      WHERE tenant_id = $1 ORDER BY scope, period`,
    [tenantId],
  );
  // Every settle was on the key; half of them on the project.
  expect(counters.rows).toEqual([
    { scope: 'api_key', period: 'day', reserved: '0', spent: String(12 * 4 * 450) },
    { scope: 'api_key', period: 'month', reserved: '0', spent: String(12 * 4 * 450) },
    { scope: 'project', period: 'day', reserved: '0', spent: String(12 * 2 * 450) },
    { scope: 'project', period: 'month', reserved: '0', spent: String(12 * 2 * 450) },
    { scope: 'tenant', period: 'day', reserved: '0', spent: String(12 * 4 * 450) },
    { scope: 'tenant', period: 'month', reserved: '0', spent: String(12 * 4 * 450) },
  ]);
  const taskCounters = await h.db.query<{ reserved: string; spent: string }>(
    `SELECT DISTINCT reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent FROM task_counters
      WHERE tenant_id = $1`,
    [tenantId],
  );
  expect(taskCounters.rows).toEqual([{ reserved: '0', spent: String(4 * 450) }]);
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

  it('reserves, settles and releases the same tasks on three scopes at once without a deadlock', () =>
    mixedTraffic(h));
});
