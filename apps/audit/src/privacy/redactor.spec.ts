import { Redactor } from './redactor';

describe('Redactor', () => {
  const redactor = new Redactor(true, [/ACME-\d{6}/g]);

  it('replaces emails, Luhn-valid card numbers, valid IBANs, US SSNs and phone numbers', () => {
    const text =
      'Mail jane.doe@example.com, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, call +44 20 7946 0958 or (555) 123-4567.';
    expect(redactor.redact(text)).toBe(
      'Mail [redacted:email], card [redacted:card], IBAN [redacted:iban], SSN [redacted:ssn], call [redacted:phone] or [redacted:phone].',
    );
  });

  it('leaves numbers that fail the checksum, dates and ids alone', () => {
    const text =
      'order 4111 1111 1111 1112 on 2026-11-26 for task 0195f0a4-1c2b-7d3e-8f90-123456789abc, 1500 units';
    expect(redactor.redact(text)).toBe(text);
  });

  it('applies configured patterns', () => {
    expect(redactor.redact('customer ACME-123456 complained')).toBe('customer [redacted:custom] complained');
  });

  it('does nothing when switched off', () => {
    expect(new Redactor(false).redact('jane@example.com')).toBe('jane@example.com');
  });
});

describe('Redactor on hostile text', () => {
  const redactor = new Redactor(true);
  // The largest input a task may hold, and the largest context document.
  const INPUT = 200_000;
  const DOCUMENT = 500_000;
  const run = (unit: string, chars: number) => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);

  it.each([
    ['letters', 'a'],
    ['capitals', 'Z'],
    ['digits', '7'],
    ['at signs', '@'],
    ['spaces', ' '],
    ['dots', '.'],
    ['dashes', '-'],
    ['pluses', '+'],
    ['letters and dots', 'a.'],
    ['letters and at signs', 'a@'],
    ['digits and spaces', '1 '],
    ['digits and dashes', '1-'],
    ['country codes', '+1 '],
    ['IBAN prefixes', 'DE12 '],
  ])('leaves a maximal run of %s as it is', (_what, unit) => {
    const text = run(unit, DOCUMENT);
    expect(redactor.redact(text) === text).toBe(true);
  });

  it('still redacts personal data before, inside and after a long run', () => {
    const letters = run('a', INPUT);
    const digits = run('7', INPUT);
    const text = `jane@example.com ${letters} 4111 1111 1111 1111 ${digits} SSN 123-45-6789 ${letters}. +44 20 7946 0958`;
    expect(redactor.redact(text)).toBe(
      `[redacted:email] ${letters} [redacted:card] ${digits} SSN [redacted:ssn] ${letters}. [redacted:phone]`,
    );
  });

  it('takes a long run of local-part characters before an @ as part of the address', () => {
    expect(redactor.redact(`${run('a', INPUT)}@example.com, then`)).toBe('[redacted:email], then');
  });

  it('redacts every address of a text made of addresses', () => {
    const text = 'x@y.io '.repeat(20_000);
    expect(redactor.redact(text)).toBe('[redacted:email] '.repeat(20_000));
  });

  it('leaves near misses alone: no domain dot, a one-letter top-level label, card digits failing Luhn', () => {
    const text = 'jane@example, jane@example.c, @example.com, 4111 1111 1111 1112, 123-45-678';
    expect(redactor.redact(text)).toBe(text);
  });

  it('redacts at the very start and end of the text, and next to punctuation', () => {
    expect(redactor.redact('a@b.co')).toBe('[redacted:email]');
    expect(redactor.redact('(a@b.co)')).toBe('([redacted:email])');
    expect(redactor.redact('4111111111111111')).toBe('[redacted:card]');
    expect(redactor.redact('<4111-1111-1111-1111>')).toBe('<[redacted:card]>');
  });
});
