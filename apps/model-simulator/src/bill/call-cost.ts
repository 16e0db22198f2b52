import type { SimulatedModel } from '../simulator-models';

// What the simulated provider charges for one call, at its own price list (integer micro-USD per 1M tokens).
// Cached tokens are part of the input count and reasoning tokens part of the output count, as OpenAI reports them;
// reasoning is billed at the output price. Each call is rounded up to a whole micro-USD.

export interface BilledUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

const TOKENS_PER_PRICE_UNIT = 1_000_000n;

export function callCostMicroUsd(usage: BilledUsage, pricing: SimulatedModel['pricing']): number {
  const perMillion =
    BigInt(usage.inputTokens - usage.cachedInputTokens) * BigInt(pricing.inputMicroUsdPerMTokens) +
    BigInt(usage.cachedInputTokens) * BigInt(pricing.cachedInputMicroUsdPerMTokens) +
    BigInt(usage.outputTokens) * BigInt(pricing.outputMicroUsdPerMTokens);
  return Number((perMillion + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT);
}

// Flex processing is billed at batch prices: half the standard price list, per token type, rounded up.
export const FLEX_PRICE_PERCENT = 50;

export type ServedPricing = SimulatedModel['pricing'];

export function pricingAtTier(pricing: SimulatedModel['pricing'], tier: 'default' | 'flex'): ServedPricing {
  if (tier === 'default') return pricing;
  const flex = (micro: number) => Math.ceil((micro * FLEX_PRICE_PERCENT) / 100);
  return {
    inputMicroUsdPerMTokens: flex(pricing.inputMicroUsdPerMTokens),
    cachedInputMicroUsdPerMTokens: flex(pricing.cachedInputMicroUsdPerMTokens),
    outputMicroUsdPerMTokens: flex(pricing.outputMicroUsdPerMTokens),
  };
}
