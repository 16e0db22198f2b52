import {
  envInt,
  kafkaConfigSchema,
  kafkaSecurityCheck,
  loadConfig,
  tryLoadConfig,
  telemetryConfigSchema,
} from '@deliberate/config';
import { llmConfigSchema } from '@deliberate/llm';
import { z } from 'zod';

const triageConfigFields = z.object({
  ...kafkaConfigSchema.shape,
  ...telemetryConfigSchema.shape,
  ...llmConfigSchema.shape,
  // Tasks triaged at once per partition batch (each waits on the fast model).
  TRIAGE_CONCURRENCY: envInt(64, 1, 10_000),
  TRIAGE_HEALTH_PORT: envInt(3001, 0, 65535),
  // Context documents passed to the reasoning tier; more than this are ranked by the fast model first.
  TRIAGE_CONTEXT_TOP_K: envInt(2, 1, 100),
  TRIAGE_HOST: z.string().default('127.0.0.1'),
});

export const triageConfigSchema = triageConfigFields.check(kafkaSecurityCheck);

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
