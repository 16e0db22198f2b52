import type { ServiceTier } from '@deliberate/contracts';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { type ConfiguredPrice, LEDGER_CONFIG, type LedgerConfig } from '../config';
import { Sql } from '@deliberate/persistence';
import { priceLookupNames, type PriceRates } from './price-calculator';
import { PriceRepository, type PriceVersion } from './price.repository';

// A model's first price covers all time, so calls recorded before the ledger learnt the model can still be booked.
const BEGINNING_OF_TIME = new Date('1970-01-01T00:00:00Z');

const sameRates = (a: PriceRates, b: PriceRates) =>
  a.inputMicroUsdPerMTokens === b.inputMicroUsdPerMTokens &&
  a.cachedInputMicroUsdPerMTokens === b.cachedInputMicroUsdPerMTokens &&
  a.outputMicroUsdPerMTokens === b.outputMicroUsdPerMTokens &&
  a.reasoningMicroUsdPerMTokens === b.reasoningMicroUsdPerMTokens;

// The versioned price catalogue: seeded by a migration, overridden by LEDGER_PRICES at start as new versions.
@Injectable()
export class PriceCatalogue implements OnModuleInit {
  private readonly logger = new Logger(PriceCatalogue.name);

  constructor(
    private readonly sql: Sql,
    private readonly prices: PriceRepository,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.LEDGER_PRICES.length) await this.applyConfigured(this.config.LEDGER_PRICES);
  }

  /**
   * The price in force at `at` for `model` (or its undated name) at the service tier, or at the default tier when the
   * model has no price at that one; null when the catalogue has none.
   */
  priceAt(model: string, at: Date, tier: ServiceTier = 'default'): Promise<PriceVersion | null> {
    return this.prices.findInForce(this.sql, priceLookupNames(model), at, tier);
  }

  /** Adds each configured price as a new version, unless it is already the model's latest (a restart). */
  async applyConfigured(configured: readonly ConfiguredPrice[]): Promise<void> {
    const now = new Date();
    const added = await this.sql.transaction(async (tx) => {
      await this.prices.lockCatalogue(tx);
      const inserted: PriceVersion[] = [];
      for (const price of configured) {
        const latest = await this.prices.latest(tx, price.model, price.serviceTier);
        if (
          latest &&
          sameRates(latest, price) &&
          (!price.effectiveFrom || latest.effectiveFrom <= price.effectiveFrom)
        )
          continue;
        const effectiveFrom = price.effectiveFrom ?? (latest ? now : BEGINNING_OF_TIME);
        const version = await this.prices.insertIfAbsent(tx, { ...price, effectiveFrom, source: 'config' });
        if (version) inserted.push(version);
        else {
          this.logger.warn({
            msg: 'LEDGER_PRICES entry ignored: the model already has a price version from that moment',
            model: price.model,
            serviceTier: price.serviceTier,
            effectiveFrom: effectiveFrom.toISOString(),
          });
        }
      }
      return inserted;
    });
    if (added.length) {
      this.logger.log({
        msg: 'prices from LEDGER_PRICES added as new versions',
        prices: added.map((p) => ({
          model: p.model,
          serviceTier: p.serviceTier,
          effectiveFrom: p.effectiveFrom.toISOString(),
        })),
      });
    }
  }
}
