import type { SpendResponse } from '@deliberate/contracts';
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { spendRowSchema } from '@deliberate/contracts';
import { Sql } from '@deliberate/persistence';
import type { SpendQuery } from './spend-query';
import { SpendRepository } from './spend.repository';

type SpendRow = z.infer<typeof spendRowSchema>;

const COUNTED = [
  'costMicroUsd',
  'calls',
  'inputTokens',
  'cachedInputTokens',
  'outputTokens',
  'reasoningTokens',
] as const satisfies readonly (keyof SpendRow)[];

// The total is the sum of the rows as returned, so the two add up exactly.
function sumRows(rows: readonly SpendRow[]): SpendRow {
  const total: SpendRow = {
    key: 'total',
    costMicroUsd: 0,
    calls: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
  };
  for (const field of COUNTED) total[field] = Number(rows.reduce((s, r) => s + BigInt(r[field]), 0n));
  return total;
}

/** micro-USD as a USD decimal with all six digits, exact (no floating point). */
export function formatUsd(microUsd: number): string {
  const sign = microUsd < 0 ? '-' : '';
  const abs = Math.abs(microUsd);
  return `${sign}${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

// A cell that starts with = + - @ is a formula to a spreadsheet: quoted and prefixed so it stays text.
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) || safe !== value ? `"${safe.replace(/"/g, '""')}"` : safe;
}

@Injectable()
export class SpendService {
  constructor(
    private readonly sql: Sql,
    private readonly spend: SpendRepository,
  ) {}

  async report(tenantId: string | null, q: SpendQuery): Promise<SpendResponse> {
    const aggregates = await this.spend.aggregate(this.sql, {
      tenantId,
      from: q.from,
      to: q.to,
      groupBy: q.groupBy,
      taskId: q.taskId,
    });
    const rows: SpendRow[] = aggregates.map((a) => ({
      key: a.key,
      costMicroUsd: Number(a.cost),
      calls: Number(a.calls),
      inputTokens: Number(a.input_tokens),
      cachedInputTokens: Number(a.cached_input_tokens),
      outputTokens: Number(a.output_tokens),
      reasoningTokens: Number(a.reasoning_tokens),
    }));
    return {
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      groupBy: q.groupBy,
      rows,
      total: sumRows(rows),
    };
  }

  toCsv(report: SpendResponse): string {
    const header = [
      report.groupBy,
      'cost_micro_usd',
      'cost_usd',
      'calls',
      'input_tokens',
      'cached_input_tokens',
      'output_tokens',
      'reasoning_tokens',
    ];
    const lines = report.rows.map((r) =>
      [
        csvCell(r.key),
        r.costMicroUsd,
        formatUsd(r.costMicroUsd),
        r.calls,
        r.inputTokens,
        r.cachedInputTokens,
        r.outputTokens,
        r.reasoningTokens,
      ].join(','),
    );
    return [header.join(','), ...lines].join('\r\n') + '\r\n';
  }
}
