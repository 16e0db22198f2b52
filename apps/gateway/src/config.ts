import {
  databaseConfigSchema,
  envInt,
  envNumber,
  kafkaConfigSchema,
  kafkaSecurityCheck,
  loadConfig,
  tryLoadConfig,
  telemetryConfigSchema,
} from '@deliberate/config';
import { maxTaskBodyBytes, PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS } from '@deliberate/contracts';
import { join } from 'node:path';
import { z } from 'zod';

const gatewayConfigFields = z.object({
  ...databaseConfigSchema.shape,
  ...kafkaConfigSchema.shape,
  ...telemetryConfigSchema.shape,
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: envInt(3000, 0, 65535),
  // The platform admin key: manages tenants and their keys. Unset disables the admin API.
  GATEWAY_ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  // The platform auditor key: reads every tenant's audit trail, and nothing else. Unset: no platform auditor.
  GATEWAY_PLATFORM_AUDITOR_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  // The largest request body. Unset: the largest task whose events Kafka still carries (KAFKA_MAX_MESSAGE_BYTES less
  // the event headroom). A larger value is refused: such a task would be stored but could never be published.
  GATEWAY_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .optional(),
  // How long a verified API key is trusted before it is looked up again (so revocation takes this long).
  GATEWAY_API_KEY_CACHE_TTL_MS: envInt(30_000, 0, 3_600_000),
  // Quotas every tenant gets unless the platform admin set its own (PATCH /v1/admin/tenants/:id). The request rate
  // is per API key, a token bucket in Postgres shared by every replica; unfinished tasks are counted per tenant.
  GATEWAY_RATE_LIMIT_PER_SECOND: envNumber(1_000, 0.001, 100_000),
  GATEWAY_RATE_LIMIT_BURST: envInt(2_000, 1, 1_000_000),
  GATEWAY_MAX_UNFINISHED_TASKS: envInt(10_000, 0, 10_000_000),
  // How often the outbox sweep republishes accepted events left pending this long (a crash or a broker outage
  // between the commit and the publish).
  GATEWAY_OUTBOX_INTERVAL_MS: envInt(5_000, 100, 600_000),
  // How long a reviewer's claim on an escalated task lasts before another reviewer may take it.
  GATEWAY_REVIEW_CLAIM_TTL_MS: envInt(15 * 60_000, 1_000, 24 * 3_600_000),
  // Submissions on tasks.task.submitted.v1 are signed with a tenant's intake secret. Issuing a new secret keeps the
  // tenant's current ones valid this long, so producers can switch without a gap.
  GATEWAY_INTAKE_SECRET_OVERLAP_MS: envInt(24 * 3_600_000, 0, 30 * 24 * 3_600_000),
  // How far a signature's deliberate-timestamp may be from the message's Kafka timestamp, either way.
  GATEWAY_INTAKE_SIGNATURE_TOLERANCE_MS: envInt(5 * 60_000, 1_000, 24 * 3_600_000),
  // Where /v1/ledger/* is forwarded, with the caller's identity signed with this key (the ledger holds the same one).
  // Unset: 503.
  GATEWAY_LEDGER_URL: z.url().default('http://127.0.0.1:3002'),
  LEDGER_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // The same for /v1/webhooks/* and /v1/audit/*.
  GATEWAY_WEBHOOKS_URL: z.url().default('http://127.0.0.1:3004'),
  WEBHOOKS_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  GATEWAY_AUDIT_URL: z.url().default('http://127.0.0.1:3005'),
  AUDIT_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // How long a proxied service may send nothing (no headers, no body bytes) before the gateway answers 504 or cuts
  // the stream. An idle limit, not a total one: a long export that keeps sending is never cut.
  GATEWAY_PROXY_IDLE_TIMEOUT_MS: envInt(30_000, 100, 600_000),
  // How long the signed identity on a forwarded request stays valid: clocks of the gateway and services must agree
  // within it, and a captured request is refused once it has passed.
  GATEWAY_PRINCIPAL_TTL_SECONDS: envInt(30, 1, PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS),
  // The built console (apps/console, `npm run build`), served at /console. Unset: apps/console/dist of this checkout
  // (the same path from src and from dist). A folder without index.html answers 503 until it is built.
  CONSOLE_DIR: z.string().min(1).default(join(__dirname, '../../console/dist')),
});

// One limit decides the largest task: the body limit follows the Kafka message limit, and may only be lower.
const bodyLimitCheck = z.superRefine<Record<string, unknown>>(
  (c, ctx) => {
    const kafkaLimit = c['KAFKA_MAX_MESSAGE_BYTES'];
    const bodyLimit = c['GATEWAY_MAX_BODY_BYTES'];
    if (typeof kafkaLimit !== 'number') return;
    const largest = maxTaskBodyBytes(kafkaLimit);
    if (typeof bodyLimit === 'number' && bodyLimit > largest) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEWAY_MAX_BODY_BYTES'],
        message: `${bodyLimit} is above ${largest}, the largest task body whose events fit KAFKA_MAX_MESSAGE_BYTES=${kafkaLimit}; lower GATEWAY_MAX_BODY_BYTES or unset it, or raise KAFKA_MAX_MESSAGE_BYTES (and the broker's message.max.bytes)`,
      });
    } else if (bodyLimit === undefined && largest < 1024) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_MAX_MESSAGE_BYTES'],
        message: `${kafkaLimit} leaves ${largest} bytes for a task body (GATEWAY_MAX_BODY_BYTES); raise it`,
      });
    }
  },
  { when: () => true },
);

export const gatewayConfigSchema = gatewayConfigFields
  .check(kafkaSecurityCheck, bodyLimitCheck)
  .transform((c) => ({
    ...c,
    GATEWAY_MAX_BODY_BYTES: c.GATEWAY_MAX_BODY_BYTES ?? maxTaskBodyBytes(c.KAFKA_MAX_MESSAGE_BYTES),
  }));

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return loadConfig('gateway', gatewayConfigSchema, env);
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export function tryLoadGatewayConfig(
  env: Record<string, string | undefined> = process.env,
): GatewayConfig | null {
  return tryLoadConfig(gatewayConfigSchema, env);
}
