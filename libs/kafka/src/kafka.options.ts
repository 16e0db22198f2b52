import { readFileSync } from 'node:fs';
import { type KafkaSecurity, type KafkaSecurityConfig, kafkaSecurityFromConfig } from './kafka-security';

export interface KafkaOptions {
  /** Names this process in broker logs and in every event's `source`. */
  serviceName: string;
  brokers: string[];
  /** SASL credentials and TLS towards the brokers; none: plaintext and unauthenticated. */
  security?: KafkaSecurity | undefined;
  clientId?: string | undefined;
  /** Prefixes every topic and consumer group, so several stacks or test suites can share one cluster. */
  topicPrefix: string;
  createTopics: boolean;
  replicationFactor: number;
  /** Attempts of a failing handler before its message is dead-lettered. */
  handlerMaxAttempts: number;
  /** Base of the exponential backoff between handler attempts. */
  handlerRetryBaseMs?: number;
  /** Time budget of one handler attempt (or batch slice); past it the message is dead-lettered. Default 60 s. */
  handlerTimeoutMs?: number;
  /** How long stop() lets handlers in flight finish before abandoning them (they are redelivered). Default 10 s. */
  shutdownGraceMs?: number;
  /** Largest message the publisher sends (value, key and headers); larger events are refused. Default 1,000,000. */
  maxMessageBytes?: number;
}

export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

export const KAFKA_OPTIONS = Symbol('KAFKA_OPTIONS');

/** The kafkajs `sasl` and `ssl` options of a validated configuration, its PEM files read now. */
export function kafkaSecurityOf(config: KafkaSecurityConfig): KafkaSecurity {
  return kafkaSecurityFromConfig(config, (path) => readFileSync(path));
}

/** The Kafka options every service derives the same way from its validated KAFKA_* environment. */
export function kafkaOptionsFromConfig(
  serviceName: string,
  config: KafkaSecurityConfig & {
    KAFKA_BROKERS: string[];
    KAFKA_CLIENT_ID?: string | undefined;
    KAFKA_TOPIC_PREFIX: string;
    KAFKA_CREATE_TOPICS: boolean;
    KAFKA_REPLICATION_FACTOR: number;
    KAFKA_HANDLER_MAX_ATTEMPTS: number;
    KAFKA_HANDLER_TIMEOUT_MS?: number;
    KAFKA_SHUTDOWN_GRACE_MS?: number;
    KAFKA_MAX_MESSAGE_BYTES?: number;
  },
): KafkaOptions {
  return {
    serviceName,
    brokers: config.KAFKA_BROKERS,
    security: kafkaSecurityOf(config),
    clientId: config.KAFKA_CLIENT_ID,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    createTopics: config.KAFKA_CREATE_TOPICS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    handlerMaxAttempts: config.KAFKA_HANDLER_MAX_ATTEMPTS,
    handlerTimeoutMs: config.KAFKA_HANDLER_TIMEOUT_MS,
    shutdownGraceMs: config.KAFKA_SHUTDOWN_GRACE_MS,
    maxMessageBytes: config.KAFKA_MAX_MESSAGE_BYTES,
  };
}
