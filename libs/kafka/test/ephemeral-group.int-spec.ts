import { taskCancelRequestedEvent } from '@deliberate/contracts';
import { Kafka, logLevel } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { EventConsumer, handle } from '../src/event-consumer';
import { EventPublisher } from '../src/event-publisher';
import { KafkaClient } from '../src/kafka-client';
import { provisionTopics } from '../src/topic-provisioner';

// A group made for one process (one per start) is deleted once its consumer stops; a shared group is kept.

// A library may not depend on the testing library, so the suite isolates itself the same way by hand.
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const prefix = `test.kafka-ephemeral.${randomBytes(3).toString('hex')}.`;

const admin = new Kafka({
  clientId: 'kafka-ephemeral-test',
  brokers: BROKERS,
  logLevel: logLevel.NOTHING,
}).admin();
let client: KafkaClient;
let publisher: EventPublisher;

async function groupIds(): Promise<string[]> {
  return (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
}

beforeAll(async () => {
  client = new KafkaClient({
    serviceName: 'kafka-ephemeral-test',
    brokers: BROKERS,
    topicPrefix: prefix,
    createTopics: true,
    replicationFactor: 1,
    handlerMaxAttempts: 3,
    shutdownGraceMs: 500,
  });
  await provisionTopics(client, [taskCancelRequestedEvent]);
  publisher = new EventPublisher(client);
  await admin.connect();
});

afterAll(async () => {
  await admin.deleteGroups(await groupIds()).catch(() => undefined);
  await admin.disconnect();
});

it('deletes an ephemeral group once the consumer stopped, and keeps a shared one', async () => {
  const start = async (group: string, ephemeralGroup: boolean) => {
    const consumer = new EventConsumer(client, publisher, {
      group,
      ephemeralGroup,
      handlers: [handle(taskCancelRequestedEvent, () => Promise.resolve())],
    });
    await consumer.start();
    return consumer;
  };
  const ephemeralName = `kafka-ephemeral-test.process.${randomBytes(4).toString('hex')}`;
  const ephemeral = await start(ephemeralName, true);
  const shared = await start('kafka-ephemeral-test.shared', false);
  const sharedId = client.groupId('kafka-ephemeral-test.shared');
  expect((await groupIds()).sort()).toEqual([client.groupId(ephemeralName), sharedId].sort());

  await ephemeral.stop();
  await shared.stop();

  expect(await groupIds()).toEqual([sharedId]);
});
