import type { ShadowReportResponse } from '@deliberate/contracts';
import { agreementLine, judgeLine, sideRows, switchingLine } from './shadow-summary';

const side = (over: Partial<ShadowReportResponse['live']> = {}): ShadowReportResponse['live'] => ({
  models: ['sim-reasoner'],
  costMicroUsd: 2_000_000,
  costPerTaskMicroUsd: 20_000,
  latencyMs: { mean: 1_500, p50: 1_200, p95: 4_000 },
  inputTokens: 12_000,
  outputTokens: 3_400,
  ...over,
});

const report = (over: Partial<ShadowReportResponse> = {}): ShadowReportResponse => ({
  tenantId: 'acme',
  from: '2026-12-01T00:00:00.000Z',
  to: '2026-12-02T00:00:00.000Z',
  route: 'reasoning',
  tasksCompared: 100,
  shadowOutcomes: { ok: 100 },
  agreement: {
    method: 'normalised_exact_then_judge',
    answeredBoth: 100,
    agreed: 87,
    judged: 12,
    rate: 0.87,
    confidence95: { low: 0.7906, high: 0.9219 },
  },
  live: side(),
  shadow: side({ models: ['sim-standard'], costMicroUsd: 500_000, costPerTaskMicroUsd: 5_000 }),
  judge: { models: ['sim-fast'], calls: 12, costMicroUsd: 3_000 },
  projectedMonthly: {
    routeTasksPerMonth: 6_000,
    liveMicroUsd: 120_000_000,
    shadowMicroUsd: 30_000_000,
    differenceMicroUsd: -90_000_000,
  },
  ...over,
});

describe('the shadow summary', () => {
  it('states the agreement with its interval and sample', () => {
    expect(agreementLine(report())).toBe(
      '87.0% (79.1%–92.2%, 95% interval) of 100 tasks both answered, 12 decided by the judge model',
    );
    expect(judgeLine(report())).toBe("Judge: sim-fast, 12 calls, $0.003000 (in neither side's cost).");
    expect(judgeLine(report({ judge: { models: [], calls: 0, costMicroUsd: 0 } }))).toBeNull();
  });

  it('says why there is no agreement rate', () => {
    const none = { ...report().agreement, answeredBoth: 0, agreed: 0, rate: null, confidence95: null };
    expect(agreementLine(report({ tasksCompared: 0, agreement: none }))).toBe(
      'No task was compared in this period.',
    );
    expect(agreementLine(report({ tasksCompared: 3, agreement: none }))).toBe(
      'No agreement yet: the shadow answered none of 3 compared tasks.',
    );
  });

  it('sets the two sides side by side, the projection last', () => {
    expect(sideRows(report())).toEqual([
      { label: 'Models', live: 'sim-reasoner', shadow: 'sim-standard' },
      { label: 'Cost', live: '$2.00', shadow: '$0.5000' },
      { label: 'Cost per task', live: '$0.0200', shadow: '$0.005000' },
      { label: 'Latency p50', live: '1.2 s', shadow: '1.2 s' },
      { label: 'Latency p95', live: '4.0 s', shadow: '4.0 s' },
      { label: 'Tokens', live: '12,000 in, 3,400 out', shadow: '12,000 in, 3,400 out' },
      { label: 'Projected a month', live: '$120.00', shadow: '$30.00' },
    ]);
    expect(sideRows(report({ projectedMonthly: null })).map((r) => r.label)).not.toContain(
      'Projected a month',
    );
  });

  it('says what switching saves or costs a month', () => {
    expect(switchingLine(report())).toBe(
      "Switching to the shadow model saves $90.00 a month (6,000 tasks a month at this period's pace).",
    );
    const dearer = { ...report().projectedMonthly!, differenceMicroUsd: 5_000_000 };
    expect(switchingLine(report({ projectedMonthly: dearer }))).toMatch(
      /^Switching to the shadow model costs \$5\.00 more/,
    );
    expect(switchingLine(report({ projectedMonthly: null }))).toBeNull();
  });
});
