import { checkPatternSafety } from './pattern-safety';
import { BUILT_IN_PATTERNS } from './redactor';

// Redaction runs on every free-text field of every tenant's events: a pattern that backtracks on some input stalls
// the audit trail of all of them. Each built-in pattern must be proven linear by the ReDoS checker. (E-mail addresses
// are found without a pattern: email-scanner.ts, whose spec runs it on long runs and against the old pattern.)
describe('built-in redaction patterns', () => {
  it.each(BUILT_IN_PATTERNS.map((p) => [p.kind, p.regex] as const))(
    '%s runs in linear time',
    (_kind, regex) => {
      expect(checkPatternSafety(regex)).toEqual({ safe: true });
    },
  );
});
