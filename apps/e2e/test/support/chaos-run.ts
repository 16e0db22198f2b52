// One chaos run: a steady mixed load on the stack (fast and reasoning tasks, some with a webhookUrl, some sent twice
// at once and again later under their Idempotency-Key), the faults in turn while it runs, then the drain and what
// each party recorded: the gateway, the outcome topics, the webhook receiver, the audit store, the simulator's bill
// and the ledger's bookings. With several replicas of each service, the first replica of each is the one killed, and
// while it is down the run watches its consumer groups move its partitions to the survivors. Shared by
// apps/e2e/test/chaos.int-spec.ts and bench/chaos.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import {
  acceptedTaskIds,
  type Booking,
  type BillRow,
  type ChaosObservations,
  OUTCOME_TOPIC_OF,
  type OutcomeEvent,
  type RebalanceObservation,
  type ReceivedWebhook,
  type SubmittedTask,
  TERMINAL_STATUSES,
} from './chaos-checks.ts';
import type { ChaosService, ChaosStack } from './chaos-stack.ts';
import { HOST } from './chaos-infra.ts';

export interface ChaosLoad {
  /**
   * Tasks submitted at least. The load goes on at its rate until the last fault is over, so that the survivors of
   * every fault have work however long the faults take on a slow machine.
   */
  tasks: number;
  /** Submissions per second (open loop). */
  rate: number;
  /** Seconds of load before the first fault. */
  warmupS: number;
  /** Seconds between two faults. */
  gapS: number;
  /** How long the ledger is frozen, the broker and Postgres are down. */
  ledgerFreezeMs: number;
  brokerDownMs: number;
  postgresDownMs: number;
  /** After the last submission, how long every task may take to reach a terminal state. */
  drainTimeoutMs: number;
}

export interface ChaosPhase {
  name: string;
  startedS: number;
  tookS: number;
}

export interface ChaosRunResult {
  observations: ChaosObservations;
  phases: ChaosPhase[];
  /** Seconds from the first submission to the last, and to the end of the drain. */
  loadS: number;
  drainedS: number;
  /** Tasks still not terminal when the drain gave up. */
  undrained: number;
}

type Progress = (line: string) => void;

interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      received.push({
        webhookId: Array.isArray(id) ? id.join(',') : (id ?? ''),
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${HOST}:${port}`,
        received,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

interface HttpAnswer {
  status: number;
  body: unknown;
  retryAfterS: number | null;
}

async function call(
  url: string,
  method: string,
  key: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  const retryAfter = res.headers.get('retry-after');
  return { status: res.status, body: parsed, retryAfterS: retryAfter === null ? null : Number(retryAfter) };
}

// A submission as a careful client makes it: under its Idempotency-Key, retried on 409 (in progress), 429, 5xx and
// connection errors until the gateway answers with the task id.
async function submitUntilAccepted(
  gateway: () => string,
  key: string,
  task: SubmittedTask,
  body: unknown,
  stats: { gateway500s: number; gateway500Samples: string[] },
  deadline: number,
): Promise<void> {
  for (;;) {
    let answer: HttpAnswer | null = null;
    try {
      answer = await call(`${gateway()}/v1/tasks`, 'POST', key, body, {
        'idempotency-key': task.idempotencyKey,
      });
    } catch {
      // the gateway is down or cut the connection
    }
    if (answer && (answer.status === 200 || answer.status === 201 || answer.status === 202)) {
      const id = (answer.body as { id?: unknown }).id;
      if (typeof id === 'string') {
        task.answeredIds.push(id);
        return;
      }
    }
    if (answer?.status === 500) count500(stats, `POST /v1/tasks: ${JSON.stringify(answer.body)}`);
    if (
      answer &&
      answer.status >= 400 &&
      answer.status < 500 &&
      answer.status !== 409 &&
      answer.status !== 429
    ) {
      task.refused = `${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
      return;
    }
    if (Date.now() > deadline) {
      task.refused = `not accepted before the deadline (last answer ${answer?.status ?? 'none'})`;
      return;
    }
    const waitS = answer?.retryAfterS ?? null;
    await sleep(waitS !== null && Number.isFinite(waitS) ? Math.min(waitS * 1000, 2_000) : 300);
  }
}

