jest.setTimeout(120_000);

import type { BudgetResponse, DenialList, ReserveRequest } from '@deliberate/contracts';
import { ReservationService } from '@deliberate/ledger/reservations/reservation.service';
import { pollUntil } from '@deliberate/testing';
import { randomUUID } from 'node:crypto';
import {
  ledgerHttp,
  type LedgerHarness,
  PLATFORM_ADMIN,
  putBudget,
  setTenantPolicy,
  startLedger,
  tenantAdmin,
  usage,
} from './ledger-harness';

// GET /v1/ledger/denials: the reservations the ledger refused, each recorded once, listed newest first a page at a
// time, to the tenant that asked only; hostile query values get a 400 naming what is wrong.

let h: LedgerHarness;

beforeAll(async () => {
  h = await startLedger('denials');
});

afterAll(async () => {
  await h?.close();
});

const reserve = (tenantId: string, over: Partial<ReserveRequest> = {}) =>
  h.client.reserve({
    tenantId,
    taskId: randomUUID(),
    model: 'sim-fast',
    tier: 'standard',
    estimatedInputTokens: 100,
    maxOutputTokens: 100,
    ...over,
  });

const list = (tenantId: string, query = '') =>
  ledgerHttp<DenialList>(h, 'GET', `/v1/ledger/denials${query}`, { principal: tenantAdmin(tenantId) });

// What the denial says the call would have held.
const askedFor = (message: string) => Number(/may cost up to (\d+) micro-USD/.exec(message)![1]);

