import type { ChatMessageInput } from './chat-completion-request.schema';

// Tests steer the simulator from inside the prompt with `[[sim:key=value]]`, so a directive travels through every
// service unchanged, exactly like the user's text would. A value holds no bracket, so a directive left open ends at the
// next one instead of being read on to the end of the prompt (the rescan made long prompts quadratic).
const DIRECTIVE = /\[\[sim:([a-z_]+)=([^[\]]*)\]\]/g;

export interface PromptDirectives {
  complexity?: 'simple' | 'complex';
  thinkMs?: number;
  reasoningTokens?: number;
  fault?: string;
  /**
   * The answer every model gives (`[[sim:answer=Paris]]`); without it an answer names the model that gave it, so two
   * models never agree (shadow evaluation's tests steer agreement with it).
   */
  answer?: string;
  /** What the stand-in judge says of two answers (`[[sim:judge=same]]`, `different`), whatever they are. */
  judge?: 'same' | 'different';
}

export function messageText(message: ChatMessageInput): string {
  const content = message.content;
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text).join('\n');
}

export function stripDirectives(text: string): string {
  return text.replace(DIRECTIVE, '');
}

function nonNegativeInt(raw: string): number | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}

// Reads directives from every message; a later directive overrides an earlier one.
export function parseDirectives(texts: readonly string[]): PromptDirectives {
  const found: PromptDirectives = {};
  for (const text of texts) {
    // Most prompts carry none: skip the regex walk.
    if (!text.includes('[[sim:')) continue;
    for (const match of text.matchAll(DIRECTIVE)) {
      const key = match[1];
      const value = (match[2] ?? '').trim();
      if (key === 'complexity' && (value === 'simple' || value === 'complex')) found.complexity = value;
      else if (key === 'think_ms') found.thinkMs = nonNegativeInt(value) ?? found.thinkMs;
      else if (key === 'reasoning_tokens')
        found.reasoningTokens = nonNegativeInt(value) ?? found.reasoningTokens;
      else if (key === 'fault' && value) found.fault = value;
      else if (key === 'answer' && value) found.answer = value;
      else if (key === 'judge' && (value === 'same' || value === 'different')) found.judge = value;
    }
  }
  return found;
}
