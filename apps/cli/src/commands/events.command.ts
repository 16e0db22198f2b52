import type { AuditRecordView, AuditTimeline } from '@deliberate/contracts';
import type { Command } from 'commander';
import { parseDurationMs } from '../args/submission';
import { parseTaskId } from '../args/task-id';
import type { CliContext } from '../cli-context';
import { CliError, EXIT, usageError } from '../exit-codes';

// A task's audit timeline (/v1/audit/tasks/{id}, an auditor's key); --follow prints entries as they are recorded and
// stops once the task's terminal event is among them.

const TERMINAL_EVENT = /\.task\.(completed|failed|cancelled)\.v\d+$/;

export const isTerminalEntry = (e: AuditRecordView) => TERMINAL_EVENT.test(e.type);

export function formatEntry(e: AuditRecordView): string {
  const detail = [
    e.route && `route=${e.route}`,
    e.model && `model=${e.model}`,
    e.status && `status=${e.status}`,
    e.decision && `decision=${e.decision}`,
  ].filter(Boolean);
  return `${e.recordedAt}  #${e.seq}  ${e.type}  ${e.source}${detail.length ? `  ${detail.join(' ')}` : ''}`;
}

export function registerEvents(program: Command, context: (cmd: Command) => CliContext): void {
  program
    .command('events')
    .description(
      "A task's audit timeline, oldest first: routing, model calls, answers, costs, reviews, webhooks (auditor key)",
    )
    .argument('<taskId>', 'the task id (a UUID)')
    .option(
      '--follow',
      'print new entries as they are recorded; stop once the task is completed, failed or cancelled',
    )
    .option('--interval <duration>', 'with --follow: how often to ask', '1s')
    .option('--timeout <duration>', 'with --follow: give up after this long (exit 5)', '30m')
    .addHelpText(
      'after',
      `
Examples:
  deliberate events 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10
  deliberate events 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --follow
  deliberate events 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --json | jq '.entries[].type'

With --json and --follow each entry is one JSON line.`,
    )
    .action(
      async (
        taskId: string,
        flags: { follow?: boolean; interval: string; timeout: string },
        cmd: Command,
      ) => {
        const id = parseTaskId(taskId);
        const intervalMs = parseDurationMs(flags.interval);
        const timeoutMs = parseDurationMs(flags.timeout);
        const problems = [
          ...(intervalMs === null || intervalMs < 100
            ? ['--interval: must be a duration of 100ms or more']
            : []),
          ...(timeoutMs === null ? [`--timeout: '${flags.timeout}' is not a duration such as 30s, 5m`] : []),
        ];
        if (problems.length) throw usageError(problems);
        const ctx = context(cmd);
        const client = ctx.client();
        const path = `/v1/audit/tasks/${id}`;
        if (!flags.follow) {
          const timeline = await client.request<AuditTimeline>('GET', path);
          if (ctx.json) ctx.printJson(timeline);
          else for (const e of timeline.entries) ctx.print(formatEntry(e));
          return;
        }
        const seen = new Set<number>();
        const started = ctx.io.now();
        for (;;) {
          let entries: AuditRecordView[] = [];
          try {
            entries = (await client.request<AuditTimeline>('GET', path)).entries;
          } catch (e) {
            // Nothing recorded for the task yet: the audit trail may lag the submission by a moment.
            if (!(e instanceof CliError && e.exitCode === EXIT.notFound)) throw e;
          }
          for (const e of entries) {
            if (seen.has(e.seq)) continue;
            seen.add(e.seq);
            if (ctx.json) ctx.printJson(e);
            else ctx.print(formatEntry(e));
          }
          if (entries.some(isTerminalEntry)) return;
          if (ctx.io.now() - started >= timeoutMs!) {
            throw new CliError(`task ${id}: no terminal event after ${flags.timeout}`, EXIT.taskNotCompleted);
          }
          await ctx.io.sleep(intervalMs!);
        }
      },
    );
}