function count500(stats: { gateway500s: number; gateway500Samples: string[] }, what: string): void {
  stats.gateway500s++;
  if (stats.gateway500Samples.length < 10) stats.gateway500Samples.push(what.slice(0, 400));
}

function taskBody(n: number, kind: 'fast' | 'reasoning', webhookUrl: string | null): Record<string, unknown> {
  // One task in ten is mostly CJK text, whose tokens are many more than four characters each.
  const cjk = n % 10 === 5 ? ' 请用三句话总结这份合同的主要风险和付款条件，并说明理由。'.repeat(8) : '';
  const input =
    kind === 'reasoning'
      ? `Task ${n}: compare two ways to schedule the deliveries.${cjk} [[sim:complexity=complex]] [[sim:reasoning_tokens=500]]`
      : `Task ${n}: what is the capital of France?${cjk} [[sim:complexity=simple]]`;
  return {
    input,
    // A client of one-second tasks gives each two minutes: long enough to outlast every fault of the run, short
    // enough that a task whose call died with its process is retried (or ends) within the drain.
    latencyBudgetMs: 120_000,
    maxCostUsd: 1,
    ...(kind === 'reasoning' ? { reasoningEffort: 'low', maxThinkingTokens: 4_000 } : {}),
    ...(webhookUrl ? { webhookUrl } : {}),
    metadata: { chaos: String(n) },
  };
}

function kafkaOf(stack: ChaosStack, clientId: string): kafkajs.Kafka {
  return new kafkajs.Kafka({
    clientId,
    brokers: stack.broker.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
}

async function readOutcomes(stack: ChaosStack): Promise<OutcomeEvent[]> {
  const kafka = kafkaOf(stack, 'chaos-reader');
  const topics = Object.values(OUTCOME_TOPIC_OF).map((t) => `${stack.topicPrefix}${t}`);
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<string, bigint>();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}/${p.partition}`, BigInt(p.high) - 1n);
      }
    }
  } finally {
    await admin.disconnect();
  }
  const events: OutcomeEvent[] = [];
  if (remaining.size === 0) return events;
  const consumer = kafka.consumer({ groupId: `chaos-reader-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: ({ topic, partition, message }) => {
        const header = (name: string) => message.headers?.[name]?.toString() ?? '';
        events.push({
          topic: topic.slice(stack.topicPrefix.length),
          ceId: header('ce_id'),
          taskId: header('ce_taskid'),
          data: JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>,
        });
        const key = `${topic}/${partition}`;
        const last = remaining.get(key);
        if (last !== undefined && BigInt(message.offset) >= last) remaining.delete(key);
        if (remaining.size === 0) done();
        return Promise.resolve();
      },
    });
    // The timer is cancelled once the topics are read, so it neither fires late nor holds the process open.
    const timer = new AbortController();
    try {
      await Promise.race([
        finished,
        sleep(60_000, undefined, { signal: timer.signal }).then(
          () => {
            throw new Error(
              `the outcome topics were not read to their end within 60 s (${remaining.size} partitions left)`,
            );
          },
          () => undefined,
        ),
      ]);
    } finally {
      timer.abort();
    }
  } finally {
    await consumer.disconnect();
  }
  return events;
}

async function readBookings(stack: ChaosStack): Promise<Booking[]> {
  // to_jsonb: the columns a booking has depend on the ledger's migrations; `aborted` is absent before they add it.
  const { rows } = await stack.db.query<{ b: Record<string, unknown> }>(
    'SELECT to_jsonb(b) AS b FROM ledger.bookings b',
  );
  // A blind abort's booking that the call's real usage replaced is kept at cost 0, marked superseded: the call is
  // the replacing booking's.
  return rows
    .filter(({ b }) => b['superseded_by_event_id'] === undefined || b['superseded_by_event_id'] === null)
    .map(({ b }) => ({
      reservationId: typeof b['reservation_id'] === 'string' ? b['reservation_id'] : null,
      model: String(b['model']),
      costMicroUsd: Number(b['cost_micro_usd']),
      aborted: b['aborted'] === true,
    }));
}

