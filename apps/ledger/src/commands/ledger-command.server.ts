import { type MessageHandler, ServerKafka } from '@nestjs/microservices';
import type { LedgerConfig } from '../config';
import { kafkaLogCreator, kafkaSecurityOf } from '@deliberate/kafka';

type ServerKafkaOptions = ConstructorParameters<typeof ServerKafka>[0];

// Nest's Kafka transport, with every message pattern served under KAFKA_TOPIC_PREFIX: handlers keep their catalogue
// names (@MessagePattern(LEDGER_PATTERNS.reserve)) while the topics they consume are the prefixed ones.
export class PrefixedKafkaServer extends ServerKafka {
  constructor(
    private readonly topicPrefix: string,
    options: ServerKafkaOptions,
  ) {
    super(options);
  }

  override addHandler(
    pattern: unknown,
    callback: MessageHandler,
    isEventHandler?: boolean,
    extras?: Record<string, unknown>,
  ): void {
    const prefixed = typeof pattern === 'string' ? `${this.topicPrefix}${pattern}` : pattern;
    super.addHandler(prefixed, callback, isEventHandler, extras);
  }
}

/** The request-reply side of the ledger: one consumer group shared by every instance, replies from its producer. */
export function createLedgerCommandServer(config: LedgerConfig): PrefixedKafkaServer {
  const prefix = config.KAFKA_TOPIC_PREFIX;
  return new PrefixedKafkaServer(prefix, {
    postfixId: '',
    client: {
      clientId: `${config.KAFKA_CLIENT_ID ?? 'deliberate-ledger'}-commands`,
      brokers: config.KAFKA_BROKERS,
      ...kafkaSecurityOf(config),
      retry: { initialRetryTime: 200, retries: 10 },
      logCreator: kafkaLogCreator('LedgerCommandServer'),
    },
    consumer: {
      groupId: `${prefix}deliberate.ledger.commands`,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 250,
    },
    // A new group reads from the start, so no request sent while it first joined is skipped; requests too old to
    // be awaited are answered without a hold (LEDGER_REQUEST_MAX_AGE_MS).
    subscribe: { fromBeginning: true },
    // Partitions are served concurrently; one partition's requests stay in order.
    run: { partitionsConsumedConcurrently: config.LEDGER_COMMAND_CONCURRENCY },
    producer: { allowAutoTopicCreation: false },
  });
}
