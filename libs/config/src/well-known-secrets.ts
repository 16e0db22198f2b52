// Secrets that ship with the repository (deploy/local/stack.sh, former docker-compose.yml defaults): anyone can read
// them, so a service refuses to start with one unless DELIBERATE_ENV=local says it is the local stack.
// A value added to a script as a local default belongs here too.

export const DELIBERATE_ENVIRONMENTS = ['local', 'production'] as const;
export type DeliberateEnvironment = (typeof DELIBERATE_ENVIRONMENTS)[number];

/** Every well-known value, with the variable it was published for. */
export const WELL_KNOWN_SECRETS: readonly { variable: string; value: string }[] = [
  { variable: 'GATEWAY_ADMIN_API_KEY', value: 'local-platform-admin-key' },
  { variable: 'GATEWAY_PLATFORM_AUDITOR_API_KEY', value: 'local-platform-auditor-key' },
  { variable: 'LEDGER_INTERNAL_TOKEN', value: 'local-ledger-internal-token' },
  { variable: 'WEBHOOKS_INTERNAL_TOKEN', value: 'local-webhooks-internal-token' },
  { variable: 'AUDIT_INTERNAL_TOKEN', value: 'local-audit-internal-token' },
  { variable: 'AUDIT_DATABASE_PASSWORD', value: 'local-audit-writer-password' },
  // base64 of "local-only-audit-signing-key-000": the checkpoint seed docker-compose.yml used to default to.
  { variable: 'AUDIT_SIGNING_KEY', value: 'bG9jYWwtb25seS1hdWRpdC1zaWduaW5nLWtleS0wMDA=' },
];

// Passwords found inside connection URLs (DATABASE_URL, AUDIT_DATABASE_URL): the ones above, and the postgres
// image's superuser password the former docker-compose.yml used.
const WELL_KNOWN_PASSWORDS = new Set([...WELL_KNOWN_SECRETS.map((s) => s.value), 'postgres']);

const wellKnownValues = new Set(WELL_KNOWN_SECRETS.map((s) => s.value));

// A connection URL's password counts too: postgres://user:<secret>@host/db.
function urlPassword(value: string): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return null;
  try {
    const password = new URL(value).password;
    return password ? decodeURIComponent(password) : null;
  } catch {
    return null;
  }
}

/**
 * The variables of a parsed configuration that hold a well-known value, whichever variable it was published for,
 * each as a problem saying what to set. Only string values are looked at: those are where secrets live.
 */
export function wellKnownSecretProblems(config: unknown): string[] {
  if (typeof config !== 'object' || config === null) return [];
  const problems: string[] = [];
  for (const [variable, value] of Object.entries(config as Record<string, unknown>)) {
    if (typeof value !== 'string' || !value) continue;
    if (wellKnownValues.has(value.trim())) {
      problems.push(
        `${variable}: holds a well-known local value published with this repository; set a secret of your own ` +
          `(e.g. openssl rand -hex 32), or DELIBERATE_ENV=local on a developer machine`,
      );
      continue;
    }
    const password = urlPassword(value);
    if (password !== null && WELL_KNOWN_PASSWORDS.has(password)) {
      problems.push(
        `${variable}: its password is a well-known local value; give the role a password of your own, ` +
          `or set DELIBERATE_ENV=local on a developer machine`,
      );
    }
  }
  return problems;
}
