import {
  databaseConfigSchema,
  envInt,
  kafkaConfigSchema,
  kafkaSecurityCheck,
  loadConfig,
  tryLoadConfig,
  telemetryConfigSchema,
} from '@deliberate/config';
import { serviceTierSchema } from '@deliberate/contracts';
import { z } from 'zod';

const microUsdPerMTokens = z.int().nonnegative().max(1_000_000_000_000);

/** One entry of LEDGER_PRICES: integer micro-USD per 1M tokens of each token class. */
export const configuredPriceSchema = z
  .strictObject({
    model: z.string().min(1).max(200),
    inputMicroUsdPerMTokens: microUsdPerMTokens,
    /** Defaults to the input price (no cache discount). */
    cachedInputMicroUsdPerMTokens: microUsdPerMTokens.optional(),
    outputMicroUsdPerMTokens: microUsdPerMTokens,
    /** Defaults to the output price: OpenAI bills reasoning tokens as output. */
    reasoningMicroUsdPerMTokens: microUsdPerMTokens.optional(),
    /** The provider's service tier the price is for (`flex`: its batch prices); `default` when absent. */
    serviceTier: serviceTierSchema.default('default'),
    /** When the price takes effect; defaults to the moment the ledger starts (or all time for a new model). */
    effectiveFrom: z.iso.datetime({ offset: true }).optional(),
  })
  .transform((p) => ({
    model: p.model,
    serviceTier: p.serviceTier,
    inputMicroUsdPerMTokens: p.inputMicroUsdPerMTokens,
    cachedInputMicroUsdPerMTokens: p.cachedInputMicroUsdPerMTokens ?? p.inputMicroUsdPerMTokens,
    outputMicroUsdPerMTokens: p.outputMicroUsdPerMTokens,
    reasoningMicroUsdPerMTokens: p.reasoningMicroUsdPerMTokens ?? p.outputMicroUsdPerMTokens,
    effectiveFrom: p.effectiveFrom ? new Date(p.effectiveFrom) : null,
  }));
export type ConfiguredPrice = z.output<typeof configuredPriceSchema>;

const configuredPricesSchema = z
  .array(configuredPriceSchema)
  .refine(
    (prices) =>
      new Set(prices.map((p) => `${p.model}/${p.serviceTier}@${p.effectiveFrom?.toISOString() ?? 'start'}`))
        .size === prices.length,
    'two entries set the same model and service tier from the same moment',
  );

// A JSON array in one variable; each bad entry is reported with its index (LEDGER_PRICES.2.model: ...).
const pricesFromJson = z
  .string()
  .default('[]')
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `must be a JSON array of prices: ${(e as Error).message}` });
      return z.NEVER;
    }
  })
  .pipe(configuredPricesSchema);

const ledgerConfigFields = z.object({
  ...databaseConfigSchema.shape,
  ...kafkaConfigSchema.shape,
  ...telemetryConfigSchema.shape,
  LEDGER_HOST: z.string().default('127.0.0.1'),
  LEDGER_PORT: envInt(3002, 0, 65535),
  // Shared with the gateway, which proxies /v1/ledger/* here. Unset: the HTTP API refuses every request.
  LEDGER_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LEDGER_MAX_BODY_BYTES: envInt(64 * 1024, 1024, 16 * 1024 * 1024),
  // How long a hold lasts unless the request asks for another ttlMs; the sweeper releases it after.
  LEDGER_RESERVATION_TTL_MS: envInt(600_000, 1_000, 24 * 3_600_000),
  LEDGER_SWEEP_INTERVAL_MS: envInt(5_000, 50, 600_000),
  LEDGER_SWEEP_BATCH_SIZE: envInt(500, 1, 10_000),
  // How long an open cost breaker waits before the sweeper checks whether it may close.
  LEDGER_BREAKER_COOLDOWN_MS: envInt(60_000, 100, 24 * 3_600_000),
  LEDGER_PRICES: pricesFromJson,
  // Request partitions served at once by one instance (kafkajs partitionsConsumedConcurrently).
  LEDGER_COMMAND_CONCURRENCY: envInt(6, 1, 64),
  // A reserve request older than this was given up by its caller (who asks again under its reservation key): it is
  // answered ledger_unavailable and no hold is taken.
  LEDGER_REQUEST_MAX_AGE_MS: envInt(30_000, 1_000, 3_600_000),
  // Usage events of different tenants booked at once per partition batch.
  LEDGER_USAGE_CONCURRENCY: envInt(32, 1, 1_000),
});

export const ledgerConfigSchema = ledgerConfigFields.check(kafkaSecurityCheck);

export type LedgerConfig = z.infer<typeof ledgerConfigSchema>;

export function loadLedgerConfig(env: Record<string, string | undefined> = process.env): LedgerConfig {
  return loadConfig('ledger', ledgerConfigSchema, env);
}

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

export function tryLoadLedgerConfig(
  env: Record<string, string | undefined> = process.env,
): LedgerConfig | null {
  return tryLoadConfig(ledgerConfigSchema, env);
}
