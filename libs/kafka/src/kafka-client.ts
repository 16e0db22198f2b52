import { Logger } from '@nestjs/common';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { KafkaOptions } from './kafka.options';

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'log' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'log',
  [logLevel.DEBUG]: 'debug',
};

// One kafkajs client per process, its log routed into the service's structured log.
export class KafkaClient {
  readonly kafka: Kafka;
  private readonly logger = new Logger('kafkajs');

  constructor(readonly options: KafkaOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId ?? `deliberate-${options.serviceName}`,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      retry: { initialRetryTime: 200, retries: 10 },
      logCreator: () => (entry: LogEntry) => this.logEntry(entry),
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

  private logEntry(entry: LogEntry): void {
    const { message, ...extra } = entry.log;
    // The idempotent producer warns about this on every connect; it is expected, not actionable.
    if (typeof message === 'string' && message.includes('KafkaJS v2.0.0 switched default partitioner'))
      return;
    const level = LEVEL_NAMES[entry.level] ?? 'log';
    this.logger[level]({ msg: message, kafka: entry.namespace, ...extra });
  }
}
