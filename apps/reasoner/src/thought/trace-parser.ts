import type { TraceParse } from '../execution/execution-record';

export interface ParsedTrace {
  trace: string | null;
  answer: string | null;
  parse: TraceParse;
}

const OPEN_REASONING = /<reasoning>/i;
const CLOSE_REASONING = /<\/reasoning>/i;
const OPEN_ANSWER = /<answer>/i;
const CLOSE_ANSWER = /<\/answer>/i;

const nonEmpty = (text: string | undefined): string | null => {
  const trimmed = text?.trim();
  return trimmed ? trimmed : null;
};

// Reads `<reasoning>…</reasoning><answer>…</answer>` and survives what models actually send: no tags at all
// (the whole content is the answer), output cut at the token limit (an open block, no answer), or nothing.
export function parseTrace(content: string | null): ParsedTrace {
  const text = content ?? '';
  if (!text.trim()) return { trace: null, answer: null, parse: 'empty' };

  const reasoningStart = text.search(OPEN_REASONING);
  let trace: string | null = null;
  let rest = text;
  if (reasoningStart >= 0) {
    const body = text.slice(reasoningStart + '<reasoning>'.length);
    const close = body.search(CLOSE_REASONING);
    if (close < 0) {
      // Cut off while thinking: whatever was thought is kept, there is no answer.
      return { trace: nonEmpty(body), answer: null, parse: 'truncated' };
    }
    trace = nonEmpty(body.slice(0, close));
    rest = text.slice(0, reasoningStart) + body.slice(close + '</reasoning>'.length);
  }

  const answerStart = rest.search(OPEN_ANSWER);
  if (answerStart >= 0) {
    const body = rest.slice(answerStart + '<answer>'.length);
    const close = body.search(CLOSE_ANSWER);
    // An answer without its closing tag was cut at the limit: not an answer to hand to a client.
    if (close < 0) return { trace, answer: null, parse: 'truncated' };
    const answer = nonEmpty(body.slice(0, close));
    return answer ? { trace, answer, parse: 'tagged' } : { trace, answer: null, parse: 'empty' };
  }

  // No answer tag: what is left outside the reasoning block is the answer, if anything is.
  const answer = nonEmpty(rest);
  if (answer) return { trace, answer, parse: 'untagged' };
  return { trace, answer: null, parse: trace ? 'truncated' : 'empty' };
}
