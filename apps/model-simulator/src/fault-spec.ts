// A fault as written in the `x-sim-fault` header or a `[[sim:fault=...]]` directive:
//   429 | 500 | 503 | hang | runaway | flex_unavailable, optionally `x<count>` (fail only the first <count> identical
//   requests) and, for 429, `:retry_after_ms=<ms>`. Examples: `429`, `429x2`, `429x1:retry_after_ms=200`, `hang`.
// flex_unavailable refuses only requests for the flex service tier (429 resource unavailable); others are answered.
export type FaultKind = '429' | '500' | '503' | 'hang' | 'runaway' | 'flex_unavailable';

export interface FaultSpec {
  kind: FaultKind;
  // Fail this many attempts of the identical request body, then succeed; undefined = every attempt.
  times: number | undefined;
  retryAfterMs: number;
}

export const DEFAULT_RETRY_AFTER_MS = 1_000;

const FAULT = /^(429|500|503|hang|runaway|flex_unavailable)(?:x(\d+))?(?::retry_after_ms=(\d+))?$/;

export function parseFaultSpec(raw: string): FaultSpec | { error: string } {
  const match = FAULT.exec(raw.trim().toLowerCase());
  if (!match) {
    return {
      error: `Invalid simulator fault '${raw}': expected 429, 500, 503, hang, runaway or flex_unavailable, optionally followed by x<count> and, for 429, :retry_after_ms=<ms>.`,
    };
  }
  return {
    kind: match[1] as FaultKind,
    times: match[2] === undefined ? undefined : Number(match[2]),
    retryAfterMs: match[3] === undefined ? DEFAULT_RETRY_AFTER_MS : Number(match[3]),
  };
}
