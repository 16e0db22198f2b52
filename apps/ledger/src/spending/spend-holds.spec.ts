import type { Sql } from '@deliberate/persistence';
import type { CounterKey } from './budget-periods';
import type { ReservationRecord, ReservationRepository } from './reservation.repository';
import type { CounterMove, CounterState, SpendCounterRepository } from './spend-counter.repository';
import { SpendHolds } from './spend-holds';

// Every write the holds make, in order, as `<what> <counter or reservation> <amounts>`.
function recordingHolds() {
  const writes: string[] = [];
  const state: CounterState = { spentMicroUsd: 0, reservedMicroUsd: 0 };
  const name = (k: CounterKey) => `${k.scope}:${k.scopeId}:${k.period}`;
  const counters = {
    // One statement for all of a tenant's counters: written as one entry, the counters in the order given.
    moveAll: (_tx: Sql, tenantId: string, moves: readonly CounterMove[], create: boolean) => {
      const each = moves.map((m) =>
        create ? `${name(m.key)} +${m.spent}` : `${name(m.key)} -${m.held} +${m.spent}`,
      );
      writes.push(`${create ? 'add' : 'move'} ${tenantId}: ${each.join(', ')}`);
      return Promise.resolve(moves.map(() => state));
    },
    settleTask: (_tx: Sql, tenantId: string, taskId: string, held: number, spent: number) => {
      writes.push(`task ${tenantId}/${taskId} -${held} +${spent}`);
      return Promise.resolve();
    },
    adjustTaskSpent: (_tx: Sql, tenantId: string, taskId: string, difference: number) => {
      writes.push(`task ${tenantId}/${taskId} ${difference >= 0 ? '+' : ''}${difference}`);
      return Promise.resolve();
    },
  };
  const reservations = {
    markSettled: (_tx: Sql, id: string, eventId: string, cost: number, released: number) => {
      writes.push(`settled ${id} ${eventId} cost ${cost} released ${released}`);
      return Promise.resolve();
    },
    markRebooked: (_tx: Sql, id: string, eventId: string, cost: number, released: number, reason: string) => {
      writes.push(`rebooked ${id} ${eventId} cost ${cost} released ${released}: ${reason}`);
      return Promise.resolve();
    },
    markReleased: (_tx: Sql, ids: readonly string[], status: string, reason: string) => {
      writes.push(`${status} ${ids.join(',')}: ${reason}`);
      return Promise.resolve();
    },
  };
  const holds = new SpendHolds(
    counters as unknown as SpendCounterRepository,
    reservations as unknown as ReservationRepository,
  );
  return { holds, writes };
}

const tx = {} as Sql;
const day = (scope: CounterKey['scope'], scopeId: string): CounterKey => ({
  scope,
  scopeId,
  period: 'day',
  periodStart: '2026-12-01',
});
const month = (scope: CounterKey['scope'], scopeId: string): CounterKey => ({
  scope,
  scopeId,
  period: 'month',
  periodStart: '2026-12-01',
});

const reservation = (id: string, taskId: string, amount: number, keys: CounterKey[]): ReservationRecord => ({
  id,
  requestId: null,
  reservationKey: null,
  requestFingerprint: null,
  tenantId: 'acme',
  taskId,
  apiKeyId: null,
  project: null,
  model: 'sim-fast',
  priceId: 1,
  amountMicroUsd: amount,
  counterKeys: keys,
  shadow: false,
  status: 'active',
  createdAt: new Date('2026-12-01T00:00:00Z'),
  expiresAt: new Date('2026-12-01T00:01:00Z'),
  releasedMicroUsd: null,
  usageEventId: null,
});

