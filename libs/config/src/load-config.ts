import { z } from 'zod';
import {
  DELIBERATE_ENVIRONMENTS,
  type DeliberateEnvironment,
  wellKnownSecretProblems,
} from './well-known-secrets';

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: readonly string[],
  ) {
    super(`${service}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// Parses the environment once, at start-up, and lists every bad variable at once rather than the first.
// Outside the local stack (DELIBERATE_ENV, default production) a secret published with the repository is one of them.
export function loadConfig<S extends z.ZodType>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env,
): z.infer<S> {
  const parsed = schema.safeParse(env);
  const environment = deliberateEnvironment(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  if (environment === null) {
    problems.push(`DELIBERATE_ENV: must be one of ${DELIBERATE_ENVIRONMENTS.join(', ')}`);
  } else if (environment !== 'local') {
    // An invalid configuration still gets its well-known secrets listed: the variables the schema reads, raw.
    problems.push(...wellKnownSecretProblems(parsed.success ? parsed.data : pick(env, variablesOf(schema))));
  }
  if (!parsed.success || problems.length) throw new ConfigError(service, problems);
  return parsed.data;
}

// The variables an object schema reads, through refinements and transforms; empty for other schemas.
function variablesOf(schema: z.ZodType): string[] {
  let current: unknown = schema;
  for (let depth = 0; depth < 10 && current; depth++) {
    if (current instanceof z.ZodObject) return Object.keys(current.shape);
    const def = (current as { def?: { in?: unknown; innerType?: unknown } }).def;
    current = def?.in ?? def?.innerType;
  }
  return [];
}

const pick = (env: Record<string, string | undefined>, keys: readonly string[]) =>
  Object.fromEntries(keys.map((k) => [k, env[k]]));

/** Where the service runs: `local` (set by deploy/local/stack.sh) allows the well-known local secrets. */
export function deliberateEnvironment(
  env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env,
): DeliberateEnvironment | null {
  const value = env.DELIBERATE_ENV?.trim() || 'production';
  return (DELIBERATE_ENVIRONMENTS as readonly string[]).includes(value)
    ? (value as DeliberateEnvironment)
    : null;
}

/** Boolean env var: `true/1/yes/on` or `false/0/no/off`. */
export const envBoolean = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'must be true or false' })
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

export const envInt = (defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(defaultValue);

export const envNumber = (defaultValue: number, min = 0, max = Number.MAX_VALUE) =>
  z.coerce.number().min(min).max(max).default(defaultValue);

export const envList = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

/** For code that must run before main() (telemetry): null on a bad configuration, which main() then reports. */
export function tryLoadConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env,
): z.infer<S> | null {
  const parsed = schema.safeParse(env);
  return parsed.success ? parsed.data : null;
}
