// Whether two answers agree, as shadow evaluation's first measure: equal once normalised. Case, Unicode forms,
// runs of whitespace and punctuation around the text do not count; anything else does (a different number, a
// negation, an extra clause). Strict on purpose: a judge model is the measure for free-form answers.

const EDGE = new Set([...' "\'`«»“”‘’.,;:!?()[]{}']);

/** The answer as compared: NFKC, lower case, whitespace collapsed, surrounding punctuation and quotes removed. */
export function normaliseAnswer(answer: string): string {
  const text = answer.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ');
  // Trimmed by hand: a regular expression anchored at both ends runs in quadratic time on a long run of spaces.
  let start = 0;
  let end = text.length;
  while (start < end && EDGE.has(text[start]!)) start += 1;
  while (end > start && EDGE.has(text[end - 1]!)) end -= 1;
  return text.slice(start, end);
}

/** True when both answers are equal once normalised. */
export function answersAgree(live: string, shadow: string): boolean {
  return normaliseAnswer(live) === normaliseAnswer(shadow);
}
