import { type EventEnvelope, taskCancelRequestedEvent } from '@deliberate/contracts';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { type DecodedEvent, EventConsumer, handle, type MessageMeta } from '../src/event-consumer';
import { EventPublisher } from '../src/event-publisher';
import { KafkaClient } from '../src/kafka-client';
import { provisionTopics } from '../src/topic-provisioner';

// A handler that fails only because its database is unreachable is tried again within the same attempt, until most
// of the attempt's time budget: a short outage is waited out, never turned into a dead letter. Any other failure is
// retried and dead-lettered as before. The handlers here fail as node-postgres does when Postgres refuses connections.

// A library may not depend on the testing library, so the suite isolates itself the same way by hand.
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const prefix = `test.kafka-outage.${randomBytes(3).toString('hex')}.`;
// Two attempts: without the wait inside an attempt, two refused connections would be a dead letter.
const MAX_ATTEMPTS = 2;

const kafka = new Kafka({ clientId: 'kafka-outage-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
let client: KafkaClient;
let publisher: EventPublisher;
const consumers: EventConsumer[] = [];

// The attempt number of every run of a handler, by the cancel's requestedBy; and what was done.
const runs = new Map<string, number[]>();
const completed = new Set<string>();
const batchRuns = new Map<string, number[]>();
const batchCompleted = new Set<string>();

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
    code: 'ECONNREFUSED',
    errno: -111,
    syscall: 'connect',
  });

// What a cancel's reason asks of the handlers: `outage:<n>` fails n times with a refused connection, `plain` fails
// every time with an error that names no dependency; anything else succeeds.
function failure(envelope: EventEnvelope, seenBefore: number): Error | null {
  const reason = (envelope.data as { reason: string | null }).reason ?? '';
  const outage = /^outage:(\d+)$/.exec(reason);
  if (outage && seenBefore < Number(outage[1])) return refused();
  if (reason === 'plain') return new Error('the handler has a bug');
  return null;
}

function record(into: Map<string, number[]>, requestedBy: string, attempt: number): number {
  const seen = into.get(requestedBy) ?? [];
  into.set(requestedBy, [...seen, attempt]);
  return seen.length;
}

beforeAll(async () => {
  client = new KafkaClient({
    serviceName: 'kafka-outage-test',
    brokers: BROKERS,
    topicPrefix: prefix,
    createTopics: true,
    replicationFactor: 1,
    handlerMaxAttempts: MAX_ATTEMPTS,
    handlerRetryBaseMs: 50,
    handlerTimeoutMs: 10_000,
    shutdownGraceMs: 500,
  });
  await provisionTopics(client, [taskCancelRequestedEvent]);
  publisher = new EventPublisher(client);
  await publisher.connect();

  const perMessage = new EventConsumer(client, publisher, {
    group: 'kafka-outage-test.messages',
    handlers: [
      handle(taskCancelRequestedEvent, (envelope, meta: MessageMeta) => {
        const { requestedBy } = envelope.data;
        if (requestedBy.startsWith('batch-')) return Promise.resolve();
        const error = failure(envelope, record(runs, requestedBy, meta.attempt));
        if (error) return Promise.reject(error);
        completed.add(requestedBy);
        return Promise.resolve();
      }),
    ],
  });
  // The same topic read a batch at a time, by a group of its own.
  const batches = new EventConsumer(client, publisher, {
    group: 'kafka-outage-test.batches',
    handlers: [],
    batchHandler: {
      events: [taskCancelRequestedEvent],
      handleBatch: (events: DecodedEvent[]) => {
        for (const { envelope, meta } of events) {
          const { requestedBy } = envelope.data as { requestedBy: string };
          if (!requestedBy.startsWith('batch-')) continue;
          const error = failure(envelope, record(batchRuns, requestedBy, meta.attempt));
          if (error) return Promise.reject(error);
        }
        for (const { envelope } of events)
          batchCompleted.add((envelope.data as { requestedBy: string }).requestedBy);
        return Promise.resolve();
      },
    },
  });
  consumers.push(perMessage, batches);
  await Promise.all(consumers.map((c) => c.start()));
});

afterAll(async () => {
  for (const c of consumers) await c.stop();
  await publisher?.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
  await admin.disconnect();
});

function cancel(taskId: string, requestedBy: string, reason: string) {
  return publisher.publish(taskCancelRequestedEvent, {
    tenantId: 'acme',
    taskId,
    data: { requestedBy, reason, requestedAt: new Date().toISOString() },
  });
}

function header(message: KafkaMessage, name: string): string | undefined {
  return message.headers?.[name]?.toString();
}

