import {
  databaseConfigSchema,
  envInt,
  kafkaConfigSchema,
  kafkaSecurityCheck,
  loadConfig,
  tryLoadConfig,
  telemetryConfigSchema,
} from '@deliberate/config';
import { TASK_LIMITS } from '@deliberate/contracts';
import { ledgerClientConfigSchema } from '@deliberate/ledger-client';
import { llmConfigCheck, llmConfigSchema } from '@deliberate/llm';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const tokens = (defaultValue: number) => envInt(defaultValue, 16, TASK_LIMITS.maxThinkingTokens);

export const reasonerConfigSchema = z
  .object({
    ...databaseConfigSchema.shape,
    ...kafkaConfigSchema.shape,
    ...telemetryConfigSchema.shape,
    ...llmConfigSchema.shape,
    ...ledgerClientConfigSchema.shape,
    REASONER_HOST: z.string().default('127.0.0.1'),
    REASONER_HEALTH_PORT: envInt(3003, 0, 65535),
    // Names this process as the owner of the executions it runs; unique per start unless set.
    REASONER_INSTANCE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits and . _ : - only, at most 100')
      .optional(),
    // Model calls in flight at once, over every tenant.
    REASONER_CONCURRENCY: envInt(500, 1, 100_000),
    // Queued plus in-flight executions at which intake pauses; it resumes below REASONER_QUEUE_RESUME_PERCENT of it.
    REASONER_QUEUE_CAPACITY: envInt(5_000, 1, 1_000_000),
    REASONER_QUEUE_RESUME_PERCENT: envInt(80, 1, 99),
    // Reasoning requests inserted at once per partition batch.
    REASONER_INTAKE_CONCURRENCY: envInt(64, 1, 1_000),
    // How long an owner's claim on an execution lasts unless renewed (renewed every third of it).
    REASONER_LEASE_MS: envInt(30_000, 300, 3_600_000),
    REASONER_MAX_CRASH_RETRIES: envInt(2, 0, 20),
    // Base of the jittered exponential backoff before a call cut off by a crash is tried again.
    REASONER_CRASH_RETRY_BASE_MS: envInt(1_000, 0, 600_000),
    REASONER_DEFAULT_MAX_THINKING_TOKENS: tokens(32_000),
    // The thinking-token ceiling of a tenant whose policy sets none.
    REASONER_MAX_THINKING_TOKENS_CEILING: tokens(128_000),
    // Output cap of a standard-model fallback; it bounds that call's worst-case reservation.
    REASONER_STANDARD_MAX_COMPLETION_TOKENS: tokens(4_096),
    REASONER_DEFAULT_DEADLINE_MS: envInt(600_000, 100, TASK_LIMITS.maxLatencyBudgetMs),
    // Time kept back from the reasoning call for the standard-model fallback (at most a quarter of the deadline).
    REASONER_FALLBACK_RESERVE_MS: envInt(30_000, 0, 3_600_000),
    // Retries of the openai SDK per call, for 429 and 5xx; it honours retry-after.
    REASONER_MODEL_MAX_RETRIES: envInt(3, 0, 10),
    REASONER_BREAKER_FAILURES: envInt(5, 1, 1_000),
    REASONER_BREAKER_COOLDOWN_MS: envInt(30_000, 10, 3_600_000),
    // Attempts at a settle or release the ledger does not answer in LEDGER_TIMEOUT_MS (a reserve is retried until
    // the task's deadline).
    REASONER_LEDGER_ATTEMPTS: envInt(3, 1, 10),
    // On shutdown, how long calls in flight may finish before they are cut off and left to another instance.
    REASONER_SHUTDOWN_GRACE_MS: envInt(10_000, 0, 600_000),
    // Shadow evaluation (a tenant policy's `shadow`): runs in flight at once per instance, how often free slots are
    // filled, and one shadow call's time limit.
    REASONER_SHADOW_CONCURRENCY: envInt(4, 1, 1_000),
    REASONER_SHADOW_POLL_MS: envInt(1_000, 50, 600_000),
    REASONER_SHADOW_TIMEOUT_MS: envInt(600_000, 1_000, 86_400_000),
  })
  .check(kafkaSecurityCheck)
  .check(llmConfigCheck)
  .transform((c) => ({
    ...c,
    REASONER_INSTANCE_ID:
      c.REASONER_INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
  }));

export type ReasonerConfig = z.infer<typeof reasonerConfigSchema>;

export function loadReasonerConfig(env: Record<string, string | undefined> = process.env): ReasonerConfig {
  return loadConfig('reasoner', reasonerConfigSchema, env);
}

export function tryLoadReasonerConfig(
  env: Record<string, string | undefined> = process.env,
): ReasonerConfig | null {
  return tryLoadConfig(reasonerConfigSchema, env);
}

export const REASONER_CONFIG = Symbol('REASONER_CONFIG');
