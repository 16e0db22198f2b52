import type { SpendResponse } from '@deliberate/contracts';
import { spendGroupSchema } from '@deliberate/contracts';
import type { Command } from 'commander';
import { parseTaskId } from '../args/task-id';
import type { CliContext } from '../cli-context';
import { usageError } from '../exit-codes';
import { formatUsd as usd } from '../format-usd';
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
    .option('--task <id>', "only this task's model calls: what one task cost (the period still applies)")
    .addHelpText(
      'after',
      `
Examples:
  deliberate spend
  deliberate spend --from 2026-11-01 --to 2026-12-01 --group-by day
  deliberate spend --group-by route --json
  deliberate spend --task 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --group-by call

--group-by call gives one row per model call, keyed by its call id, and needs --task.`,
    )
    .action(
      async (
        flags: { from?: string; to?: string; groupBy: string; tenantId?: string; task?: string },
        cmd: Command,
      ) => {
        const problems: string[] = [];
        if (!spendGroupSchema.safeParse(flags.groupBy).success) {
          problems.push(`--group-by: one of ${spendGroupSchema.options.join(', ')}, not '${flags.groupBy}'`);
        } else if (flags.groupBy === 'call' && flags.task === undefined) {
          problems.push(
            '--group-by call needs --task <id>: one row per model call is reported for one task only',
          );
        }
        if (problems.length > 0) throw usageError(problems);
        const taskId = flags.task === undefined ? undefined : parseTaskId(flags.task, '--task');
        const ctx = context(cmd);
        const spend = await ctx.client().request<SpendResponse>('GET', '/v1/ledger/spend', {
          query: { from: flags.from, to: flags.to, groupBy: flags.groupBy, tenantId: flags.tenantId, taskId },
        });
        if (ctx.json) ctx.printJson(spend);
        else ctx.print(formatSpend(spend));
      },
    );
}
