import { z } from 'zod';
import { envInt } from '@deliberate/config';
import type { ModelTier } from '@deliberate/contracts';

// Every tier defaults to the local model simulator; pointing a tier at OpenAI, Azure OpenAI, vLLM or Ollama is a
// matter of its base URL, key and model name.
export const DEFAULT_LLM_BASE_URL = 'http://127.0.0.1:4010/v1';
export const DEFAULT_LLM_API_KEY = 'sim-key';
export const DEFAULT_LLM_MODELS: Readonly<Record<ModelTier, string>> = {
  fast: 'sim-fast',
  reasoning: 'sim-reasoner',
  standard: 'sim-standard',
};
// Reasoning calls legitimately take minutes; the SDK's own default is the same 10 minutes.
export const DEFAULT_LLM_TIMEOUT_MS = 600_000;
export const DEFAULT_LLM_MAX_RETRIES = 2;

// Which OpenAI API a tier's model is called through. Chat completions reach every OpenAI-compatible server; the
// Responses API adds reasoning summaries, an explicit `incomplete` status and background mode.
export const MODEL_APIS = ['chat', 'responses'] as const;
export type ModelApi = (typeof MODEL_APIS)[number];
export const DEFAULT_MODEL_API: ModelApi = 'chat';

export interface ModelTierConfig {
  /** OpenAI-compatible API root, including the version segment, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  apiKey: string;
  model: string;
  /** Per attempt; the SDK retries a timed-out attempt while retries remain. */
  timeoutMs: number;
  maxRetries: number;
  /** Chat completions when absent. */
  api?: ModelApi | undefined;
}
export type ModelTierConfigs = Record<ModelTier, ModelTierConfig>;

const baseUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .default(DEFAULT_LLM_BASE_URL);
const apiKey = z.string().min(1).default(DEFAULT_LLM_API_KEY);
const model = (tier: ModelTier) => z.string().min(1).default(DEFAULT_LLM_MODELS[tier]);
const api = z.enum(MODEL_APIS).default(DEFAULT_MODEL_API);

/** Env fragment for a service's config.ts: `someSchema.extend(llmConfigSchema.shape)` or `.and(llmConfigSchema)`. */
export const llmConfigSchema = z.object({
  LLM_FAST_BASE_URL: baseUrl,
  LLM_FAST_API_KEY: apiKey,
  LLM_FAST_MODEL: model('fast'),
  LLM_FAST_API: api,
  LLM_REASONING_BASE_URL: baseUrl,
  LLM_REASONING_API_KEY: apiKey,
  LLM_REASONING_MODEL: model('reasoning'),
  LLM_REASONING_API: api,
  LLM_STANDARD_BASE_URL: baseUrl,
  LLM_STANDARD_API_KEY: apiKey,
  LLM_STANDARD_MODEL: model('standard'),
  LLM_STANDARD_API: api,
  LLM_TIMEOUT_MS: envInt(DEFAULT_LLM_TIMEOUT_MS, 1, 86_400_000),
  LLM_MAX_RETRIES: envInt(DEFAULT_LLM_MAX_RETRIES, 0, 10),
});
export type LlmConfig = z.infer<typeof llmConfigSchema>;

export function modelTierConfigs(config: LlmConfig): ModelTierConfigs {
  const shared = { timeoutMs: config.LLM_TIMEOUT_MS, maxRetries: config.LLM_MAX_RETRIES };
  return {
    fast: {
      baseUrl: config.LLM_FAST_BASE_URL,
      apiKey: config.LLM_FAST_API_KEY,
      model: config.LLM_FAST_MODEL,
      api: config.LLM_FAST_API,
      ...shared,
    },
    reasoning: {
      baseUrl: config.LLM_REASONING_BASE_URL,
      apiKey: config.LLM_REASONING_API_KEY,
      model: config.LLM_REASONING_MODEL,
      api: config.LLM_REASONING_API,
      ...shared,
    },
    standard: {
      baseUrl: config.LLM_STANDARD_BASE_URL,
      apiKey: config.LLM_STANDARD_API_KEY,
      model: config.LLM_STANDARD_MODEL,
      api: config.LLM_STANDARD_API,
      ...shared,
    },
  };
}
