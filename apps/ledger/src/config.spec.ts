import { ConfigError } from '@deliberate/config';
import { loadLedgerConfig } from './config';

describe('loadLedgerConfig', () => {
  it('has working defaults', () => {
    const config = loadLedgerConfig({});
    expect(config).toMatchObject({
      LEDGER_PORT: 3002,
      LEDGER_HOST: '127.0.0.1',
      LEDGER_RESERVATION_TTL_MS: 600_000,
      LEDGER_SWEEP_INTERVAL_MS: 5_000,
      LEDGER_BREAKER_COOLDOWN_MS: 60_000,
      LEDGER_PRICES: [],
    });
    expect(config.LEDGER_INTERNAL_TOKEN).toBeUndefined();
  });

  it('reads LEDGER_PRICES as versions, reasoning defaulting to output and cached to input', () => {
    const config = loadLedgerConfig({
      LEDGER_PRICES: JSON.stringify([
        { model: 'acme-1', inputMicroUsdPerMTokens: 100, outputMicroUsdPerMTokens: 400 },
        {
          model: 'acme-2',
          inputMicroUsdPerMTokens: 1,
          cachedInputMicroUsdPerMTokens: 0,
          outputMicroUsdPerMTokens: 2,
          reasoningMicroUsdPerMTokens: 3,
          serviceTier: 'flex',
          effectiveFrom: '2030-01-01T00:00:00Z',
        },
      ]),
    });
    expect(config.LEDGER_PRICES).toEqual([
      {
        model: 'acme-1',
        serviceTier: 'default',
        inputMicroUsdPerMTokens: 100,
        cachedInputMicroUsdPerMTokens: 100,
        outputMicroUsdPerMTokens: 400,
        reasoningMicroUsdPerMTokens: 400,
        effectiveFrom: null,
      },
      {
        model: 'acme-2',
        serviceTier: 'flex',
        inputMicroUsdPerMTokens: 1,
        cachedInputMicroUsdPerMTokens: 0,
        outputMicroUsdPerMTokens: 2,
        reasoningMicroUsdPerMTokens: 3,
        effectiveFrom: new Date('2030-01-01T00:00:00Z'),
      },
    ]);
  });

  it('takes a model at two service tiers from the same moment, and refuses the same tier twice', () => {
    const price = { model: 'acme-1', inputMicroUsdPerMTokens: 100, outputMicroUsdPerMTokens: 400 };
    const both = loadLedgerConfig({
      LEDGER_PRICES: JSON.stringify([price, { ...price, inputMicroUsdPerMTokens: 50, serviceTier: 'flex' }]),
    });
    expect(both.LEDGER_PRICES.map((p) => p.serviceTier)).toEqual(['default', 'flex']);
    expect(() =>
      loadLedgerConfig({ LEDGER_PRICES: JSON.stringify([price, { ...price, serviceTier: 'default' }]) }),
    ).toThrow('two entries set the same model and service tier from the same moment');
    expect(() =>
      loadLedgerConfig({ LEDGER_PRICES: JSON.stringify([{ ...price, serviceTier: 'priority' }]) }),
    ).toThrow(/LEDGER_PRICES\.0\.serviceTier/);
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadLedgerConfig({
        LEDGER_PORT: 'x',
        LEDGER_INTERNAL_TOKEN: 'short',
        LEDGER_PRICES: '[{"model":"","inputMicroUsdPerMTokens":1.5,"outputMicroUsdPerMTokens":1}]',
        LEDGER_RESERVATION_TTL_MS: '10',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^LEDGER_PORT: /),
        'LEDGER_INTERNAL_TOKEN: must be at least 16 characters',
        expect.stringMatching(/^LEDGER_PRICES\.0\.model: /),
        expect.stringMatching(/^LEDGER_PRICES\.0\.inputMicroUsdPerMTokens: /),
        expect.stringMatching(/^LEDGER_RESERVATION_TTL_MS: /),
      ]),
    );
  });

  it('refuses a pool of one connection: the sweep holds one for its lock while its work needs another', () => {
    expect(() => loadLedgerConfig({ DATABASE_POOL_SIZE: '1' })).toThrow(/DATABASE_POOL_SIZE: /);
    expect(loadLedgerConfig({ DATABASE_POOL_SIZE: '2' }).DATABASE_POOL_SIZE).toBe(2);
  });

  it('says when LEDGER_PRICES is not JSON', () => {
    expect(() => loadLedgerConfig({ LEDGER_PRICES: '[{' })).toThrow(
      /LEDGER_PRICES: must be a JSON array of prices/,
    );
  });
});
