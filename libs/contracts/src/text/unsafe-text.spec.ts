import { escapeUnsafeText, findUnsafeText, replaceUnsafeText, unsafeTextProblem } from './unsafe-text';

describe('findUnsafeText', () => {
  it('accepts ordinary text, emoji (well-formed surrogate pairs) and non-string values', () => {
    expect(
      findUnsafeText({ input: 'héllo 😀 \u2028', n: 1, b: true, z: null, list: ['a', { deep: 'ok' }] }),
    ).toBeNull();
    expect(findUnsafeText(undefined)).toBeNull();
  });

  it('names the path of a NUL in a nested value', () => {
    expect(
      findUnsafeText({
        input: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b\u0000' },
        ],
      }),
    ).toEqual({
      path: 'input[1].content',
      problem: 'NUL',
    });
  });

  it('finds a lone high or low surrogate, and prefixes the given path', () => {
    expect(findUnsafeText({ note: 'x\uD800y' }, 'metadata')).toEqual({
      path: 'metadata.note',
      problem: 'lone surrogate',
    });
    expect(findUnsafeText(['\uDC00'], 'answers')).toEqual({ path: 'answers[0]', problem: 'lone surrogate' });
    expect(findUnsafeText('ab\uD83D')).toEqual({ path: '(root)', problem: 'lone surrogate' });
  });

  it('checks object keys and shows the bad key escaped', () => {
    expect(findUnsafeText({ metadata: { 'k\u0000': 'v' } })).toEqual({
      path: 'metadata.k\\u0000',
      problem: 'NUL',
    });
  });

  it('reports the first problem in document order', () => {
    expect(findUnsafeText({ a: 'ok', b: ['\uDFFF', '\u0000'], c: '\u0000' })).toEqual({
      path: 'b[0]',
      problem: 'lone surrogate',
    });
  });

  it('walks nesting deeper than the call stack', () => {
    let deep: unknown = 'bad\u0000';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(findUnsafeText(deep)?.problem).toBe('NUL');
  });
});

describe('unsafeTextProblem, replaceUnsafeText and escapeUnsafeText', () => {
  it('classify, replace and escape only the unsafe characters', () => {
    expect(unsafeTextProblem('a\u0000')).toBe('NUL');
    expect(unsafeTextProblem('\uD83D\uDE00')).toBeNull();
    expect(replaceUnsafeText('a\u0000b\uD800c😀')).toBe('a\uFFFDb\uFFFDc😀');
    expect(escapeUnsafeText('a\u0000\uDBFF')).toBe('a\\u0000\\udbff');
  });
});
