import { createRequire } from 'node:module';
import type * as Recheck from 'recheck';

// Decides whether a regular expression runs in linear time on any input, with the ReDoS checker recheck (automata
// theory where it applies, fuzzing otherwise). What it cannot prove safe in time counts as unsafe.

/** How long one pattern may be analysed before it is declared not provably safe. */
export const PATTERN_CHECK_TIMEOUT_MS = 10_000;

export type PatternVerdict = { safe: true } | { safe: false; reason: string };

const verdicts = new Map<string, PatternVerdict>();

// Loaded on first use: about 300 ms and 13 MB that a service without custom patterns never pays.
let recheck: typeof Recheck | null = null;
const loadRecheck = () => (recheck ??= createRequire(__filename)('recheck') as typeof Recheck);

/** Synchronous (it blocks while it runs): meant for start-up and tests. Verdicts are remembered per pattern. */
export function checkPatternSafety(
  pattern: Pick<RegExp, 'source' | 'flags'>,
  timeoutMs = PATTERN_CHECK_TIMEOUT_MS,
): PatternVerdict {
  const key = `/${pattern.source}/${pattern.flags} ${timeoutMs}`;
  const known = verdicts.get(key);
  if (known) return known;
  const diagnostics = loadRecheck().checkSync(pattern.source, pattern.flags, { timeout: timeoutMs });
  let verdict: PatternVerdict;
  switch (diagnostics.status) {
    case 'safe':
      verdict = { safe: true };
      break;
    case 'vulnerable':
      verdict = {
        safe: false,
        reason: `can backtrack in ${diagnostics.complexity.summary} time, e.g. on ${diagnostics.attack.pattern}`,
      };
      break;
    case 'unknown': {
      const error = diagnostics.error;
      const detail =
        error.kind === 'timeout'
          ? `the check did not finish within ${timeoutMs} ms`
          : 'message' in error
            ? `${error.kind}: ${error.message}`
            : error.kind;
      verdict = { safe: false, reason: `cannot be shown to run in linear time (${detail})` };
      break;
    }
  }
  verdicts.set(key, verdict);
  return verdict;
}
