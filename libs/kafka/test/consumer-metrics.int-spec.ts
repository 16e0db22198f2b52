import { taskCancelRequestedEvent } from '@deliberate/contracts';
import { ServiceMetrics } from '@deliberate/metrics';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { ConsumerMetrics } from '../src/consumer-metrics';
import { EventConsumer, handle } from '../src/event-consumer';
import { EventPublisher } from '../src/event-publisher';
import { KafkaClient } from '../src/kafka-client';
import { provisionTopics } from '../src/topic-provisioner';

// What a consumer reports on /metrics: messages by outcome, processing time and dead letters per group and
// catalogue topic, and the partitions' backlog while a batch is in hand and after it.

// A library may not depend on the testing library, so the suite isolates itself by hand.
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const prefix = `test.consumer-metrics.${randomBytes(3).toString('hex')}.`;
const GROUP = 'consumer-metrics-test.main';
const TOPIC = taskCancelRequestedEvent.topic;

const kafka = new Kafka({ clientId: 'consumer-metrics-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
const metrics = new ServiceMetrics('consumer-metrics-test');
let client: KafkaClient;
let publisher: EventPublisher;
let producer: Producer;
let consumer: EventConsumer;

const handled = new Set<string>();
let gate: Promise<void> = Promise.resolve();

beforeAll(async () => {
  client = new KafkaClient({
    serviceName: 'consumer-metrics-test',
    brokers: BROKERS,
    topicPrefix: prefix,
    createTopics: true,
    replicationFactor: 1,
    handlerMaxAttempts: 3,
    handlerRetryBaseMs: 50,
    shutdownGraceMs: 500,
  });
  await provisionTopics(client, [taskCancelRequestedEvent]);
  publisher = new EventPublisher(client);
  await publisher.connect();
  producer = kafka.producer();
  await producer.connect();
  consumer = new EventConsumer(
    client,
    publisher,
    {
      group: GROUP,
      handlers: [
        handle(taskCancelRequestedEvent, async (envelope) => {
          await gate;
          handled.add(envelope.data.requestedBy);
        }),
      ],
    },
    new ConsumerMetrics(metrics.meter('deliberate.kafka')),
  );
  await consumer.start();
});

afterAll(async () => {
  await consumer?.stop();
  await publisher?.disconnect();
  await producer?.disconnect();
  await metrics.shutdown();
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
  await admin.disconnect();
});

const labels: Record<string, string> = {
  messaging_system: 'kafka',
  messaging_consumer_group_name: GROUP,
  messaging_destination_name: TOPIC,
};

/** The value of the series of `name` whose labels include these (in any order); 0 when there is none. */
async function series(name: string, extra: Record<string, string> = {}): Promise<number> {
  const wanted = { ...labels, ...extra };
  for (const line of (await metrics.render()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries(
      [...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(wanted).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return 0;
}

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cancel = (taskId: string, requestedBy: string) =>
  publisher.publish(taskCancelRequestedEvent, {
    tenantId: 'acme',
    taskId,
    data: { requestedBy, reason: null, requestedAt: new Date().toISOString() },
  });

it('counts handled messages and their processing time under the group and the catalogue topic', async () => {
  const handledBefore = await series('messaging_client_consumed_messages_total', { outcome: 'handled' });
  const timedBefore = await series('messaging_process_duration_count');

  for (const who of ['m1', 'm2', 'm3']) await cancel(randomUUID(), who);
  await until(() => ['m1', 'm2', 'm3'].every((w) => handled.has(w)), 'three handled messages');

  await until(
    async () =>
      (await series('messaging_client_consumed_messages_total', { outcome: 'handled' })) ===
      handledBefore + 3,
    'the handled count',
  );
  expect(await series('messaging_process_duration_count')).toBe(timedBefore + 3);
  // The prefix of this deployment's topics never reaches a label.
  expect(await metrics.render()).not.toContain(prefix);
});

it('counts a message its schema refuses as dead-lettered, with its stage', async () => {
  const deadBefore = await series('deliberate_kafka_dead_letters_total', { stage: 'schema' });
  const taskId = randomUUID();
  await producer.send({
    topic: client.topic(TOPIC),
    messages: [
      {
        key: taskId,
        value: '{"requestedBy": 42}',
        headers: {
          ce_specversion: '1.0',
          ce_id: randomUUID(),
          ce_type: TOPIC,
          ce_source: 'test',
          ce_tenantid: 'acme',
          ce_taskid: taskId,
        },
      },
    ],
  });

  await until(
    async () => (await series('deliberate_kafka_dead_letters_total', { stage: 'schema' })) === deadBefore + 1,
    'the dead letter count',
  );
  // The message's outcome is counted once its dead letter is written, a moment after the dead letter itself.
  await until(
    async () => (await series('messaging_client_consumed_messages_total', { outcome: 'dead_lettered' })) >= 1,
    'the dead-lettered outcome count',
  );
});

it("reports a partition's backlog while its batch is held, and none once it is consumed", async () => {
  let release!: () => void;
  gate = new Promise((r) => (release = r));
  const taskId = randomUUID(); // one key: one partition, in order
  for (let i = 0; i < 5; i += 1) await cancel(taskId, `lag-${i}`);

  await until(async () => (await series('deliberate_kafka_consumer_lag')) >= 1, 'a backlog while held');
  release();
  await until(() => handled.has('lag-4'), 'the held messages');
  await until(async () => (await series('deliberate_kafka_consumer_lag')) === 0, 'no backlog');
});

it("names a process's own ephemeral group without its per-process suffix, so restarts add no label values", async () => {
  const seen = new Set<string>();
  const ephemeral = new EventConsumer(
    client,
    publisher,
    {
      group: `consumer-metrics-test.cache.${randomBytes(4).toString('hex')}`,
      ephemeralGroup: true,
      handlers: [
        handle(taskCancelRequestedEvent, (envelope) => {
          seen.add(envelope.data.requestedBy);
          return Promise.resolve();
        }),
      ],
    },
    new ConsumerMetrics(metrics.meter('deliberate.kafka')),
  );
  await ephemeral.start();
  try {
    await cancel(randomUUID(), 'cached');
    await until(() => seen.has('cached'), 'the ephemeral consumer');
    await until(
      async () =>
        (await series('messaging_client_consumed_messages_total', {
          messaging_consumer_group_name: 'consumer-metrics-test.cache',
          outcome: 'handled',
        })) >= 1,
      'the ephemeral group counted under its stable name',
    );
    expect(await metrics.render()).not.toMatch(/consumer-metrics-test\.cache\.[0-9a-f]/);
  } finally {
    await ephemeral.stop();
  }
});
