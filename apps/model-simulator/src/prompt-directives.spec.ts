import { parseFaultSpec } from './fault-spec';
import { parseDirectives, stripDirectives } from './prompt-directives';

describe('parseDirectives', () => {
  it('reads every known directive, the last one winning', () => {
    expect(
      parseDirectives([
        '[[sim:complexity=simple]] [[sim:think_ms=100]]',
        'text [[sim:complexity=complex]] [[sim:reasoning_tokens=42]] [[sim:fault=429x2:retry_after_ms=200]]',
      ]),
    ).toEqual({
      complexity: 'complex',
      thinkMs: 100,
      reasoningTokens: 42,
      fault: '429x2:retry_after_ms=200',
    });
  });

  it('reads the answer every model gives', () => {
    expect(parseDirectives(['Capital? [[sim:answer=Paris]]'])).toEqual({ answer: 'Paris' });
    expect(parseDirectives(['[[sim:answer=]]'])).toEqual({});
  });

  it('ignores malformed values and unknown keys', () => {
    expect(parseDirectives(['[[sim:think_ms=soon]] [[sim:unknown=1]] [[sim:complexity=huge]]'])).toEqual({});
  });

  it('strips directives from text', () => {
    expect(stripDirectives('a [[sim:think_ms=1]]b')).toBe('a b');
  });

  it('reads a directive after ones left open, which end at the next directive', () => {
    const prompt = `${'[[sim:think_ms='.repeat(20_000)}[[sim:think_ms=7]]`;
    expect(parseDirectives([prompt])).toEqual({ thinkMs: 7 });
    expect(stripDirectives(prompt)).toBe('[[sim:think_ms='.repeat(20_000));
  });
});

describe('parseFaultSpec', () => {
  it.each([
    ['429', { kind: '429', times: undefined, retryAfterMs: 1_000 }],
    ['429x2', { kind: '429', times: 2, retryAfterMs: 1_000 }],
    ['429:retry_after_ms=200', { kind: '429', times: undefined, retryAfterMs: 200 }],
    ['429x1:retry_after_ms=300', { kind: '429', times: 1, retryAfterMs: 300 }],
    ['500x3', { kind: '500', times: 3, retryAfterMs: 1_000 }],
    ['HANG', { kind: 'hang', times: undefined, retryAfterMs: 1_000 }],
    ['runaway', { kind: 'runaway', times: undefined, retryAfterMs: 1_000 }],
  ])('%s', (raw, expected) => {
    expect(parseFaultSpec(raw)).toEqual(expected);
  });

  it('explains an unknown fault', () => {
    expect(parseFaultSpec('418')).toEqual({
      error: expect.stringContaining("Invalid simulator fault '418'"),
    });
  });
});