describe('SpendHolds', () => {
  it('settles a hold on the task, closes the reservation, then moves its period counters last, in lock order', async () => {
    const { holds, writes } = recordingHolds();
    const r = reservation('r1', 't1', 500, [
      month('tenant', 'acme'),
      day('project', 'p'),
      day('tenant', 'acme'),
    ]);
    const { changes, releasedMicroUsd } = await holds.settle(tx, r, 'e1', 120);
    expect(writes).toEqual([
      'task acme/t1 -500 +120',
      'settled r1 e1 cost 120 released 380',
      'move acme: project:p:day -500 +120, tenant:acme:day -500 +120, tenant:acme:month -500 +120',
    ]);
    expect(changes.map((c) => c.key.scope + c.key.period)).toEqual([
      'projectday',
      'tenantday',
      'tenantmonth',
    ]);
    expect(releasedMicroUsd).toBe(380);
  });

  it('releases nothing when the call cost more than its hold', async () => {
    const { holds } = recordingHolds();
    const r = reservation('r1', 't1', 100, [day('tenant', 'acme')]);
    expect((await holds.settle(tx, r, 'e1', 150)).releasedMicroUsd).toBe(0);
  });

  it("replaces a settled reservation's booking by moving its counters by the difference, in lock order", async () => {
    const { holds, writes } = recordingHolds();
    const r = reservation('r1', 't1', 750, [month('tenant', 'acme'), day('tenant', 'acme')]);
    const { releasedMicroUsd } = await holds.rebook(tx, r, 'e2', 750, 210, 'real usage');
    expect(writes).toEqual([
      'task acme/t1 -540',
      'rebooked r1 e2 cost 210 released 540: real usage',
      'move acme: tenant:acme:day -0 +-540, tenant:acme:month -0 +-540',
    ]);
    expect(releasedMicroUsd).toBe(540);
    // A real cost above the worst case adds the excess and releases nothing.
    expect((await holds.rebook(tx, r, 'e3', 750, 900, 'real usage')).releasedMicroUsd).toBe(0);
    expect(writes.at(-3)).toBe('task acme/t1 +150');
  });

  it('books unheld spend on the task, when there is one, then on its counters in lock order', async () => {
    const { holds, writes } = recordingHolds();
    await holds.addSpent(tx, 'acme', [month('tenant', 'acme'), day('tenant', 'acme')], 't1', 70);
    await holds.addSpent(tx, 'acme', [day('tenant', 'acme')], null, 30);
    expect(writes).toEqual([
      'task acme/t1 -0 +70',
      'add acme: tenant:acme:day +70, tenant:acme:month +70',
      'add acme: tenant:acme:day +30',
    ]);
  });

  it('gives back holds summed per counter: task counters, the reservations, then one move per tenant, in lock order', async () => {
    const { holds, writes } = recordingHolds();
    await holds.release(
      tx,
      [
        reservation('r2', 't2', 300, [day('tenant', 'acme'), day('api_key', 'k')]),
        reservation('r1', 't1', 200, [day('tenant', 'acme')]),
        reservation('r3', 't1', 50, [day('tenant', 'acme')]),
        { ...reservation('r4', 't4', 10, [day('tenant', 'beta')]), tenantId: 'beta' },
      ],
      'expired',
      'expired before it was settled or released',
    );
    expect(writes).toEqual([
      'task acme/t1 -250 +0',
      'task acme/t2 -300 +0',
      'task beta/t4 -10 +0',
      'expired r2,r1,r3,r4: expired before it was settled or released',
      'move acme: api_key:k:day -300 +0, tenant:acme:day -550 +0',
      'move beta: tenant:beta:day -10 +0',
    ]);
  });

  it("settles, rebooks and releases a shadow call's hold on its shadow counter only, never on its task", async () => {
    const { holds, writes } = recordingHolds();
    const shadow = { ...reservation('s1', 't1', 400, [day('shadow', 'acme')]), shadow: true };
    await holds.settle(tx, shadow, 'e1', 100);
    await holds.rebook(tx, shadow, 'e2', 100, 150, 'real usage');
    await holds.release(
      tx,
      [shadow, reservation('r1', 't1', 20, [day('tenant', 'acme')])],
      'released',
      'done',
    );
    expect(writes).toEqual([
      'settled s1 e1 cost 100 released 300',
      'move acme: shadow:acme:day -400 +100',
      'rebooked s1 e2 cost 150 released 250: real usage',
      'move acme: shadow:acme:day -0 +50',
      'task acme/t1 -20 +0',
      'released s1,r1: done',
      'move acme: shadow:acme:day -400 +0, tenant:acme:day -20 +0',
    ]);
  });
});
