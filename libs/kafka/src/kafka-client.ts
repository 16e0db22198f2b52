import { Kafka, logLevel } from 'kafkajs';
import { kafkaLogCreator } from './kafka-log';
import type { KafkaOptions } from './kafka.options';
import { installRequestQueueTimerFix } from './request-queue-timer';

installRequestQueueTimerFix();

// One kafkajs client per process, its log routed into the service's structured log.
export class KafkaClient {
  readonly kafka: Kafka;

  constructor(readonly options: KafkaOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId ?? `deliberate-${options.serviceName}`,
      brokers: options.brokers,
      ...options.security,
      logLevel: logLevel.WARN,
      retry: { initialRetryTime: 200, retries: 10 },
      logCreator: kafkaLogCreator('kafkajs'),
    });
  }

  topic(name: string): string {
    return `${this.options.topicPrefix}${name}`;
  }

  /** The unprefixed catalogue name of a (possibly prefixed) topic. */
  catalogueTopic(name: string): string {
    const prefix = this.options.topicPrefix;
    return prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name;
  }

  groupId(name: string): string {
    return `${this.options.topicPrefix}deliberate.${name}`;
  }

}
