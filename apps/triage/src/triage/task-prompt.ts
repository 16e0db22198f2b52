import type { ChatMessage, TaskSpec } from '@deliberate/contracts';

const CLASSIFIER_INPUT_CHARS = 6_000;

/** The conversation the task asks about, with its context documents in a system message ahead of it. */
export function taskMessages(spec: TaskSpec, systemPrompt: string): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: systemPrompt }];
  if (spec.context.length) {
    const docs = spec.context
      .map(
        (d, i) =>
          `<document index="${i + 1}"${d.title ? ` title="${d.title}"` : ''}>\n${d.content}\n</document>`,
      )
      .join('\n');
    messages.push({ role: 'system', content: `Context documents:\n${docs}` });
  }
  if (typeof spec.input === 'string') messages.push({ role: 'user', content: spec.input });
  else messages.push(...spec.input);
  return messages;
}

export function lastUserText(spec: TaskSpec): string {
  return typeof spec.input === 'string'
    ? spec.input
    : ([...spec.input].reverse().find((m) => m.role === 'user')?.content ?? '');
}

/** What the classifier sees: the last user turn, trimmed, and how much context came with it. */
export function classifierMessages(spec: TaskSpec): ChatMessage[] {
  const lastUser = lastUserText(spec);
  const task =
    lastUser.length > CLASSIFIER_INPUT_CHARS ? `${lastUser.slice(0, CLASSIFIER_INPUT_CHARS)} […]` : lastUser;
  return [
    {
      role: 'system',
      content:
        'You route tasks between a fast model and a slow, expensive reasoning model. Answer "complex" only when the ' +
        'task needs deliberate multi-step reasoning: proofs, planning, multi-constraint decisions, diagnosis, careful ' +
        'analysis of trade-offs. Everything a capable fast model answers well is "simple". Give a one-sentence reason.',
    },
    {
      role: 'user',
      content: `Task (${spec.context.length} context document(s) attached):\n${task}`,
    },
  ];
}

export const ANSWER_SYSTEM_PROMPT = 'You are a precise assistant. Answer the user directly and concisely.';

export const CLASSIFICATION_JSON_SCHEMA = {
  name: 'complexity_classification',
  strict: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['complexity', 'reason'],
    properties: {
      complexity: { type: 'string', enum: ['simple', 'complex'] },
      reason: { type: 'string' },
    },
  },
} as const;
