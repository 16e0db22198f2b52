import type { TaskSpec } from '@deliberate/contracts';
import type { LlmMessage } from '@deliberate/llm';

// Thought engineering: the model writes its reasoning where we can keep it for the audit, and its answer apart,
// so a client receives the answer alone and a cut-off output is recognisable.
export const REASONING_SYSTEM_PROMPT = [
  'You are a careful analyst. Work through the task step by step before you answer.',
  'Write your working inside <reasoning></reasoning>: restate the question, list what you know and what you assume,',
  'check each step, and consider at least one way your conclusion could be wrong.',
  'Then write the final answer inside <answer></answer>. The answer must stand on its own, without referring to',
  'the reasoning. If the context documents do not contain what you need, say so in the answer.',
  'Write nothing outside these two blocks.',
].join(' ');

/** The messages sent, in order: instructions, the context documents the triage kept, then the conversation. */
export function reasoningMessages(spec: Pick<TaskSpec, 'input' | 'context'>): LlmMessage[] {
  const messages: LlmMessage[] = [{ role: 'system', content: REASONING_SYSTEM_PROMPT }];
  if (spec.context.length) {
    const docs = spec.context
      .map(
        (d, i) =>
          `<document index="${i + 1}"${d.id ? ` id="${d.id}"` : ''}${d.title ? ` title="${d.title}"` : ''}>\n${d.content}\n</document>`,
      )
      .join('\n');
    messages.push({ role: 'system', content: `Context documents:\n${docs}` });
  }
  if (typeof spec.input === 'string') messages.push({ role: 'user', content: spec.input });
  else messages.push(...spec.input.map((m) => ({ role: m.role, content: m.content })));
  return messages;
}
