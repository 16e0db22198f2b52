import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';
import { envBoolean, envInt, envList } from './load-config';

// Configuration fragments shared by every service; each service's config.ts composes the ones it needs.

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/deliberate';

export const databaseConfigSchema = z.object({
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' })
    .default(DEFAULT_DATABASE_URL),
  // At least 2: a single-runner job (a sweep, retention, checkpoints) holds one connection for its lock while its
  // work runs on another.
  DATABASE_POOL_SIZE: envInt(10, 2, 200),
  // How many distinct statement texts a process runs as named prepared statements on its connections (0: none, for a
  // connection pooler that cannot keep them, such as PgBouncer in transaction mode before 1.21).
  DATABASE_PREPARED_STATEMENTS: envInt(256, 0, 10_000),
});

export const KAFKA_SASL_MECHANISMS = ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const;

// A path the service can read now, so a missing or unreadable key file fails at start-up, not at first connect.
const readableFile = z
  .string()
  .min(1)
  .refine(
    (path) => {
      try {
        accessSync(path, constants.R_OK);
        return statSync(path).isFile();
      } catch {
        return false;
      }
    },
    { error: 'not a readable file' },
  );

export const kafkaConfigSchema = z.object({
  KAFKA_BROKERS: envList('127.0.0.1:9092').refine((l) => l.length > 0, 'needs at least one host:port'),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  // Prefixes every topic and consumer group: lets several stacks (or test suites) share one cluster.
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'letters, digits, dot, dash and underscore only')
    .default(''),
  KAFKA_CREATE_TOPICS: envBoolean(true),
  // Replicas of the topics a service creates: -1 (the default) takes the cluster's default.replication.factor, so a
  // stack pointed at a replicated cluster gets replicated topics without being told.
  KAFKA_REPLICATION_FACTOR: z.coerce
    .number()
    .int()
    .min(-1)
    .max(5)
    .refine((n) => n !== 0, '-1 (the broker default) or 1 to 5')
    .default(-1),
  KAFKA_HANDLER_MAX_ATTEMPTS: envInt(8, 1, 100),
  // One handler attempt (or batch slice) past this is abandoned and its message dead-lettered; the consumer keeps
  // heartbeating meanwhile, so a slow message never gets it evicted from its group.
  KAFKA_HANDLER_TIMEOUT_MS: envInt(60_000, 100, 3_600_000),
  // On shutdown, handlers in flight get this long to finish; unfinished messages are redelivered after a restart.
  KAFKA_SHUTDOWN_GRACE_MS: envInt(10_000, 0, 600_000),
  // The largest event a service publishes (value, key and headers). Keep it below the broker's and topics'
  // message.max.bytes (1,048,588 by default); the largest accepted task body derives from it.
  KAFKA_MAX_MESSAGE_BYTES: envInt(1_000_000, 65_536, 100_000_000),
  // Authentication and encryption towards the brokers (managed Kafka: MSK, Confluent Cloud, Aiven, Strimzi).
  // Which variables must come together is checked by kafkaSecurityCheck, which every service's schema applies.
  KAFKA_SASL_MECHANISM: z.enum(KAFKA_SASL_MECHANISMS).default('none'),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  // TLS towards the brokers; without a CA file the system's CAs verify them.
  KAFKA_TLS: envBoolean(false),
  KAFKA_TLS_CA_FILE: readableFile.optional(),
  KAFKA_TLS_CERT_FILE: readableFile.optional(),
  KAFKA_TLS_KEY_FILE: readableFile.optional(),
});

// The rules between the Kafka security variables. A check rather than a refinement of kafkaConfigSchema, because
// services compose its shape into their own schema; it runs even when other variables are bad, so every problem
// is listed at once.
export const kafkaSecurityCheck = z.superRefine<Record<string, unknown>>(
  (c, ctx) => {
    for (const problem of kafkaSecurityProblems(c))
      ctx.addIssue({ code: 'custom', path: [problem.variable], message: problem.message });
  },
  { when: () => true },
);

export function kafkaSecurityProblems(c: Record<string, unknown>): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  if (typeof c !== 'object' || c === null) return problems;
  const set = (name: string) => typeof c[name] === 'string' && c[name] !== '';
  const mechanism = typeof c['KAFKA_SASL_MECHANISM'] === 'string' ? c['KAFKA_SASL_MECHANISM'] : 'none';
  if (mechanism === 'none') {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'])
      if (set(name))
        problems.push({
          variable: name,
          message: 'set, but KAFKA_SASL_MECHANISM is none: choose a mechanism',
        });
    // (An unknown mechanism is reported by the schema itself.)
  } else if ((KAFKA_SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'])
      if (!set(name))
        problems.push({ variable: name, message: `required when KAFKA_SASL_MECHANISM=${mechanism}` });
  }
  if (set('KAFKA_TLS_CERT_FILE') !== set('KAFKA_TLS_KEY_FILE')) {
    const missing = set('KAFKA_TLS_CERT_FILE') ? 'KAFKA_TLS_KEY_FILE' : 'KAFKA_TLS_CERT_FILE';
    problems.push({
      variable: missing,
      message: 'a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE',
    });
  }
  const tls = c['KAFKA_TLS'] === true || ['true', '1', 'yes', 'on'].includes(String(c['KAFKA_TLS']));
  if (!tls)
    for (const name of ['KAFKA_TLS_CA_FILE', 'KAFKA_TLS_CERT_FILE', 'KAFKA_TLS_KEY_FILE'])
      if (set(name))
        problems.push({ variable: name, message: 'set, but KAFKA_TLS is false: set KAFKA_TLS=true' });
  return problems;
}

export const telemetryConfigSchema = z.object({
  OTEL_TRACES_EXPORTER: z.enum(['none', 'console', 'otlp']).default('none'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type DatabaseConfig = z.infer<typeof databaseConfigSchema>;
export type KafkaConfig = z.infer<typeof kafkaConfigSchema>;
export type TelemetryConfig = z.infer<typeof telemetryConfigSchema>;
