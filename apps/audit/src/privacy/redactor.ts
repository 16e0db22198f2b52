import { findEmails } from './email-scanner';

/** A kind of personal data the redactor recognises; the replacement names it: `[redacted:email]`. */
export type RedactionKind = 'email' | 'card' | 'iban' | 'ssn' | 'phone' | 'custom';

export interface Pattern {
  kind: RedactionKind;
  regex: RegExp;
  /** A second check on a match (a checksum), so that ordinary numbers are left alone. */
  accept?: (match: string) => boolean;
}

function luhnValid(match: string): boolean {
  const digits = match.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function ibanValid(match: string): boolean {
  const iban = match.replace(/\s/g, '').toUpperCase();
  if (iban.length < 15 || iban.length > 34) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

// Regular-expression patterns, applied after the e-mail scanner. Each is bounded (no unbounded repetition), so the work
// at any position of the text is capped and a whole pass is linear; redaction-patterns.spec.ts proves each with recheck.
// Order matters: card numbers and IBANs first, so the looser phone pattern cannot take part of one.
export const BUILT_IN_PATTERNS: readonly Pattern[] = [
  { kind: 'card', regex: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, accept: luhnValid },
  { kind: 'iban', regex: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, accept: ibanValid },
  { kind: 'ssn', regex: /\b\d{3}-\d{2}-\d{4}\b/g },
  // International (+ and 8-15 digits) or grouped national numbers; separators required, so bare numbers stay.
  {
    kind: 'phone',
    regex:
      /(?<![\w+]|\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]\d{3,5}(?![\w]|[ .-]\d)|\+\d{8,15}\b/g,
  },
];

function redactEmails(text: string): string {
  const spans = findEmails(text);
  if (spans.length === 0) return text;
  let out = '';
  let last = 0;
  for (const [start, end] of spans) {
    out += `${text.slice(last, start)}[redacted:email]`;
    last = end;
  }
  return out + text.slice(last);
}

// Replaces personal data in free text before it is hashed and stored: e-mail addresses (scanned), the built-in
// patterns, then the configured ones (checked for linear time at start-up, see config.ts).
export class Redactor {
  private readonly patterns: Pattern[];

  constructor(
    readonly enabled: boolean,
    custom: readonly RegExp[] = [],
  ) {
    this.patterns = [
      ...BUILT_IN_PATTERNS,
      ...custom.map((regex) => ({
        kind: 'custom' as const,
        regex: regex.flags.includes('g') ? regex : new RegExp(regex.source, `${regex.flags}g`),
      })),
    ];
  }

  redact(text: string): string {
    if (!this.enabled) return text;
    let out = redactEmails(text);
    for (const p of this.patterns) {
      out = out.replace(p.regex, (match) => (p.accept && !p.accept(match) ? match : `[redacted:${p.kind}]`));
    }
    return out;
  }
}
