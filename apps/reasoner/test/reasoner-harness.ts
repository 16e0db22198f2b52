import {
  type ContextSelectionEntry,
  type EventDefinition,
  reasoningRequestedEvent,
  taskCancelRequestedEvent,
  type TaskSpec,
  type TenantPolicyInput,
  tenantPolicySchema,
  tenantPolicyUpdatedEvent,
} from '@deliberate/contracts';
import { type EventPublisher, provisionTopics } from '@deliberate/kafka';
import { loadLedgerConfig } from '@deliberate/ledger/config';
import { createLedgerApp } from '@deliberate/ledger/create-ledger-app';
import { startSimulator, type RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import { loadReasonerConfig } from '@deliberate/reasoner/config';
import { createReasonerApp } from '@deliberate/reasoner/create-reasoner-app';
import {
  catalogueEventsOf,
  internalHttp,
  type HttpResult,
  runEveryStep,
  schemaPool,
  startServiceUnderTest,
  type SuiteEnv,
  testKafkaClient,
  testTaskSpec,
  TopicRecorder,
} from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

const LEDGER_KEY = 'reasoner-test-internal-token-0123456789';

/** Every topic the reasoner reads or writes (the ledger's breaker events among them). */
export const REASONER_TOPICS: readonly EventDefinition[] = catalogueEventsOf('reasoner');

export interface ReasonerHarness {
  prefix: string;
  databaseUrl: string;
  simulator: RunningSimulator;
  /** The running ledger (null while stopped); its URL stays that of the first one. */
  readonly ledger: INestApplication | null;
  ledgerUrl: string;
  /** Stops the in-process ledger: reserves go unanswered until startLedger. */
  stopLedger(): Promise<void>;
  /** Starts a ledger again on the same database and topics. */
  startLedger(): Promise<void>;
  /** SQL on the reasoner's schema and on the ledger's. */
  db: Pool;
  ledgerDb: Pool;
  recorder: TopicRecorder;
  publisher: EventPublisher;
  /** The environment of a reasoner of this suite (also for a child process). */
  env(extra?: Record<string, string>): Record<string, string>;
  startReasoner(extra?: Record<string, string>): Promise<INestApplication>;
  submit(
    tenantId: string,
    input: string,
    spec?: Partial<TaskSpec>,
    options?: { taskId?: string; contextSelection?: ContextSelectionEntry[] },
  ): Promise<string>;
  cancel(tenantId: string, taskId: string, reason?: string): Promise<void>;
  putBudget(tenantId: string, body: Record<string, unknown>): Promise<void>;
  /** GET on the ledger's API as an admin of the tenant (`/v1/shadow/report?...`, say). */
  ledgerGet<T = Record<string, unknown>>(tenantId: string, path: string): Promise<HttpResult<T>>;
  /** Publishes the tenant's policy as the gateway does (a new version each time); reasoners read it at start. */
  putPolicy(tenantId: string, policy: TenantPolicyInput): Promise<void>;
  close(): Promise<void>;
}

/** A task for the reasoning tier (mode 'reasoning' unless `over` says otherwise). */
export const taskSpec = (input: string, over: Partial<TaskSpec> = {}): TaskSpec =>
  testTaskSpec(input, { mode: 'reasoning', ...over });

/** A ledger, a simulator and the suite's topics on a fresh database and topic prefix; reasoners start on demand. */
export async function startHarness(
  suite: string,
  options: { timeScale?: number; ledgerEnv?: Record<string, string>; simulator?: RunningSimulator } = {},
): Promise<ReasonerHarness> {
  const common = { KAFKA_HANDLER_MAX_ATTEMPTS: '3', LOG_LEVEL: 'warn' };
  const simulator = options.simulator ?? (await startSimulator({ timeScale: options.timeScale ?? 0.01 }));
  let suiteEnv!: SuiteEnv;
  // The ledger is the service the suite starts; reasoners share its database and topics.
  const ledgerService = await startServiceUnderTest(
    suite,
    {
      schema: 'ledger',
      config: (e) =>
        loadLedgerConfig({
          ...(suiteEnv = e),
          ...common,
          LEDGER_INTERNAL_TOKEN: LEDGER_KEY,
          LEDGER_SWEEP_INTERVAL_MS: '500',
          ...options.ledgerEnv,
        }),
      create: createLedgerApp,
    },
    { publisherName: 'reasoner-test' },
  );
  const { prefix, publisher, databaseUrl } = ledgerService;
  // Created here so the recorder can subscribe before any reasoner (maybe a child process) starts.
  await provisionTopics(testKafkaClient(prefix, 'reasoner-test', { createTopics: true }), REASONER_TOPICS);
  const recorder = await TopicRecorder.start(
    prefix,
    REASONER_TOPICS.filter((d) => d !== reasoningRequestedEvent && d !== taskCancelRequestedEvent).map(
      (d) => d.topic,
    ),
  );
  const db = schemaPool(databaseUrl, 'reasoner');
  const reasoners: INestApplication[] = [];
  const policyVersions = new Map<string, number>();

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...suiteEnv,
    ...common,
    LLM_FAST_BASE_URL: simulator.baseURL,
    LLM_REASONING_BASE_URL: simulator.baseURL,
    LLM_STANDARD_BASE_URL: simulator.baseURL,
    LEDGER_TIMEOUT_MS: '30000',
    REASONER_HEALTH_PORT: '0',
    REASONER_LEASE_MS: '3000',
    REASONER_CRASH_RETRY_BASE_MS: '50',
    REASONER_SHUTDOWN_GRACE_MS: '500',
    ...extra,
  });

  const ledgers = ledgerService.apps;
  return {
    prefix,
    databaseUrl,
    simulator,
    get ledger() {
      return ledgers[0] ?? null;
    },
    ledgerUrl: ledgerService.url,
    stopLedger: async () => {
      // Taken out first, so teardown does not close it twice.
      for (const app of ledgers.splice(0)) await app.close();
    },
    startLedger: async () => {
      if (!ledgers.length) ledgers.push(await createLedgerApp(ledgerService.config));
    },
    db,
    ledgerDb: ledgerService.db,
    recorder,
    publisher,
    env,
    startReasoner: async (extra) => {
      const app = await createReasonerApp(loadReasonerConfig(env(extra)));
      reasoners.push(app);
      return app;
    },
    submit: async (tenantId, input, spec = {}, options = {}) => {
      const taskId = options.taskId ?? randomUUID();
      await publisher.publish(reasoningRequestedEvent, {
        tenantId,
        taskId,
        data: {
          spec: taskSpec(input, spec),
          decision: {
            route: 'reasoning',
            decidedBy: 'rule',
            rule: 'explicit-mode',
            classification: null,
            reason: 'the client asked for the reasoning tier',
          },
          contextSelection: options.contextSelection ?? null,
          requestedAt: new Date().toISOString(),
        },
      });
      return taskId;
    },
    cancel: async (tenantId, taskId, reason = 'the client changed its mind') => {
      await publisher.publish(taskCancelRequestedEvent, {
        tenantId,
        taskId,
        data: { requestedBy: 'test-client', reason, requestedAt: new Date().toISOString() },
      });
    },
    putBudget: async (tenantId, body) => {
      const res = await internalHttp(
        { url: ledgerService.url, key: LEDGER_KEY, service: 'ledger' },
        'PUT',
        '/v1/ledger/budgets',
        { principal: { kind: 'tenant', tenantId, role: 'admin', keyId: `key-${tenantId}` }, body },
      );
      if (res.status !== 200) throw new Error(`PUT budget for ${tenantId}: ${res.status} ${res.text}`);
    },
    ledgerGet: (tenantId, path) =>
      internalHttp({ url: ledgerService.url, key: LEDGER_KEY, service: 'ledger' }, 'GET', path, {
        principal: { kind: 'tenant', tenantId, role: 'admin', keyId: `key-${tenantId}` },
      }),
    putPolicy: async (tenantId, policy) => {
      const version = (policyVersions.get(tenantId) ?? 0) + 1;
      policyVersions.set(tenantId, version);
      await publisher.publish(tenantPolicyUpdatedEvent, {
        tenantId,
        data: {
          version,
          policy: tenantPolicySchema.parse(policy),
          updatedBy: 'platform-admin',
          updatedAt: new Date().toISOString(),
        },
      });
    },
    // Each step runs even if one before it failed, so no consumer or timer outlives the suite.
    close: () =>
      runEveryStep([
        ...reasoners.map((app) => () => app.close()),
        () => db.end(),
        () => recorder.stop(),
        () => ledgerService.close(),
        ...(options.simulator ? [] : [() => simulator.close()]),
      ]),
  };
}

/** Attempt rows of a task's execution, in order. */
export async function attemptsOf(db: Pool, taskId: string): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query(
    `SELECT a.* FROM attempts a JOIN executions e ON e.id = a.execution_id WHERE e.task_id = $1 ORDER BY a.attempt`,
    [taskId],
  );
  return rows;
}
