import { Logger } from '@nestjs/common';
import { logLevel, type LogEntry } from 'kafkajs';

const NOT_ACTIONABLE = [
  // Repeats on every producer start; expected.
  'KafkaJS v2.0.0 switched default partitioner',
  // Our idempotent producer bounds its retries on purpose, so a publish fails rather than hangs when the
  // broker is gone; at-least-once delivery is kept by the callers (outbox, consumer retries).
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
];

/** A kafkajs logCreator that writes warnings and errors to the service's structured log. */
export function kafkaLogCreator(name: string): () => (entry: LogEntry) => void {
  const logger = new Logger(name);
  return () => (entry) => {
    // Only warnings and errors reach the service's JSON log.
    if (entry.level !== logLevel.WARN && entry.level !== logLevel.ERROR) return;
    const { message, ...extra } = entry.log;
    if (NOT_ACTIONABLE.some((m) => message.includes(m))) return;
    const record = { msg: message, kafka: entry.namespace, ...extra };
    if (entry.level === logLevel.WARN) logger.warn(record);
    else logger.error(record);
  };
}
