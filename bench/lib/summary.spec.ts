import { displayWidth, formatSummaryTable, type SummaryRow } from './summary.ts';

const row = (over: Partial<SummaryRow> = {}): SummaryRow => ({
  metric: 'Approved pairs/s',
  target: '≥ 2,000/s',
  baseline: '900',
  result: '2,400',
  ratio: '2.67×',
  met: true,
  ...over,
});

const cells = (line: string | undefined): string[] =>
  (line ?? '')
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());

describe('formatSummaryTable', () => {
  it('gives a header, a separator and one row per summary row, the benchmark named on its first row only', () => {
    const lines = formatSummaryTable([
      { bench: 'ledger', rows: [row(), row({ metric: 'Overspend', target: '0', met: false })] },
      { bench: 'webhooks', rows: [row({ metric: 'Deliveries/s' })] },
    ]).split('\n');

    expect(cells(lines[0])).toEqual(['Benchmark', 'Metric', 'Target', 'Baseline', 'Result', 'Ratio', 'Met']);
    expect(lines[1]).toMatch(/^\| -+ \| -+ \|/);
    expect(lines.slice(2).map((l) => cells(l))).toEqual([
      ['ledger', 'Approved pairs/s', '≥ 2,000/s', '900', '2,400', '2.67×', '✅'],
      ['', 'Overspend', '0', '900', '2,400', '2.67×', '❌'],
      ['webhooks', 'Deliveries/s', '≥ 2,000/s', '900', '2,400', '2.67×', '✅'],
    ]);
  });

  it('shows a missing baseline, a missing ratio and a row without a pass/fail target as —', () => {
    const [, , line] = formatSummaryTable([
      { bench: 'reasoner', rows: [row({ baseline: null, ratio: null, target: '—', met: null })] },
    ]).split('\n');

    expect(cells(line)).toEqual(['reasoner', 'Approved pairs/s', '—', '—', '2,400', '—', '—']);
  });

  it('pads every column to one width on screen, so the table reads in a terminal (✅ and ❌ take two columns)', () => {
    const lines = formatSummaryTable([
      {
        bench: 'audit',
        rows: [
          row({ result: 'a much longer result than the others' }),
          row({ met: false }),
          row({ met: null }),
        ],
      },
    ]).split('\n');

    expect(new Set(lines.map(displayWidth)).size).toBe(1);
    expect(displayWidth('✅ ≥ 2,000/s × —')).toBe(16);
  });

  it('keeps a cell with a pipe or a line break on its own row and in its own column', () => {
    const [, , line] = formatSummaryTable([
      { bench: 'fast-path', rows: [row({ result: '0 / 1\nlost | failed' })] },
    ]).split('\n');

    expect(cells(line)[4]).toBe('0 / 1 lost \\| failed');
    expect(cells(line)).toHaveLength(7);
  });

  it('names a benchmark whose summary has no rows', () => {
    const [, , line] = formatSummaryTable([{ bench: 'audit', rows: [] }]).split('\n');

    expect(cells(line).slice(0, 2)).toEqual(['audit', '(no rows)']);
  });

  it('says so when there is no summary at all', () => {
    expect(formatSummaryTable([])).toBe('(no benchmark summaries)');
  });
});
