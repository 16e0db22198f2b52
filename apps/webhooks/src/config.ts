import {
  databaseConfigSchema,
  envInt,
  envList,
  envNumber,
  kafkaConfigSchema,
  kafkaSecurityCheck,
  loadConfig,
  telemetryConfigSchema,
  tryLoadConfig,
} from '@deliberate/config';
import { ColumnCipher, parseEncryptionKey } from '@deliberate/persistence';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { parseDuration } from './retries/duration';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// "0,5s,5m,30m,2h,5h,10h,10h": the delay before each attempt, counted from the previous attempt (the first from
// the event). Its length is the number of attempts a message gets before it becomes a dead letter.
const retrySchedule = z
  .string()
  .default('0,5s,5m,30m,2h,5h,10h,10h')
  .transform((value, ctx) => {
    const delays: number[] = [];
    for (const [index, entry] of value.split(',').entries()) {
      const ms = parseDuration(entry.trim());
      if (ms === null) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${index + 1} '${entry.trim()}' is not a duration (0, or a number with ms, s, m, h or d)`,
        });
        return z.NEVER;
      }
      delays.push(ms);
    }
    if (delays.length > 50) {
      ctx.addIssue({ code: 'custom', message: 'at most 50 attempts' });
      return z.NEVER;
    }
    return delays;
  });

// CIDRs the SSRF guard lets through although they are private, loopback or otherwise blocked.
const allowedNetworks = envList('').transform((cidrs, ctx) => {
  for (const cidr of cidrs) {
    const [address, prefix, ...rest] = cidr.split('/');
    const bits = Number(prefix);
    const max = address && isIPv4(address) ? 32 : address && isIPv6(address) ? 128 : -1;
    if (rest.length || max < 0 || prefix === undefined || !Number.isInteger(bits) || bits < 0 || bits > max) {
      ctx.addIssue({
        code: 'custom',
        message: `'${cidr}' is not an IPv4 or IPv6 CIDR (e.g. 127.0.0.0/8, ::1/128)`,
      });
      return z.NEVER;
    }
  }
  return cidrs;
});

export const webhooksConfigSchema = z
  .object({
    ...databaseConfigSchema.shape,
    ...kafkaConfigSchema.shape,
    ...telemetryConfigSchema.shape,
    WEBHOOKS_HOST: z.string().default('127.0.0.1'),
    WEBHOOKS_PORT: envInt(3004, 0, 65535),
    // Shared with the gateway, which proxies /v1/webhooks/* here. Unset: the HTTP API refuses every request.
    WEBHOOKS_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    WEBHOOKS_MAX_BODY_BYTES: envInt(64 * 1024, 1024, 16 * 1024 * 1024),
    // Endpoints a tenant's keys may register, unless the platform admin gave the tenant its own cap at the gateway
    // (PATCH /v1/admin/tenants/:id, quotas.maxWebhookEndpoints), which arrives in the signed principal.
    WEBHOOKS_MAX_ENDPOINTS_PER_TENANT: envInt(50, 0, 100_000),
    WEBHOOKS_RETRY_SCHEDULE: retrySchedule,
    // Each retry delay is moved by up to this fraction either way, so failed endpoints are not retried in lockstep.
    WEBHOOKS_RETRY_JITTER: envNumber(0.1, 0, 0.5),
    // A Retry-After (429, 503) postpones the next attempt, but never further than this.
    WEBHOOKS_RETRY_AFTER_MAX_MS: envInt(HOUR, 0, 7 * DAY),
    // One attempt's whole budget: connect, send, response headers and body.
    WEBHOOKS_TIMEOUT_MS: envInt(15_000, 100, 120_000),
    // How long a claimed attempt belongs to its dispatcher. A dispatcher that dies leaves the lease to expire;
    // the attempt is then made again, with the same webhook-id. Must exceed the timeout.
    WEBHOOKS_LEASE_MS: envInt(60_000, 1_000, DAY),
    // Requests in flight at once per instance. Several claimed batches are in flight at once, so sending one
    // overlaps recording another.
    WEBHOOKS_CONCURRENCY: envInt(512, 1, 10_000),
    // Due attempts claimed per query, and recorded per transaction.
    WEBHOOKS_BATCH_SIZE: envInt(100, 1, 5_000),
    // How often an idle dispatcher looks for due attempts; new messages wake it at once.
    WEBHOOKS_POLL_INTERVAL_MS: envInt(500, 10, 60_000),
    // An endpoint that has only failed for this long is disabled (Svix: 5 days).
    WEBHOOKS_DISABLE_AFTER_FAILING_MS: envInt(5 * DAY, 1_000, 365 * DAY),
    // After a secret rotation the old secret signs too, for this long, so receivers can switch without a gap.
    WEBHOOKS_SECRET_OVERLAP_MS: envInt(DAY, 0, 30 * DAY),
    // Encrypts the signing secrets at rest (AES-256-GCM): 32 bytes as 64 hex digits or base64. Required.
    WEBHOOKS_SECRET_ENCRYPTION_KEY: z
      .string({ error: 'is required: 32 random bytes as 64 hex digits or base64 (openssl rand -hex 32)' })
      .refine((v) => parseEncryptionKey(v) !== null, 'must be 32 bytes as 64 hex digits or base64'),
    // Keys used before a rotation, comma-separated: they only decrypt; at start-up every secret sealed with one
    // is re-encrypted with WEBHOOKS_SECRET_ENCRYPTION_KEY, after which they can be removed.
    WEBHOOKS_SECRET_ENCRYPTION_PREVIOUS_KEYS: envList('').refine(
      (keys) => keys.every((k) => parseEncryptionKey(k) !== null),
      'each must be 32 bytes as 64 hex digits or base64',
    ),
    WEBHOOKS_ALLOWED_NETWORKS: allowedNetworks,
    // A terminal event whose task was never seen accepted (it predates this service, or its accepted event is
    // late) waits this long, then goes to the tenant's endpoints without the task's metadata and webhookUrl.
    WEBHOOKS_ACCEPTED_WAIT_MS: envInt(5 * 60_000, 0, DAY),
    // Terminal events handled at once per partition batch.
    WEBHOOKS_CONSUMER_CONCURRENCY: envInt(32, 1, 1_000),
    // Off: this instance serves the API and records messages but sends nothing (another instance does).
    WEBHOOKS_DISPATCHER_ENABLED: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .default('true')
      .transform((v) => v === 'true'),
  })
  .check(kafkaSecurityCheck)
  .superRefine((c, ctx) => {
    if (c.WEBHOOKS_LEASE_MS <= c.WEBHOOKS_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['WEBHOOKS_LEASE_MS'],
        message: `must exceed WEBHOOKS_TIMEOUT_MS (${c.WEBHOOKS_TIMEOUT_MS}), or a slow attempt would be sent twice`,
      });
    }
  });

export type WebhooksConfig = z.infer<typeof webhooksConfigSchema>;

export function loadWebhooksConfig(env: Record<string, string | undefined> = process.env): WebhooksConfig {
  return loadConfig('webhooks', webhooksConfigSchema, env);
}

export function tryLoadWebhooksConfig(
  env: Record<string, string | undefined> = process.env,
): WebhooksConfig | null {
  return tryLoadConfig(webhooksConfigSchema, env);
}

export const WEBHOOKS_CONFIG = Symbol('WEBHOOKS_CONFIG');

/** The operator's allowlist as a BlockList (its `check` answers "is this address allowlisted"). */
export function allowlistOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, prefix] = cidr.split('/') as [string, string];
    list.addSubnet(address, Number(prefix), isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** The cipher of the signing secrets at rest, from WEBHOOKS_SECRET_ENCRYPTION_KEY and its previous keys. */
export function secretCipherOf(config: WebhooksConfig): ColumnCipher {
  return new ColumnCipher(
    parseEncryptionKey(config.WEBHOOKS_SECRET_ENCRYPTION_KEY)!,
    'WEBHOOKS_SECRET_ENCRYPTION_KEY',
    config.WEBHOOKS_SECRET_ENCRYPTION_PREVIOUS_KEYS.map((k) => parseEncryptionKey(k)!),
  );
}
