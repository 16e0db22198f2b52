import { checkPatternSafety } from './pattern-safety';
import { BUILT_IN_PATTERNS } from './redactor';

describe('checkPatternSafety', () => {
  it('accepts patterns that run in linear time', () => {
    expect(checkPatternSafety(/ACME-\d{6}/g)).toEqual({ safe: true });
    expect(checkPatternSafety(/\b[A-Z]{2}-\d{1,8}\b/g)).toEqual({ safe: true });
  });

  it('refuses exponential and polynomial backtracking, with the complexity and an attack string', () => {
    expect(checkPatternSafety(/(a+)+$/)).toEqual({
      safe: false,
      reason: expect.stringMatching(/^can backtrack in exponential time, e\.g\. on 'a'/),
    });
    expect(checkPatternSafety(/\w+@\w+\.com/g)).toEqual({
      safe: false,
      reason: expect.stringMatching(/^can backtrack in 2nd degree polynomial time/),
    });
  });

  it('refuses what it cannot decide within its time limit', () => {
    // The phone pattern's lookarounds leave recheck only fuzzing, which takes far longer than a millisecond.
    const phone = BUILT_IN_PATTERNS.find((p) => p.kind === 'phone')!.regex;
    expect(checkPatternSafety(phone, 1)).toEqual({
      safe: false,
      reason: 'cannot be shown to run in linear time (the check did not finish within 1 ms)',
    });
  });
});
