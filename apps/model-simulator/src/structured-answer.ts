import type { PromptDirectives } from './prompt-directives';

export type Complexity = 'simple' | 'complex';

// Long prompts go to the reasoning tier regardless of their wording.
export const COMPLEX_PROMPT_MIN_CHARS = 1_200;

const COMPLEX_WORDS =
  /\b(prov(e|es|ing)|proof|deriv(e|es|ing|ation)|analy[sz](e|es|ing|is)|step[- ]by[- ]step|plan(s|ning|ned)?|optimi[sz](e|es|ing|ation)|compar(e|es|ing|ison)|trade[- ]?offs?|diagnos\w*)\b/i;

// The triage classifier's stand-in: a directive wins, then keywords, then length.
export function classifyComplexity(
  lastUserText: string,
  directives: PromptDirectives,
): { complexity: Complexity; reason: string } {
  if (directives.complexity) {
    return {
      complexity: directives.complexity,
      reason: `forced by the [[sim:complexity=${directives.complexity}]] directive`,
    };
  }
  const keyword = COMPLEX_WORDS.exec(lastUserText);
  if (keyword) return { complexity: 'complex', reason: `asks for multi-step reasoning ("${keyword[0]}")` };
  if (lastUserText.length > COMPLEX_PROMPT_MIN_CHARS) {
    return { complexity: 'complex', reason: `long request (${lastUserText.length} characters)` };
  }
  return { complexity: 'simple', reason: 'short, direct request' };
}

type JsonSchema = Record<string, unknown>;

function asSchema(value: unknown): JsonSchema | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonSchema)
    : undefined;
}

function resolveRef(ref: string, root: JsonSchema): JsonSchema | undefined {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!match || !match[1] || !match[2]) return undefined;
  return asSchema(asSchema(root[match[1]])?.[match[2]]);
}

const MAX_DEPTH = 16;

// The smallest value that satisfies a JSON schema's required structure; not a validator, only what strict
// structured-output schemas use (type, enum, const, required, $ref, anyOf/oneOf/allOf, minItems, minimum).
export function minimalJsonValue(
  schema: unknown,
  root: JsonSchema = asSchema(schema) ?? {},
  depth = 0,
): unknown {
  const s = asSchema(schema);
  if (!s || depth > MAX_DEPTH) return null;
  if (typeof s['$ref'] === 'string') return minimalJsonValue(resolveRef(s['$ref'], root), root, depth + 1);
  if ('const' in s) return s['const'];
  const enumValues: unknown = s['enum'];
  if (Array.isArray(enumValues)) return (enumValues as unknown[])[0] ?? null;
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const options: unknown = s[key];
    if (Array.isArray(options) && options.length > 0) {
      // Prefer a non-null branch so nullable fields still carry a value of their type.
      const branches = options as unknown[];
      const branch = branches.find((o) => asSchema(o)?.['type'] !== 'null') ?? branches[0];
      return minimalJsonValue(branch, root, depth + 1);
    }
  }
  const rawType: unknown = s['type'];
  const types = Array.isArray(rawType) ? (rawType as unknown[]) : [rawType];
  const type = types.find((t) => t !== 'null') ?? types[0];
  switch (type) {
    case 'string':
      return 'simulated';
    case 'number':
    case 'integer':
      return typeof s['minimum'] === 'number' ? s['minimum'] : 0;
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const count = typeof s['minItems'] === 'number' ? s['minItems'] : 0;
      return Array.from({ length: count }, () => minimalJsonValue(s['items'], root, depth + 1));
    }
    case 'object':
    default: {
      const properties = asSchema(s['properties']) ?? {};
      const required = Array.isArray(s['required']) ? s['required'].filter((r) => typeof r === 'string') : [];
      const out: Record<string, unknown> = {};
      for (const name of required) out[name] = minimalJsonValue(properties[name], root, depth + 1);
      return out;
    }
  }
}

export function isClassifierSchema(schema: JsonSchema | undefined): boolean {
  const properties = asSchema(schema?.['properties']);
  return !!properties && 'complexity' in properties && 'reason' in properties;
}

export function isRankerSchema(schema: JsonSchema | undefined): boolean {
  const properties = asSchema(schema?.['properties']);
  return !!properties && 'ranking' in properties;
}

export function isJudgeSchema(schema: JsonSchema | undefined): boolean {
  const properties = asSchema(schema?.['properties']);
  return !!properties && 'same' in properties && 'reason' in properties;
}

const ANSWER_A = 'Answer A:';
const ANSWER_B = 'Answer B:';
// What a simulated answer says once the model that gave it is left out.
const SIMULATED_PREFIX = /^Simulated answer from [^:\s]+: /;
const comparable = (answer: string) =>
  answer.trim().replace(SIMULATED_PREFIX, '').replace(/\s+/g, ' ').trim().toLowerCase();

