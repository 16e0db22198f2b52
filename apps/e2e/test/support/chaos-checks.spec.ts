import {
  CHAOS_CHECKS,
  type ChaosObservations,
  evaluateChaos,
  moneyChecks,
  rebalanceCheck,
  type RebalanceObservation,
} from './chaos-checks';

const task = (n: number, ids: string[], extra: Partial<ChaosObservations['tasks'][number]> = {}) => ({
  n,
  idempotencyKey: `k-${n}`,
  kind: 'fast' as const,
  webhook: false,
  answeredIds: ids,
  refused: null,
  ...extra,
});

function clean(): ChaosObservations {
  return {
    tasks: [task(0, ['t0']), task(1, ['t1', 't1'], { webhook: true })],
    statuses: { t0: 'completed', t1: 'failed' },
    outcomes: [
      { topic: 'tasks.task.completed.v1', ceId: 'e0', taskId: 't0', data: {} },
      { topic: 'tasks.task.failed.v1', ceId: 'e1', taskId: 't1', data: {} },
      { topic: 'tasks.task.failed.v1', ceId: 'e1', taskId: 't1', data: {} },
    ],
    webhooks: [
      { webhookId: 'w1', body: '{"type":"task.failed","data":{"taskId":"t1"}}' },
      { webhookId: 'w1', body: '{"type":"task.failed","data":{"taskId":"t1"}}' },
    ],
    audit: { status: 200, body: { ok: true } },
    bill: [
      { clientRequestId: 'r0', model: 'sim-fast', costMicroUsd: 7, clientConnected: true },
      { clientRequestId: 'r1', model: 'sim-reasoner', costMicroUsd: 900, clientConnected: false },
    ],
    bookings: [
      { reservationId: 'r0', model: 'sim-fast', costMicroUsd: 7, aborted: false },
      { reservationId: 'r1', model: 'sim-reasoner', costMicroUsd: 4_000, aborted: true },
    ],
    gateway500s: 0,
    gateway500Samples: [],
    rebalances: [rebalanced()],
  };
}

function rebalanced(): RebalanceObservation {
  return {
    service: 'triage',
    killedClientId: 'deliberate-triage-r0-3',
    groups: [
      {
        group: 'chaos.deliberate.triage',
        state: 'Stable',
        members: ['deliberate-triage-r1-9'],
        strangers: [],
        unassigned: [],
      },
    ],
    consumedBefore: 40,
    consumedAfter: 43,
  };
}

const failing = (o: ChaosObservations) => evaluateChaos(o).filter((c) => !c.ok);

describe('evaluateChaos', () => {
  it('passes a run whose parties agree: redelivered copies with one id, an aborted call booked above its bill', () => {
    expect(failing(clean())).toEqual([]);
    expect(evaluateChaos(clean()).map((c) => c.name)).toEqual(CHAOS_CHECKS);
  });

  it('fails a replay answered with a second task, and a task that never ends', () => {
    const o = clean();
    o.tasks[1]!.answeredIds = ['t1', 't9'];
    o.statuses['t9'] = 'running';
    const names = failing(o).map((c) => c.name);
    expect(names).toContain('every submission is accepted, and replays of one Idempotency-Key get one task');
    expect(names).toContain('every accepted task reaches a terminal state at the gateway');
  });

  it('fails two outcome events of one task under different ids, or on a topic the gateway disagrees with', () => {
    const twice = clean();
    twice.outcomes.push({ topic: 'tasks.task.failed.v1', ceId: 'e1-again', taskId: 't1', data: {} });
    expect(failing(twice).map((c) => c.failures)).toEqual([
      [expect.stringContaining('t1: 2 distinct outcome events')],
    ]);
    const disagree = clean();
    disagree.statuses['t0'] = 'failed';
    expect(failing(disagree)[0]!.failures).toEqual([
      't0: gateway says failed, the outcome topic is tasks.task.completed.v1',
    ]);
  });

  it('fails an escalation, a webhook id whose body changed, a task never told, and a chain that does not verify', () => {
    const o = clean();
    o.outcomes.push({
      topic: 'tasks.task.escalated.v1',
      ceId: 'x',
      taskId: 'tx',
      data: { reason: 'ledger unreachable' },
    });
    o.webhooks.push({ webhookId: 'w1', body: '{"type":"task.failed","data":{"taskId":"t1","late":true}}' });
    o.audit = { status: 200, body: { ok: false, firstBadSeq: 3 } };
    o.gateway500s = 2;
    expect(failing(o).map((c) => c.name)).toEqual([
      'no task is escalated to a person because of an outage',
      'each webhook-id always carries the same body, and every task with a webhookUrl is told its outcome',
      'the audit chain verifies',
      'the gateway never answers 500 (an outage is a 503 with Retry-After)',
    ]);
    const untold = clean();
    untold.webhooks = [];
    expect(failing(untold)[0]!.failures).toEqual(['t1: no webhook received']);
  });
});

