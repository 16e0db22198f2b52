import { JUDGE_TEXT_MAX_CHARS, judgeMessages, parseVerdict } from './judge-prompt';

describe('judgeMessages', () => {
  it('sets the question and both answers apart, the shadow answer last', () => {
    const [system, user] = judgeMessages('Capital of France?', 'Paris', 'It is Paris.');
    expect(system!.role).toBe('system');
    expect(user!.content).toBe(
      'Question:\nCapital of France?\n\nAnswer A:\nParis\n\nAnswer B:\nIt is Paris.',
    );
  });

  it('cuts each text to its bound, saying so', () => {
    const [, user] = judgeMessages('q'.repeat(JUDGE_TEXT_MAX_CHARS + 5), 'a', 'b');
    expect(user!.content).toContain(`[cut: ${JUDGE_TEXT_MAX_CHARS + 5} chars in all]`);
    expect(user!.content.length).toBeLessThan(JUDGE_TEXT_MAX_CHARS + 100);
  });
});

describe('parseVerdict', () => {
  it.each([
    ['{"same":true,"reason":"both say Paris"}', { verdict: 'same', reason: 'both say Paris' }],
    ['{"same":false,"reason":"42 against 43"}', { verdict: 'different', reason: '42 against 43' }],
    ['{"same":"yes"}', { verdict: 'unclear', reason: 'the judge named no boolean "same"' }],
    ['null', { verdict: 'unclear', reason: 'the judge named no boolean "same"' }],
    ['SAME', { verdict: 'unclear', reason: 'the judge did not answer in JSON: SAME' }],
  ])('reads %s', (content, expected) => {
    expect(parseVerdict(content)).toEqual(expected);
  });
});
