jest.setTimeout(120_000);

import { deadLetterTopic, modelCallRecordedEvent, uuidv7 } from '@deliberate/contracts';
import { LedgerRequestError } from '@deliberate/ledger-client';
import { header, pollUntil, readTopic, proxyTestDatabase, type TcpProxy } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import { type LedgerHarness, startLedger, usage } from './ledger-harness';

// The ledger reaches its Postgres through a proxy this suite cuts. An unreachable database is never a verdict: a
// reserve is answered `ledger_unavailable` (the caller asks again under the same reservation key), a settle with an
// error the caller retries, and a usage event waits for the database instead of going to the dead-letter topic.

// Longer than the three handler attempts the harness allows with their backoff.
const OUTAGE_MS = 4_000;

let postgres: TcpProxy;
let h: LedgerHarness;

beforeAll(async () => {
  postgres = await proxyTestDatabase();
  h = await startLedger('db_outage', { databaseProxy: postgres, clientTimeoutMs: 10_000 });
});

afterAll(async () => {
  postgres?.restore();
  await h?.close();
  await postgres?.close();
});

afterEach(() => postgres.restore());

const dayCounter = async (tenantId: string) => {
  const rows = await h.db.query<{ reserved: string; spent: string }>(
    `SELECT reserved_micro_usd::text AS reserved, spent_micro_usd::text AS spent FROM spend_counters
      WHERE tenant_id = $1 AND scope = 'tenant' AND period = 'day'`,
    [tenantId],
  );
  return { reserved: Number(rows.rows[0]?.reserved ?? 0), spent: Number(rows.rows[0]?.spent ?? 0) };
};

it('answers a reserve ledger_unavailable while its database is unreachable, and the retry under the key holds once', async () => {
  const tenantId = 'outage-reserve';
  const request = {
    reservationKey: `call-${randomUUID()}`,
    tenantId,
    taskId: randomUUID(),
    model: 'sim-fast',
    estimatedInputTokens: 1_000,
    maxOutputTokens: 1_000,
  };
  expect(postgres.accepted()).toBeGreaterThan(0);
  postgres.cut();
  const during = await h.client.reserve(request);
  expect(during).toMatchObject({ approved: false, reason: 'ledger_unavailable', policy: null });
  postgres.restore();
  const after = await pollUntil(
    () => h.client.reserve(request),
    (r) => r.approved || r.reason !== 'ledger_unavailable',
    { timeoutMs: 30_000, what: 'the ledger to answer again' },
  );
  expect(after).toMatchObject({ approved: true, amountMicroUsd: 750 });
  expect(await h.client.reserve(request)).toEqual(after);
  expect(await dayCounter(tenantId)).toEqual({ reserved: 750, spent: 0 });
});

it('answers a settle with an error while its database is unreachable, never with a refusal, and books its retry once', async () => {
  const tenantId = 'outage-settle';
  const r = await h.client.reserve({
    tenantId,
    taskId: randomUUID(),
    model: 'sim-fast',
    estimatedInputTokens: 1_000,
    maxOutputTokens: 1_000,
  });
  if (!r.approved) throw new Error(r.message);
  const settle = {
    reservationId: r.reservationId,
    usageEventId: uuidv7(),
    model: 'sim-fast',
    usage: usage(1_000, 500),
  };
  postgres.cut();
  await expect(h.client.settle(settle)).rejects.toBeInstanceOf(LedgerRequestError);
  postgres.restore();
  const reply = await pollUntil(
    async () => {
      try {
        return await h.client.settle(settle);
      } catch (e) {
        if (e instanceof LedgerRequestError) return null;
        throw e;
      }
    },
    (reply) => reply !== null,
    { timeoutMs: 30_000, what: 'the settle to go through' },
  );
  expect(reply).toMatchObject({ booked: true, costMicroUsd: 450, releasedMicroUsd: 300 });
  expect(await h.client.settle(settle)).toMatchObject({ booked: true, costMicroUsd: 450 });
  expect(await dayCounter(tenantId)).toEqual({ reserved: 0, spent: 450 });
});

it('books a usage event that arrived while its database was unreachable, instead of dead-lettering it', async () => {
  const tenantId = 'outage-usage';
  postgres.cut();
  const id = await h.publishUsage({ tenantId, model: 'sim-fast', usage: usage(1_000, 1_000), tier: 'fast' });
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  postgres.restore();
  await pollUntil(
    () => dayCounter(tenantId),
    (c) => c.spent === 750,
    { timeoutMs: 60_000, what: 'the usage event to be booked once the database is back' },
  );
  const dead = (await readTopic(h.topic(deadLetterTopic(modelCallRecordedEvent.topic)))).filter(
    (m) => header(m, 'ce_tenantid') === tenantId,
  );
  expect(dead).toEqual([]);
  const rows = await h.db.query(`SELECT event_id FROM bookings WHERE event_id = $1`, [id]);
  expect(rows.rows).toHaveLength(1);
});
