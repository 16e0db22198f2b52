import { isTerminal, type TaskAcceptedResponse, type TaskResponse } from '@deliberate/contracts';
import type { Command } from 'commander';
import { readInputText } from '../args/input-text';
import { nodeInputReader } from '../args/node-input-reader';
import { buildSubmission, parseDurationMs, type SubmitOptions } from '../args/submission';
import type { CliContext } from '../cli-context';
import { CliError, EXIT, usageError } from '../exit-codes';
import type { GatewayClient } from '../http/gateway-client';
import { StatusReporter } from '../wait/status-line';
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
    .option('-w, --wait', 'wait for the outcome: a status line on stderr, the answer on stdout')
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
task completes (--json: the whole task); a task that fails, is cancelled or waits for a human exits 5.`,
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
      const task = await waitForOutcome(ctx, client, accepted.id, timeoutMs!, pollMs!);
      if (ctx.json) ctx.printJson(task);
      else if (task.status === 'completed') ctx.print(task.result?.answer ?? '');
      if (task.status !== 'completed') {
        throw new CliError(describeOutcome(task), EXIT.taskNotCompleted);
      }
    });
}

/** Polls until the task is terminal or waits for a human; a timeout is exit 5 with the task still running. */
export async function waitForOutcome(
  ctx: CliContext,
  client: GatewayClient,
  taskId: string,
  timeoutMs: number,
  pollMs: number,
): Promise<TaskResponse> {
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
      reporter.update(task.status, elapsed, task.result?.usage ?? null);
      if (isTerminal(task.status) || task.status === 'needs_human') return task;
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
