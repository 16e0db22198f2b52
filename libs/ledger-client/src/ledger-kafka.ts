import { ledgerCommandTopics } from '@deliberate/contracts';
import { deleteConsumerGroup, type KafkaSecurity, kafkaLogCreator } from '@deliberate/kafka';
import { Logger } from '@nestjs/common';
import { Kafka } from 'kafkajs';

interface LedgerKafkaOptions {
  brokers: string[];
  security?: KafkaSecurity | undefined;
  clientId: string;
}

const adminKafka = (options: LedgerKafkaOptions) =>
  new Kafka({
    clientId: `${options.clientId}-ledger-admin`,
    brokers: options.brokers,
    ...options.security,
    logCreator: kafkaLogCreator('LedgerClient'),
  });

/** Deletes a reply group of this process alone once its consumer has left; logs, never throws, on failure. */
export function deleteLedgerReplyGroup(options: LedgerKafkaOptions, groupId: string): Promise<boolean> {
  return deleteConsumerGroup(adminKafka(options), groupId, new Logger('LedgerClient'));
}

// Auto-creation is off and the client subscribes to the reply topics before the ledger may have started, so the
// client creates the command topics too (whoever comes first; "already exists" is fine).
export async function ensureLedgerCommandTopics(
  options: LedgerKafkaOptions & { topicPrefix: string; replicationFactor: number },
  timeoutMs = 30_000,
): Promise<void> {
  const admin = adminKafka(options).admin();
  await admin.connect();
  try {
    const topics = ledgerCommandTopics(options.topicPrefix);
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (!missing.length) return;
    try {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: options.replicationFactor,
        })),
      });
    } catch (e) {
      if (!String((e as Error).message).includes('already exists')) throw e;
    }
    // A KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment after creating a topic: poll for leaders.
    const names = missing.map((t) => t.topic);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics: names });
        if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
          return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      if (Date.now() > deadline)
        throw new Error(`topics have no leaders after ${timeoutMs} ms: ${names.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}
