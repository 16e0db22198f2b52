import type { TaskResponse } from '@deliberate/contracts';
import type { Command } from 'commander';
import { parseTaskId } from '../args/task-id';
import type { CliContext } from '../cli-context';
import { formatTask } from './task-output';

export function registerTasks(program: Command, context: (cmd: Command) => CliContext): void {
  program
    .command('get')
    .description('Show a task: its status, and its answer once completed')
    .argument('<taskId>', 'the task id (a UUID)')
    .addHelpText(
      'after',
      '\nExamples:\n  deliberate get 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10\n  deliberate get 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --json | jq .result.answer',
    )
    .action(async (taskId: string, _flags: unknown, cmd: Command) => {
      const id = parseTaskId(taskId);
      const ctx = context(cmd);
      const task = await ctx.client().request<TaskResponse>('GET', `/v1/tasks/${id}`);
      if (ctx.json) ctx.printJson(task);
      else ctx.print(formatTask(task));
    });

  program
    .command('cancel')
    .description(
      'Cancel a task: an in-flight reasoning call is aborted, a task waiting for a human is cancelled at once',
    )
    .argument('<taskId>', 'the task id (a UUID)')
    .option('--reason <text>', 'why, kept with the task')
    .addHelpText(
      'after',
      '\nExamples:\n  deliberate cancel 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --reason "asked twice"',
    )
    .action(async (taskId: string, flags: { reason?: string }, cmd: Command) => {
      const id = parseTaskId(taskId);
      const ctx = context(cmd);
      const answer = await ctx
        .client()
        .request<{ id: string; status: string; cancellation: string }>('POST', `/v1/tasks/${id}/cancel`, {
          body: flags.reason ? { reason: flags.reason } : {},
        });
      if (ctx.json) ctx.printJson(answer);
      else ctx.print(`task ${id}: cancellation ${answer.cancellation} (the task was ${answer.status})`);
    });
}
