// What a chaos run must show once its load has drained, as pure checks over what was observed, so the suite and the
// benchmark judge a run the same way. Each check names what it counted and lists a sample of what broke it.

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled', 'needs_human'] as const;

// The outcome topic each terminal status is announced on.
export const OUTCOME_TOPIC_OF: Record<string, string> = {
  completed: 'tasks.task.completed.v1',
  failed: 'tasks.task.failed.v1',
  cancelled: 'tasks.task.cancelled.v1',
  needs_human: 'tasks.task.escalated.v1',
};

/** Every check of a run, in the order evaluateChaos reports them. */
export const CHAOS_CHECKS = [
  'every submission is accepted, and replays of one Idempotency-Key get one task',
  'every accepted task reaches a terminal state at the gateway',
  'one terminal event per task, and every duplicate of it carries the same CloudEvents id',
  'no task is escalated to a person because of an outage',
  'each webhook-id always carries the same body, and every task with a webhookUrl is told its outcome',
  'the audit chain verifies',
  'every billed call has a ledger booking under its request id',
  "each booking equals its bill to the micro-USD (an aborted call's booking is at least its bill)",
  'the ledger books at least what the provider bills',
  'the gateway never answers 500 (an outage is a 503 with Retry-After)',
  'while a replica is down, its consumer groups rebalance to the survivors, which go on consuming',
] as const;

export interface SubmittedTask {
  n: number;
  idempotencyKey: string;
  kind: 'fast' | 'reasoning';
  webhook: boolean;
  /** Every id the gateway answered for this key (the first submission, its racing twin, its later replay). */
  answeredIds: string[];
  /** Set when the gateway refused the task for good (a 4xx other than 409 and 429). */
  refused: string | null;
}

export interface OutcomeEvent {
  topic: string;
  ceId: string;
  taskId: string;
  data: Record<string, unknown>;
}

export interface ReceivedWebhook {
  webhookId: string;
  body: string;
}

export interface BillRow {
  clientRequestId: string | null;
  model: string;
  costMicroUsd: number;
  clientConnected: boolean;
}

export interface Booking {
  reservationId: string | null;
  model: string;
  costMicroUsd: number;
  aborted: boolean;
}

/** One consumer group, as the broker described it while a replica of its service was down. */
export interface GroupWhileDown {
  group: string;
  state: string;
  /** The members' Kafka client ids (each process has its own). */
  members: string[];
  /** Members that are no live process of the service: the killed one, not yet evicted. */
  strangers: string[];
  /** Partitions of the group's topics that no member is assigned. */
  unassigned: string[];
}

/** What the run saw of one service's consumer groups between the SIGKILL of one replica and its restart. */
export interface RebalanceObservation {
  service: string;
  killedClientId: string;
  /** The groups the killed replica shared with a survivor, as last described (settled, or at the deadline). */
  groups: GroupWhileDown[];
  /** The service's groups just before the kill: id, state and members, to explain a group not shared. */
  groupsBeforeKill?: string[];
  /** Messages the survivors had consumed once the groups had settled, and a little later (null: no answer). */
  consumedBefore: number | null;
  consumedAfter: number | null;
}

export interface ChaosObservations {
  tasks: SubmittedTask[];
  /** The gateway's status of each accepted task after the drain. */
  statuses: Record<string, string>;
  outcomes: OutcomeEvent[];
  webhooks: ReceivedWebhook[];
  audit: { status: number; body: unknown };
  bill: BillRow[];
  bookings: Booking[];
  /** Gateway answers of 500 (an outage must be a 503 with Retry-After). */
  gateway500s: number;
  /** What some of them answered. */
  gateway500Samples: string[];
  /** One per replica killed beside a survivor; null when every service ran as one process. */
  rebalances: RebalanceObservation[] | null;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Counts, in one line. */
  summary: string;
  /** Up to ten of the cases that broke it. */
  failures: string[];
}

const SAMPLE = 10;

