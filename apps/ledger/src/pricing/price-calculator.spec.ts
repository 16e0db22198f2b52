import { SIMULATOR_MODELS } from '@deliberate/model-simulator/simulator-models';
import { SEEDED_PRICES } from '../migrations/1795680001000-seed-default-prices';
import {
  priceLookupNames,
  usageCostMicroUsd,
  usageInconsistency,
  worstCaseMicroUsd,
} from './price-calculator';

// Distinct prices per class, so a token counted in the wrong class, or twice, changes the result.
const price = {
  inputMicroUsdPerMTokens: 1_000_000,
  cachedInputMicroUsdPerMTokens: 250_000,
  outputMicroUsdPerMTokens: 4_000_000,
  reasoningMicroUsdPerMTokens: 6_000_000,
};

describe('usageCostMicroUsd', () => {
  it('prices cached input and reasoning tokens once, as parts of their totals', () => {
    const usage = {
      inputTokens: 10_000,
      cachedInputTokens: 4_000,
      outputTokens: 5_000,
      reasoningTokens: 3_000,
    };
    // 6000 uncached * 1 + 4000 cached * 0.25 + 2000 visible output * 4 + 3000 reasoning * 6 (USD per 1M tokens)
    expect(usageCostMicroUsd(usage, price)).toBe(6_000 + 1_000 + 8_000 + 18_000);
  });

  it('charges OpenAI-style reasoning (priced as output) once, not on top of the output count', () => {
    const reasoner = { ...price, reasoningMicroUsdPerMTokens: price.outputMicroUsdPerMTokens };
    const usage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 1_000_000, reasoningTokens: 900_000 };
    expect(usageCostMicroUsd(usage, reasoner)).toBe(4_000_000);
  });

  it('rounds up to a whole micro-USD and is exact far beyond floating point', () => {
    const one = { inputTokens: 1, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 };
    expect(usageCostMicroUsd(one, price)).toBe(1); // 1 micro-USD per token exactly
    expect(usageCostMicroUsd(one, { ...price, inputMicroUsdPerMTokens: 150_000 })).toBe(1); // 0.15 -> 1
    expect(usageCostMicroUsd({ ...one, inputTokens: 0 }, price)).toBe(0);
    const huge = {
      inputTokens: 9_999_999,
      cachedInputTokens: 1,
      outputTokens: 9_999_999,
      reasoningTokens: 7,
    };
    const dear = {
      inputMicroUsdPerMTokens: 999_999_999_999,
      cachedInputMicroUsdPerMTokens: 1,
      outputMicroUsdPerMTokens: 999_999_999_997,
      reasoningMicroUsdPerMTokens: 3,
    };
    const exact =
      9_999_998n * 999_999_999_999n + 1n * 1n + 9_999_992n * 999_999_999_997n + 7n * 3n + 999_999n;
    expect(BigInt(usageCostMicroUsd(huge, dear))).toBe(exact / 1_000_000n);
  });

  it('refuses usage whose parts exceed their totals', () => {
    const bad = { inputTokens: 10, cachedInputTokens: 11, outputTokens: 5, reasoningTokens: 0 };
    expect(usageInconsistency(bad)).toBe('cachedInputTokens (11) exceed inputTokens (10)');
    expect(() => usageCostMicroUsd(bad, price)).toThrow(RangeError);
    expect(usageInconsistency({ ...bad, cachedInputTokens: 0, reasoningTokens: 6 })).toBe(
      'reasoningTokens (6) exceed outputTokens (5)',
    );
  });
});

describe('worstCaseMicroUsd', () => {
  it('prices all input uncached and every output token at the dearer of output and reasoning', () => {
    expect(worstCaseMicroUsd(1_000, 1_000, price)).toBe(1_000 + 6_000);
    expect(worstCaseMicroUsd(1_000, 1_000, { ...price, reasoningMicroUsdPerMTokens: 0 })).toBe(1_000 + 4_000);
    expect(worstCaseMicroUsd(1, 0, { ...price, inputMicroUsdPerMTokens: 1 })).toBe(1);
  });
});

describe('priceLookupNames', () => {
  it('falls back from dated snapshots to the undated model name', () => {
    expect(priceLookupNames('gpt-4.1-mini-2025-04-14')).toEqual([
      'gpt-4.1-mini-2025-04-14',
      'gpt-4.1-mini-2025-04',
      'gpt-4.1-mini-2025',
      'gpt-4.1-mini',
    ]);
    expect(priceLookupNames('gpt-4-0613')).toEqual(['gpt-4-0613', 'gpt-4']);
    expect(priceLookupNames('sim-reasoner-2026')).toEqual(['sim-reasoner-2026', 'sim-reasoner']);
  });

  it('does not strip what is part of a model name', () => {
    expect(priceLookupNames('gpt-4')).toEqual(['gpt-4']);
    expect(priceLookupNames('o3')).toEqual(['o3']);
    expect(priceLookupNames('llama-3-70b')).toEqual(['llama-3-70b']);
  });
});

describe('seeded prices', () => {
  it("equal the model simulator's catalogue, reasoning billed as output", () => {
    for (const model of SIMULATOR_MODELS) {
      expect(SEEDED_PRICES.find((p) => p.model === model.id)).toEqual({
        model: model.id,
        input: model.pricing.inputMicroUsdPerMTokens,
        cachedInput: model.pricing.cachedInputMicroUsdPerMTokens,
        output: model.pricing.outputMicroUsdPerMTokens,
        reasoning: model.pricing.outputMicroUsdPerMTokens,
      });
    }
  });

  it('name each model once', () => {
    expect(new Set(SEEDED_PRICES.map((p) => p.model)).size).toBe(SEEDED_PRICES.length);
  });
});
