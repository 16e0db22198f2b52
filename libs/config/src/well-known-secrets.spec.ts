import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config';
import { WELL_KNOWN_SECRETS } from './well-known-secrets';

const schema = z.object({
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/deliberate'),
  GATEWAY_ADMIN_API_KEY: z.string().optional(),
  LEDGER_INTERNAL_TOKEN: z.string().optional(),
  AUDIT_SIGNING_KEY: z.string().optional(),
  SOME_PORT: z.coerce.number().default(3000),
});

const problemsOf = (env: Record<string, string | undefined>): readonly string[] => {
  try {
    loadConfig('svc', schema, env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
};

describe('well-known local secrets', () => {
  const published = {
    GATEWAY_ADMIN_API_KEY: 'local-platform-admin-key',
    LEDGER_INTERNAL_TOKEN: 'local-ledger-internal-token',
    AUDIT_SIGNING_KEY: 'bG9jYWwtb25seS1hdWRpdC1zaWduaW5nLWtleS0wMDA=',
  };

  it('refuses them outside the local stack, naming every variable that holds one', () => {
    const problems = problemsOf(published);
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'GATEWAY_ADMIN_API_KEY',
      'LEDGER_INTERNAL_TOKEN',
      'AUDIT_SIGNING_KEY',
    ]);
    expect(problems[0]).toMatch(/well-known local value.*set a secret of your own/);
    expect(() => loadConfig('svc', schema, { ...published, DELIBERATE_ENV: 'production' })).toThrow(
      /svc: invalid configuration[\s\S]*GATEWAY_ADMIN_API_KEY: holds a well-known local value/,
    );
  });

  it('lists them with the schema problems, all at once', () => {
    const problems = problemsOf({ ...published, SOME_PORT: 'x' });
    expect(problems[0]).toMatch(/^SOME_PORT:/);
    expect(problems.slice(1).map((p) => p.split(':')[0])).toEqual(Object.keys(published));
  });

  it('finds the variables of a refined and transformed schema too', () => {
    const wrapped = schema.superRefine(() => undefined).transform((c) => ({ ...c, extra: 1 }));
    expect(() =>
      loadConfig('svc', wrapped, { GATEWAY_ADMIN_API_KEY: 'local-platform-admin-key', SOME_PORT: 'x' }),
    ).toThrow(/SOME_PORT[\s\S]*GATEWAY_ADMIN_API_KEY: holds a well-known local value/);
  });

  it('refuses a well-known value whichever variable carries it', () => {
    expect(problemsOf({ LEDGER_INTERNAL_TOKEN: 'local-audit-internal-token' })).toEqual([
      expect.stringMatching(/^LEDGER_INTERNAL_TOKEN: holds a well-known local value/),
    ]);
  });

  it('refuses a well-known password inside a connection URL', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://postgres:postgres@db:5432/deliberate' })).toEqual([
      expect.stringMatching(/^DATABASE_URL: its password is a well-known local value/),
    ]);
    expect(problemsOf({ DATABASE_URL: 'postgres://deliberate_ledger:9f1c2e@db:5432/deliberate' })).toEqual(
      [],
    );
  });

  it('lets the local stack use them', () => {
    expect(loadConfig('svc', schema, { ...published, DELIBERATE_ENV: 'local' })).toMatchObject(published);
  });

  it('accepts secrets of your own and the passwordless local default', () => {
    expect(
      problemsOf({ GATEWAY_ADMIN_API_KEY: 'a-key-of-my-own-0123456789', LEDGER_INTERNAL_TOKEN: undefined }),
    ).toEqual([]);
  });

  it('refuses an unknown DELIBERATE_ENV', () => {
    expect(problemsOf({ DELIBERATE_ENV: 'staging' })).toEqual([
      'DELIBERATE_ENV: must be one of local, production',
    ]);
  });

  it('covers every secret default that the scripts publish', () => {
    // `${VAR:-value}` in the stack script and compose file: a secret default added there must be listed here.
    const root = join(__dirname, '../../..');
    const published = ['deploy/local/stack.sh', 'docker-compose.yml'].flatMap((file) =>
      [...readFileSync(join(root, file), 'utf8').matchAll(/\$\{([A-Z0-9_]+):-([^}]+)\}/g)]
        // Public keys (AUDIT_CHECKPOINT_PUBLIC_KEYS) are meant to be published: not secrets.
        .filter(
          ([, variable]) => /KEY|TOKEN|PASSWORD|SECRET|SEED/.test(variable!) && !/PUBLIC_KEY/.test(variable!),
        )
        .map(([, variable, value]) => `${variable}=${value}`),
    );
    expect(published.length).toBeGreaterThan(0);
    const listed = new Set(WELL_KNOWN_SECRETS.map((s) => s.value));
    expect(published.filter((p) => !listed.has(p.slice(p.indexOf('=') + 1)))).toEqual([]);
  });
});
