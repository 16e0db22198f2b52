import { CE_HEADERS, deadLetterTopic, taskAcceptedEvent, taskCancelledEvent } from '@deliberate/contracts';
import { type GatewayConfig, loadGatewayConfig } from '@deliberate/gateway/config';
import { createGatewayApp } from '@deliberate/gateway/create-gateway-app';
import {
  createGatewayApiKey,
  createGatewayTenant,
  gatewayHttp,
  header,
  type HttpResult,
  pollUntil,
  readTopic,
  scrapeMetrics,
  type ServiceUnderTest,
  startServiceUnderTest,
  proxyTestBroker,
  proxyTestDatabase,
  type TcpProxy,
  throughProxy,
  testKafka,
} from '@deliberate/testing';

// The gateway reaches its Postgres and its broker through proxies this suite cuts: while one is unreachable the API
// answers 503 with Retry-After and names it (never 500), a submission is still accepted while only the broker is
// away (its event waits in the outbox), and a client retrying with its Idempotency-Key gets exactly one task.

const ADMIN_KEY = 'dependency-outage-admin-0123456789';

type Answer = HttpResult<{ id?: string; message?: string; dependency?: string; statusCode?: number }>;

describe('the gateway while its database or broker is unreachable', () => {
  let postgres: TcpProxy;
  let kafka: TcpProxy;
  let gateway: ServiceUnderTest<GatewayConfig>;
  let key: string;

  beforeAll(async () => {
    postgres = await proxyTestDatabase();
    kafka = await proxyTestBroker();
    gateway = await startServiceUnderTest('dependency_outage', {
      schema: 'gateway',
      config: (env) => {
        return loadGatewayConfig({
          ...env,
          DATABASE_URL: throughProxy(env.DATABASE_URL, postgres),
          KAFKA_BROKERS: kafka.address,
          LOG_LEVEL: 'error',
          GATEWAY_ADMIN_API_KEY: ADMIN_KEY,
          // Sweeps run during the outage, beside the publish the admission started.
          GATEWAY_OUTBOX_INTERVAL_MS: '300',
          // Few quick attempts: an event that does not wait out the outage within its attempts is dead-lettered.
          KAFKA_HANDLER_MAX_ATTEMPTS: '2',
        });
      },
      create: createGatewayApp,
    });
    await createGatewayTenant(gateway.url, ADMIN_KEY, 'acme');
    key = await createGatewayApiKey(gateway.url, ADMIN_KEY, 'acme', 'submitter');
  });

  afterAll(async () => {
    postgres?.restore();
    kafka?.restore();
    await gateway?.close();
    await postgres?.close();
    await kafka?.close();
  });

  const call = (
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; key?: string } = {},
  ) => gatewayHttp(gateway.url, method, path, { key, ...options }) as Promise<Answer>;
  const submit = (idempotencyKey: string, input: string) =>
    call('POST', '/v1/tasks', {
      body: { input, mode: 'fast' },
      headers: { 'idempotency-key': idempotencyKey },
    });

  function expectUnavailable(answer: Answer, dependency: 'postgres' | 'kafka'): void {
    expect({ status: answer.status, dependency: answer.body.dependency }).toEqual({
      status: 503,
      dependency,
    });
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(answer.body.message).toMatch(dependency === 'postgres' ? /database/ : /broker/);
  }

  async function groupStates(groups: string[]): Promise<string[]> {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      return (await admin.describeGroups(groups)).groups.map((g) => g.state);
    } finally {
      await admin.disconnect();
    }
  }

  async function acceptedEvents(taskId: string) {
    await pollUntil(
      async () =>
        (
          await gateway.db.query<{ pending: number }>(
            `SELECT count(*)::int AS pending FROM outbox WHERE task_id = $1 AND published_at IS NULL`,
            [taskId],
          )
        ).rows[0]!.pending,
      (pending) => pending === 0,
      { what: `the outbox rows of ${taskId} published`, timeoutMs: 60_000 },
    );
    const messages = await pollUntil(
      () => readTopic(`${gateway.prefix}${taskAcceptedEvent.topic}`),
      (all) => all.some((m) => header(m, CE_HEADERS.taskId) === taskId),
      { what: `the accepted event of ${taskId}` },
    );
    return messages.filter((m) => header(m, CE_HEADERS.taskId) === taskId);
  }

  it('answers 503 naming Postgres on every task route and the rate limiter while the database is cut, and one task once it is back', async () => {
    const accepted = await submit('before-the-cut', 'a task stored before the cut');
    expect(accepted.status).toBe(202);
    const taskId = accepted.body.id!;

    postgres.cut();
    // The key's rate is counted in Postgres: every tenant request meets the database before its route.
    expectUnavailable(await submit('outage-1', 'submitted during the outage'), 'postgres');
    expectUnavailable(await call('GET', `/v1/tasks/${taskId}`), 'postgres');
    expectUnavailable(await call('POST', `/v1/tasks/${taskId}/cancel`, { body: {} }), 'postgres');
    // The platform admin is not rate-limited: its routes meet the database in their handlers.
    expectUnavailable(await call('GET', '/v1/admin/tenants', { key: ADMIN_KEY }), 'postgres');
    expectUnavailable(await submit('outage-1', 'submitted during the outage'), 'postgres');

    postgres.restore();
    const retried = await pollUntil(
      () => submit('outage-1', 'submitted during the outage'),
      (a) => a.status !== 503,
      { what: 'a submission answered after the restore' },
    );
    expect(retried.status).toBe(202);
    const again = await submit('outage-1', 'submitted during the outage');
    expect(again).toMatchObject({ status: 202, body: { id: retried.body.id } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const { rows } = await gateway.db.query(`SELECT id FROM tasks WHERE idempotency_key = 'outage-1'`);
    expect(rows).toEqual([{ id: retried.body.id }]);
    expect(await acceptedEvents(retried.body.id!)).toHaveLength(1);
    expect((await call('GET', `/v1/tasks/${taskId}`)).status).toBe(200);
  });

  it('projects a lifecycle event that arrives while the database is cut once it is back, instead of dead-lettering it', async () => {
    const accepted = await submit('projection-outage', 'ended while the database is away');
    expect(accepted.status).toBe(202);
    const taskId = accepted.body.id!;

    postgres.cut();
    await gateway.publisher.publish(taskCancelledEvent, {
      tenantId: 'acme',
      taskId,
      data: { reason: 'ended during the outage', usage: null, cancelledAt: new Date().toISOString() },
    });
    // Longer than the two attempts the suite allows, with their backoff.
    await new Promise((r) => setTimeout(r, 4_000));
    postgres.restore();

    const task = await pollUntil(
      () => call('GET', `/v1/tasks/${taskId}`) as Promise<HttpResult<{ status?: string }>>,
      (t) => t.status === 200 && t.body.status === 'cancelled',
      { what: 'the task cancelled in the read model', timeoutMs: 60_000 },
    );
    expect(task.body.status).toBe('cancelled');
    const deadLetters = await readTopic(`${gateway.prefix}${deadLetterTopic(taskCancelledEvent.topic)}`);
    expect(deadLetters.filter((m) => header(m, CE_HEADERS.taskId) === taskId)).toEqual([]);
  });

  it('accepts a submission while the broker is cut, and publishes its event once after the restore', async () => {
    const connectionsBefore = kafka.accepted();
    kafka.cut();
    const accepted = await submit('broker-outage', 'submitted while the broker is away');

    expect(accepted.status).toBe(202);
    const taskId = accepted.body.id!;
    // The event waits in the outbox through several sweeps.
    await pollUntil(
      async () =>
        (
          await gateway.db.query<{ pending: number }>(
            `SELECT count(*)::int AS pending FROM outbox WHERE task_id = $1 AND published_at IS NULL`,
            [taskId],
          )
        ).rows[0]!.pending,
      (pending) => pending === 1,
      { what: 'the accepted event pending in the outbox' },
    );
    const retry = await submit('broker-outage', 'submitted while the broker is away');
    expect(retry).toMatchObject({ status: 202, body: { id: taskId } });
    expect(kafka.accepted()).toBeGreaterThan(connectionsBefore);
    // A cancellation is a command published at once: it cannot wait in an outbox, so the client is told to retry.
    expectUnavailable(await call('POST', `/v1/tasks/${taskId}/cancel`, { body: {} }), 'kafka');

    kafka.restore();
    expect(await acceptedEvents(taskId)).toHaveLength(1);
    // The gateway's consumers crashed with the broker and restart on their own; they are back in their groups before
    // the suite stops the gateway, so no restart is left pending behind it.
    await pollUntil(
      () => groupStates(['intake', 'projection'].map((g) => `${gateway.prefix}deliberate.gateway.${g}`)),
      (states) => states.every((s) => s === 'Stable'),
      { what: "the gateway's consumer groups stable again", timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  it('still serves /metrics while the database is cut, with no value for the unfinished-tasks gauge, and its value once back', async () => {
    const unfinished = 'deliberate_tasks_unfinished';
    expect((await submit('metrics-outage', 'admitted before the cut')).status).toBe(202);
    expect((await scrapeMetrics(gateway.url)).has(unfinished, { status: 'accepted' })).toBe(true);

    postgres.cut();
    const cut = await scrapeMetrics(gateway.url);
    // The scrape answers; the gauge whose query failed has no value in it (the SDK may render its series as NaN).
    expect(cut.find(unfinished).filter((s) => Number.isFinite(s.value))).toEqual([]);
    // The other instruments are still there.
    expect(cut.value('deliberate_tasks_status_changes_total', { status: 'accepted' })).toBeGreaterThanOrEqual(
      1,
    );

    postgres.restore();
    const back = await pollUntil(
      () => scrapeMetrics(gateway.url),
      (m) => Number.isFinite(m.value(unfinished, { status: 'accepted' })),
      { what: 'the unfinished-tasks gauge back after the restore' },
    );
    const { rows } = await gateway.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasks WHERE status = 'accepted'`,
    );
    expect(back.value(unfinished, { status: 'accepted' })).toBe(rows[0]!.n);
  });
});

// A gateway closed while its broker is away: its consumers crashed and were reconnecting when it closed. Once the
// broker is reachable again, none of them may come back: kafkajs stops only a consumer that has joined its group, so
// a restart that was still connecting used to join afterwards and stay, consuming for a service that was gone (and
// logging its reconnects until the process ended).
describe('a gateway closed during a broker outage', () => {
  let postgres: TcpProxy;
  let kafka: TcpProxy;
  let gateway: ServiceUnderTest<GatewayConfig>;

  beforeAll(async () => {
    postgres = await proxyTestDatabase();
    kafka = await proxyTestBroker();
    gateway = await startServiceUnderTest('closed_in_outage', {
      schema: 'gateway',
      config: (env) =>
        loadGatewayConfig({
          ...env,
          DATABASE_URL: throughProxy(env.DATABASE_URL, postgres),
          KAFKA_BROKERS: kafka.address,
          // Its consumers' crashes and reconnects during the cut are expected here.
          LOG_LEVEL: 'error',
          GATEWAY_ADMIN_API_KEY: ADMIN_KEY,
        }),
      create: createGatewayApp,
    });
  });

  afterAll(async () => {
    kafka?.restore();
    await gateway?.close();
    await postgres?.close();
    await kafka?.close();
  });

  async function members(): Promise<number> {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const groups = ['gateway.intake', 'gateway.projection'].map((g) => `${gateway.prefix}deliberate.${g}`);
      return (await admin.describeGroups(groups)).groups.reduce((n, g) => n + g.members.length, 0);
    } finally {
      await admin.disconnect();
    }
  }

  it('leaves no consumer in its groups once the broker is back', async () => {
    expect(await members()).toBe(2);
    const before = kafka.accepted();
    kafka.cut({ newConnections: 'refuse' });
    // The consumers crash on their cut connections and restart: their reconnects reach the proxy and are refused.
    await pollUntil(
      () => Promise.resolve(kafka.accepted()),
      (n) => n >= before + 4,
      { what: 'the consumers to be reconnecting', timeoutMs: 30_000 },
    );
    // The service closes (its topics and database stay for the check), then the broker is reachable again.
    await Promise.all(gateway.apps.map((app) => app.close()));
    const closedAt = kafka.accepted();
    kafka.restore();
    // A restart that was connecting gets through now; if it joins a group, it must leave it again.
    await pollUntil(
      () => Promise.resolve(kafka.accepted()),
      (n) => n > closedAt,
      { what: 'a reconnect through the restored proxy', timeoutMs: 10_000 },
    ).catch(() => undefined);
    await pollUntil(members, (n) => n > 0, { what: 'a late join', timeoutMs: 5_000 }).catch(() => undefined);
    await pollUntil(members, (n) => n === 0, { what: 'no consumer of the closed gateway in its groups' });
  });
});
