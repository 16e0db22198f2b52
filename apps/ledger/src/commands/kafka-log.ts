import { Logger } from '@nestjs/common';

interface KafkaLogEntry {
  level: number;
  namespace: string;
  log: { message: string; [key: string]: unknown };
}

// kafkajs levels: 1 error, 2 warn, 4 info, 5 debug. Only warnings and errors reach the service's JSON log.
const WARN = 2;

/** A kafkajs logCreator for the Nest transport's own clients, shaped like libs/kafka's. */
export function kafkaLogCreator(name: string): () => (entry: KafkaLogEntry) => void {
  const logger = new Logger(name);
  return () => (entry) => {
    if (entry.level > WARN) return;
    const { message, ...extra } = entry.log;
    // The default-partitioner notice repeats on every producer start; it is expected, not actionable.
    if (message.includes('KafkaJS v2.0.0 switched default partitioner')) return;
    const record = { msg: message, kafka: entry.namespace, ...extra };
    if (entry.level === WARN) logger.warn(record);
    else logger.error(record);
  };
}
