import {
  type EventDefinition,
  taskAcceptedEvent,
  taskCancelledEvent,
  taskCompletedEvent,
  taskEscalatedEvent,
  taskFailedEvent,
} from '@deliberate/contracts';
import { header, pollUntil, testKafka } from '@deliberate/testing';
import fc from 'fast-check';
import type { KafkaMessage, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import {
  newTask,
  readTopic,
  type Receiver,
  registerEndpoint,
  startReceiver,
  startWebhooks,
  type TaskInput,
  type WebhooksHarness,
} from './webhooks-harness';

// Hostile raw messages on every topic the webhooks service consumes: random bytes, wrong types, NUL and lone
// surrogates, huge values and headers, missing CloudEvents headers, a wrong content type. Each must reach the topic's
// dead-letter topic with a reason, and a valid event queued behind them on the same partition must still be delivered.

const TENANT = 'fuzz-tenant';
const RUNS = 50;
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);

interface Target {
  event: EventDefinition;
  /** A valid payload, which every mutation starts from. */
  data: Record<string, unknown>;
  /** A free-text field and a timestamp field of the payload. */
  text: string[];
  time: string;
}

const at = '2026-01-01T00:00:00.000Z';
const TARGETS: Target[] = [
  {
    event: taskAcceptedEvent,
    data: {
      spec: {
        input: 'What is 2 + 2?',
        context: [],
        mode: 'auto',
        latencyBudgetMs: null,
        maxCostMicroUsd: null,
        maxThinkingTokens: null,
        reasoningEffort: null,
        webhookUrl: null,
        metadata: {},
      },
      submittedVia: 'kafka',
      acceptedAt: at,
    },
    text: ['spec', 'input'],
    time: 'acceptedAt',
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
    text: ['result', 'answer'],
    time: 'completedAt',
  },
  {
    event: taskFailedEvent,
    data: { error: { code: 'model_error', message: 'upstream 500' }, failedAt: at },
    text: ['error', 'message'],
    time: 'failedAt',
  },
  {
    event: taskEscalatedEvent,
    data: { reason: 'limit hit', attempts: [], escalatedAt: at },
    text: ['reason'],
    time: 'escalatedAt',
  },
  {
    event: taskCancelledEvent,
    data: { reason: 'client cancelled', usage: null, cancelledAt: at },
    text: ['reason'],
    time: 'cancelledAt',
  },
];

const REQUIRED_HEADERS = [
  'ce_specversion',
  'ce_id',
  'ce_type',
  'ce_source',
  'ce_tenantid',
  'ce_taskid',
] as const;

interface Hostile {
  kind: string;
  value: Buffer | string | null;
  headers: Record<string, string | Buffer>;
}

function ceHeaders(event: EventDefinition, taskId: string): Record<string, string> {
  return {
    ce_specversion: '1.0',
    ce_id: randomUUID(),
    ce_type: event.topic,
    ce_source: 'fuzz',
    ce_tenantid: TENANT,
    ce_taskid: taskId,
    'content-type': 'application/json',
  };
}

function setPath(data: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(data);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
  return copy;
}

const unsafeChar = fc.constantFrom('\u0000', '\uD800', '\uDBFF', '\uDC00', '\uDFFF');
const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

// Every message these produce is invalid by construction: none can be mistaken for a valid event.
function hostileFor(target: Target, taskId: string): fc.Arbitrary<Hostile> {
  const headers = () => ceHeaders(target.event, taskId);
  const json = (data: unknown) => JSON.stringify(data);
  return fc.oneof(
    fc.uint8Array({ maxLength: 2_000 }).map((bytes) => ({
      kind: 'random bytes',
      value: Buffer.from(bytes),
      headers: headers(),
    })),
    fc.constant({ kind: 'no value', value: null, headers: headers() }),
    wrongType.map((v) => ({
      kind: 'wrong type',
      value: json(setPath(target.data, [target.time], v)),
      headers: headers(),
    })),
    fc.tuple(fc.string({ maxLength: 20 }), unsafeChar, fc.string({ maxLength: 20 })).map(([a, c, b]) => ({
      kind: 'unsafe text in the payload',
      value: json(setPath(target.data, target.text, `${a}${c}${b}`)),
      headers: headers(),
    })),
    // Headers are bytes: a NUL, or bytes that are not UTF-8 (a lone surrogate cannot be sent as UTF-8).
    fc
      .tuple(
        fc.constantFrom('ce_source', 'ce_id', 'content-type', 'traceparent'),
        fc.constantFrom<string | Buffer>(
          'up\u0000stream',
          Buffer.from([0x75, 0xed, 0xa0, 0x80]),
          Buffer.from([0xff]),
        ),
      )
      .map(([name, bad]) => ({
        kind: `unsafe bytes in header ${name}`,
        value: json(target.data),
        headers: { ...headers(), [name]: bad },
      })),
    fc.integer({ min: 100_000, max: 1_040_000 }).map((n) => ({
      kind: 'huge unterminated value',
      value: `{"${target.time}":"${'y'.repeat(n)}`,
      headers: headers(),
    })),
    fc.integer({ min: 201, max: 50_000 }).map((n) => ({
      kind: 'huge header',
      value: json(target.data),
      headers: { ...headers(), ce_id: 'i'.repeat(n) },
    })),
    fc.subarray([...REQUIRED_HEADERS], { minLength: 1 }).map((missing) => {
      const h = headers();
      for (const name of missing) delete h[name];
      return { kind: `missing ${missing.join(', ')}`, value: json(target.data), headers: h };
    }),
    fc.constantFrom('application/cloudevents+json', 'text/plain', 'application/xml').map((contentType) => {
      const h = headers();
      delete h['ce_specversion'];
      return {
        kind: `content type ${contentType}`,
        value: json(target.data),
        headers: { ...h, 'content-type': contentType },
      };
    }),
    fc.constantFrom(...TARGETS.filter((t) => t !== target)).map((other) => ({
      kind: `type of ${other.event.topic}`,
      value: json(target.data),
      headers: { ...headers(), ce_type: other.event.topic },
    })),
  );
}

let h: WebhooksHarness;
let receiver: Receiver;
let producer: Producer;

beforeAll(async () => {
  h = await startWebhooks('webhooks-kafka-fuzz');
  receiver = await startReceiver();
  producer = testKafka().producer();
  await producer.connect();
  await registerEndpoint(h, TENANT, `${receiver.url}/fuzz`);
});

afterAll(async () => {
  await producer?.disconnect();
  await receiver?.close();
  await h?.close();
});

it(`dead-letters ${RUNS} hostile messages with a reason and still delivers the valid events behind them (seed ${SEED})`, async () => {
  // One task per terminal topic; hostile messages take its key, so they sit on the same partition before its events.
  const tasks = new Map<EventDefinition, TaskInput>(
    TARGETS.filter((t) => t.event !== taskAcceptedEvent).map((t) => [t.event, newTask(TENANT)]),
  );
  const keyOf = (t: Target) =>
    (t.event === taskAcceptedEvent ? tasks.get(taskCompletedEvent)! : tasks.get(t.event)!).taskId;

  const samples = fc.sample(
    fc
      .constantFrom(...TARGETS)
      .chain((t) => hostileFor(t, keyOf(t)).map((hostile) => ({ target: t, hostile }))),
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
        [...tasks.values()].every((t) => receiver.requests.some((r) => r.body.includes(t.taskId))),
      ),
    (all) => all,
    { timeoutMs: 30_000, what: `a webhook for every valid task (seed ${SEED})` },
  );
});