describe('rebalanceCheck', () => {
  const failures = (change: (r: RebalanceObservation) => void) => {
    const r = rebalanced();
    change(r);
    return rebalanceCheck([r]).failures;
  };

  it('fails a dead member still in its group, a partition without an owner, and survivors that stop consuming', () => {
    expect(rebalanceCheck([rebalanced()]).ok).toBe(true);
    expect(
      failures((r) => {
        r.groups[0]!.members.push('deliberate-triage-r0-3');
        r.groups[0]!.strangers = ['deliberate-triage-r0-3'];
      }),
    ).toEqual(['triage chaos.deliberate.triage: members not of a live process: deliberate-triage-r0-3']);
    expect(failures((r) => (r.groups[0]!.unassigned = ['chaos.tasks.task.submitted.v1/2']))).toEqual([
      'triage chaos.deliberate.triage: 1 partitions without an owner (chaos.tasks.task.submitted.v1/2)',
    ]);
    expect(failures((r) => (r.consumedAfter = 40))).toEqual([
      'triage: the survivors did not consume after the rebalance (40 -> 40)',
    ]);
    expect(failures((r) => (r.consumedAfter = null))).toEqual([
      'triage: the survivors did not consume after the rebalance (40 -> no answer)',
    ]);
  });

  it('fails a service whose replicas shared no group (nothing watched), and passes a run of single processes', () => {
    expect(failures((r) => (r.groups = []))).toEqual([
      'triage: no consumer group shared by its replicas (before the kill: none)',
    ]);
    expect(
      failures((r) => {
        r.groups = [];
        r.groupsBeforeKill = ['chaos.deliberate.triage PreparingRebalance [deliberate-triage-r1-4]'];
      }),
    ).toEqual([
      'triage: no consumer group shared by its replicas (before the kill: chaos.deliberate.triage PreparingRebalance [deliberate-triage-r1-4])',
    ]);
    expect(rebalanceCheck(null).ok).toBe(true);
  });
});

describe('moneyChecks', () => {
  const row = (id: string | null, cost: number) => ({
    clientRequestId: id,
    model: 'sim-fast',
    costMicroUsd: cost,
    clientConnected: true,
  });
  const booking = (id: string | null, cost: number, aborted = false) => ({
    reservationId: id,
    model: 'sim-fast',
    costMicroUsd: cost,
    aborted,
  });
  const broken = (bill: Parameters<typeof moneyChecks>[0], bookings: Parameters<typeof moneyChecks>[1]) =>
    moneyChecks(bill, bookings)
      .filter((c) => !c.ok)
      .map((c) => c.failures);

  it('fails a billed call never booked, or sent without a request id', () => {
    expect(broken([row('a', 5)], [])).toEqual([
      ['a: 1 billed call(s) of sim-fast, 5 micro-USD, no booking'],
      ['booked 5 micro-USD less than billed'],
    ]);
    expect(broken([row(null, 5)], [booking(null, 5)])[0]).toEqual([
      '1 billed calls sent no x-client-request-id (sim-fast 1), 5 micro-USD',
    ]);
  });

  it('fails a booking one micro-USD off, a call billed twice and booked once, and an aborted booking below its bill', () => {
    expect(broken([row('a', 5)], [booking('a', 6)])).toEqual([
      ['a: booked 6 micro-USD in 1 booking(s), billed 5 in 1 call(s)'],
    ]);
    expect(broken([row('a', 5), row('a', 5)], [booking('a', 5)])).toEqual([
      ['a: booked 5 micro-USD in 1 booking(s), billed 10 in 2 call(s)'],
      ['booked 5 micro-USD less than billed'],
    ]);
    expect(broken([row('a', 5)], [booking('a', 4, true)])[0]).toEqual([
      "a: aborted call booked 4 micro-USD, below the bill's 5",
    ]);
  });
});
