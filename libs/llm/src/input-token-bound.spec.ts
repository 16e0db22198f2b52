import { inputTokenUpperBound, MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS } from './input-token-bound';

describe('inputTokenUpperBound', () => {
  it('counts UTF-8 bytes, so a CJK character weighs three and an emoji four', () => {
    const overhead = MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS;
    expect(inputTokenUpperBound([{ content: 'abcd' }])).toBe(4 + overhead);
    expect(inputTokenUpperBound([{ content: '預算超過' }])).toBe(12 + overhead);
    expect(inputTokenUpperBound([{ content: '🙂' }])).toBe(4 + overhead);
  });

  it('adds the overhead of every message', () => {
    expect(inputTokenUpperBound([{ content: 'a' }, { content: 'b' }])).toBe(
      2 + 2 * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS,
    );
    expect(inputTokenUpperBound([])).toBe(REPLY_PRIMING_TOKENS);
  });
});
