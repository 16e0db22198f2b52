import { z } from 'zod';
import { envBoolean, envInt, envList } from './load-config';

// Configuration fragments shared by every service; each service's config.ts composes the ones it needs.

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/deliberate';

export const databaseConfigSchema = z.object({
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' })
    .default(DEFAULT_DATABASE_URL),
  DATABASE_POOL_SIZE: envInt(10, 1, 200),
});

export const kafkaConfigSchema = z.object({
  KAFKA_BROKERS: envList('127.0.0.1:9092').refine((l) => l.length > 0, 'needs at least one host:port'),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  // Prefixes every topic and consumer group: lets several stacks (or test suites) share one cluster.
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'letters, digits, dot, dash and underscore only')
    .default(''),
  KAFKA_CREATE_TOPICS: envBoolean(true),
  KAFKA_REPLICATION_FACTOR: envInt(1, 1, 5),
  KAFKA_HANDLER_MAX_ATTEMPTS: envInt(8, 1, 100),
});

export const telemetryConfigSchema = z.object({
  OTEL_TRACES_EXPORTER: z.enum(['none', 'console', 'otlp']).default('none'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type DatabaseConfig = z.infer<typeof databaseConfigSchema>;
export type KafkaConfig = z.infer<typeof kafkaConfigSchema>;
export type TelemetryConfig = z.infer<typeof telemetryConfigSchema>;
