import {
  budgetBreakerClosedEvent,
  budgetBreakerOpenedEvent,
  type ContextSelectionEntry,
  type EventDefinition,
  modelCallRecordedEvent,
  reasoningRequestedEvent,
  reasoningTraceRecordedEvent,
  taskCancelledEvent,
  taskCancelRequestedEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
  taskReasoningStartedEvent,
  type TaskSpec,
} from '@deliberate/contracts';
import { EventPublisher, KafkaClient, provisionTopics } from '@deliberate/kafka';
import { loadLedgerConfig } from '@deliberate/ledger/config';
import { createLedgerApp } from '@deliberate/ledger/create-ledger-app';
import { startSimulator, type RunningSimulator } from '@deliberate/model-simulator/simulator-app';
import { loadReasonerConfig } from '@deliberate/reasoner/config';
import { createReasonerApp } from '@deliberate/reasoner/create-reasoner-app';
import {
  createTestDatabase,
  deleteTopicsWithPrefix,
  header,
  signedInternalHeaders,
  TEST_KAFKA_BROKERS,
  testKafka,
  uniqueTopicPrefix,
} from '@deliberate/testing';
import type { INestApplication } from '@nestjs/common';
import type { Consumer } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';

const LEDGER_KEY = 'reasoner-test-internal-token-0123456789';

/** Every topic the reasoner reads or writes, and the ledger's breaker events. */
export const REASONER_TOPICS: readonly EventDefinition[] = [
  reasoningRequestedEvent,
  taskCancelRequestedEvent,
  taskReasoningStartedEvent,
  reasoningTraceRecordedEvent,
  taskCompletedEvent,
  taskFailedEvent,
  taskEscalatedEvent,
  taskCancelledEvent,
  modelCallRecordedEvent,
  budgetBreakerOpenedEvent,
  budgetBreakerClosedEvent,
];

const OUTCOME_TOPICS = [taskCompletedEvent, taskFailedEvent, taskEscalatedEvent, taskCancelledEvent].map(
  (d) => d.topic,
);

/** An event's data as JSON.parse gives it: tests read it loosely, as every other suite does. */
export type EventJson = ReturnType<typeof JSON.parse>;

export interface RecordedEvent {
  topic: string;
  id: string;
  tenantId: string;
  taskId: string | null;
  data: EventJson;
}

/** Reads the reasoner's output topics from the beginning into memory, for the test to wait on. */
export class TopicRecorder {
  readonly events: RecordedEvent[] = [];
  private constructor(private readonly consumer: Consumer) {}

  static async start(prefix: string, topics: readonly string[]): Promise<TopicRecorder> {
    const consumer = testKafka().consumer({
      groupId: `recorder-${randomBytes(6).toString('hex')}`,
      maxWaitTimeInMs: 100,
    });
    const recorder = new TopicRecorder(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: topics.map((t) => `${prefix}${t}`), fromBeginning: true });
    let joined!: () => void;
    const join = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        recorder.events.push({
          topic: topic.slice(prefix.length),
          id: header(message, 'ce_id') ?? '',
          tenantId: header(message, 'ce_tenantid') ?? '',
          taskId: header(message, 'ce_taskid') ?? null,
          data: JSON.parse(message.value?.toString('utf8') ?? 'null'),
        });
        return Promise.resolve();
      },
    });
    await join;
    return recorder;
  }

  of(topic: string, taskId?: string): RecordedEvent[] {
    return this.events.filter((e) => e.topic === topic && (taskId === undefined || e.taskId === taskId));
  }

  /** The first terminal event of the task, on whichever outcome topic. */
  outcome(taskId: string): RecordedEvent | undefined {
    return this.events.find((e) => e.taskId === taskId && OUTCOME_TOPICS.includes(e.topic));
  }

  async waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until every task has a terminal event; returns them by task id. */
  async outcomes(taskIds: readonly string[], timeoutMs = 60_000): Promise<Map<string, RecordedEvent>> {
    await this.waitFor(
      () => taskIds.every((id) => this.outcome(id)),
      `terminal events of ${taskIds.length} tasks (missing ${taskIds.filter((id) => !this.outcome(id)).length})`,
      timeoutMs,
    );
    return new Map(taskIds.map((id) => [id, this.outcome(id)!]));
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

export interface ReasonerHarness {
  prefix: string;
  databaseUrl: string;
  simulator: RunningSimulator;
  ledger: INestApplication;
  ledgerUrl: string;
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
  close(): Promise<void>;
}

export function taskSpec(input: string, over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    input,
    context: [],
    mode: 'reasoning',
    latencyBudgetMs: null,
    maxCostMicroUsd: null,
    maxThinkingTokens: null,
    reasoningEffort: null,
    webhookUrl: null,
    metadata: {},
    ...over,
  };
}

