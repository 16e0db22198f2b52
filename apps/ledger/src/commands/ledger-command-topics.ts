import { ledgerCommandTopics } from '@deliberate/contracts';
import { KafkaClient } from '@deliberate/kafka';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Admin } from 'kafkajs';
import { LEDGER_CONFIG, type LedgerConfig } from '../config';

// Auto-creation is off: the request topics and their reply topics must exist before the command server subscribes.
@Injectable()
export class LedgerCommandTopics implements OnModuleInit {
  private readonly logger = new Logger(LedgerCommandTopics.name);

  constructor(
    private readonly kafka: KafkaClient,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.KAFKA_CREATE_TOPICS) return;
    const admin = this.kafka.kafka.admin();
    await admin.connect();
    try {
      const created = await createMissingTopics(
        admin,
        ledgerCommandTopics(this.config.KAFKA_TOPIC_PREFIX),
        this.config.KAFKA_REPLICATION_FACTOR,
      );
      if (created.length) this.logger.log({ msg: 'command topics created', topics: created });
    } finally {
      await admin.disconnect();
    }
  }
}

async function createMissingTopics(
  admin: Admin,
  topics: readonly { topic: string; partitions: number }[],
  replicationFactor: number,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (!missing.length) return [];
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor })),
    });
  } catch (e) {
    // A client of the ledger may create the same topics at the same moment.
    if (!String((e as Error).message).includes('already exists')) throw e;
  }
  // A KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment after creating a topic: poll for leaders.
  const names = missing.map((t) => t.topic);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: names });
      if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
        return names;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`topics have no leaders after 30 s: ${names.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