// Every dead letter of `group`, read from the beginning until the one `last` matches has arrived.
async function deadLettersUntil(group: string, last: (m: KafkaMessage) => boolean): Promise<KafkaMessage[]> {
  const reader = kafka.consumer({
    groupId: `reader-${randomBytes(6).toString('hex')}`,
    maxWaitTimeInMs: 200,
  });
  const found: KafkaMessage[] = [];
  await reader.connect();
  try {
    await reader.subscribe({
      topic: client.topic(`${taskCancelRequestedEvent.topic}.dlq`),
      fromBeginning: true,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no dead letter from ${group} yet`)), 30_000);
      reader
        .run({
          eachMessage: ({ message }) => {
            if (header(message, 'dlq_consumer_group') !== client.groupId(group)) return Promise.resolve();
            found.push(message);
            if (last(message)) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await reader.disconnect();
  }
  return found;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('waits out a refused database connection within one attempt: the handler runs three times and its message is not dead-lettered', async () => {
  const taskId = randomUUID();
  const waited = await cancel(taskId, 'refused-twice', 'outage:2');
  // Behind it on the same partition, a message that fails for good: its dead letter marks how far the DLQ is read.
  const broken = await cancel(taskId, 'broken', 'plain');

  await until(() => completed.has('refused-twice'), 'the handler to get through the outage');
  expect(runs.get('refused-twice')).toEqual([1, 1, 1]);

  const dead = await deadLettersUntil('kafka-outage-test.messages', (m) => header(m, 'ce_id') === broken.id);
  expect(dead.map((m) => header(m, 'ce_id'))).not.toContain(waited.id);
});

it('retries an error that names no dependency with the usual attempts, then dead-letters it', async () => {
  const taskId = randomUUID();
  const broken = await cancel(taskId, 'plain-bug', 'plain');

  const dead = await deadLettersUntil('kafka-outage-test.messages', (m) => header(m, 'ce_id') === broken.id);
  const letter = dead.find((m) => header(m, 'ce_id') === broken.id)!;
  expect(header(letter, 'dlq_stage')).toBe('handler');
  expect(header(letter, 'dlq_attempts')).toBe(String(MAX_ATTEMPTS));
  expect(header(letter, 'dlq_reason')).toBe('the handler has a bug');
  expect(runs.get('plain-bug')).toEqual([1, 2]);
});

it('waits out a refused database connection within one attempt of a batch handler, which then stores the slice', async () => {
  const taskId = randomUUID();
  const waited = await cancel(taskId, 'batch-refused-twice', 'outage:2');

  await until(() => batchCompleted.has('batch-refused-twice'), 'the batch handler to get through the outage');
  expect(batchRuns.get('batch-refused-twice')).toEqual([1, 1, 1]);

  // Published once the slice above is done, so that it is a slice of its own.
  const broken = await cancel(taskId, 'batch-broken', 'plain');
  const dead = await deadLettersUntil('kafka-outage-test.batches', (m) => header(m, 'ce_id') === broken.id);
  expect(dead.map((m) => header(m, 'ce_id'))).not.toContain(waited.id);
  expect(batchRuns.get('batch-broken')).toEqual([1, 2]);
});

it('stops during an outage without dead-lettering the message on its last attempt, and the next owner of the partition handles it', async () => {
  // One attempt and a grace longer than the wait: only the stop itself can end the wait without a dead letter.
  const lastAttemptClient = new KafkaClient({
    ...client.options,
    handlerMaxAttempts: 1,
    shutdownGraceMs: 60_000,
  });
  const group = 'kafka-outage-test.stopping';
  const seen: string[] = [];
  const failing = new EventConsumer(lastAttemptClient, publisher, {
    group,
    handlers: [
      handle(taskCancelRequestedEvent, (envelope) => {
        seen.push(envelope.data.requestedBy);
        return envelope.data.requestedBy === 'stopping-outage'
          ? Promise.reject(refused())
          : Promise.resolve();
      }),
    ],
  });
  await failing.start();
  const taskId = randomUUID();
  const waited = await cancel(taskId, 'stopping-outage', 'outage:1000');
  await until(() => seen.includes('stopping-outage'), 'the handler to meet the outage');
  await failing.stop();

  const handled: string[] = [];
  const next = new EventConsumer(lastAttemptClient, publisher, {
    group,
    handlers: [
      handle(taskCancelRequestedEvent, (envelope) => {
        handled.push(envelope.data.requestedBy);
        return envelope.data.requestedBy === 'stopping-broken'
          ? Promise.reject(new Error('the handler has a bug'))
          : Promise.resolve();
      }),
    ],
  });
  consumers.push(next);
  await next.start();
  await until(() => handled.includes('stopping-outage'), 'the message to be delivered again');
  const broken = await cancel(taskId, 'stopping-broken', 'plain');
  const dead = await deadLettersUntil(group, (m) => header(m, 'ce_id') === broken.id);
  expect(dead.map((m) => header(m, 'ce_id'))).not.toContain(waited.id);
});
