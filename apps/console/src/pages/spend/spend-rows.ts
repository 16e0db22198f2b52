import type { SpendResponse } from '@deliberate/contracts';

// The spend answer as a chart wants it: labels in order and costs in dollars (the API's micro-units / 10^6).

export interface SpendSeries {
  labels: string[];
  dollars: number[];
}

export function spendSeries(spend: SpendResponse): SpendSeries {
  const rows =
    spend.groupBy === 'day' ? [...spend.rows].sort((a, b) => a.key.localeCompare(b.key)) : spend.rows;
  return { labels: rows.map((r) => r.key), dollars: rows.map((r) => r.costMicroUsd / 1_000_000) };
}

/** "2026-12-01": the first day of the current UTC month, the API's default start. */
export function monthStart(nowMs: number): string {
  const d = new Date(nowMs);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString().slice(0, 10);
}
