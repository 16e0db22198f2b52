import {
  databaseConfigSchema,
  envBoolean,
  envInt,
  kafkaConfigSchema,
  kafkaSecurityCheck,
  loadConfig,
  telemetryConfigSchema,
  tryLoadConfig,
} from '@deliberate/config';
import { DEFAULT_AUDIT_PAGE_SIZE_MAX } from '@deliberate/contracts';
import { z } from 'zod';
import { type CheckpointPublicKey, checkpointPublicKey } from './checkpoints/checkpoint-keyring';
import { checkPatternSafety } from './privacy/pattern-safety';

/** The EU AI Act (Art. 19) asks providers to keep logs for at least six months. */
export const MIN_RETENTION_DAYS = 183;

const tenantList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

// One JSON array of regular expressions (strings); each is checked to compile, so a typo fails the start, and to run
// in linear time (privacy/pattern-safety.ts), so a pattern that backtracks fails it too.
const customPatterns = z
  .string()
  .default('[]')
  .transform((value, ctx) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a JSON array of regular expressions: ${(e as Error).message}`,
      });
      return z.NEVER;
    }
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string' && p.length > 0)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of non-empty strings' });
      return z.NEVER;
    }
    // Every entry is checked, so that all the bad ones are listed at once.
    const patterns: RegExp[] = [];
    let refused = false;
    for (const [i, source] of (parsed as string[]).entries()) {
      let regex: RegExp;
      try {
        regex = new RegExp(source, 'g');
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i} is not a valid regular expression: ${(e as Error).message}`,
        });
        refused = true;
        continue;
      }
      // Every tenant's text goes through these: one that backtracks on some input would stall the whole trail.
      const verdict = checkPatternSafety(regex);
      if (!verdict.safe) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i} (${source}) ${verdict.reason}; start each repetition at a boundary (\\b, or a lookbehind such as (?<![\\w.]) before [\\w.]+) and avoid nested or overlapping quantifiers`,
        });
        refused = true;
        continue;
      }
      patterns.push(regex);
    }
    return refused ? z.NEVER : patterns;
  });

const keyringEntry = z.strictObject({
  keyId: z.string().regex(/^[0-9a-f]{16}$/, '16 lower-case hex digits'),
  publicKey: z.string().min(1),
  notBefore: z.iso.datetime({ offset: true }).optional(),
  notAfter: z.iso.datetime({ offset: true }).optional(),
});

// The public keys of earlier signing keys (and of a next key published ahead), so that checkpoints signed before a
// rotation still verify: a JSON array of {keyId, publicKey (SPKI PEM or raw 32 bytes in base64), notBefore?, notAfter?}.
const checkpointPublicKeys = z
  .string()
  .default('[]')
  .transform((value, ctx) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `must be a JSON array of keys: ${(e as Error).message}` });
      return z.NEVER;
    }
    if (!Array.isArray(parsed)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of keys' });
      return z.NEVER;
    }
    // Every entry is checked, so that all the bad ones are listed at once.
    const keys: CheckpointPublicKey[] = [];
    for (const [i, raw] of parsed.entries()) {
      const entry = keyringEntry.safeParse(raw);
      if (!entry.success) {
        for (const issue of entry.error.issues) {
          ctx.addIssue({ code: 'custom', message: `entry ${i}.${issue.path.join('.')}: ${issue.message}` });
        }
        continue;
      }
      try {
        keys.push(checkpointPublicKey(entry.data));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `entry ${i}: ${(e as Error).message}` });
      }
    }
    return keys.length === parsed.length ? keys : z.NEVER;
  });

export const auditConfigSchema = z
  .object({
    ...databaseConfigSchema.shape,
    ...kafkaConfigSchema.shape,
    ...telemetryConfigSchema.shape,
    AUDIT_HOST: z.string().default('127.0.0.1'),
    AUDIT_PORT: envInt(3005, 0, 65535),
    // Shared with the gateway, which proxies /v1/audit/* here. Unset: the HTTP API refuses every request.
    AUDIT_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    // The role the service works as once the owner (DATABASE_URL's user) has run the migrations: it may only SELECT
    // the audit tables and append, checkpoint and purge through the owner's functions. Its connection is DATABASE_URL
    // with this user, unless AUDIT_DATABASE_URL says.
    AUDIT_DATABASE_ROLE: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case Postgres role name')
      .default('deliberate_audit_writer'),
    // Password set on that role at start-up, for servers that do not trust local connections (Docker's Postgres).
    AUDIT_DATABASE_PASSWORD: z.string().min(1).optional(),
    AUDIT_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
    // Where the auditor API reads (search, timelines, exports, verify, checkpoints): a streaming replica, so that long
    // scans stay off the primary. Unset: the writer's connections. Reads there are read-only transactions.
    AUDIT_READ_DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' })
      .optional(),
    // Ed25519 private key for checkpoints: a PKCS#8 PEM, or the 32-byte seed in base64. Required.
    AUDIT_SIGNING_KEY: z.string().min(1, 'is required: an Ed25519 PKCS#8 PEM or a base64 32-byte seed'),
    AUDIT_CHECKPOINT_PUBLIC_KEYS: checkpointPublicKeys,
    // How often each tenant chain that grew gets a signed checkpoint.
    AUDIT_CHECKPOINT_INTERVAL_MS: envInt(60_000, 100, 24 * 3_600_000),
    // Records kept; older ones are purged (the purge itself is recorded and checkpointed).
    AUDIT_RETENTION_DAYS: envInt(MIN_RETENTION_DAYS, 0, 36_500),
    // Set to true to allow AUDIT_RETENTION_DAYS below the 183-day legal minimum (tests, demos).
    AUDIT_RETENTION_ALLOW_SHORT: envBoolean(false),
    AUDIT_RETENTION_INTERVAL_MS: envInt(3_600_000, 100, 7 * 24 * 3_600_000),
    // Width in days of the time partitions of the records table (from UTC midnights): retention drops a partition
    // once all of it is past the period, and row-purges the one across the cutoff. Each event id looked up at ingest
    // (stored once per chain) probes every partition, so their number costs ingest: 30 days keeps about ten under
    // the 183-day minimum (with the two ahead and the default). A change applies to the partitions created after it.
    AUDIT_PARTITION_DAYS: envInt(30, 1, 366),
    // Redaction of PII patterns (email, phone, card numbers, IBAN, US SSN) in free text before hashing and storage.
    AUDIT_REDACTION: z.enum(['on', 'off']).default('on'),
    // Extra patterns redacted like the built-in ones: a JSON array of regular expressions.
    AUDIT_REDACT_PATTERNS: customPatterns,
    // Tenants whose prompts, context, traces and answers are stored encrypted (AES-256-GCM, key per tenant).
    AUDIT_ENCRYPTED_TENANTS: tenantList,
    // Master key the per-tenant keys are derived from (HKDF-SHA256): 32 bytes in base64. Required with encrypted tenants.
    AUDIT_ENCRYPTION_KEY: z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes in base64')
      .optional(),
    // Most events written per transaction by the sink (partition batches arriving together share one).
    AUDIT_BATCH_SIZE: envInt(2_000, 1, 50_000),
    // Partitions the sink reads at once (kafkajs partitionsConsumedConcurrently); their batches are written together.
    AUDIT_SINK_CONCURRENCY: envInt(8, 1, 64),
    // Transactions one group commit is split into, by tenant: their chain heads are disjoint, so they run side by
    // side instead of one Postgres backend inserting (and indexing) everything alone.
    AUDIT_WRITE_SHARDS: envInt(3, 1, 16),
    AUDIT_PAGE_SIZE_MAX: envInt(DEFAULT_AUDIT_PAGE_SIZE_MAX, 1, 10_000),
  })
  .check(kafkaSecurityCheck)
  .superRefine((c, ctx) => {
    if (c.AUDIT_RETENTION_DAYS < MIN_RETENTION_DAYS && !c.AUDIT_RETENTION_ALLOW_SHORT) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUDIT_RETENTION_DAYS'],
        message: `must be at least ${MIN_RETENTION_DAYS} (EU AI Act Art. 19 minimum); set AUDIT_RETENTION_ALLOW_SHORT=true to override`,
      });
    }
    if (c.AUDIT_ENCRYPTED_TENANTS.length > 0 && !c.AUDIT_ENCRYPTION_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUDIT_ENCRYPTION_KEY'],
        message: 'is required when AUDIT_ENCRYPTED_TENANTS names tenants',
      });
    }
  });

export type AuditConfig = z.infer<typeof auditConfigSchema>;

export function loadAuditConfig(env: Record<string, string | undefined> = process.env): AuditConfig {
  return loadConfig('audit', auditConfigSchema, env);
}

export function tryLoadAuditConfig(
  env: Record<string, string | undefined> = process.env,
): AuditConfig | null {
  return tryLoadConfig(auditConfigSchema, env);
}

export const AUDIT_CONFIG = Symbol('AUDIT_CONFIG');