function check(name: string, summary: string, failures: string[]): CheckResult {
  return { name, ok: failures.length === 0, summary, failures: failures.slice(0, SAMPLE) };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

export function acceptedTaskIds(tasks: readonly SubmittedTask[]): string[] {
  return [...new Set(tasks.flatMap((t) => t.answeredIds))];
}

export function evaluateChaos(o: ChaosObservations): CheckResult[] {
  const accepted = o.tasks.filter((t) => t.answeredIds.length > 0);
  const ids = acceptedTaskIds(o.tasks);
  const outcomesByTask = groupBy(o.outcomes, (e) => e.taskId);
  const results: CheckResult[] = [];

  const refused = o.tasks.filter((t) => t.refused !== null);
  results.push(
    check(
      'every submission is accepted, and replays of one Idempotency-Key get one task',
      `${o.tasks.length} submitted, ${accepted.length} accepted, ${refused.length} refused, ` +
        `${o.tasks.filter((t) => t.answeredIds.length > 1).length} replayed`,
      [
        ...refused.map((t) => `#${t.n} refused: ${t.refused}`),
        ...o.tasks
          .filter((t) => t.refused === null && t.answeredIds.length === 0)
          .map((t) => `#${t.n} never accepted`),
        ...o.tasks
          .filter((t) => new Set(t.answeredIds).size > 1)
          .map((t) => `#${t.n} (${t.idempotencyKey}) got ids ${[...new Set(t.answeredIds)].join(', ')}`),
      ],
    ),
  );

  const notTerminal = ids.filter(
    (id) => !(TERMINAL_STATUSES as readonly string[]).includes(o.statuses[id] ?? ''),
  );
  const byStatus = groupBy(ids, (id) => o.statuses[id] ?? 'unknown');
  results.push(
    check(
      'every accepted task reaches a terminal state at the gateway',
      [...byStatus].map(([status, group]) => `${status} ${group.length}`).join(', '),
      notTerminal.map((id) => `${id}: ${o.statuses[id] ?? 'not found'}`),
    ),
  );

  const oneOutcome: string[] = [];
  let duplicates = 0;
  for (const id of ids) {
    const events = outcomesByTask.get(id) ?? [];
    duplicates += Math.max(0, events.length - 1);
    const distinct = new Set(events.map((e) => `${e.topic} ${e.ceId}`));
    const expectedTopic = OUTCOME_TOPIC_OF[o.statuses[id] ?? ''];
    if (distinct.size !== 1)
      oneOutcome.push(`${id}: ${distinct.size} distinct outcome events (${[...distinct].join('; ')})`);
    else if (expectedTopic && events[0]!.topic !== expectedTopic)
      oneOutcome.push(`${id}: gateway says ${o.statuses[id]}, the outcome topic is ${events[0]!.topic}`);
  }
  results.push(
    check(
      'one terminal event per task, and every duplicate of it carries the same CloudEvents id',
      `${o.outcomes.length} outcome events for ${ids.length} tasks, ${duplicates} redelivered copies`,
      oneOutcome,
    ),
  );

  const escalated = o.outcomes.filter((e) => e.topic === OUTCOME_TOPIC_OF['needs_human']);
  const failed = o.outcomes.filter((e) => e.topic === OUTCOME_TOPIC_OF['failed']);
  // The load asks for nothing a model cannot answer within its budget: every escalation here was caused by a fault.
  results.push(
    check(
      'no task is escalated to a person because of an outage',
      `${new Set(escalated.map((e) => e.taskId)).size} escalated, ${new Set(failed.map((e) => e.taskId)).size} failed`,
      escalated.map(
        (e) => `${e.taskId}: ${String(e.data['reason'])} (${JSON.stringify(e.data['attempts'])})`,
      ),
    ),
  );

  const bodiesById = groupBy(o.webhooks, (w) => w.webhookId);
  const webhookTaskIds = new Set(accepted.filter((t) => t.webhook).flatMap((t) => t.answeredIds));
  const reached = new Set<string>();
  for (const w of o.webhooks) {
    const taskId = webhookTaskId(w.body);
    if (taskId) reached.add(taskId);
  }
  const changed = [...bodiesById].filter(([, group]) => new Set(group.map((w) => w.body)).size > 1);
  const terminalWithWebhook = [...webhookTaskIds].filter((id) =>
    (TERMINAL_STATUSES as readonly string[]).includes(o.statuses[id] ?? ''),
  );
  results.push(
    check(
      'each webhook-id always carries the same body, and every task with a webhookUrl is told its outcome',
      `${o.webhooks.length} webhook requests, ${bodiesById.size} webhook ids, ` +
        `${terminalWithWebhook.filter((id) => reached.has(id)).length}/${terminalWithWebhook.length} tasks reached`,
      [
        ...changed.map(([id, group]) => `${id}: ${new Set(group.map((w) => w.body)).size} different bodies`),
        ...terminalWithWebhook.filter((id) => !reached.has(id)).map((id) => `${id}: no webhook received`),
      ],
    ),
  );

  const auditOk =
    o.audit.status === 200 &&
    typeof o.audit.body === 'object' &&
    (o.audit.body as { ok?: unknown }).ok === true;
  results.push(
    check(
      'the audit chain verifies',
      `verify answered ${o.audit.status}`,
      auditOk ? [] : [JSON.stringify(o.audit.body)],
    ),
  );

  results.push(...moneyChecks(o.bill, o.bookings));

  results.push(
    check(
      'the gateway never answers 500 (an outage is a 503 with Retry-After)',
      `${o.gateway500s} answers of 500`,
      o.gateway500s > 0
        ? o.gateway500Samples.length > 0
          ? o.gateway500Samples
          : [`${o.gateway500s} answers of 500`]
        : [],
    ),
  );
  results.push(rebalanceCheck(o.rebalances));
  return results;
}

/**
 * While a killed replica is down: each group it shared with a survivor holds members of live processes only, and
 * every partition of the group's topics has an owner; the survivors' consumed-message count still goes up. A
 * service whose replicas share no group fails too: then nothing was watched.
 */
export function rebalanceCheck(rebalances: readonly RebalanceObservation[] | null): CheckResult {
  const name =
    'while a replica is down, its consumer groups rebalance to the survivors, which go on consuming';
  if (rebalances === null) return check(name, 'one process per service: no survivor to watch', []);
  const failures: string[] = [];
  for (const r of rebalances) {
    if (r.groups.length === 0)
      failures.push(
        `${r.service}: no consumer group shared by its replicas (before the kill: ${r.groupsBeforeKill?.join('; ') || 'none'})`,
      );
    for (const g of r.groups) {
      if (g.strangers.length > 0)
        failures.push(`${r.service} ${g.group}: members not of a live process: ${g.strangers.join(', ')}`);
      if (g.unassigned.length > 0)
        failures.push(
          `${r.service} ${g.group}: ${g.unassigned.length} partitions without an owner (${g.unassigned.slice(0, 5).join(', ')})`,
        );
    }
    if (r.consumedBefore === null || r.consumedAfter === null || r.consumedAfter <= r.consumedBefore)
      failures.push(
        `${r.service}: the survivors did not consume after the rebalance (${r.consumedBefore ?? 'no answer'} -> ${r.consumedAfter ?? 'no answer'})`,
      );
  }
  return check(
    name,
    `${rebalances.length} replicas killed, ${rebalances.reduce((n, r) => n + r.groups.length, 0)} groups watched, ` +
      `${rebalances.filter((r) => r.groups.every((g) => g.strangers.length === 0 && g.unassigned.length === 0)).length} rebalanced`,
    failures,
  );
}

function webhookTaskId(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { data?: { taskId?: unknown } };
    return typeof parsed.data?.taskId === 'string' ? parsed.data.taskId : null;
  } catch {
    return null;
  }
}

