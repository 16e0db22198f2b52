import type { TaskSpec } from '@deliberate/contracts';
import { REASONING_SYSTEM_PROMPT, reasoningMessages } from './reasoning-prompt';

const spec = (over: Partial<TaskSpec> = {}): TaskSpec => ({
  input: 'Why is the sky blue?',
  context: [],
  mode: 'reasoning',
  latencyBudgetMs: null,
  maxCostMicroUsd: null,
  maxThinkingTokens: null,
  reasoningEffort: null,
  webhookUrl: null,
  project: null,
  apiKeyId: null,
  metadata: {},
  ...over,
});

describe('reasoningMessages', () => {
  it('puts the trace instructions first, then the context documents, then the conversation', () => {
    const messages = reasoningMessages(
      spec({
        input: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'compare A and B' },
        ],
        context: [{ id: 'doc-1', title: 'A', content: 'about A' }],
      }),
    );
    expect(messages.map((m) => m.role)).toEqual(['system', 'system', 'user', 'assistant', 'user']);
    expect(messages[0]!.content).toBe(REASONING_SYSTEM_PROMPT);
    expect(messages[0]!.content).toContain('<reasoning>');
    expect(messages[0]!.content).toContain('<answer>');
    expect(messages[1]!.content).toContain('<document index="1" id="doc-1" title="A">\nabout A\n</document>');
  });
});
