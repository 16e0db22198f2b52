export interface KafkaOptions {
  /** Names this process in broker logs and in every event's `source`. */
  serviceName: string;
  brokers: string[];
  clientId?: string | undefined;
  /** Prefixes every topic and consumer group, so several stacks or test suites can share one cluster. */
  topicPrefix: string;
  createTopics: boolean;
  replicationFactor: number;
  /** Attempts of a failing handler before its message is dead-lettered. */
  handlerMaxAttempts: number;
  /** Base of the exponential backoff between handler attempts. */
  handlerRetryBaseMs?: number;
}

export const KAFKA_OPTIONS = Symbol('KAFKA_OPTIONS');

/** The Kafka options every service derives the same way from its validated KAFKA_* environment. */
export function kafkaOptionsFromConfig(
  serviceName: string,
  config: {
    KAFKA_BROKERS: string[];
    KAFKA_CLIENT_ID?: string | undefined;
    KAFKA_TOPIC_PREFIX: string;
    KAFKA_CREATE_TOPICS: boolean;
    KAFKA_REPLICATION_FACTOR: number;
    KAFKA_HANDLER_MAX_ATTEMPTS: number;
  },
): KafkaOptions {
  return {
    serviceName,
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    createTopics: config.KAFKA_CREATE_TOPICS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    handlerMaxAttempts: config.KAFKA_HANDLER_MAX_ATTEMPTS,
  };
}
