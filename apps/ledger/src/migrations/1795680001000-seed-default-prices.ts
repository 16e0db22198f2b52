import type { MigrationInterface, QueryRunner } from 'typeorm';

export interface SeededPrice {
  model: string;
  input: number;
  cachedInput: number;
  output: number;
  reasoning: number;
}

// Integer micro-USD per 1M tokens. The values live here, not in an importable table, so this migration never changes
// once applied; later price changes are new versions (LEDGER_PRICES or a new migration).
export const SEEDED_PRICES: readonly SeededPrice[] = [
  // The model simulator's catalogue (apps/model-simulator/src/simulator-models.ts; a unit test keeps them equal).
  { model: 'sim-fast', input: 150_000, cachedInput: 75_000, output: 600_000, reasoning: 600_000 },
  { model: 'sim-reasoner', input: 2_000_000, cachedInput: 500_000, output: 8_000_000, reasoning: 8_000_000 },
  {
    model: 'sim-standard',
    input: 1_250_000,
    cachedInput: 125_000,
    output: 10_000_000,
    reasoning: 10_000_000,
  },
  // OpenAI list prices (standard tier) as published in 2025. Operators must verify them against the provider's
  // current price page and override with LEDGER_PRICES: a wrong price here is a wrong bill. Reasoning tokens are
  // billed as output tokens, so the reasoning price equals the output price.
  { model: 'gpt-4.1', input: 2_000_000, cachedInput: 500_000, output: 8_000_000, reasoning: 8_000_000 },
  { model: 'gpt-4.1-mini', input: 400_000, cachedInput: 100_000, output: 1_600_000, reasoning: 1_600_000 },
  { model: 'gpt-4.1-nano', input: 100_000, cachedInput: 25_000, output: 400_000, reasoning: 400_000 },
  { model: 'gpt-4o', input: 2_500_000, cachedInput: 1_250_000, output: 10_000_000, reasoning: 10_000_000 },
  { model: 'gpt-4o-mini', input: 150_000, cachedInput: 75_000, output: 600_000, reasoning: 600_000 },
  { model: 'o3', input: 2_000_000, cachedInput: 500_000, output: 8_000_000, reasoning: 8_000_000 },
  { model: 'o3-mini', input: 1_100_000, cachedInput: 550_000, output: 4_400_000, reasoning: 4_400_000 },
  { model: 'o4-mini', input: 1_100_000, cachedInput: 275_000, output: 4_400_000, reasoning: 4_400_000 },
];

// Effective from long before any call, so every call of a seeded model finds a price.
const SEED_EFFECTIVE_FROM = '2000-01-01T00:00:00Z';

export class SeedDefaultPrices1795680001000 implements MigrationInterface {
  name = 'SeedDefaultPrices1795680001000';

  async up(q: QueryRunner): Promise<void> {
    for (const p of SEEDED_PRICES) {
      await q.query(
        `INSERT INTO prices (model, input_micro_usd_per_mtok, cached_input_micro_usd_per_mtok, output_micro_usd_per_mtok,
                             reasoning_micro_usd_per_mtok, effective_from, source)
         VALUES ($1, $2, $3, $4, $5, $6, 'seed')`,
        [p.model, p.input, p.cachedInput, p.output, p.reasoning, SEED_EFFECTIVE_FROM],
      );
    }
  }

  // Fails while bookings or reservations still reference a seeded price: history must not lose its prices.
  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DELETE FROM prices WHERE source = 'seed' AND effective_from = $1 AND model = ANY($2::text[])`,
      [SEED_EFFECTIVE_FROM, SEEDED_PRICES.map((p) => p.model)],
    );
  }
}