/**
 * The provider's bill against the ledger, call by call (the caller's request id is the reservation id): the same cost
 * to the micro-USD, except a call whose client was killed, which the ledger books at its hold's worst case (flagged
 * aborted), never below the bill. No billed call without a booking; in total the ledger never books less.
 */
export function moneyChecks(bill: readonly BillRow[], bookings: readonly Booking[]): CheckResult[] {
  const billed = groupBy(
    bill.filter((r) => r.clientRequestId !== null),
    (r) => r.clientRequestId!,
  );
  const booked = groupBy(
    bookings.filter((b) => b.reservationId !== null),
    (b) => b.reservationId!,
  );
  const anonymous = bill.filter((r) => r.clientRequestId === null);
  const unbooked: string[] = [];
  const mismatched: string[] = [];
  let exact = 0;
  let aborted = 0;
  for (const [requestId, rows] of billed) {
    const bills = rows.reduce((sum, r) => sum + r.costMicroUsd, 0);
    const matches = booked.get(requestId) ?? [];
    if (matches.length === 0) {
      unbooked.push(
        `${requestId}: ${rows.length} billed call(s) of ${rows[0]!.model}, ${bills} micro-USD, no booking`,
      );
      continue;
    }
    const cost = matches.reduce((sum, b) => sum + b.costMicroUsd, 0);
    const wasAborted = matches.some((b) => b.aborted);
    if (wasAborted) {
      aborted++;
      if (cost < bills)
        mismatched.push(`${requestId}: aborted call booked ${cost} micro-USD, below the bill's ${bills}`);
    } else if (cost !== bills) {
      mismatched.push(
        `${requestId}: booked ${cost} micro-USD in ${matches.length} booking(s), billed ${bills} in ${rows.length} call(s)` +
          (rows.some((r) => !r.clientConnected) ? ' (a client had gone)' : ''),
      );
    } else exact++;
  }
  const totalBilled = bill.reduce((sum, r) => sum + r.costMicroUsd, 0);
  const totalBooked = bookings.reduce((sum, b) => sum + b.costMicroUsd, 0);
  return [
    check(
      'every billed call has a ledger booking under its request id',
      `${bill.length} billed calls, ${anonymous.length} without a request id, ${unbooked.length} request ids not booked`,
      [
        ...(anonymous.length > 0
          ? [
              `${anonymous.length} billed calls sent no x-client-request-id (${[
                ...groupBy(anonymous, (r) => r.model),
              ]
                .map(([m, g]) => `${m} ${g.length}`)
                .join(', ')}), ${anonymous.reduce((s, r) => s + r.costMicroUsd, 0)} micro-USD`,
            ]
          : []),
        ...unbooked,
      ],
    ),
    check(
      "each booking equals its bill to the micro-USD (an aborted call's booking is at least its bill)",
      `${exact} exact, ${aborted} aborted, ${mismatched.length} mismatched`,
      mismatched,
    ),
    check(
      'the ledger books at least what the provider bills',
      `booked ${totalBooked} micro-USD, billed ${totalBilled} micro-USD`,
      totalBooked >= totalBilled ? [] : [`booked ${totalBilled - totalBooked} micro-USD less than billed`],
    ),
  ];
}

/** One line per check, for progress output and the benchmark's table. */
export function formatChecks(results: readonly CheckResult[]): string {
  return results
    .map(
      (r) =>
        `${r.ok ? 'PASS' : 'FAIL'} ${r.name}: ${r.summary}${r.ok ? '' : `\n    ${r.failures.join('\n    ')}`}`,
    )
    .join('\n');
}