async function readBill(stack: ChaosStack): Promise<BillRow[]> {
  const res = await fetch(`${stack.simulatorUrl}/v1/bill`, { headers: { authorization: 'Bearer chaos' } });
  if (!res.ok) throw new Error(`GET /v1/bill answered ${res.status}`);
  const body = (await res.json()) as { calls: BillRow[] };
  return body.calls;
}

// Messages a process has consumed, all its groups and outcomes together, from its /metrics; null when it does not
// answer.
async function consumedMessages(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return null;
    let sum = 0;
    for (const line of (await res.text()).split('\n')) {
      if (!line.startsWith('messaging_client_consumed_messages_total')) continue;
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(value)) sum += value;
    }
    return sum;
  } catch {
    return null;
  }
}

type GroupDescription = Awaited<ReturnType<kafkajs.Admin['describeGroups']>>['groups'][number];

// The partitions of its topics that no member of the group is assigned.
async function unassignedPartitions(admin: kafkajs.Admin, group: GroupDescription): Promise<string[]> {
  const topics = new Set<string>();
  const assigned = new Set<string>();
  for (const member of group.members) {
    for (const topic of kafkajs.AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.topics ?? [])
      topics.add(topic);
    const assignment = kafkajs.AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    for (const [topic, partitions] of Object.entries(assignment?.assignment ?? {}))
      for (const p of partitions) assigned.add(`${topic}/${p}`);
  }
  if (topics.size === 0) return ['no member subscribes to a topic'];
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
  return metadata.flatMap((t) =>
    t.partitions.map((p) => `${t.name}/${p.partitionId}`).filter((tp) => !assigned.has(tp)),
  );
}

// Kills the first replica of `service` and, before starting it again, waits until each consumer group it shared
// with a surviving replica has rebalanced: members only of live processes, every partition assigned, and the
// survivors consuming afterwards. A SIGKILLed member leaves its group only when its 30 s session ends.
async function killObservingRebalance(
  stack: ChaosStack,
  admin: kafkajs.Admin,
  service: ChaosService,
): Promise<RebalanceObservation> {
  const killed = stack.clientIdOf(service, 0);
  const survivors = Array.from({ length: stack.replicas - 1 }, (_, i) => i + 1);
  const survivorIds = survivors.map((r) => stack.clientIdOf(service, r));
  // A process's clients are named after its client id (the ledger's command server adds `-commands`).
  const ofProcess = (clientId: string, processId: string | null) =>
    processId !== null && (clientId === processId || clientId.startsWith(`${processId}-`));
  // The groups of this service that a survivor is in beside the replica about to die (a group of one process's
  // own, made per start, dies with it and has nothing to hand over). Read once the service's groups are Stable: a
  // group caught mid-rebalance (after a broker node's restart, say) lists only part of its members.
  const ofService = (g: GroupDescription) =>
    g.members.some((m) => [killed, ...survivorIds].some((id) => ofProcess(m.clientId, id)));
  let shared: string[] = [];
  let serviceGroups: GroupDescription[] = [];
  const stableBy = Date.now() + STABLE_BEFORE_KILL_MS;
  for (;;) {
    const listed = await admin.listGroups();
    const described = await admin.describeGroups(
      listed.groups.map((g) => g.groupId).filter((g) => g.startsWith(stack.topicPrefix)),
    );
    serviceGroups = described.groups.filter(ofService);
    shared = serviceGroups
      .filter((g) => g.members.some((m) => ofProcess(m.clientId, killed)))
      .filter((g) => g.members.some((m) => survivorIds.some((id) => ofProcess(m.clientId, id))))
      .map((g) => g.groupId);
    const stable = serviceGroups.every((g) => g.state === 'Stable');
    if ((shared.length > 0 && stable) || Date.now() > stableBy) break;
    await sleep(1_000);
  }
  const observation: RebalanceObservation = {
    service,
    killedClientId: killed ?? '(not running)',
    groups: [],
    groupsBeforeKill: serviceGroups.map(
      (g) => `${g.groupId} ${g.state} [${g.members.map((m) => m.clientId).join(', ')}]`,
    ),
    consumedBefore: null,
    consumedAfter: null,
  };
  await stack.kill(service, 0);
  const consumedBy = async () => {
    let sum = 0;
    for (const r of survivors) {
      const n = await consumedMessages(stack.urlOf(service, r));
      if (n === null) return null;
      sum += n;
    }
    return sum;
  };
  const deadline = Date.now() + REBALANCE_TIMEOUT_MS;
  for (;;) {
    const live = survivors.map((r) => stack.clientIdOf(service, r));
    const now = shared.length > 0 ? (await admin.describeGroups(shared)).groups : [];
    observation.groups = [];
    for (const g of now) {
      observation.groups.push({
        group: g.groupId,
        state: g.state,
        members: g.members.map((m) => m.clientId),
        strangers: g.members
          .map((m) => m.clientId)
          .filter((id) => !live.some((processId) => ofProcess(id, processId))),
        unassigned: g.state === 'Stable' ? await unassignedPartitions(admin, g) : ['(rebalancing)'],
      });
    }
    const settled = observation.groups.every((g) => g.strangers.length === 0 && g.unassigned.length === 0);
    if (settled || Date.now() > deadline) break;
    await sleep(1_000);
  }
  // Consuming after the rebalance: the survivors' count goes up from where it was once the group had settled.
  observation.consumedBefore = await consumedBy();
  const consumeDeadline = Date.now() + CONSUME_TIMEOUT_MS;
  for (;;) {
    observation.consumedAfter = await consumedBy();
    if (
      (observation.consumedAfter !== null &&
        observation.consumedBefore !== null &&
        observation.consumedAfter > observation.consumedBefore) ||
      Date.now() > consumeDeadline
    )
      break;
    await sleep(1_000);
  }
  await stack.start(service, 0);
  return observation;
}

