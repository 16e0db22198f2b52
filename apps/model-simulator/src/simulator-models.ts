import { z } from 'zod';
import type { ModelTier } from '@deliberate/contracts';

// The single price and speed catalogue of the simulator. Prices are integer micro-USD per 1M tokens, the unit the
// rest of the system bills in; they are published in /v1/models so the stack can read them instead of copying them.
export const simulatedModelSchema = z.strictObject({
  id: z.string().min(1),
  tier: z.enum(['fast', 'reasoning', 'standard']),
  reasoning: z.boolean(),
  // Speed of the hidden chain of thought; only reasoning models think.
  thinkingTokensPerSecond: z.number().positive(),
  // Speed of the visible answer.
  outputTokensPerSecond: z.number().positive(),
  // Time to first token that does not depend on the token counts.
  baseLatencyMs: z.number().nonnegative(),
  // Hard cap of reasoning + visible tokens when a request sets no max_completion_tokens.
  maxOutputTokens: z.int().positive(),
  pricing: z.strictObject({
    inputMicroUsdPerMTokens: z.int().nonnegative(),
    cachedInputMicroUsdPerMTokens: z.int().nonnegative(),
    outputMicroUsdPerMTokens: z.int().nonnegative(),
  }),
});
export type SimulatedModel = z.infer<typeof simulatedModelSchema> & { tier: ModelTier };

export const SIMULATOR_MODELS: readonly SimulatedModel[] = [
  {
    id: 'sim-fast',
    tier: 'fast',
    reasoning: false,
    thinkingTokensPerSecond: 1,
    outputTokensPerSecond: 400,
    baseLatencyMs: 150,
    maxOutputTokens: 16_384,
    pricing: {
      inputMicroUsdPerMTokens: 150_000,
      cachedInputMicroUsdPerMTokens: 75_000,
      outputMicroUsdPerMTokens: 600_000,
    },
  },
  {
    id: 'sim-reasoner',
    tier: 'reasoning',
    reasoning: true,
    thinkingTokensPerSecond: 100,
    outputTokensPerSecond: 100,
    baseLatencyMs: 1_000,
    maxOutputTokens: 100_000,
    pricing: {
      inputMicroUsdPerMTokens: 2_000_000,
      cachedInputMicroUsdPerMTokens: 500_000,
      outputMicroUsdPerMTokens: 8_000_000,
    },
  },
  {
    id: 'sim-standard',
    tier: 'standard',
    reasoning: false,
    thinkingTokensPerSecond: 1,
    outputTokensPerSecond: 150,
    baseLatencyMs: 400,
    maxOutputTokens: 32_768,
    pricing: {
      inputMicroUsdPerMTokens: 1_250_000,
      cachedInputMicroUsdPerMTokens: 125_000,
      outputMicroUsdPerMTokens: 10_000_000,
    },
  },
];

export const simulatedModelsSchema = z
  .array(simulatedModelSchema)
  .min(1, 'needs at least one model')
  .refine((models) => new Set(models.map((m) => m.id)).size === models.length, 'model ids must be unique');
