import { deadLetterTopic, type EventDefinition } from '@deliberate/contracts';
import { Logger } from '@nestjs/common';
import type { Admin } from 'kafkajs';
import type { KafkaClient } from './kafka-client';

const DEAD_LETTER_PARTITIONS = 3;

// Creates the topics a service reads or writes, with their dead-letter topics, at start-up.
export async function provisionTopics(
  client: KafkaClient,
  definitions: readonly EventDefinition[],
): Promise<void> {
  if (!client.options.createTopics) return;
  const logger = new Logger('TopicProvisioner');
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = new Map<string, { partitions: number; compacted: boolean }>();
    for (const d of definitions) {
      wanted.set(client.topic(d.topic), { partitions: d.partitions, compacted: d.compacted ?? false });
      // Dead letters are kept for inspection, not as state: they expire by age even for a compacted topic.
      wanted.set(client.topic(deadLetterTopic(d.topic)), {
        partitions: DEAD_LETTER_PARTITIONS,
        compacted: false,
      });
    }
    const missing = [...wanted].filter(([name]) => !existing.has(name));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map(([topic, { partitions, compacted }]) => ({
          topic,
          numPartitions: partitions,
          replicationFactor: client.options.replicationFactor,
          configEntries: compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      });
    } catch (e) {
      // Another service may create the same topics at the same moment.
      if (!String((e as Error).message).includes('already exists')) throw e;
    }
    await waitForLeaders(
      admin,
      missing.map(([name]) => name),
    );
    logger.log({ msg: 'topics created', topics: missing.map(([name]) => name) });
  } finally {
    await admin.disconnect();
  }
}

// kafkajs's own waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers for a moment
// after creating a topic, and when another service creates the same topics at the same time.
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline)
      throw new Error(`topics have no leaders after ${timeoutMs} ms: ${topics.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
