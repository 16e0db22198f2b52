import { answersAgree, normaliseAnswer } from './answer-agreement';

describe('answersAgree', () => {
  it.each([
    ['Paris', 'paris'],
    ['  The answer is 42.  ', 'the answer is 42'],
    ['"Yes"', 'yes!'],
    ['line one\n\nline   two', 'line one line two'],
    ['ｆｕｌｌｗｉｄｔｈ', 'fullwidth'],
  ])('counts %j and %j as agreeing', (a, b) => {
    expect(answersAgree(a, b)).toBe(true);
  });

  it.each([
    ['42', '43'],
    ['yes', 'no'],
    ['It is safe.', 'It is not safe.'],
    ['', 'anything'],
    ['3.14', '3,14'],
  ])('counts %j and %j as different', (a, b) => {
    expect(answersAgree(a, b)).toBe(false);
  });

  it('keeps punctuation inside the text', () => {
    expect(normaliseAnswer('(a) 1,000.5!')).toBe('a) 1,000.5');
  });
});