describe('recording', () => {
  it('lists a budget denial with the request, the verdict, the policy and the worst case asked for', async () => {
    const tenantId = 'denied-budget';
    await setTenantPolicy(h, tenantId, { onBudgetDenied: 'human' });
    await putBudget(h, tenantId, { dailyLimitUsd: 0.000001 });
    const taskId = randomUUID();
    const before = Date.now();
    const reply = await reserve(tenantId, { taskId, reservationKey: 'call-1', tier: 'reasoning' });
    expect(reply).toMatchObject({ approved: false, reason: 'budget_exceeded', policy: 'human' });
    const message = (reply as { message: string }).message;

    const res = await list(tenantId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      denials: [
        {
          id: expect.any(String),
          tenantId,
          reservationKey: 'call-1',
          taskId,
          model: 'sim-fast',
          tier: 'reasoning',
          reason: 'budget_exceeded',
          message,
          onDenied: 'human',
          estimatedCostMicroUsd: askedFor(message),
          deniedAt: expect.any(String),
        },
      ],
      nextCursor: null,
    });
    expect(askedFor(message)).toBeGreaterThan(1);
    expect(Date.parse(res.body.denials[0]!.deniedAt)).toBeGreaterThanOrEqual(before - 1_000);
  });

  it('lists a denial by an open breaker, with what the policy asks callers to do', async () => {
    const tenantId = 'denied-breaker';
    await setTenantPolicy(h, tenantId, { onBudgetDenied: 'route_cheap' });
    await putBudget(h, tenantId, { breakerWindowSeconds: 600, breakerMaxSpendUsd: 0.01 });
    // 20 calls of 800 micro-USD (100 sim-reasoner output tokens) spend 0.016 USD inside the window.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        h.publishUsage({ tenantId, model: 'sim-reasoner', usage: usage(0, 100), purpose: 'reason' }),
      ),
    );
    await pollUntil(
      async () =>
        (
          await ledgerHttp<{ budgets: BudgetResponse[] }>(h, 'GET', '/v1/ledger/budgets', {
            principal: tenantAdmin(tenantId),
          })
        ).body.budgets[0]?.breaker,
      (state) => state === 'open',
      { timeoutMs: 20_000, what: 'the breaker to open' },
    );
    const taskId = randomUUID();
    const reply = await reserve(tenantId, { taskId, reservationKey: 'after-trip', tier: 'reasoning' });
    expect(reply).toMatchObject({ approved: false, reason: 'breaker_open', policy: 'route_cheap' });

    const res = await list(tenantId, '?reason=breaker_open');
    expect(res.body.denials).toEqual([
      expect.objectContaining({
        reservationKey: 'after-trip',
        taskId,
        tier: 'reasoning',
        reason: 'breaker_open',
        message: (reply as { message: string }).message,
        onDenied: 'route_cheap',
        // The breaker refuses after the call was priced: what it asked for is known.
        estimatedCostMicroUsd: expect.any(Number),
      }),
    ]);
    expect(res.body.denials[0]!.estimatedCostMicroUsd).toBeGreaterThan(0);
    expect((await list(tenantId, '?reason=budget_exceeded')).body.denials).toEqual([]);
  });

  it("records a task ceiling's denial with the tenant's policy, which its callers follow too", async () => {
    const tenantId = 'denied-ceiling';
    await setTenantPolicy(h, tenantId, { onBudgetDenied: 'fail' });
    const taskId = randomUUID();
    const reply = await reserve(tenantId, { taskId, taskCeilingMicroUsd: 1 });
    expect(reply).toMatchObject({ approved: false, reason: 'task_ceiling_exceeded', policy: null });
    const message = (reply as { message: string }).message;
    expect((await list(tenantId)).body.denials).toEqual([
      expect.objectContaining({
        reservationKey: null,
        taskId,
        reason: 'task_ceiling_exceeded',
        onDenied: 'fail',
        estimatedCostMicroUsd: askedFor(message),
      }),
    ]);
  });

  it('records a request asked again under its key, or delivered again, once', async () => {
    const tenantId = 'denied-twice';
    await putBudget(h, tenantId, { dailyLimitUsd: 0.000001 });
    const taskId = randomUUID();
    for (let i = 0; i < 3; i += 1) {
      expect(await reserve(tenantId, { taskId, reservationKey: 'retried' })).toMatchObject({
        approved: false,
        reason: 'budget_exceeded',
      });
    }
    // A redelivered command without a key: the same correlation id.
    const service = h.apps[0]!.get(ReservationService);
    const keyless = { tenantId, taskId, model: 'sim-fast', estimatedInputTokens: 100, maxOutputTokens: 100 };
    for (let i = 0; i < 2; i += 1) {
      expect(await service.reserve(keyless, { requestId: 'redelivered-1', ageMs: 0 })).toMatchObject({
        approved: false,
        reason: 'budget_exceeded',
      });
    }
    const res = await list(tenantId, `?taskId=${taskId}`);
    expect(res.body.denials.map((d) => d.reservationKey).sort()).toEqual([null, 'retried'].sort());
  });

  it('answers a denial whose record cannot be written as a denial, never an approval', async () => {
    const tenantId = 'denied-unrecorded';
    await putBudget(h, tenantId, { dailyLimitUsd: 0.000001 });
    await h.db.query(`ALTER TABLE denials RENAME TO denials_away`);
    try {
      expect(await reserve(tenantId, { reservationKey: 'lost' })).toMatchObject({
        approved: false,
        reason: 'budget_exceeded',
      });
    } finally {
      await h.db.query(`ALTER TABLE denials_away RENAME TO denials`);
    }
    expect((await list(tenantId)).body.denials).toEqual([]);
    // Once the table is back, the same request asked again is recorded.
    expect(await reserve(tenantId, { reservationKey: 'lost' })).toMatchObject({ approved: false });
    expect((await list(tenantId)).body.denials.map((d) => d.reservationKey)).toEqual(['lost']);
  });
});

