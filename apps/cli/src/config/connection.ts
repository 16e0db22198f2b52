import { usageError } from '../exit-codes';

// Where the CLI finds the gateway and its key: flags, else DELIBERATE_URL / DELIBERATE_API_KEY, else a profile of the
// config file. Each setting is taken from the first source that has it; every problem is listed at once.

export interface Connection {
  url: string;
  apiKey: string;
}

export interface ConnectionSources {
  flags: { url?: string | undefined; apiKey?: string | undefined; profile?: string | undefined };
  env: Record<string, string | undefined>;
  /** The config file's text, or null when it does not exist. */
  readConfigFile: (path: string) => string | null;
  homeDir: string;
}

export const DEFAULT_PROFILE = 'default';

export function configFilePath(env: Record<string, string | undefined>, homeDir: string): string {
  return env['DELIBERATE_CONFIG']?.trim() || `${homeDir}/.config/deliberate/config.json`;
}

interface Profile {
  url?: string;
  apiKey?: string;
}

function readProfile(
  text: string | null,
  path: string,
  name: string,
  named: boolean,
  problems: string[],
): Profile {
  if (text === null) {
    if (named) problems.push(`profile '${name}': the config file ${path} does not exist`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    problems.push(`${path}: not JSON (${(e as Error).message})`);
    return {};
  }
  const profiles = (parsed as { profiles?: unknown } | null)?.profiles;
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) {
    problems.push(
      `${path}: needs a "profiles" object, e.g. { "profiles": { "default": { "url": ..., "apiKey": ... } } }`,
    );
    return {};
  }
  const profile = (profiles as Record<string, unknown>)[name];
  if (profile === undefined) {
    if (named) {
      const known = Object.keys(profiles).join(', ') || '(none)';
      problems.push(`profile '${name}' is not in ${path} (profiles: ${known})`);
    }
    return {};
  }
  if (typeof profile !== 'object' || profile === null || Array.isArray(profile)) {
    problems.push(`${path}: profile '${name}' must be an object with url and apiKey`);
    return {};
  }
  const out: Profile = {};
  for (const field of ['url', 'apiKey'] as const) {
    const v = (profile as Record<string, unknown>)[field];
    if (v === undefined) continue;
    if (typeof v === 'string') out[field] = v;
    else problems.push(`${path}: profile '${name}'.${field} must be a string`);
  }
  return out;
}

function checkUrl(url: string, from: string, problems: string[]): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`${from}: '${url}' is not a URL`);
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problems.push(`${from}: must be an http(s) URL, not ${parsed.protocol}`);
    return null;
  }
  // Paths are appended to it: /v1/tasks, not //v1/tasks.
  let trimmed = url;
  while (trimmed.endsWith('/')) trimmed = trimmed.slice(0, -1);
  return trimmed;
}

/** The gateway URL and API key, or a usage error naming every missing or bad setting and where it came from. */
export function resolveConnection(sources: ConnectionSources): Connection {
  const { flags, env } = sources;
  const problems: string[] = [];
  const profileName = flags.profile ?? env['DELIBERATE_PROFILE'] ?? DEFAULT_PROFILE;
  const named = flags.profile !== undefined || env['DELIBERATE_PROFILE'] !== undefined;
  const path = configFilePath(env, sources.homeDir);
  const needProfile = !(flags.url ?? env['DELIBERATE_URL']) || !(flags.apiKey ?? env['DELIBERATE_API_KEY']);
  const profile =
    needProfile || named ? readProfile(sources.readConfigFile(path), path, profileName, named, problems) : {};

  const pick = (flag: string | undefined, envName: string, field: keyof Profile, flagName: string) => {
    if (flag !== undefined) return { value: flag, from: flagName };
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: envName };
    const fromProfile = profile[field];
    if (fromProfile !== undefined) return { value: fromProfile, from: `profile '${profileName}'.${field}` };
    return null;
  };
  const url = pick(flags.url, 'DELIBERATE_URL', 'url', '--url');
  const apiKey = pick(flags.apiKey, 'DELIBERATE_API_KEY', 'apiKey', '--api-key');
  if (!url) {
    problems.push(
      `no gateway URL: pass --url, set DELIBERATE_URL, or set "url" in profile '${profileName}' of ${path}`,
    );
  }
  if (!apiKey) {
    problems.push(
      `no API key: pass --api-key, set DELIBERATE_API_KEY, or set "apiKey" in profile '${profileName}' of ${path}`,
    );
  } else if (apiKey.value === '' || [...apiKey.value].some((c) => c <= ' ' || c === '\x7f')) {
    problems.push(`${apiKey.from}: an API key is one word of printable characters`);
  }
  const checkedUrl = url ? checkUrl(url.value, url.from, problems) : null;
  if (problems.length > 0 || !checkedUrl || !apiKey) {
    throw usageError(problems);
  }
  return { url: checkedUrl, apiKey: apiKey.value };
}
