import { usageCostMicroUsd } from '@deliberate/ledger/pricing/price-calculator';
import { SEEDED_PRICES } from '@deliberate/ledger/migrations/1795680001000-seed-default-prices';
import { SEEDED_FLEX_PRICES } from '@deliberate/ledger/migrations/1797100000000-add-service-tier-prices';
import { SIMULATOR_MODELS } from '../simulator-models';
import { callCostMicroUsd, pricingAtTier } from './call-cost';

const pricing = {
  inputMicroUsdPerMTokens: 1_000_000,
  cachedInputMicroUsdPerMTokens: 250_000,
  outputMicroUsdPerMTokens: 4_000_000,
};

describe('callCostMicroUsd', () => {
  it('prices cached input once, at its own rate, and reasoning as output', () => {
    const usage = {
      inputTokens: 10_000,
      cachedInputTokens: 4_000,
      outputTokens: 5_000,
      reasoningTokens: 3_000,
    };
    // 6000 uncached * 1 + 4000 cached * 0.25 + 5000 output (reasoning included) * 4 (USD per 1M tokens)
    expect(callCostMicroUsd(usage, pricing)).toBe(6_000 + 1_000 + 20_000);
  });

  it('rounds each call up to a whole micro-USD', () => {
    const one = { inputTokens: 1, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 };
    expect(callCostMicroUsd(one, { ...pricing, inputMicroUsdPerMTokens: 150_000 })).toBe(1);
    expect(callCostMicroUsd({ ...one, inputTokens: 0 }, pricing)).toBe(0);
  });

  it.each([
    ['default', SEEDED_PRICES],
    ['flex', SEEDED_FLEX_PRICES],
  ] as const)(
    "charges exactly what the ledger books for the same usage at the ledger's seeded %s prices",
    (tier, prices) => {
      let seed = 7;
      const next = (max: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed % (max + 1);
      };
      for (const model of SIMULATOR_MODELS) {
        const seeded = prices.find((p) => p.model === model.id)!;
        const rates = {
          inputMicroUsdPerMTokens: seeded.input,
          cachedInputMicroUsdPerMTokens: seeded.cachedInput,
          outputMicroUsdPerMTokens: seeded.output,
          reasoningMicroUsdPerMTokens: seeded.reasoning,
        };
        for (let i = 0; i < 500; i++) {
          const inputTokens = next(200_000);
          const outputTokens = next(100_000);
          const usage = {
            inputTokens,
            cachedInputTokens: next(inputTokens),
            outputTokens,
            reasoningTokens: model.reasoning ? next(outputTokens) : 0,
          };
          expect(callCostMicroUsd(usage, pricingAtTier(model.pricing, tier))).toBe(
            usageCostMicroUsd(usage, rates),
          );
        }
      }
    },
  );
});

describe('pricingAtTier', () => {
  it('keeps the list price at the default tier and halves it, rounded up, at flex', () => {
    expect(pricingAtTier(pricing, 'default')).toBe(pricing);
    expect(pricingAtTier({ ...pricing, cachedInputMicroUsdPerMTokens: 3 }, 'flex')).toEqual({
      inputMicroUsdPerMTokens: 500_000,
      cachedInputMicroUsdPerMTokens: 2,
      outputMicroUsdPerMTokens: 2_000_000,
    });
  });
});