// The answer judge's stand-in: the two answers after "Answer A:" and "Answer B:" are the same when they are equal once
// the simulated answers' model names, case and spacing are left out (two simulated models answering one question say
// the same thing). [[sim:judge=same|different]] decides instead. Found by scanning, not a pattern: linear time.
export function judgeAnswers(
  prompt: string,
  directives: PromptDirectives,
): { same: boolean; reason: string } {
  if (directives.judge) {
    return {
      same: directives.judge === 'same',
      reason: `forced by the [[sim:judge=${directives.judge}]] directive`,
    };
  }
  const a = prompt.indexOf(ANSWER_A);
  const b = prompt.indexOf(ANSWER_B, a === -1 ? 0 : a);
  if (a === -1 || b === -1) return { same: false, reason: 'no two answers to compare' };
  const same =
    comparable(prompt.slice(a + ANSWER_A.length, b)) === comparable(prompt.slice(b + ANSWER_B.length));
  return { same, reason: same ? 'both answers say the same' : 'the answers differ' };
}

const OPEN_DOCUMENT = '<document index="';
const CLOSE_DOCUMENT = '</document>';

// The `<document index="N" …>body</document>` blocks of a prompt, in one pass. A pattern with a lazy body read the
// rest of the prompt again from every opening tag left unclosed: quadratic in a long context.
function readDocuments(prompt: string): { index: number; body: string }[] {
  const found: { index: number; body: string }[] = [];
  let at = prompt.indexOf(OPEN_DOCUMENT);
  while (at !== -1) {
    const digits = at + OPEN_DOCUMENT.length;
    let quote = digits;
    while (quote < prompt.length && prompt.charCodeAt(quote) >= 48 && prompt.charCodeAt(quote) <= 57)
      quote += 1;
    if (quote > digits && prompt[quote] === '"') {
      const tagEnd = prompt.indexOf('>', quote);
      // No '>' or no closing tag after this opening: none after any later opening either.
      if (tagEnd === -1) break;
      const close = prompt.indexOf(CLOSE_DOCUMENT, tagEnd + 1);
      if (close === -1) break;
      found.push({ index: Number(prompt.slice(digits, quote)), body: prompt.slice(tagEnd + 1, close) });
      at = prompt.indexOf(OPEN_DOCUMENT, close + CLOSE_DOCUMENT.length);
    } else {
      at = prompt.indexOf(OPEN_DOCUMENT, at + 1);
    }
  }
  return found;
}
const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]{4,}/g) ?? []);

// The context ranker's stand-in: documents sharing more words with the question rank higher;
// a document carrying [[sim:relevant]] ranks first. Deterministic, so tests can predict the selection.
export function rankDocuments(prompt: string): { index: number; score: number; reason: string }[] {
  const question = words(/Question:\s*([\s\S]*?)(?:\n\n<document|$)/.exec(prompt)?.[1] ?? '');
  const ranked: { index: number; score: number; reason: string }[] = [];
  for (const document of readDocuments(prompt)) {
    const body = document.body;
    const shared = [...words(body)].filter((w) => question.has(w));
    const forced = body.includes('[[sim:relevant]]');
    ranked.push({
      index: document.index,
      score: forced ? 1 : Math.min(0.99, shared.length / Math.max(1, question.size)),
      reason: forced
        ? 'marked relevant'
        : shared.length
          ? `shares ${shared.slice(0, 5).join(', ')}`
          : 'no overlap with the question',
    });
  }
  return ranked.sort((a, b) => b.score - a.score || a.index - b.index);
}

export interface StructuredAnswerInput {
  kind: 'json_object' | 'json_schema';
  schema: JsonSchema | undefined;
  lastUserText: string;
  allText: string;
  directives: PromptDirectives;
  answer: string;
}

export function structuredAnswer(input: StructuredAnswerInput): string {
  // json_object has no schema: a prompt that talks about complexity is taken to be the classifier.
  const classifier =
    input.kind === 'json_schema' ? isClassifierSchema(input.schema) : /complexity/i.test(input.allText);
  if (classifier) {
    const base = input.schema ? (asSchema(minimalJsonValue(input.schema)) ?? {}) : {};
    return JSON.stringify({ ...base, ...classifyComplexity(input.lastUserText, input.directives) });
  }
  if (input.kind === 'json_schema' && isJudgeSchema(input.schema)) {
    return JSON.stringify(judgeAnswers(input.allText, input.directives));
  }
  if (input.kind === 'json_schema' && isRankerSchema(input.schema)) {
    return JSON.stringify({ ranking: rankDocuments(input.allText) });
  }
  if (input.kind === 'json_object') return JSON.stringify({ answer: input.answer });
  return JSON.stringify(minimalJsonValue(input.schema ?? { type: 'object' }));
}
