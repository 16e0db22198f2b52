import { isTerminal, type TaskAcceptedResponse, type TaskResponse } from '@deliberate/contracts';
import type { Command } from 'commander';
import { readInputText } from '../args/input-text';
import { nodeInputReader } from '../args/node-input-reader';
import { buildSubmission, parseDurationMs, type SubmitOptions } from '../args/submission';
import type { CliContext } from '../cli-context';
import { CliError, EXIT, usageError } from '../exit-codes';
import type { GatewayClient } from '../http/gateway-client';
import { StatusReporter } from '../wait/status-line';
import { type TaskCostReader, taskCostReader } from '../wait/task-cost';
import { describeOutcome, taskSummary } from './task-output';

interface SubmitFlags extends SubmitOptions {
  file?: string;
  idempotencyKey?: string;
  wait?: boolean;
  timeout: string;
  pollInterval: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerSubmit(program: Command, context: (cmd: Command) => CliContext): void {
  program
    .command('submit')
    .description('Submit a task: the input from an argument, --file <path>, or stdin (-)')
    .argument('[input]', 'the task input; - reads stdin')
    .option('-f, --file <path>', 'read the input from a file (- for stdin)')
    .option('--mode <mode>', 'auto | fast | reasoning (default auto)')
    .option('--max-thinking-tokens <n>', "cap on the reasoning model's tokens (thinking plus answer)")
    .option('--latency-budget <duration>', 'how long the answer may take: 1500ms, 30s, 5m, 1h')
    .option('--max-cost-usd <usd>', 'ceiling on what the task may cost, in USD')
    .option('--reasoning-effort <effort>', 'low | medium | high')
    .option('--project <tag>', 'project tag: spend is also counted, and budgets enforced, per project')
    .option('--metadata <key=value>', 'metadata, repeatable; values are strings', collect)
    .option('--webhook-url <url>', 'where the task.completed/failed webhook is sent')
    .option('--idempotency-key <key>', 'a retried submit with the same key returns the same task')
    .option(
      '-w, --wait',
      'wait for the outcome: a status line on stderr (with the cost booked so far, for keys that may read spend), the answer on stdout',
    )
    .option('--timeout <duration>', 'with --wait: give up after this long (exit 5); the task goes on', '10m')
    .option('--poll-interval <duration>', 'with --wait: how often to ask', '1s')
    .addHelpText(
      'after',
      `
Examples:
  deliberate submit "Summarise the attached contract" --mode fast
  deliberate submit --file question.txt --mode reasoning --max-thinking-tokens 20000 --latency-budget 10m --wait
  git diff | deliberate submit - --metadata repo=api --metadata pr=42 --wait --json
  deliberate submit "Same request, safe to retry" --idempotency-key order-1234

Without --wait the task id is printed (--json: the accepted response). With --wait the answer is printed once the
task completes (--json: the whole task, with bookedCostMicroUsd when known); a task that fails, is cancelled or
waits for a human exits 5.

The status line shows what the ledger has booked for the task's model calls so far, read again at each status
change: only admin and auditor keys may read spend, so with a submitter key it shows elapsed time and statuses, and
no cost.`,
    )
    .action(async (input: string | undefined, flags: SubmitFlags, cmd: Command) => {
      const ctx = context(cmd);
      const problems: string[] = [];
      const timeoutMs = parseDurationMs(flags.timeout);
      const pollMs = parseDurationMs(flags.pollInterval);
      if (timeoutMs === null)
        problems.push(`--timeout: '${flags.timeout}' is not a duration such as 30s, 5m`);
      if (pollMs === null || pollMs < 100)
        problems.push(`--poll-interval: must be a duration of 100ms or more`);
      // The input is read first: a missing file or a NUL is named before the options' problems.
      const text = await readInputText({ arg: input, file: flags.file }, nodeInputReader, 'the input');
      const built = buildSubmission(text, flags);
      if (!built.ok) problems.push(...built.problems);
      if (problems.length > 0 || !built.ok) throw usageError(problems);
      const client = ctx.client();
      const accepted = await client.request<TaskAcceptedResponse>('POST', '/v1/tasks', {
        body: built.body,
        headers: flags.idempotencyKey ? { 'idempotency-key': flags.idempotencyKey } : {},
      });
      if (!flags.wait) {
        if (ctx.json) ctx.printJson(accepted);
        else ctx.print(accepted.id);
        return;
      }
      ctx.note(`submitted task ${accepted.id}`);
      const cost = await taskCostReader(client, ctx.io.now());
      const { task, bookedCostMicroUsd } = await waitForOutcome(
        ctx,
        client,
        accepted.id,
        timeoutMs!,
        pollMs!,
        cost,
      );
      if (ctx.json) ctx.printJson(bookedCostMicroUsd === null ? task : { ...task, bookedCostMicroUsd });
      else if (task.status === 'completed') ctx.print(task.result?.answer ?? '');
      if (task.status !== 'completed') {
        throw new CliError(describeOutcome(task), EXIT.taskNotCompleted);
      }
    });
}

export interface WaitOutcome {
  task: TaskResponse;
  /** What the ledger had booked for the task when the wait ended; null when unknown or not readable by the key. */
  bookedCostMicroUsd: number | null;
}

/**
 * Polls until the task is terminal or waits for a human; a timeout is exit 5 with the task still running. With a
 * cost reader, the booked cost is read again at each status change (the last one included).
 */
export async function waitForOutcome(
  ctx: CliContext,
  client: GatewayClient,
  taskId: string,
  timeoutMs: number,
  pollMs: number,
  cost: TaskCostReader | null = null,
): Promise<WaitOutcome> {
  const reporter = new StatusReporter({ isTTY: ctx.io.errIsTTY, write: (t) => ctx.io.err(t) }, taskId);
  const started = ctx.io.now();
  try {
    for (;;) {
      const task = await pollOnce(client, taskId);
      const elapsed = ctx.io.now() - started;
      if (task === null) {
        // The gateway was unavailable for this poll: the task goes on, and so does the wait, up to its timeout.
        if (elapsed >= timeoutMs)
          throw new CliError(`task ${taskId}: the gateway was unavailable at the timeout`, EXIT.unavailable);
        await ctx.io.sleep(pollMs);
        continue;
      }
      const booked = cost && reporter.isChange(task.status) ? await cost(taskId) : null;
      reporter.update(task.status, elapsed, task.result?.usage ?? null, booked);
      if (isTerminal(task.status) || task.status === 'needs_human')
        return { task, bookedCostMicroUsd: reporter.costMicroUsd };
      if (elapsed >= timeoutMs) {
        throw new CliError(
          `${taskSummary(task)}: still not done after ${seconds(timeoutMs)}; it goes on (deliberate get ${taskId})`,
          EXIT.taskNotCompleted,
        );
      }
      await ctx.io.sleep(Math.min(pollMs, Math.max(0, timeoutMs - elapsed)));
    }
  } finally {
    reporter.finish();
  }
}

async function pollOnce(client: GatewayClient, taskId: string): Promise<TaskResponse | null> {
  try {
    return await client.request<TaskResponse>('GET', `/v1/tasks/${taskId}`);
  } catch (e) {
    if (e instanceof CliError && e.exitCode === EXIT.unavailable) return null;
    throw e;
  }
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
