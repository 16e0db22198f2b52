import {
  databaseConfigSchema,
  envInt,
  kafkaConfigSchema,
  kafkaSecurityCheck,
  loadConfig,
  tryLoadConfig,
  telemetryConfigSchema,
} from '@deliberate/config';
import { PRINCIPAL_SIGNATURE_MAX_TTL_SECONDS } from '@deliberate/contracts';
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
  GATEWAY_MAX_BODY_BYTES: envInt(2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
  // How long a verified API key is trusted before it is looked up again (so revocation takes this long).
  GATEWAY_API_KEY_CACHE_TTL_MS: envInt(30_000, 0, 3_600_000),
  // Accepted tasks whose event did not reach Kafka (a crash between insert and publish) are republished.
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
});

export const gatewayConfigSchema = gatewayConfigFields.check(kafkaSecurityCheck);

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
