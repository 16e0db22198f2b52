import type { LlmMessage, ResponseFormat } from '@deliberate/llm';

// What the judge model is asked when two answers are not equal once normalised: whether they state the same result.
// Its verdict is read from a JSON object; anything else is `unclear`, and the task keeps the exact-match verdict.

/** Each text the judge reads is cut to this, so one call's input stays bounded. */
export const JUDGE_TEXT_MAX_CHARS = 20_000;
/** The judge answers in a sentence: its output is held at this many tokens. */
export const JUDGE_MAX_OUTPUT_TOKENS = 300;

const INSTRUCTIONS =
  'You compare two answers to the same question. They are the same when they state the same result: the same ' +
  'facts, numbers and conclusion, whatever their wording, length or order. Reply with a JSON object: ' +
  '{"same": true or false, "reason": one sentence}.';

export const JUDGE_RESPONSE_FORMAT: ResponseFormat = {
  type: 'json_schema',
  json_schema: {
    name: 'answer_comparison',
    strict: true,
    schema: {
      type: 'object',
      properties: { same: { type: 'boolean' }, reason: { type: 'string' } },
      required: ['same', 'reason'],
      additionalProperties: false,
    },
  },
};

const cut = (text: string) =>
  text.length > JUDGE_TEXT_MAX_CHARS
    ? `${text.slice(0, JUDGE_TEXT_MAX_CHARS)}\n[cut: ${text.length} chars in all]`
    : text;

/** The task's input as the judge reads it: its text, or its messages one per line as `role: content`. */
export function questionOf(input: string | readonly { role: string; content: string }[]): string {
  return typeof input === 'string' ? input : input.map((m) => `${m.role}: ${m.content}`).join('\n');
}

export function judgeMessages(question: string, live: string, shadow: string): LlmMessage[] {
  return [
    { role: 'system', content: INSTRUCTIONS },
    {
      role: 'user',
      content: `Question:\n${cut(question)}\n\nAnswer A:\n${cut(live)}\n\nAnswer B:\n${cut(shadow)}`,
    },
  ];
}

/** The judge's verdict from its reply: `same` or `different` from a JSON object with a boolean `same`, else `unclear`. */
export function parseVerdict(content: string): {
  verdict: 'same' | 'different' | 'unclear';
  reason: string | null;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return { verdict: 'unclear', reason: `the judge did not answer in JSON: ${content.slice(0, 200)}` };
  }
  const same =
    typeof parsed === 'object' && parsed !== null ? (parsed as { same?: unknown }).same : undefined;
  const reason =
    typeof parsed === 'object' && parsed !== null ? (parsed as { reason?: unknown }).reason : undefined;
  const said = typeof reason === 'string' ? reason.slice(0, 2000) : null;
  if (same === true) return { verdict: 'same', reason: said };
  if (same === false) return { verdict: 'different', reason: said };
  return { verdict: 'unclear', reason: 'the judge named no boolean "same"' };
}
