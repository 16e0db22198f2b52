import { CliError, EXIT, EXIT_CODES_HELP, exitCodeForStatus, usageError } from './exit-codes';

describe('exit codes', () => {
  it('maps refusals, absence and unavailability to their own codes', () => {
    expect(exitCodeForStatus(401)).toBe(EXIT.refused);
    expect(exitCodeForStatus(403)).toBe(EXIT.refused);
    expect(exitCodeForStatus(404)).toBe(EXIT.notFound);
    for (const s of [429, 502, 503, 504]) expect(exitCodeForStatus(s)).toBe(EXIT.unavailable);
  });

  it('treats the other client errors as usage errors, and a server error as unexpected', () => {
    for (const s of [400, 409, 413, 415, 422]) expect(exitCodeForStatus(s)).toBe(EXIT.usage);
    expect(exitCodeForStatus(500)).toBe(EXIT.unexpected);
    expect(exitCodeForStatus(200)).toBe(EXIT.unexpected);
  });

  it('documents every code in the help text', () => {
    for (const code of Object.values(EXIT)) expect(EXIT_CODES_HELP).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });

  it('lists several usage problems one per line, and a single one as is', () => {
    expect(usageError(['a is bad'])).toEqual(new CliError('a is bad', EXIT.usage));
    expect(usageError(['a is bad', 'b is bad']).message).toBe('2 problems:\n  - a is bad\n  - b is bad');
  });
});
