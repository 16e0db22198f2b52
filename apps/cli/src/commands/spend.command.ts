import type { SpendResponse } from '@deliberate/contracts';
import { spendGroupSchema } from '@deliberate/contracts';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { usageError } from '../exit-codes';

const usd = (micro: number) => `$${(micro / 1_000_000).toFixed(6)}`;
const n = (v: number) => v.toLocaleString('en');

export function formatSpend(s: SpendResponse): string {
  const rows = [...s.rows, { ...s.total, key: 'total' }];
  const width = Math.max(5, ...rows.map((r) => r.key.length));
  const header = `${s.groupBy.padEnd(width)}  ${'cost'.padStart(14)}  ${'calls'.padStart(8)}  ${'in tokens'.padStart(12)}  ${'out tokens'.padStart(12)}`;
  const line = (r: (typeof rows)[number]) =>
    `${r.key.padEnd(width)}  ${usd(r.costMicroUsd).padStart(14)}  ${n(r.calls).padStart(8)}  ${n(r.inputTokens).padStart(12)}  ${n(r.outputTokens).padStart(12)}`;
  return [`spend from ${s.from} to ${s.to}`, header, ...rows.map(line)].join('\n');
}

export function registerSpend(program: Command, context: (cmd: Command) => CliContext): void {
  program
    .command('spend')
    .description("The tenant's spend, grouped (admin or auditor key)")
    .option('--from <date>', 'a UTC date or a date-time with offset (default: start of the UTC month)')
    .option('--to <date>', 'a UTC date or a date-time with offset (default: now)')
    .option('--group-by <group>', spendGroupSchema.options.join(' | '), 'model')
    .option('--tenant-id <id>', 'the tenant (platform admin only)')
    .addHelpText(
      'after',
      '\nExamples:\n  deliberate spend\n  deliberate spend --from 2026-11-01 --to 2026-12-01 --group-by day\n  deliberate spend --group-by route --json',
    )
    .action(
      async (flags: { from?: string; to?: string; groupBy: string; tenantId?: string }, cmd: Command) => {
        if (!spendGroupSchema.safeParse(flags.groupBy).success) {
          throw usageError([
            `--group-by: one of ${spendGroupSchema.options.join(', ')}, not '${flags.groupBy}'`,
          ]);
        }
        const ctx = context(cmd);
        const spend = await ctx.client().request<SpendResponse>('GET', '/v1/ledger/spend', {
          query: { from: flags.from, to: flags.to, groupBy: flags.groupBy, tenantId: flags.tenantId },
        });
        if (ctx.json) ctx.printJson(spend);
        else ctx.print(formatSpend(spend));
      },
    );
}
