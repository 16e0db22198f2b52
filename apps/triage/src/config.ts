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
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

const tokens = (defaultValue: number) => envInt(defaultValue, 16, 1_000_000);

const triageConfigFields = z.object({
  ...databaseConfigSchema.shape,
  ...kafkaConfigSchema.shape,
  ...ledgerClientConfigSchema.shape,
  ...telemetryConfigSchema.shape,
  ...llmConfigSchema.shape,
  // Tasks triaged at once per partition batch (each waits on the fast model).
  TRIAGE_CONCURRENCY: envInt(64, 1, 10_000),
  TRIAGE_HEALTH_PORT: envInt(3001, 0, 65535),
  TRIAGE_HOST: z.string().default('127.0.0.1'),
  // Names this process as the owner of the fast-model calls it claims; unique per start unless set.
  TRIAGE_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits and . _ : - only, at most 100')
    .optional(),
  // How long a task without a latency budget may wait out a ledger or fast-model outage before it fails.
  TRIAGE_DEFAULT_DEADLINE_MS: envInt(300_000, 1_000, TASK_LIMITS.maxLatencyBudgetMs),
  // One try of a fast-model call; its claim lasts this plus TRIAGE_CLAIM_MARGIN_MS, then another handler may take over.
  TRIAGE_CALL_TIMEOUT_MS: envInt(60_000, 100, 600_000),
  TRIAGE_CLAIM_MARGIN_MS: envInt(5_000, 0, 600_000),
  // Base of the jittered exponential backoff between tries at a ledger or fast model that did not answer.
  TRIAGE_RETRY_BASE_MS: envInt(200, 1, 60_000),
  // How often each instance looks for tasks whose next try is due (a failed call waits for it in the task's record,
  // not in the Kafka handler, so the tasks behind it on its partition go on).
  TRIAGE_RETRY_POLL_INTERVAL_MS: envInt(250, 10, 60_000),
  // Output caps of the fast-model calls: they bound each call's worst-case reservation.
  TRIAGE_CLASSIFY_MAX_COMPLETION_TOKENS: tokens(300),
  TRIAGE_RANK_MAX_COMPLETION_TOKENS: tokens(2_048),
  TRIAGE_ANSWER_MAX_COMPLETION_TOKENS: tokens(4_096),
});

export const triageConfigSchema = triageConfigFields
  .check(kafkaSecurityCheck)
  .check(llmConfigCheck)
  .transform((c) => ({
    ...c,
    TRIAGE_INSTANCE_ID:
      c.TRIAGE_INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
  }));

export type TriageConfig = z.infer<typeof triageConfigSchema>;

export function loadTriageConfig(env: Record<string, string | undefined> = process.env): TriageConfig {
  return loadConfig('triage', triageConfigSchema, env);
}

export function tryLoadTriageConfig(
  env: Record<string, string | undefined> = process.env,
): TriageConfig | null {
  return tryLoadConfig(triageConfigSchema, env);
}

export const TRIAGE_CONFIG = Symbol('TRIAGE_CONFIG');
