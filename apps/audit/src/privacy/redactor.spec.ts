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
