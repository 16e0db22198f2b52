import { kafkaConfigSchema, kafkaSecurityCheck, loadConfig } from '@deliberate/config';
import { kafkaSecurityOf } from '@deliberate/kafka';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';

export const TEST_KAFKA_BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

/** Every suite gets its own topics and consumer groups on the shared broker. */
export function uniqueTopicPrefix(suite: string): string {
  return `test.${suite}.${randomBytes(3).toString('hex')}.`;
}

// The suites' own clients connect as the services under test do: KAFKA_SASL_* and KAFKA_TLS_* apply to them too.
export function testKafka(): Kafka {
  const config = loadConfig('tests', kafkaConfigSchema.check(kafkaSecurityCheck), {
    ...process.env,
    DELIBERATE_ENV: 'local',
  });
  return new Kafka({
    clientId: 'deliberate-test',
    brokers: TEST_KAFKA_BROKERS,
    ...kafkaSecurityOf(config),
    logLevel: logLevel.NOTHING,
  });
}

/**
 * Reads a topic from the beginning until `count` messages matching `filter` arrived, or fails after `timeoutMs`.
 * The reader uses a throwaway group, so it never takes messages from the services under test.
 */
export async function collectMessages(
  topic: string,
  count: number,
  options: { timeoutMs?: number; filter?: (m: KafkaMessage) => boolean } = {},
): Promise<KafkaMessage[]> {
  const kafka = testKafka();
  const consumer = kafka.consumer({
    groupId: `reader-${randomBytes(6).toString('hex')}`,
    maxWaitTimeInMs: 200,
  });
  const found: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `only ${found.length} of ${count} messages on ${topic} within ${options.timeoutMs ?? 30_000} ms`,
            ),
          ),
        options.timeoutMs ?? 30_000,
      );
      consumer
        .run({
          eachMessage: ({ message }) => {
            if (!options.filter || options.filter(message)) found.push(message);
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
    await consumer.disconnect();
  }
  return found;
}

export function header(message: KafkaMessage, name: string): string | undefined {
  const v = message.headers?.[name];
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/**
 * Deletes every topic of a suite's prefix. A single-node broker keeps a few open files per partition, so suites
 * that leave their topics behind eventually exhaust its file limit.
 */
export async function deleteTopicsWithPrefix(prefix: string): Promise<void> {
  if (!prefix.startsWith('test.'))
    throw new Error(`refusing to delete topics outside a test prefix: ${prefix}`);
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every message the topic holds right now; none while the broker is still electing the topic's leaders (a topic
 * created moments ago on a busy broker), so callers poll.
 */
export async function readTopic(topic: string): Promise<KafkaMessage[]> {
  const admin = testKafka().admin();
  await admin.connect();
  let total = 0;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } catch (e) {
    if ((e as { retriable?: boolean }).retriable) return [];
    throw e;
  } finally {
    await admin.disconnect();
  }
  return total === 0 ? [] : collectMessages(topic, total, { timeoutMs: 15_000 });
}

/** A message's value as JSON. */
export const json = (m: KafkaMessage): Record<string, unknown> =>
  JSON.parse(m.value?.toString('utf8') ?? 'null') as Record<string, unknown>;
