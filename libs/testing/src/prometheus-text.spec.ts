import { parsePrometheusText, PrometheusScrape } from './prometheus-text';

describe('parsePrometheusText', () => {
  it('reads names, labels (escaped quotes, commas and newlines in values) and values, skipping comments', () => {
    const samples = parsePrometheusText(
      [
        '# HELP deliberate_test_total d',
        '# TYPE deliberate_test_total counter',
        'deliberate_test_total{reason="a \\"quoted\\", b",where="x\\ny",empty=""} 3',
        'deliberate_plain 1.5',
        'deliberate_gauge{s="a"} NaN',
        'deliberate_bucket{le="+Inf"} +Inf',
        '',
      ].join('\n'),
    );
    expect(samples).toEqual([
      {
        name: 'deliberate_test_total',
        labels: { reason: 'a "quoted", b', where: 'x\ny', empty: '' },
        value: 3,
      },
      { name: 'deliberate_plain', labels: {}, value: 1.5 },
      { name: 'deliberate_gauge', labels: { s: 'a' }, value: NaN },
      { name: 'deliberate_bucket', labels: { le: '+Inf' }, value: Infinity },
    ]);
  });

  it('refuses a line that is not a sample, and a label value left open', () => {
    expect(() => parsePrometheusText('this is not a sample')).toThrow('not a Prometheus sample line');
    expect(() => parsePrometheusText('m{a="open} 1')).toThrow('unterminated label value');
  });

  it('sums the samples whose labels include the ones asked for, in any order', () => {
    const scrape = new PrometheusScrape('m{a="1",b="x"} 2\nm{b="x",a="2"} 3\nm{b="y"} 5\n');
    expect(scrape.value('m', { b: 'x' })).toBe(5);
    expect(scrape.value('m', { a: '2', b: 'x' })).toBe(3);
    expect(scrape.value('absent')).toBe(0);
    expect(scrape.has('m', { b: 'z' })).toBe(false);
  });
});
