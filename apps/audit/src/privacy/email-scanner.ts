// Finds e-mail addresses in linear time. It matches what /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g matches,
// but that pattern backtracks: on a run of letters or digits without an '@' it rescans the run from every position,
// quadratic in the run's length. Here each '@' is expanded once to the left over local-part characters and once to
// the right over domain characters; those runs stop at the neighbouring '@'s, so no character is read more than a
// few times.

const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number) => c >= 48 && c <= 57;
// A-Z a-z 0-9 . -
const isDomainChar = (c: number) => isLetter(c) || isDigit(c) || c === 46 || c === 45;
// The domain characters and _ % +
const isLocalChar = (c: number) => isDomainChar(c) || c === 95 || c === 37 || c === 43;

/** The [start, end) spans of the e-mail addresses in `text`, in order, not overlapping. */
export function findEmails(text: string): [number, number][] {
  const spans: [number, number][] = [];
  // Where the previous address ended: the next one cannot begin before it.
  let from = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > from && isLocalChar(text.charCodeAt(start - 1))) start -= 1;
    if (start === at) continue;
    let runEnd = at + 1;
    while (runEnd < text.length && isDomainChar(text.charCodeAt(runEnd))) runEnd += 1;
    // The domain ends with the last dot of the run that has a domain character before it and two letters after it;
    // the top-level label then takes every letter that follows.
    for (let dot = runEnd - 3; dot >= at + 2; dot -= 1) {
      if (
        text.charCodeAt(dot) === 46 &&
        isLetter(text.charCodeAt(dot + 1)) &&
        isLetter(text.charCodeAt(dot + 2))
      ) {
        let end = dot + 3;
        while (end < runEnd && isLetter(text.charCodeAt(end))) end += 1;
        spans.push([start, end]);
        from = end;
        break;
      }
    }
  }
  return spans;
}