// A session's 30 s, a rebalance, and room for a slow machine.
const REBALANCE_TIMEOUT_MS = 90_000;
// How long the service's groups may take to be Stable, and shared by its replicas, before one is killed.
const STABLE_BEFORE_KILL_MS = 45_000;
const CONSUME_TIMEOUT_MS = 30_000;

async function pool<T>(items: readonly T[], width: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

export async function runChaos(
  stack: ChaosStack,
  load: ChaosLoad,
  progress: Progress,
): Promise<ChaosRunResult> {
  const t0 = Date.now();
  const at = () => ((Date.now() - t0) / 1000).toFixed(0);
  const receiver = await startWebhookReceiver();
  // Requests take turns between the gateway replicas; a retry goes to the next one.
  let turn = 0;
  const gateway = () => stack.gatewayUrls[turn++ % stack.gatewayUrls.length]!;
  const groupAdmin = kafkaOf(stack, 'chaos-group-watcher').admin();
  try {
    // A tenant with a submitter, an admin (who sets the task webhook secret) and an auditor.
    const tenant = `chaos-${t0.toString(36)}`;
    const created = await call(`${stack.gatewayUrl}/v1/admin/tenants`, 'POST', stack.adminKey, {
      id: tenant,
      name: 'Chaos tenant',
    });
    if (created.status !== 201) throw new Error(`tenant: ${created.status} ${JSON.stringify(created.body)}`);
    const keyOf = async (role: string) => {
      const res = await call(
        `${stack.gatewayUrl}/v1/admin/tenants/${tenant}/api-keys`,
        'POST',
        stack.adminKey,
        { role },
      );
      if (res.status !== 201) throw new Error(`key ${role}: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { key: string }).key;
    };
    const submitter = await keyOf('submitter');
    const auditor = await keyOf('auditor');
    const admin = await keyOf('admin');
    const secret = await call(`${stack.gatewayUrl}/v1/webhooks/task-secret`, 'POST', admin);
    if (secret.status !== 201)
      throw new Error(`task secret: ${secret.status} ${JSON.stringify(secret.body)}`);

    const stats = { gateway500s: 0, gateway500Samples: [] as string[] };
    const tasks: SubmittedTask[] = [];
    const inFlight = new Set<Promise<void>>();
    const submitDeadline = () => Date.now() + 180_000;

    let faultsOver = false;
    const loadDone = (async () => {
      const started = Date.now();
      for (let n = 0; n < load.tasks || !faultsOver; n++) {
        const due = started + (n * 1000) / load.rate;
        if (due > Date.now()) await sleep(due - Date.now());
        const kind = n % 3 === 0 ? 'reasoning' : 'fast';
        const webhook = n % 4 === 1;
        const task: SubmittedTask = {
          n,
          idempotencyKey: `chaos-${t0}-${n}`,
          kind,
          webhook,
          answeredIds: [],
          refused: null,
        };
        tasks.push(task);
        const body = taskBody(n, kind, webhook ? `${receiver.url}/task/${n}` : null);
        const deadline = submitDeadline();
        const send = () => submitUntilAccepted(gateway, submitter, task, body, stats, deadline);
        // One task in five is sent twice at once, and once more a few seconds later: the same key, one task.
        const job =
          n % 5 === 2
            ? Promise.all([send(), send()])
                .then(() => sleep(3_000))
                .then(send)
            : send();
        const tracked = job.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
    })();

    const phases: ChaosPhase[] = [];
    const phase = async (name: string, act: () => Promise<void>) => {
      const started = Date.now();
      await act();
      const took = (Date.now() - started) / 1000;
      phases.push({ name, startedS: (started - t0) / 1000, tookS: took });
      const accepted = tasks.filter((t) => t.answeredIds.length > 0).length;
      progress(
        `[chaos +${at()}s] ${name} (${took.toFixed(1)} s); submitted ${tasks.length}, accepted ${accepted}`,
      );
    };

    await sleep(load.warmupS * 1000);
    // Every service killed once, the ledger frozen, the broker and Postgres restarted, interleaved so each fault
    // lands on a stack still busy with the previous one's backlog.
    const freezeLedger: [string, () => Promise<void>] = [
      `freeze the ledger for ${load.ledgerFreezeMs / 1000} s`,
      () => stack.freeze('ledger', load.ledgerFreezeMs),
    ];
    const restartPostgres: [string, () => Promise<void>] = [
      `restart Postgres (${load.postgresDownMs / 1000} s down)`,
      () => stack.restartPostgres(load.postgresDownMs),
    ];
    const brokerFault: [string, () => Promise<void>] = [
      stack.brokerNodes > 1
        ? `kill -9 broker node 2 of ${stack.brokerNodes}, restart (${load.brokerDownMs / 1000} s down)`
        : `restart the broker (${load.brokerDownMs / 1000} s down)`,
      () => stack.restartBroker(load.brokerDownMs),
    ];
    // With replicas, the first of each service is killed, two services at a time (each kill waits out a 30 s
    // session before its groups rebalance, so one at a time would outlast the load), its consumer groups watched
    // until they have rebalanced to the survivors, and then it is restarted.
    const rebalances: RebalanceObservation[] | null = stack.replicas > 1 ? [] : null;
    if (rebalances) await groupAdmin.connect();
    const killReplicas = (...services: ChaosService[]): [string, () => Promise<void>] => [
      `kill -9 ${services.join(' and ')} (replica 1 of ${stack.replicas}), rebalance, restart`,
      async () => {
        const seen = await Promise.all(
          services.map((service) => killObservingRebalance(stack, groupAdmin, service)),
        );
        for (const r of seen) {
          rebalances?.push(r);
          const groups = r.groups.map((g) => `${g.group} ${g.state} [${g.members.join(' ')}]`);
          progress(
            `[chaos +${at()}s]   ${r.service}: ${groups.join('; ') || 'no shared group'}; ` +
              `survivors consumed ${r.consumedBefore ?? '?'} -> ${r.consumedAfter ?? '?'}`,
          );
        }
      },
    ];
    const kill = (service: ChaosService): [string, () => Promise<void>] => [
      `kill -9 ${service}, restart`,
      () => stack.killAndRestart(service),
    ];
    const faults: Array<[string, () => Promise<void>]> = rebalances
      ? [
          killReplicas('gateway', 'triage'),
          brokerFault,
          killReplicas('reasoner', 'webhooks'),
          freezeLedger,
          killReplicas('ledger', 'audit'),
          restartPostgres,
        ]
      : [
          kill('gateway'),
          kill('triage'),
          brokerFault,
          kill('reasoner'),
          freezeLedger,
          kill('ledger'),
          restartPostgres,
          kill('webhooks'),
          kill('audit'),
        ];
    for (const [name, act] of faults) {
      await phase(name, act);
      await sleep(load.gapS * 1000);
    }
    faultsOver = true;
    await loadDone;
    while (inFlight.size > 0) await Promise.race(inFlight);
    const loadS = (Date.now() - t0) / 1000;
    progress(`[chaos +${at()}s] load ended (${tasks.length} submitted); draining`);

    // The drain: every accepted task until it is terminal at the gateway, or the drain's time is up.
    const ids = acceptedTaskIds(tasks);
    const statuses: Record<string, string> = {};
    const drainDeadline = Date.now() + load.drainTimeoutMs;
    let open = ids;
    while (open.length > 0 && Date.now() < drainDeadline) {
      await pool(open, 16, async (id) => {
        try {
          const res = await call(`${gateway()}/v1/tasks/${id}`, 'GET', submitter);
          if (res.status === 200) statuses[id] = String((res.body as { status?: unknown }).status);
          else if (res.status === 500) count500(stats, `GET /v1/tasks/${id}: ${JSON.stringify(res.body)}`);
        } catch {
          // asked again on the next round
        }
      });
      open = ids.filter((id) => !(TERMINAL_STATUSES as readonly string[]).includes(statuses[id] ?? ''));
      if (open.length > 0) await sleep(1_000);
    }
    const drainedS = (Date.now() - t0) / 1000;
    progress(`[chaos +${at()}s] drained: ${ids.length - open.length}/${ids.length} terminal`);

    // Webhooks and bookings trail the outcome a little: give them until every one has arrived, or 60 s.
    const webhookIds = new Set(tasks.filter((t) => t.webhook).flatMap((t) => t.answeredIds));
    const settleDeadline = Date.now() + 60_000;
    let bill = await readBill(stack);
    let bookings = await readBookings(stack);
    for (;;) {
      const reached = new Set(receiver.received.map((w) => w.body.match(/"taskId":"([^"]+)"/)?.[1]));
      const booked = new Set(bookings.map((b) => b.reservationId));
      const waiting =
        [...webhookIds].filter((id) => !reached.has(id)).length +
        bill.filter((r) => r.clientRequestId !== null && !booked.has(r.clientRequestId)).length;
      if (waiting === 0 || Date.now() > settleDeadline) break;
      await sleep(1_000);
      bill = await readBill(stack);
      bookings = await readBookings(stack);
    }
    const outcomes = await readOutcomes(stack);
    const audit = await call(`${stack.gatewayUrl}/v1/audit/verify`, 'GET', auditor);
    progress(
      `[chaos +${at()}s] read ${outcomes.length} outcome events, ${receiver.received.length} webhooks, ` +
        `${bill.length} billed calls, ${bookings.length} bookings; audit verify ${audit.status}`,
    );
    return {
      observations: {
        tasks,
        statuses,
        outcomes,
        webhooks: [...receiver.received],
        audit: { status: audit.status, body: audit.body },
        bill,
        bookings,
        gateway500s: stats.gateway500s,
        gateway500Samples: stats.gateway500Samples,
        rebalances,
      },
      phases,
      loadS,
      drainedS,
      undrained: open.length,
    };
  } finally {
    await groupAdmin.disconnect().catch(() => undefined);
    await receiver.close();
  }
}
