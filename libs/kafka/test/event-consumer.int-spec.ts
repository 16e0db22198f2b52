import { type EventEnvelope, taskCancelRequestedEvent } from '@deliberate/contracts';
import { Kafka, type KafkaMessage, logLevel, type Producer } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { EventConsumer, handle } from '../src/event-consumer';
import { EventPublisher } from '../src/event-publisher';
import { KafkaClient } from '../src/kafka-client';
import { provisionTopics } from '../src/topic-provisioner';

// What a consumer does with messages that can never succeed: refused text at decode, a database error that no retry
// can fix, a handler that never returns. Each goes to the dead-letter topic with its reason after one attempt, the
// message behind it on the same partition still completes, and stop() returns even while a handler hangs.

// A library may not depend on the testing library, so the suite isolates itself the same way by hand.
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
// The suite's own schema in the server's maintenance database, which always exists.
const DATABASE_URL = new URL(process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/deliberate');
DATABASE_URL.pathname = '/postgres';
const suffix = randomBytes(3).toString('hex');
const prefix = `test.kafka-consumer.${suffix}.`;
const schema = `test_kafka_consumer_${suffix}`;
const HANDLER_TIMEOUT_MS = 1_500;

const kafka = new Kafka({ clientId: 'kafka-consumer-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
let client: KafkaClient;
let publisher: EventPublisher;
let producer: Producer;
let db: Client;
const consumers: EventConsumer[] = [];

// What the handler saw, by the cancel's requestedBy.
const attempts = new Map<string, number>();
const completed = new Set<string>();

beforeAll(async () => {
  client = new KafkaClient({
    serviceName: 'kafka-consumer-test',
    brokers: BROKERS,
    topicPrefix: prefix,
    createTopics: true,
    replicationFactor: 1,
    handlerMaxAttempts: 8,
    handlerRetryBaseMs: 50,
    handlerTimeoutMs: HANDLER_TIMEOUT_MS,
    shutdownGraceMs: 500,
  });
  await provisionTopics(client, [taskCancelRequestedEvent]);
  publisher = new EventPublisher(client);
  await publisher.connect();
  producer = kafka.producer();
  await producer.connect();
  db = new Client({ connectionString: DATABASE_URL.toString() });
  await db.connect();
  await db.query(`CREATE SCHEMA "${schema}"`);
  await db.query(`CREATE TABLE "${schema}".cancels (requested_by text PRIMARY KEY, reason varchar(10))`);

  const consumer = new EventConsumer(client, publisher, {
    group: 'kafka-consumer-test.main',
    handlers: [
      handle(taskCancelRequestedEvent, async (envelope) => {
        const { requestedBy, reason } = envelope.data;
        attempts.set(requestedBy, (attempts.get(requestedBy) ?? 0) + 1);
        if (reason === 'hang') await new Promise<never>(() => undefined);
        await db.query(`INSERT INTO "${schema}".cancels VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
          requestedBy,
          reason,
        ]);
        completed.add(requestedBy);
      }),
    ],
  });
  consumers.push(consumer);
  await consumer.start();
});

afterAll(async () => {
  for (const c of consumers) await c.stop();
  await publisher?.disconnect();
  await producer?.disconnect();
  await db?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db?.end();
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
  await admin.disconnect();
});

function cancel(taskId: string, requestedBy: string, reason: string | null) {
  return publisher.publish(taskCancelRequestedEvent, {
    tenantId: 'acme',
    taskId,
    data: { requestedBy, reason, requestedAt: new Date().toISOString() },
  });
}

// Binary-mode CloudEvent written by hand: the publisher refuses what this suite needs to send.
async function sendRaw(taskId: string, value: string): Promise<void> {
  await producer.send({
    topic: client.topic(taskCancelRequestedEvent.topic),
    messages: [
      {
        key: taskId,
        value,
        headers: {
          ce_specversion: '1.0',
          ce_id: randomUUID(),
          ce_type: taskCancelRequestedEvent.topic,
          ce_source: 'test',
          ce_tenantid: 'acme',
          ce_taskid: taskId,
        },
      },
    ],
  });
}

function header(message: KafkaMessage, name: string): string | undefined {
  return message.headers?.[name]?.toString();
}

async function deadLetters(match: (m: KafkaMessage) => boolean, count = 1): Promise<KafkaMessage[]> {
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
      const timer = setTimeout(
        () => reject(new Error(`only ${found.length} of ${count} dead letters`)),
        30_000,
      );
      reader
        .run({
          eachMessage: ({ message }) => {
            if (match(message)) found.push(message);
            if (found.length >= count) {
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

const byTask = (taskId: string) => (m: KafkaMessage) => header(m, 'ce_taskid') === taskId;

it('dead-letters a NUL in a cancel reason at decode, naming the field, and the next cancel completes', async () => {
  const taskId = randomUUID();
  await sendRaw(
    taskId,
    JSON.stringify({ requestedBy: 'nul', reason: 'stop\u0000', requestedAt: new Date().toISOString() }),
  );
  await cancel(taskId, 'after-nul', 'ok');

  const [dead] = await deadLetters(byTask(taskId));
  expect(header(dead!, 'dlq_stage')).toBe('decode');
  expect(header(dead!, 'dlq_reason')).toContain('data.reason');
  expect(header(dead!, 'dlq_attempts')).toBe('0');
  await until(() => completed.has('after-nul'), 'the neighbour cancel');
  expect(attempts.has('nul')).toBe(false);
});

it('dead-letters a database error no retry can fix after one attempt, and the next message completes', async () => {
  const taskId = randomUUID();
  // varchar(10): Postgres answers 22001 (string data right truncation) every time.
  const tooLong = await cancel(taskId, 'too-long', 'x'.repeat(50));
  await cancel(taskId, 'after-too-long', 'ok');

  const [dead] = await deadLetters((m) => header(m, 'ce_id') === tooLong.id);
  expect(header(dead!, 'dlq_stage')).toBe('handler');
  expect(header(dead!, 'dlq_attempts')).toBe('1');
  expect(header(dead!, 'dlq_reason')).toContain('too long');
  await until(() => completed.has('after-too-long'), 'the neighbour cancel');
  expect(attempts.get('too-long')).toBe(1);
});

it('dead-letters a handler that exceeds its time budget, and the next message on the partition completes', async () => {
  const taskId = randomUUID();
  const hanging = await cancel(taskId, 'hanging', 'hang');
  await cancel(taskId, 'after-hanging', 'ok');

  const [dead] = await deadLetters((m) => header(m, 'ce_id') === hanging.id);
  expect(header(dead!, 'dlq_stage')).toBe('handler');
  expect(header(dead!, 'dlq_reason')).toBe(`handler exceeded ${HANDLER_TIMEOUT_MS} ms`);
  expect(header(dead!, 'dlq_attempts')).toBe('1');
  await until(() => completed.has('after-hanging'), 'the neighbour cancel');
  expect(attempts.get('hanging')).toBe(1);
});

it('dead-letters a message too large to forward whole without its value, and the next message completes', async () => {
  const taskId = randomUUID();
  // Just under the broker's default message.max.bytes (1,048,588): the dead-letter headers would push it over.
  await sendRaw(taskId, 'x'.repeat(1_048_000));
  await cancel(taskId, 'after-huge', 'ok');

  const [dead] = await deadLetters(byTask(taskId));
  expect(header(dead!, 'dlq_stage')).toBe('decode');
  expect(header(dead!, 'dlq_value_omitted')).toMatch(/^1048000 bytes/);
  expect(dead!.value).toBeNull();
  await until(() => completed.has('after-huge'), 'the neighbour cancel');
});

it('stops while a handler hangs, without waiting for it', async () => {
  const started: EventEnvelope[] = [];
  // A budget far beyond the test's patience: only the shutdown grace can end the wait.
  const patientClient = new KafkaClient({
    ...client.options,
    handlerTimeoutMs: 600_000,
    shutdownGraceMs: 500,
  });
  const stuck = new EventConsumer(patientClient, publisher, {
    group: 'kafka-consumer-test.stuck',
    handlers: [
      handle(taskCancelRequestedEvent, async (envelope) => {
        started.push(envelope);
        await new Promise<never>(() => undefined);
      }),
    ],
  });
  await stuck.start();
  await cancel(randomUUID(), 'stuck', 'never answered');
  await until(() => started.length > 0, 'the stuck handler to start');

  const stopped = await Promise.race([
    stuck.stop().then(() => 'stopped'),
    new Promise((r) => setTimeout(() => r('still stopping'), 30_000)),
  ]);
  expect(stopped).toBe('stopped');
});
