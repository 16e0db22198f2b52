import type { MigrationInterface, QueryRunner } from 'typeorm';

export interface SeededTierPrice {
  model: string;
  input: number;
  cachedInput: number;
  output: number;
  reasoning: number;
}

// Prices per service tier: a price version is a model's at one tier (`default` unless it says), and a booking records
// the tier its call was served at. Flex prices are seeded for the models that offer it; a model without one is held
// and booked at its default price, never less than the provider bills.
//
// Integer micro-USD per 1M tokens, kept here so this migration never changes once applied.
export const SEEDED_FLEX_PRICES: readonly SeededTierPrice[] = [
  // The model simulator's flex prices: half its list price per token type, rounded up (FLEX_PRICE_PERCENT in
  // apps/model-simulator/src/bill/call-cost.ts; a unit test keeps them equal).
  { model: 'sim-fast', input: 75_000, cachedInput: 37_500, output: 300_000, reasoning: 300_000 },
  { model: 'sim-reasoner', input: 1_000_000, cachedInput: 250_000, output: 4_000_000, reasoning: 4_000_000 },
  { model: 'sim-standard', input: 625_000, cachedInput: 62_500, output: 5_000_000, reasoning: 5_000_000 },
  // OpenAI's flex prices as published in 2025 (batch prices). Operators must verify them against the provider's
  // current price page and override with LEDGER_PRICES (`"serviceTier": "flex"`).
  { model: 'o3', input: 1_000_000, cachedInput: 250_000, output: 4_000_000, reasoning: 4_000_000 },
  { model: 'o4-mini', input: 550_000, cachedInput: 138_000, output: 2_200_000, reasoning: 2_200_000 },
];

const SEED_EFFECTIVE_FROM = '2000-01-01T00:00:00Z';

export class AddServiceTierPrices1797100000000 implements MigrationInterface {
  name = 'AddServiceTierPrices1797100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE prices ADD COLUMN service_tier text NOT NULL DEFAULT 'default'
         CHECK (service_tier IN ('default', 'flex'))`,
    );
    await q.query(`ALTER TABLE prices DROP CONSTRAINT prices_model_effective_from`);
    await q.query(
      `ALTER TABLE prices ADD CONSTRAINT prices_model_tier_effective_from UNIQUE (model, service_tier, effective_from)`,
    );
    await q.query(
      `ALTER TABLE bookings ADD COLUMN service_tier text NOT NULL DEFAULT 'default'
         CHECK (service_tier IN ('default', 'flex'))`,
    );
    for (const p of SEEDED_FLEX_PRICES) {
      await q.query(
        `INSERT INTO prices (model, service_tier, input_micro_usd_per_mtok, cached_input_micro_usd_per_mtok,
                             output_micro_usd_per_mtok, reasoning_micro_usd_per_mtok, effective_from, source)
         VALUES ($1, 'flex', $2, $3, $4, $5, $6, 'seed')`,
        [p.model, p.input, p.cachedInput, p.output, p.reasoning, SEED_EFFECTIVE_FROM],
      );
    }
  }

  // Fails while bookings or reservations still reference a flex price: history must not lose its prices.
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM prices WHERE service_tier = 'flex'`);
    await q.query(`ALTER TABLE bookings DROP COLUMN service_tier`);
    await q.query(`ALTER TABLE prices DROP CONSTRAINT prices_model_tier_effective_from`);
    await q.query(
      `ALTER TABLE prices ADD CONSTRAINT prices_model_effective_from UNIQUE (model, effective_from)`,
    );
    await q.query(`ALTER TABLE prices DROP COLUMN service_tier`);
  }
}
