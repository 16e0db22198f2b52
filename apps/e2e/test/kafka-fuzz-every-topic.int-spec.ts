import {
  EVENT_CATALOGUE,
  type EventDefinition,
  taskSubmittedEvent,
  webhookDeliveryAttemptedEvent,
  webhookMessageDeadLetteredEvent,
} from '@deliberate/contracts';
import {
  examplePayload,
  header,
  type HostileMessage,
  hostileKafkaMessages,
  type HostileTarget,
  pollUntil,
  testKafka,
} from '@deliberate/testing';
import fc from 'fast-check';
import type { KafkaMessage, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { createTenant, http, startStack, type TestStack } from './stack';

// Hostile raw messages on every topic that a service of the stack consumes, on every partition: each consuming
// service must dead-letter each one with a reason (none may stall a partition or be dropped silently), and the
// stack must still answer tasks whose events travel behind them. The intake topic has its own suite: a message
// reaches its decoder only when signed (apps/gateway/test/kafka-intake-fuzz.int-spec.ts).

const SERVICES = ['gateway', 'triage', 'reasoner', 'ledger', 'webhooks', 'audit'] as const;
const PER_TOPIC = 3;
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);
const TENANT = 'fuzz-every-topic';

const servicesConsuming = (event: EventDefinition) =>
  SERVICES.filter((s) => event.consumers.includes(s));

const TOPICS = EVENT_CATALOGUE.filter((e) => e !== taskSubmittedEvent && servicesConsuming(e).length > 0);

// The first string leaf of a payload: a field every mutation can aim at.
function firstStringPath(value: unknown, path: string[] = []): string[] | null {
  if (typeof value === 'string') return path;
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const found = firstStringPath(child, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

function target(event: EventDefinition): HostileTarget {
  const overrides =
    event === webhookDeliveryAttemptedEvent || event === webhookMessageDeadLetteredEvent
      ? { messageId: 'msg_0123456789abcdef' }
      : {};
  const data = examplePayload(event.schema, overrides);
  const path = firstStringPath(data);
  if (!path) throw new Error(`${event.topic}: its example payload has no string field to mutate`);
  return { event, data, textPath: path, stringPath: path };
}

let stack: TestStack;
let producer: Producer;
let submitter: string;

beforeAll(async () => {
  stack = await startStack('kafka-fuzz-every-topic');
  ({ submitter } = await createTenant(stack, TENANT));
  producer = testKafka().producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await stack?.close();
});

it(`dead-letters hostile messages on each of the ${TOPICS.length} consumed topics in every consuming service, and tasks still complete (seed ${SEED})`, async () => {
  const admin = testKafka().admin();
  await admin.connect();
  const metadata = await admin.fetchTopicMetadata({ topics: TOPICS.map((e) => stack.topic(e.topic)) });
  await admin.disconnect();
  const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionId)]));

  const sent = new Map<string, { topic: string; kind: string; services: readonly string[] }>();
  for (const event of TOPICS) {
    const topic = stack.topic(event.topic);
    const samples: HostileMessage[] = fc.sample(
      hostileKafkaMessages(target(event), {
        tenantId: TENANT,
        taskId: randomUUID(),
        foreignTypes: [TOPICS.find((other) => other !== event)!.topic],
      }),
      { numRuns: PER_TOPIC, seed: SEED },
    );
    // The same messages on every partition, so whatever arrives later on any partition waits behind them.
    for (const partition of partitionsOf.get(topic) ?? []) {
      for (const hostile of samples) {
        const fuzzId = randomUUID();
        sent.set(fuzzId, { topic: event.topic, kind: hostile.kind, services: servicesConsuming(event) });
        // A compacted topic's broker refuses a record without a key before any consumer sees it: keyed there.
        const key = event.compacted ? TENANT : undefined;
        await producer.send({
          topic,
          messages: [{ partition, key, value: hostile.value, headers: { ...hostile.headers, 'fuzz-id': fuzzId } }],
        });
      }
    }
  }

  // Every consuming service dead-letters every message, with a reason naming what was wrong.
  const dlqTopics = TOPICS.map((e) => stack.topic(`${e.topic}.dlq`));
  const serviceOf = (m: KafkaMessage) =>
    SERVICES.find((s) => (header(m, 'dlq_consumer_group') ?? '').includes(`deliberate.${s}`));
  const missing = (deadLetters: KafkaMessage[]) =>
    [...sent].flatMap(([fuzzId, about]) =>
      about.services
        .filter((s) => !deadLetters.some((m) => header(m, 'fuzz-id') === fuzzId && serviceOf(m) === s))
        .map((s) => `${s} did not dead-letter ${about.kind} on ${about.topic}`),
    );
  // One reader on every dead-letter topic for the whole wait (a throwaway group: it takes nothing from the services).
  const deadLetters: KafkaMessage[] = [];
  const reader = testKafka().consumer({ groupId: `fuzz-reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await reader.connect();
  try {
    await reader.subscribe({ topics: dlqTopics, fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }) => {
        if (header(message, 'fuzz-id')) deadLetters.push(message);
        return Promise.resolve();
      },
    });
    await pollUntil(
      () => Promise.resolve(missing(deadLetters)),
      (left) => left.length === 0,
      {
        timeoutMs: 120_000,
        intervalMs: 1_000,
        what: `a dead letter from every consuming service (seed ${SEED})`,
      },
    );
  } finally {
    await reader.disconnect();
  }
  expect(missing(deadLetters)).toEqual([]);
  for (const m of deadLetters.filter((d) => header(d, 'fuzz-id'))) {
    const about = sent.get(header(m, 'fuzz-id')!)!;
    expect({ kind: about.kind, reason: header(m, 'dlq_reason') ?? '' }).toEqual({
      kind: about.kind,
      reason: expect.stringMatching(/\S/),
    });
    expect(header(m, 'dlq_source_topic')).toBe(stack.topic(about.topic));
  }

  // Tasks whose events travel behind the hostile ones on every partition are still answered, on both paths.
  const submit = async (input: string) => {
    const r = await http(stack, 'POST', '/v1/tasks', { key: submitter, body: { input } });
    expect(r.status).toBe(202);
    return r.body['id'] as string;
  };
  const ids = [await submit('What is 2 + 2?'), await submit('Prove it carefully [[sim:complexity=complex]]')];
  for (const id of ids) {
    const task = await pollUntil(
      () => http(stack, 'GET', `/v1/tasks/${id}`, { key: submitter }),
      (r) => r.body['status'] === 'completed',
      { timeoutMs: 60_000, what: `task ${id} completed after the fuzz (seed ${SEED})` },
    );
    expect(task.body['status']).toBe('completed');
  }
}, 240_000);
