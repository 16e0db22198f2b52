import { taskSubmissionSchema, type TaskSubmission } from '@deliberate/contracts';
import { printable } from './task-id';

// Turns `submit`'s options into the body of POST /v1/tasks, checked against the gateway's own schema so that every
// bad option is named at once, by its flag, before anything is sent.

export interface SubmitOptions {
  mode?: string | undefined;
  maxThinkingTokens?: string | undefined;
  latencyBudget?: string | undefined;
  maxCostUsd?: string | undefined;
  reasoningEffort?: string | undefined;
  project?: string | undefined;
  webhookUrl?: string | undefined;
  metadata?: string[] | undefined;
}

export type SubmissionResult = { ok: true; body: TaskSubmission } | { ok: false; problems: string[] };

const FLAG_OF: Record<string, string> = {
  input: 'the input',
  mode: '--mode',
  latencyBudgetMs: '--latency-budget',
  maxCostUsd: '--max-cost-usd',
  maxThinkingTokens: '--max-thinking-tokens',
  reasoningEffort: '--reasoning-effort',
  webhookUrl: '--webhook-url',
  metadata: '--metadata',
  project: '--project',
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** `1500`, `1500ms`, `30s`, `5m`, `1.5h` in milliseconds; null when it is none of these. */
export function parseDurationMs(value: string): number | null {
  const m = DURATION.exec(value.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS];
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : null;
}

/** `key=value` pairs; the value is kept as a string (`n=5` is "5"), and may itself contain `=`. */
export function parseMetadata(pairs: readonly string[], problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) {
      problems.push(`--metadata: '${printable(pair)}' is not key=value`);
      continue;
    }
    const key = pair.slice(0, at);
    if (Object.hasOwn(out, key)) problems.push(`--metadata: key '${printable(key)}' is given twice`);
    out[key] = pair.slice(at + 1);
  }
  return out;
}

function parseNumber(value: string | undefined, flag: string, problems: string[], integer: boolean) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    problems.push(`${flag}: '${printable(value)}' is not ${integer ? 'an integer' : 'a number'}`);
    return undefined;
  }
  return n;
}

export function buildSubmission(input: string, options: SubmitOptions): SubmissionResult {
  const problems: string[] = [];
  let latencyBudgetMs: number | undefined;
  if (options.latencyBudget !== undefined) {
    latencyBudgetMs = parseDurationMs(options.latencyBudget) ?? undefined;
    if (latencyBudgetMs === undefined) {
      problems.push(
        `--latency-budget: '${printable(options.latencyBudget)}' is not a duration such as 1500ms, 30s, 5m`,
      );
    }
  }
  const metadata = options.metadata?.length ? parseMetadata(options.metadata, problems) : undefined;
  const body = {
    input,
    mode: options.mode,
    latencyBudgetMs,
    maxCostUsd: parseNumber(options.maxCostUsd, '--max-cost-usd', problems, false),
    maxThinkingTokens: parseNumber(options.maxThinkingTokens, '--max-thinking-tokens', problems, true),
    reasoningEffort: options.reasoningEffort,
    webhookUrl: options.webhookUrl,
    metadata,
    project: options.project,
  };
  const defined = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
  // Options that could not be read are left out above, so the schema names only the others.
  const parsed = taskSubmissionSchema.safeParse(defined);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [head, ...rest] = issue.path.map(String);
      const flag = FLAG_OF[head ?? ''] ?? head ?? '(body)';
      problems.push(`${flag}${rest.length ? ` (${rest.join('.')})` : ''}: ${issue.message}`);
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, body: defined as unknown as TaskSubmission };
}
