import { choiceOption, rawOption } from './options.ts';

const argv = (...args: string[]) => ['node', 'bench/x.ts', ...args];

describe('rawOption', () => {
  it('takes --flag=value, --flag value and NAME=value before the environment', () => {
    expect(rawOption('POLL_MAX_MS', argv('--poll-max-ms=9'), { POLL_MAX_MS: '1' })).toBe('9');
    expect(rawOption('POLL_MAX_MS', argv('--poll-max-ms', '8'), { POLL_MAX_MS: '1' })).toBe('8');
    expect(rawOption('POLL_MAX_MS', argv('POLL_MAX_MS=7'), { POLL_MAX_MS: '1' })).toBe('7');
    expect(rawOption('POLL_MAX_MS', argv(), { POLL_MAX_MS: '1' })).toBe('1');
  });

  it('treats an empty value as not given', () => {
    expect(rawOption('MODE', argv(), { MODE: '' })).toBeUndefined();
  });
});

describe('choiceOption', () => {
  const modes = ['sync', 'background', 'both'] as const;

  it('returns the word given, or the fallback', () => {
    expect(choiceOption('MODE', modes, 'sync', argv('--mode=both'), {})).toBe('both');
    expect(choiceOption('MODE', modes, 'sync', argv(), { MODE: 'background' })).toBe('background');
    expect(choiceOption('MODE', modes, 'sync', argv(), {})).toBe('sync');
  });

  it('refuses a word outside the set, naming the choices', () => {
    expect(() => choiceOption('MODE', modes, 'sync', argv('--mode=async'), {})).toThrow(
      "MODE must be one of sync, background, both, got 'async'",
    );
  });
});
