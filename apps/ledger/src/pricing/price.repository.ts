import { Injectable } from '@nestjs/common';
import type { Sql } from '@deliberate/persistence';
import type { ServiceTier } from '@deliberate/contracts';
import type { PriceRates } from './price-calculator';

export interface PriceVersion extends PriceRates {
  id: number;
  model: string;
  serviceTier: ServiceTier;
  effectiveFrom: Date;
  source: string;
}

export interface NewPriceVersion extends PriceRates {
  model: string;
  serviceTier: ServiceTier;
  effectiveFrom: Date;
  source: string;
}

interface PriceRow {
  id: string;
  model: string;
  service_tier: ServiceTier;
  input_micro_usd_per_mtok: string;
  cached_input_micro_usd_per_mtok: string;
  output_micro_usd_per_mtok: string;
  reasoning_micro_usd_per_mtok: string;
  effective_from: Date;
  source: string;
}

const COLUMNS = `id, model, service_tier, input_micro_usd_per_mtok, cached_input_micro_usd_per_mtok, output_micro_usd_per_mtok,
  reasoning_micro_usd_per_mtok, effective_from, source`;

const toVersion = (r: PriceRow): PriceVersion => ({
  id: Number(r.id),
  model: r.model,
  serviceTier: r.service_tier,
  inputMicroUsdPerMTokens: Number(r.input_micro_usd_per_mtok),
  cachedInputMicroUsdPerMTokens: Number(r.cached_input_micro_usd_per_mtok),
  outputMicroUsdPerMTokens: Number(r.output_micro_usd_per_mtok),
  reasoningMicroUsdPerMTokens: Number(r.reasoning_micro_usd_per_mtok),
  effectiveFrom: r.effective_from,
  source: r.source,
});

@Injectable()
export class PriceRepository {
  /**
   * The version in force at `at` of the most specific of `names` that has one, at `tier`; a model without a price at
   * a tier other than the default is priced at its default one (never less than the provider bills).
   */
  async findInForce(
    sql: Sql,
    names: readonly string[],
    at: Date,
    tier: ServiceTier = 'default',
  ): Promise<PriceVersion | null> {
    const rows = await sql.query<PriceRow>(
      `SELECT ${COLUMNS} FROM prices
        WHERE model = ANY($1::text[]) AND effective_from <= $2 AND service_tier IN ($3, 'default')
        ORDER BY length(model) DESC, (service_tier = $3) DESC, effective_from DESC
        LIMIT 1`,
      [names, at, tier],
    );
    return rows[0] ? toVersion(rows[0]) : null;
  }

  async latest(sql: Sql, model: string, tier: ServiceTier): Promise<PriceVersion | null> {
    const rows = await sql.query<PriceRow>(
      `SELECT ${COLUMNS} FROM prices WHERE model = $1 AND service_tier = $2 ORDER BY effective_from DESC LIMIT 1`,
      [model, tier],
    );
    return rows[0] ? toVersion(rows[0]) : null;
  }

  /** Inserts a version unless the model already has one at its tier from that moment; returns the inserted one. */
  async insertIfAbsent(sql: Sql, price: NewPriceVersion): Promise<PriceVersion | null> {
    const rows = await sql.query<PriceRow>(
      `INSERT INTO prices (model, input_micro_usd_per_mtok, cached_input_micro_usd_per_mtok, output_micro_usd_per_mtok,
                           reasoning_micro_usd_per_mtok, effective_from, source, service_tier)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (model, service_tier, effective_from) DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        price.model,
        price.inputMicroUsdPerMTokens,
        price.cachedInputMicroUsdPerMTokens,
        price.outputMicroUsdPerMTokens,
        price.reasoningMicroUsdPerMTokens,
        price.effectiveFrom,
        price.source,
        price.serviceTier,
      ],
    );
    return rows[0] ? toVersion(rows[0]) : null;
  }

  /** Serializes catalogue updates of instances starting at the same moment. */
  async lockCatalogue(tx: Sql): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('deliberate.ledger.prices'))`);
  }
}
