import type { TokenUsage } from '@deliberate/contracts';

// Prices are integer micro-USD per 1M tokens; a cost is exact in BigInt and rounded up to a whole micro-USD, so
// the ledger never books less than the provider bills.

export interface PriceRates {
  inputMicroUsdPerMTokens: number;
  cachedInputMicroUsdPerMTokens: number;
  outputMicroUsdPerMTokens: number;
  reasoningMicroUsdPerMTokens: number;
}

const TOKENS_PER_PRICE_UNIT = 1_000_000n;

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`${what} of ${value} micro-USD is beyond 2^53`);
  return Number(value);
}

/** Why a usage report cannot be priced as is, or null: the cached and reasoning counts are parts of their totals. */
export function usageInconsistency(usage: TokenUsage): string | null {
  if (usage.cachedInputTokens > usage.inputTokens) {
    return `cachedInputTokens (${usage.cachedInputTokens}) exceed inputTokens (${usage.inputTokens})`;
  }
  if (usage.reasoningTokens > usage.outputTokens) {
    return `reasoningTokens (${usage.reasoningTokens}) exceed outputTokens (${usage.outputTokens})`;
  }
  return null;
}

export function isZeroUsage(usage: TokenUsage): boolean {
  return usage.inputTokens === 0 && usage.outputTokens === 0;
}

/**
 * The cost of one call. OpenAI reports cached tokens inside the input count and reasoning tokens inside the output
 * count, so each token is priced once: uncached input, cached input, visible output, reasoning.
 */
export function usageCostMicroUsd(usage: TokenUsage, price: PriceRates): number {
  const inconsistency = usageInconsistency(usage);
  if (inconsistency) throw new RangeError(inconsistency);
  const perMillion =
    BigInt(usage.inputTokens - usage.cachedInputTokens) * BigInt(price.inputMicroUsdPerMTokens) +
    BigInt(usage.cachedInputTokens) * BigInt(price.cachedInputMicroUsdPerMTokens) +
    BigInt(usage.outputTokens - usage.reasoningTokens) * BigInt(price.outputMicroUsdPerMTokens) +
    BigInt(usage.reasoningTokens) * BigInt(price.reasoningMicroUsdPerMTokens);
  return toSafeNumber(ceilDiv(perMillion, TOKENS_PER_PRICE_UNIT), 'cost');
}

/** The most a call can cost: no input cached, every output token at the dearer of the output and reasoning prices. */
export function worstCaseMicroUsd(
  estimatedInputTokens: number,
  maxOutputTokens: number,
  price: PriceRates,
): number {
  const outputPrice = Math.max(price.outputMicroUsdPerMTokens, price.reasoningMicroUsdPerMTokens);
  const perMillion =
    BigInt(estimatedInputTokens) * BigInt(price.inputMicroUsdPerMTokens) +
    BigInt(maxOutputTokens) * BigInt(outputPrice);
  return toSafeNumber(ceilDiv(perMillion, TOKENS_PER_PRICE_UNIT), 'worst-case cost');
}

// Providers answer with dated snapshots (`gpt-4.1-2025-04-14`, `gpt-4-0613`): trailing all-digit segments of two or
// more digits are version stamps, so such a model falls back to the price of its undated name.
const VERSION_SEGMENT = /-\d{2,}$/;

/** The catalogue names that may price `model`, most specific first. */
export function priceLookupNames(model: string): string[] {
  const names = [model];
  for (let name = model; VERSION_SEGMENT.test(name);) {
    name = name.replace(VERSION_SEGMENT, '');
    if (name) names.push(name);
  }
  return names;
}
