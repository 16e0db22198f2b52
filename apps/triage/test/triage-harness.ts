import {
  type EventDefinition,
  taskAcceptedEvent,
  type TaskSpec,
  type TenantPolicy,
  tenantPolicySchema,
  tenantPolicyUpdatedEvent,
} from '@deliberate/contracts';
import { type EventPublisher, provisionTopics } from '@deliberate/kafka';
import { loadLedgerConfig } from '@deliberate/ledger/config';
import { createLedgerApp } from '@deliberate/ledger/create-ledger-app';
import { startSimulator, type RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import {
  catalogueEventsOf,
  internalHttp,
  listenOnFreePort,
  pollUntil,
  runEveryStep,
  schemaPool,
  startServiceUnderTest,
  type SuiteEnv,
  testKafka,
  testKafkaClient,
  TopicRecorder,
} from '@deliberate/testing';
import { loadTriageConfig } from '@deliberate/triage/config';
import { createTriageApp } from '@deliberate/triage/create-triage-app';
import { TenantPolicyCache } from '@deliberate/tenant-policy';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

// A ledger (the triage holds every fast-model call against it), the simulator as the fast model, and the suite's
// topics on a fresh database and prefix; triage instances start on demand, in this process or as child processes.

const LEDGER_KEY = 'triage-test-internal-token-0123456789';

/** Every topic the triage reads or writes. */
export const TRIAGE_TOPICS: readonly EventDefinition[] = catalogueEventsOf('triage');

export interface TriageHarness {
  prefix: string;
  simulator: RunningSimulator;
  /** SQL on the triage's schema and on the ledger's. */
  db: Pool;
  ledgerDb: Pool;
  recorder: TopicRecorder;
  publisher: EventPublisher;
  /** The environment of a triage of this suite (also for a child process). */
  env(extra?: Record<string, string>): Record<string, string>;
  startTriage(extra?: Record<string, string>): Promise<INestApplication>;
  /** Publishes a task's accepted event; the same `taskId` again is a redelivery (a new event id). */
  accept(tenantId: string, spec: TaskSpec, taskId?: string): Promise<string>;
  /** Resolves when the triage's group has consumed every accepted event published so far. */
  drained(): Promise<void>;
  stopLedger(): Promise<void>;
  startLedger(): Promise<void>;
  putBudget(tenantId: string, body: Record<string, unknown>): Promise<void>;
  /** The provider's bill: the calls it charged for any of these reservations (sent as x-client-request-id). */
  billedCalls(
    reservationIds: readonly string[],
  ): Promise<{ clientRequestId: string; costMicroUsd: number }[]>;
  /** Sets the tenant's policy (as the gateway announces it) and waits until every running triage has read it. */
  setPolicy(tenantId: string, policy: Partial<TenantPolicy>): Promise<void>;
  close(): Promise<void>;
}

export async function startTriageHarness(
  suite: string,
  options: { timeScale?: number } = {},
): Promise<TriageHarness> {
  const common = { KAFKA_HANDLER_MAX_ATTEMPTS: '3', LOG_LEVEL: process.env['TEST_LOGS'] ? 'info' : 'warn' };
  const simulator = await startSimulator({ timeScale: options.timeScale ?? 0 });
  let suiteEnv!: SuiteEnv;
  const ledgerConfig = (e: SuiteEnv) =>
    loadLedgerConfig({ ...e, ...common, LEDGER_INTERNAL_TOKEN: LEDGER_KEY, LEDGER_SWEEP_INTERVAL_MS: '500' });
  const ledgerService = await startServiceUnderTest(
    suite,
    { schema: 'ledger', config: (e) => ledgerConfig((suiteEnv = e)), create: createLedgerApp },
    { publisherName: 'triage-test' },
  );
  const { prefix, publisher, databaseUrl } = ledgerService;
  await provisionTopics(testKafkaClient(prefix, 'triage-test', { createTopics: true }), TRIAGE_TOPICS);
  const recorder = await TopicRecorder.start(
    prefix,
    TRIAGE_TOPICS.filter((d) => d !== taskAcceptedEvent).map((d) => d.topic),
  );
  const db = schemaPool(databaseUrl, 'triage');
  const triages: INestApplication[] = [];
  let ledger: INestApplication | null = ledgerService.apps[0]!;
  let ledgerUrl = ledgerService.url;

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...suiteEnv,
    ...common,
    LLM_FAST_BASE_URL: simulator.baseURL,
    LLM_REASONING_BASE_URL: simulator.baseURL,
    LLM_STANDARD_BASE_URL: simulator.baseURL,
    LLM_MAX_RETRIES: '1',
    // Short, so a ledger outage is seen quickly, yet above the ledger's answer on a loaded 2-core machine (a
    // reserve that took over a second there made a deadline test read "the ledger did not answer").
    LEDGER_TIMEOUT_MS: '2500',
    TRIAGE_HEALTH_PORT: '0',
    TRIAGE_RETRY_BASE_MS: '50',
    ...extra,
  });

  return {
    prefix,
    simulator,
    db,
    ledgerDb: ledgerService.db,
    recorder,
    publisher,
    env,
    startTriage: async (extra) => {
      const app = await createTriageApp(loadTriageConfig(env(extra)));
      await app.init();
      triages.push(app);
      return app;
    },
    accept: async (tenantId, spec, taskId = randomUUID()) => {
      await publisher.publish(taskAcceptedEvent, {
        tenantId,
        taskId,
        data: { spec, submittedVia: 'http', acceptedAt: new Date().toISOString() },
      });
      return taskId;
    },
    drained: async () => {
      const admin = testKafka().admin();
      await admin.connect();
      try {
        const topic = `${prefix}${taskAcceptedEvent.topic}`;
        const ends = await admin.fetchTopicOffsets(topic);
        await pollUntil(
          async () =>
            (await admin.fetchOffsets({ groupId: `${prefix}deliberate.triage`, topics: [topic] }))[0]!,
          (committed) =>
            ends.every(
              (end) =>
                Number(end.high) === Number(end.low) ||
                Number(committed.partitions.find((p) => p.partition === end.partition)?.offset ?? -1) >=
                  Number(end.high),
            ),
          { what: 'the triage group to consume every accepted event' },
        );
      } finally {
        await admin.disconnect();
      }
    },
    stopLedger: async () => {
      await ledger?.close();
      ledger = null;
    },
    startLedger: async () => {
      const restarted = await createLedgerApp(ledgerConfig(suiteEnv));
      ledger = restarted;
      ledgerService.onClose(() => restarted.close());
      ledgerUrl = await listenOnFreePort(restarted);
    },
    putBudget: async (tenantId, body) => {
      const res = await internalHttp(
        { url: ledgerUrl, key: LEDGER_KEY, service: 'ledger' },
        'PUT',
        '/v1/ledger/budgets',
        { principal: { kind: 'tenant', tenantId, role: 'admin', keyId: `key-${tenantId}` }, body },
      );
      if (res.status !== 200) throw new Error(`PUT budget for ${tenantId}: ${res.status} ${res.text}`);
    },
    billedCalls: async (reservationIds) => {
      const res = await fetch(`${simulator.url}/v1/bill`, { headers: { authorization: 'Bearer sim-key' } });
      if (res.status !== 200) throw new Error(`GET /v1/bill: ${res.status} ${await res.text()}`);
      const bill = (await res.json()) as {
        calls: { clientRequestId: string | null; costMicroUsd: number }[];
      };
      return bill.calls.filter(
        (c): c is { clientRequestId: string; costMicroUsd: number } =>
          c.clientRequestId !== null && reservationIds.includes(c.clientRequestId),
      );
    },
    setPolicy: async (tenantId, over) => {
      const policy = tenantPolicySchema.parse(over);
      await publisher.publish(tenantPolicyUpdatedEvent, {
        tenantId,
        data: { version: 1, policy, updatedBy: 'platform-admin', updatedAt: new Date().toISOString() },
      });
      await pollUntil(
        () =>
          Promise.resolve(
            triages.every(
              (app) =>
                JSON.stringify(app.get(TenantPolicyCache).policyOf(tenantId)) === JSON.stringify(policy),
            ),
          ),
        (read) => read,
        { what: `the policy of ${tenantId} in every triage` },
      );
    },
    close: () =>
      runEveryStep([
        ...triages.map((app) => () => app.close()),
        () => db.end(),
        () => recorder.stop(),
        () => ledgerService.close(),
        () => simulator.close(),
      ]),
  };
}

/** The task's fast-model calls as the usage events report them: [purpose, outcome], in order. */
export const modelCallsOf = (recorder: TopicRecorder, taskId: string): [string, string][] =>
  recorder
    .of('usage.model-call.recorded.v1', taskId)
    .map((e) => [e.data['purpose'] as string, e.data['outcome'] as string]);

/** The ledger's holds for the task, oldest first. */
export async function reservationsOf(ledgerDb: Pool, taskId: string): Promise<Record<string, unknown>[]> {
  const { rows } = await ledgerDb.query(`SELECT * FROM reservations WHERE task_id = $1 ORDER BY created_at`, [
    taskId,
  ]);
  return rows;
}
