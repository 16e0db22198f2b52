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
