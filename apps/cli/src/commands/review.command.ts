import { type ReviewItem, reviewAnswerRequestSchema } from '@deliberate/contracts';
import type { Command } from 'commander';
import { readInputText } from '../args/input-text';
import { nodeInputReader } from '../args/node-input-reader';
import { parseTaskId } from '../args/task-id';
import type { CliContext } from '../cli-context';
import { usageError } from '../exit-codes';

const inputPreview = (item: ReviewItem) => {
  const claim = item.claim
    ? `claimed by ${item.claim.reviewerKeyId} until ${item.claim.expiresAt}`
    : 'unclaimed';
  return `${item.task.id}  ${item.task.escalation?.escalatedAt ?? item.task.updatedAt}  ${claim}  ${item.task.escalation?.reason ?? ''}`;
};

export function registerReview(program: Command, context: (cmd: Command) => CliContext): void {
  const review = program
    .command('review')
    .description('The human review queue: tasks waiting for a person (reviewer or admin key)')
    .addHelpText(
      'after',
      `
Examples:
  deliberate review list
  deliberate review claim 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10
  deliberate review answer 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --text "Approved: income verified"
  deliberate review answer 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --file answer.md`,
    );

  review
    .command('list')
    .description('Tasks waiting for a person, oldest first')
    .option('--limit <n>', 'at most this many (1-500)', '50')
    .addHelpText('after', '\nExamples:\n  deliberate review list --limit 10\n  deliberate review list --json')
    .action(async (flags: { limit: string }, cmd: Command) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw usageError(['--limit: an integer from 1 to 500']);
      const ctx = context(cmd);
      const items = await ctx.client().request<ReviewItem[]>('GET', '/v1/reviews', { query: { limit } });
      if (ctx.json) ctx.printJson(items);
      else if (items.length === 0) ctx.note('no task waits for a review');
      else for (const item of items) ctx.print(inputPreview(item));
    });

  review
    .command('claim')
    .description('Claim a waiting task so that no other reviewer answers it')
    .argument('<taskId>', 'the task id (a UUID)')
    .addHelpText('after', '\nExamples:\n  deliberate review claim 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10')
    .action(async (taskId: string, _flags: unknown, cmd: Command) => {
      const id = parseTaskId(taskId);
      const ctx = context(cmd);
      const item = await ctx.client().request<ReviewItem>('POST', `/v1/reviews/${id}/claim`);
      if (ctx.json) ctx.printJson(item);
      else ctx.print(`claimed task ${id}${item.claim ? ` until ${item.claim.expiresAt}` : ''}`);
    });

  review
    .command('answer')
    .description('Answer a task you claimed; it completes as answered by a human')
    .argument('<taskId>', 'the task id (a UUID)')
    .option('--text <answer>', 'the answer')
    .option('-f, --file <path>', 'read the answer from a file (- for stdin)')
    .addHelpText(
      'after',
      '\nExamples:\n  deliberate review answer 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --text "Approved"\n  deliberate review answer 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10 --file answer.md',
    )
    .action(async (taskId: string, flags: { text?: string; file?: string }, cmd: Command) => {
      const id = parseTaskId(taskId);
      const answer = await readInputText(
        { arg: flags.text, file: flags.file },
        nodeInputReader,
        'the answer',
        reviewAnswerRequestSchema.shape.answer.maxLength ?? undefined,
      );
      const ctx = context(cmd);
      const result = await ctx
        .client()
        .request<{ id: string; status: string }>('POST', `/v1/reviews/${id}/answer`, { body: { answer } });
      if (ctx.json) ctx.printJson(result);
      else ctx.print(`task ${id}: ${result.status}`);
    });
}
