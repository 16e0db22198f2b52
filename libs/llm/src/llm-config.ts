import { z } from 'zod';
import { envBoolean, envInt, envNumber } from '@deliberate/config';
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

// Background mode (Responses API only): the call is submitted with `background: true` and polled by id, so the
// provider holds the work and a restarted executor resumes it. Polls back off from the first delay by the factor, up
// to the cap; like every other wait they are in real milliseconds (set them smaller against a time-scaled simulator).
export const DEFAULT_BACKGROUND_POLL_FIRST_MS = 1_000;
export const DEFAULT_BACKGROUND_POLL_FACTOR = 2;
export const DEFAULT_BACKGROUND_POLL_MAX_MS = 30_000;
// Polls of one tier in flight at once per process: the rest wait their turn (see RequestSlots).
export const DEFAULT_BACKGROUND_POLL_CONCURRENCY = 64;

export interface BackgroundPollPolicy {
  firstMs: number;
  factor: number;
  maxMs: number;
  /** Polls of the tier in flight at once in this process; the defaults when absent. */
  concurrency?: number | undefined;
}

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
  /** Responses tiers only: submit in background mode and poll by id. */
  background?: boolean | undefined;
  /** How a background call is polled; the defaults when absent. */
  poll?: BackgroundPollPolicy | undefined;
}
export type ModelTierConfigs = Record<ModelTier, ModelTierConfig>;

const baseUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .default(DEFAULT_LLM_BASE_URL);
const apiKey = z.string().min(1).default(DEFAULT_LLM_API_KEY);
const model = (tier: ModelTier) => z.string().min(1).default(DEFAULT_LLM_MODELS[tier]);
const api = z.enum(MODEL_APIS).default(DEFAULT_MODEL_API);
const background = envBoolean(false);

/** Env fragment for a service's config.ts: `someSchema.extend(llmConfigSchema.shape)` or `.and(llmConfigSchema)`. */
export const llmConfigSchema = z.object({
  LLM_FAST_BASE_URL: baseUrl,
  LLM_FAST_API_KEY: apiKey,
  LLM_FAST_MODEL: model('fast'),
  LLM_FAST_API: api,
  LLM_FAST_BACKGROUND: background,
  LLM_REASONING_BASE_URL: baseUrl,
  LLM_REASONING_API_KEY: apiKey,
  LLM_REASONING_MODEL: model('reasoning'),
  LLM_REASONING_API: api,
  LLM_REASONING_BACKGROUND: background,
  LLM_STANDARD_BASE_URL: baseUrl,
  LLM_STANDARD_API_KEY: apiKey,
  LLM_STANDARD_MODEL: model('standard'),
  LLM_STANDARD_API: api,
  LLM_STANDARD_BACKGROUND: background,
  LLM_TIMEOUT_MS: envInt(DEFAULT_LLM_TIMEOUT_MS, 1, 86_400_000),
  LLM_MAX_RETRIES: envInt(DEFAULT_LLM_MAX_RETRIES, 0, 10),
  LLM_BACKGROUND_POLL_FIRST_MS: envInt(DEFAULT_BACKGROUND_POLL_FIRST_MS, 1, 3_600_000),
  LLM_BACKGROUND_POLL_FACTOR: envNumber(DEFAULT_BACKGROUND_POLL_FACTOR, 1, 10),
  LLM_BACKGROUND_POLL_MAX_MS: envInt(DEFAULT_BACKGROUND_POLL_MAX_MS, 1, 3_600_000),
  LLM_BACKGROUND_POLL_CONCURRENCY: envInt(DEFAULT_BACKGROUND_POLL_CONCURRENCY, 1, 10_000),
});
export type LlmConfig = z.infer<typeof llmConfigSchema>;

// The rules between the LLM variables. A check rather than a refinement of llmConfigSchema, because services compose
// its shape into their own schema (apply it with `.check(llmConfigCheck)`); it runs even when other variables are bad,
// so every problem is listed at once.
export const llmConfigCheck = z.superRefine<Record<string, unknown>>(
  (c, ctx) => {
    for (const problem of llmConfigProblems(c))
      ctx.addIssue({ code: 'custom', path: [problem.variable], message: problem.message });
  },
  { when: () => true },
);

export function llmConfigProblems(c: Record<string, unknown>): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  if (typeof c !== 'object' || c === null) return problems;
  const on = (v: unknown) => v === true || (typeof v === 'string' && ['true', '1', 'yes', 'on'].includes(v));
  if (on(c['LLM_FAST_BACKGROUND']))
    problems.push({
      variable: 'LLM_FAST_BACKGROUND',
      message: 'the fast tier (triage) answers in seconds and has no background mode: leave it false',
    });
  for (const tier of ['REASONING', 'STANDARD']) {
    const raw = c[`LLM_${tier}_API`];
    const apiOf = typeof raw === 'string' ? raw : DEFAULT_MODEL_API;
    if (on(c[`LLM_${tier}_BACKGROUND`]) && apiOf !== 'responses')
      problems.push({
        variable: `LLM_${tier}_BACKGROUND`,
        message: `background mode needs the Responses API: set LLM_${tier}_API=responses (it is ${apiOf})`,
      });
  }
  const first = Number(c['LLM_BACKGROUND_POLL_FIRST_MS'] ?? DEFAULT_BACKGROUND_POLL_FIRST_MS);
  const max = Number(c['LLM_BACKGROUND_POLL_MAX_MS'] ?? DEFAULT_BACKGROUND_POLL_MAX_MS);
  if (Number.isFinite(first) && Number.isFinite(max) && max < first)
    problems.push({
      variable: 'LLM_BACKGROUND_POLL_MAX_MS',
      message: `must not be below LLM_BACKGROUND_POLL_FIRST_MS (${first})`,
    });
  return problems;
}

export function modelTierConfigs(config: LlmConfig): ModelTierConfigs {
  const shared = {
    timeoutMs: config.LLM_TIMEOUT_MS,
    maxRetries: config.LLM_MAX_RETRIES,
    poll: {
      firstMs: config.LLM_BACKGROUND_POLL_FIRST_MS,
      factor: config.LLM_BACKGROUND_POLL_FACTOR,
      maxMs: config.LLM_BACKGROUND_POLL_MAX_MS,
      concurrency: config.LLM_BACKGROUND_POLL_CONCURRENCY,
    },
  };
  return {
    fast: {
      baseUrl: config.LLM_FAST_BASE_URL,
      apiKey: config.LLM_FAST_API_KEY,
      model: config.LLM_FAST_MODEL,
      api: config.LLM_FAST_API,
      background: config.LLM_FAST_BACKGROUND,
      ...shared,
    },
    reasoning: {
      baseUrl: config.LLM_REASONING_BASE_URL,
      apiKey: config.LLM_REASONING_API_KEY,
      model: config.LLM_REASONING_MODEL,
      api: config.LLM_REASONING_API,
      background: config.LLM_REASONING_BACKGROUND,
      ...shared,
    },
    standard: {
      baseUrl: config.LLM_STANDARD_BASE_URL,
      apiKey: config.LLM_STANDARD_API_KEY,
      model: config.LLM_STANDARD_MODEL,
      api: config.LLM_STANDARD_API,
      background: config.LLM_STANDARD_BACKGROUND,
      ...shared,
    },
  };
}