/** A ledger, a simulator and the suite's topics on a fresh database and topic prefix; reasoners start on demand. */
export async function startHarness(
  suite: string,
  options: { timeScale?: number; ledgerEnv?: Record<string, string>; simulator?: RunningSimulator } = {},
): Promise<ReasonerHarness> {
  const database = await createTestDatabase(suite);
  const prefix = uniqueTopicPrefix(suite);
  const common = {
    KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_HANDLER_MAX_ATTEMPTS: '3',
    LOG_LEVEL: 'warn',
  };
  const simulator = options.simulator ?? (await startSimulator({ timeScale: options.timeScale ?? 0.01 }));
  const ledger = await createLedgerApp(
    loadLedgerConfig({
      ...common,
      DATABASE_URL: database.url,
      LEDGER_INTERNAL_TOKEN: LEDGER_KEY,
      LEDGER_SWEEP_INTERVAL_MS: '500',
      ...options.ledgerEnv,
    }),
  );
  await ledger.listen(0, '127.0.0.1');
  const ledgerUrl = (await ledger.getUrl()).replace('[::1]', '127.0.0.1');

  const kafka = new KafkaClient({
    serviceName: 'reasoner-test',
    brokers: TEST_KAFKA_BROKERS,
    topicPrefix: prefix,
    createTopics: true,
    replicationFactor: 1,
    handlerMaxAttempts: 1,
  });
  // Created here so the recorder can subscribe before any reasoner (maybe a child process) starts.
  await provisionTopics(kafka, REASONER_TOPICS);
  const publisher = new EventPublisher(kafka);
  await publisher.connect();
  const recorder = await TopicRecorder.start(
    prefix,
    REASONER_TOPICS.filter((d) => d !== reasoningRequestedEvent && d !== taskCancelRequestedEvent).map(
      (d) => d.topic,
    ),
  );
  const db = new Pool({ connectionString: database.url, options: '-c search_path=reasoner', max: 3 });
  const ledgerDb = new Pool({ connectionString: database.url, options: '-c search_path=ledger', max: 2 });
  // Pool.end() resolves before its sockets close; the database drop then terminates them, which an idle client
  // reports as an error on its pool: expected at teardown, and a query's own errors still reject the query.
  for (const pool of [db, ledgerDb]) pool.on('error', () => undefined);
  const reasoners: INestApplication[] = [];

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...common,
    DATABASE_URL: database.url,
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

  return {
    prefix,
    databaseUrl: database.url,
    simulator,
    ledger,
    ledgerUrl,
    db,
    ledgerDb,
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
      const json = JSON.stringify(body);
      const res = await fetch(`${ledgerUrl}/v1/ledger/budgets`, {
        method: 'PUT',
        headers: {
          'content-type': 'application/json',
          ...signedInternalHeaders({
            key: LEDGER_KEY,
            service: 'ledger',
            method: 'PUT',
            target: '/v1/ledger/budgets',
            body: json,
            principal: { kind: 'tenant', tenantId, role: 'admin', keyId: `key-${tenantId}` },
          }),
        },
        body: json,
      });
      if (res.status !== 200)
        throw new Error(`PUT budget for ${tenantId}: ${res.status} ${await res.text()}`);
    },
    close: async () => {
      // Each step runs even if one before it failed, so no consumer or timer outlives the suite.
      const steps = [
        ...reasoners.map((app) => () => app.close()),
        () => db.end(),
        () => ledgerDb.end(),
        () => recorder.stop(),
        () => publisher.disconnect(),
        () => ledger.close(),
        ...(options.simulator ? [] : [() => simulator.close()]),
        () => database.drop(),
        () => deleteTopicsWithPrefix(prefix),
      ];
      const failures: unknown[] = [];
      for (const step of steps) await step().catch((e: unknown) => failures.push(e));
      if (failures.length) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
    },
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