describe('reading', () => {
  const TENANT = 'denied-many';
  const COUNT = 7;

  beforeAll(async () => {
    await putBudget(h, TENANT, { dailyLimitUsd: 0.000001 });
    for (let i = 0; i < COUNT; i += 1) {
      expect(await reserve(TENANT, { reservationKey: `many-${i}` })).toMatchObject({ approved: false });
    }
  });

  it('pages newest first with the cursor: every denial once, none twice', async () => {
    const seen: DenialList['denials'] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof list>> = await list(
        TENANT,
        `?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      sizes.push(res.body.denials.length);
      seen.push(...res.body.denials);
      cursor = res.body.nextCursor;
    } while (cursor && sizes.length < 10); // a cursor that does not move fails below, not by timing out
    expect(sizes).toEqual([3, 3, 1]);
    expect(new Set(seen.map((d) => d.id)).size).toBe(COUNT);
    expect(seen.map((d) => d.reservationKey)).toEqual(
      Array.from({ length: COUNT }, (_, i) => `many-${COUNT - 1 - i}`),
    );
    const all = await list(TENANT);
    expect(all.body).toEqual({ denials: seen, nextCursor: null });
    // A period filter applies together with the cursor.
    const none = await list(TENANT, '?from=2020-01-01&to=2020-02-01');
    expect(none.body).toEqual({ denials: [], nextCursor: null });
  });

  it("shows a tenant none of another tenant's denials", async () => {
    const other = await list('denied-nothing');
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ denials: [], nextCursor: null });
    const named = await list('denied-nothing', `?tenantId=${TENANT}`);
    expect(named.status).toBe(403);
    // A cursor of another tenant's page moves a position in time, not into another tenant.
    const page = await list(TENANT, '?limit=1');
    const borrowed = await list('denied-nothing', `?cursor=${page.body.nextCursor}`);
    expect(borrowed.body.denials).toEqual([]);
    const submitter = await ledgerHttp(h, 'GET', '/v1/ledger/denials', {
      principal: tenantAdmin(TENANT, 'submitter'),
    });
    expect(submitter.status).toBe(403);
    const auditor = await ledgerHttp<DenialList>(h, 'GET', '/v1/ledger/denials', {
      principal: tenantAdmin(TENANT, 'auditor'),
    });
    expect(auditor.body.denials).toHaveLength(COUNT);
    const platform = await ledgerHttp<DenialList>(h, 'GET', `/v1/ledger/denials?tenantId=${TENANT}`, {
      principal: PLATFORM_ADMIN,
    });
    expect(new Set(platform.body.denials.map((d) => d.tenantId))).toEqual(new Set([TENANT]));
  });

  it('refuses hostile query values with 400 naming the parameter and why', async () => {
    const forged = Buffer.from(JSON.stringify(['2026-01-01', 'x'])).toString('base64url');
    const cases: [string, string][] = [
      ['limit=0', 'query: limit: must be a whole number from 1 to 500'],
      ['limit=501', 'limit: must be a whole number from 1 to 500'],
      ['limit=99999999999999999999999999', 'limit: must be a whole number from 1 to 500'],
      ['limit=ten', 'limit: must be a whole number from 1 to 500'],
      ['limit=1&limit=2', 'limit: must be a whole number from 1 to 500'],
      ['limit[a]=1', 'Unrecognized key: "limit[a]"'],
      ['reason=bored', 'reason: Invalid option: expected one of "budget_exceeded"'],
      ['reason=breaker_open&reason=no_price', 'reason: Invalid option'],
      ['taskId=task-1', 'taskId: Invalid UUID'],
      ['from=yesterday', "from: 'yesterday' is not an ISO 8601 date"],
      ['from=2026-02-01&to=2026-01-01', 'to: must be after from'],
      ['cursor=not-a-cursor', 'cursor: not a cursor this API returned'],
      [`cursor=${forged}`, 'cursor: not a cursor this API returned'],
      [`cursor=${'a'.repeat(5_000)}`, 'cursor: not a cursor this API returned (too long)'],
      ['groupBy=model', 'Unrecognized key: "groupBy"'],
      ['reason=breaker_open%00', 'query.reason: contains a NUL character'],
      // A lone surrogate cannot travel in UTF-8: its bytes decode to no valid id.
      ['taskId=%ED%A0%80', 'taskId: Invalid UUID'],
    ];
    const wrong = [];
    for (const [query, message] of cases) {
      const res = await ledgerHttp<{ message?: string }>(h, 'GET', `/v1/ledger/denials?${query}`, {
        principal: tenantAdmin(TENANT),
      });
      const said = res.body.message ?? res.text;
      if (res.status !== 400 || !said.includes(message)) wrong.push({ query, status: res.status, said });
    }
    expect(wrong).toEqual([]);
  });
});
