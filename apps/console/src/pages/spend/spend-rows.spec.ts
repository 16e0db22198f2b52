import { monthStart, spendSeries } from './spend-rows';

const row = (key: string, costMicroUsd: number) => ({
  key,
  costMicroUsd,
  calls: 1,
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
});

describe('spendSeries', () => {
  it('puts days in order and costs in dollars', () => {
    const series = spendSeries({
      from: '2026-12-01T00:00:00.000Z',
      to: '2026-12-03T00:00:00.000Z',
      groupBy: 'day',
      rows: [row('2026-12-02', 2_500_000), row('2026-12-01', 1_000)],
      total: row('total', 2_501_000),
    });
    expect(series).toEqual({ labels: ['2026-12-01', '2026-12-02'], dollars: [0.001, 2.5] });
  });

  it('starts the default period on the first of the UTC month', () => {
    expect(monthStart(Date.parse('2026-12-17T23:59:00Z'))).toBe('2026-12-01');
  });
});
