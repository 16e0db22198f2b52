// Percentiles (nearest rank) and the number formats of the reports.

/** The p-th percentile of ascending values by nearest rank; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** Count, mean, p50/p90/p95/p99 and max of the finite values (order does not matter). */
export function summary(values: Iterable<number>): Summary {
  const s = Float64Array.from([...values].filter(Number.isFinite)).sort();
  return {
    count: s.length,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.length ? (s[s.length - 1] ?? NaN) : NaN,
  };
}

export const maxOf = (values: readonly number[]): number =>
  values.filter(Number.isFinite).reduce((a, b) => Math.max(a, b), -Infinity);

/** 12,345 (or with d decimals); n/a for NaN and infinities. */
export const num = (v: number | undefined, d = 0): string =>
  v !== undefined && Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a';

/** Milliseconds with one decimal. */
export const ms = (v: number | undefined): string =>
  v !== undefined && Number.isFinite(v) ? v.toFixed(1) : 'n/a';

export const signedMs = (v: number): string =>
  Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}` : 'n/a';

export const ratio = (a: number, b: number): string =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';

/** A Markdown table: the first row is the header. */
export const mdTable = (rows: readonly (readonly string[])[]): string =>
  rows
    .map((row, i) => `| ${row.join(' | ')} |${i === 0 ? `\n|${row.map(() => '---').join('|')}|` : ''}`)
    .join('\n');

/** Increments a counter in a map. */
export const bump = <K>(m: Map<K, number>, key: K, by = 1): void => {
  m.set(key, (m.get(key) ?? 0) + by);
};

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
