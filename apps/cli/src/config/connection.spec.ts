import { CliError, EXIT } from '../exit-codes';
import { type ConnectionSources, resolveConnection } from './connection';

const HOME = '/home/ada';
const DEFAULT_PATH = `${HOME}/.config/deliberate/config.json`;

function sources(
  over: Partial<ConnectionSources> & { files?: Record<string, string> } = {},
): ConnectionSources {
  const files = over.files ?? {};
  return {
    flags: over.flags ?? {},
    env: over.env ?? {},
    readConfigFile: (path) => files[path] ?? null,
    homeDir: HOME,
  };
}

const profiles = (p: Record<string, unknown>) => JSON.stringify({ profiles: p });

function problemsOf(s: ConnectionSources): string {
  try {
    resolveConnection(s);
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(EXIT.usage);
    return (e as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('resolveConnection', () => {
  it('takes flags over the environment over the profile, setting by setting', () => {
    const files = { [DEFAULT_PATH]: profiles({ default: { url: 'http://profile', apiKey: 'profile-key' } }) };
    expect(resolveConnection(sources({ files }))).toEqual({ url: 'http://profile', apiKey: 'profile-key' });
    expect(resolveConnection(sources({ files, env: { DELIBERATE_URL: 'http://env/' } }))).toEqual({
      url: 'http://env',
      apiKey: 'profile-key',
    });
    expect(
      resolveConnection(
        sources({
          files,
          env: { DELIBERATE_URL: 'http://env', DELIBERATE_API_KEY: 'env-key' },
          flags: { apiKey: 'flag-key' },
        }),
      ),
    ).toEqual({ url: 'http://env', apiKey: 'flag-key' });
  });

  it('reads a named profile from $DELIBERATE_CONFIG', () => {
    const files = { '/etc/d.json': profiles({ staging: { url: 'https://staging.example', apiKey: 'k' } }) };
    expect(
      resolveConnection(
        sources({ files, env: { DELIBERATE_CONFIG: '/etc/d.json' }, flags: { profile: 'staging' } }),
      ),
    ).toEqual({ url: 'https://staging.example', apiKey: 'k' });
  });

  it('needs no config file when flags or the environment give everything', () => {
    expect(
      resolveConnection(sources({ env: { DELIBERATE_URL: 'http://g', DELIBERATE_API_KEY: 'k' } })),
    ).toEqual({
      url: 'http://g',
      apiKey: 'k',
    });
  });

  it('lists every missing setting at once, saying where each could come from', () => {
    const message = problemsOf(sources());
    expect(message).toMatch(/^2 problems:/);
    expect(message).toContain('no gateway URL: pass --url, set DELIBERATE_URL');
    expect(message).toContain(
      `no API key: pass --api-key, set DELIBERATE_API_KEY, or set "apiKey" in profile 'default' of ${DEFAULT_PATH}`,
    );
  });

  it('names a profile that is not in the file, with the ones that are, and a file that is missing', () => {
    const files = { [DEFAULT_PATH]: profiles({ default: {}, prod: {} }) };
    expect(problemsOf(sources({ files, flags: { profile: 'staging' } }))).toContain(
      "profile 'staging' is not in /home/ada/.config/deliberate/config.json (profiles: default, prod)",
    );
    expect(problemsOf(sources({ flags: { profile: 'staging' } }))).toContain(
      `profile 'staging': the config file ${DEFAULT_PATH} does not exist`,
    );
  });

  it('refuses a config file that is not JSON or has no profiles object, and fields that are not strings', () => {
    expect(problemsOf(sources({ files: { [DEFAULT_PATH]: '{ nope' } }))).toContain(
      `${DEFAULT_PATH}: not JSON`,
    );
    expect(problemsOf(sources({ files: { [DEFAULT_PATH]: '[]' } }))).toContain('needs a "profiles" object');
    const message = problemsOf(
      sources({ files: { [DEFAULT_PATH]: profiles({ default: { url: 1, apiKey: true } }) } }),
    );
    expect(message).toContain("profile 'default'.url must be a string");
    expect(message).toContain("profile 'default'.apiKey must be a string");
  });

  it('refuses a URL that is not http(s) and a key with spaces or control characters, naming the source', () => {
    const message = problemsOf(sources({ flags: { url: 'ftp://x', apiKey: 'a key' } }));
    expect(message).toContain('--url: must be an http(s) URL, not ftp:');
    expect(message).toContain('--api-key: an API key is one word of printable characters');
    expect(
      problemsOf(sources({ env: { DELIBERATE_URL: 'not a url', DELIBERATE_API_KEY: 'k\0' } })),
    ).toContain("DELIBERATE_URL: 'not a url' is not a URL");
  });
});
