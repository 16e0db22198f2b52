import {
  type EventDefinition,
  taskAcceptedEvent,
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
} from '@deliberate/contracts';
import {
  header,
  type HostileTarget,
  hostileKafkaMessages,
  pollUntil,
  testKafka,
  testTaskSpec,
} from '@deliberate/testing';
import fc from 'fast-check';
import type { KafkaMessage, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { newTask, readTopic, startWebhooks, type TaskInput, type WebhooksHarness } from './webhooks-harness';

// Hostile raw messages on every topic the webhooks service consumes: random bytes, wrong types, NUL and lone
// surrogates, huge values and headers, missing CloudEvents headers, a wrong content type. Each must reach the topic's
// dead-letter topic with a reason, and a valid event queued behind them on the same partition must still be delivered.

const TENANT = 'fuzz-tenant';
const RUNS = 50;
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);

const at = '2026-01-01T00:00:00.000Z';
const TARGETS: HostileTarget[] = [
  {
    event: taskAcceptedEvent,
    data: {
      spec: testTaskSpec('What is 2 + 2?'),
      submittedVia: 'kafka',
      acceptedAt: at,
    },
    textPath: ['spec', 'input'],
    stringPath: ['acceptedAt'],
  },
  {
    event: taskCompletedEvent,
    data: {
      result: {
        answer: '4',
        answeredBy: 'fast_model',
        model: 'm',
        usage: null,
        latencyMs: 1,
        degraded: null,
      },
      completedAt: at,
    },
    textPath: ['result', 'answer'],
    stringPath: ['completedAt'],
  },
  {
    event: taskFailedEvent,
    data: { error: { code: 'model_error', message: 'upstream 500' }, failedAt: at },
    textPath: ['error', 'message'],
    stringPath: ['failedAt'],
  },
  {
    event: taskEscalatedEvent,
    data: { reason: 'limit hit', attempts: [], escalatedAt: at },
    textPath: ['reason'],
    stringPath: ['escalatedAt'],
  },
  {
    event: taskCancelledEvent,
    data: { reason: 'client cancelled', usage: null, cancelledAt: at },
    textPath: ['reason'],
    stringPath: ['cancelledAt'],
  },
];

let h: WebhooksHarness;
let producer: Producer;

beforeAll(async () => {
  h = await startWebhooks('webhooks-kafka-fuzz');
  producer = testKafka().producer();
  await producer.connect();
  await h.registerEndpoint(TENANT, `${h.receiver.url}/fuzz`);
});

afterAll(async () => {
  await producer?.disconnect();
  await h?.close();
});

it(`dead-letters ${RUNS} hostile messages with a reason and still delivers the valid events behind them (seed ${SEED})`, async () => {
  // One task per terminal topic; hostile messages take its key, so they sit on the same partition before its events.
  const tasks = new Map<EventDefinition, TaskInput>(
    TARGETS.filter((t) => t.event !== taskAcceptedEvent).map((t) => [t.event, newTask(TENANT)]),
  );
  const keyOf = (t: HostileTarget) =>
    (t.event === taskAcceptedEvent ? tasks.get(taskCompletedEvent)! : tasks.get(t.event)!).taskId;

  const samples = fc.sample(
    fc.constantFrom(...TARGETS).chain((t) =>
      hostileKafkaMessages(t, {
        tenantId: TENANT,
        taskId: keyOf(t),
        foreignTypes: [TARGETS.find((other) => other !== t)!.event.topic],
      }).map((hostile) => ({ target: t, hostile })),
    ),
    { numRuns: RUNS, seed: SEED },
  );
  const sent = new Map<string, { topic: string; kind: string }>();
  for (const { target, hostile } of samples) {
    const fuzzId = randomUUID();
    sent.set(fuzzId, { topic: target.event.topic, kind: hostile.kind });
    await producer.send({
      topic: h.topic(target.event.topic),
      messages: [
        { key: keyOf(target), value: hostile.value, headers: { ...hostile.headers, 'fuzz-id': fuzzId } },
      ],
    });
  }

  for (const task of tasks.values()) await h.publishAccepted(task);
  const terminal = {
    completed: taskCompletedEvent,
    failed: taskFailedEvent,
    escalated: taskEscalatedEvent,
    cancelled: taskCancelledEvent,
  } as const;
  for (const [type, event] of Object.entries(terminal)) {
    await h.publishTerminal(tasks.get(event)!, type as keyof typeof terminal);
  }

  // Every hostile message is in its topic's dead-letter topic, with a reason.
  const dlqTopics = TARGETS.map((t) => h.topic(`${t.event.topic}.dlq`));
  const missing = (messages: KafkaMessage[]) =>
    [...sent].filter(([id]) => !messages.some((m) => header(m, 'fuzz-id') === id)).map(([, about]) => about);
  let deadLetters: KafkaMessage[] = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    deadLetters = (await Promise.all(dlqTopics.map((t) => readTopic(t)))).flat();
    if (missing(deadLetters).length === 0) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  expect(missing(deadLetters)).toEqual([]);
  for (const [fuzzId, { topic, kind }] of sent) {
    const dead = deadLetters.find((m) => header(m, 'fuzz-id') === fuzzId)!;
    expect({ kind, topic, reason: header(dead, 'dlq_reason') ?? '' }).toEqual({
      kind,
      topic,
      reason: expect.stringMatching(/\S/),
    });
    expect(header(dead, 'dlq_source_topic')).toBe(h.topic(topic));
  }

  // The valid events behind them were not held up: each task's webhook arrives.
  await pollUntil(
    () =>
      Promise.resolve(
        [...tasks.values()].every((t) => h.receiver.requests.some((r) => r.body.includes(t.taskId))),
      ),
    (all) => all,
    { timeoutMs: 30_000, what: `a webhook for every valid task (seed ${SEED})` },
  );
});
