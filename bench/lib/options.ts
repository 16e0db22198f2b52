// Command-line and environment options of a benchmark: `--name=value`, `--name value`, `NAME=value` or the
// environment variable NAME, in that order of precedence; `--help` prints the script's opening comment.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface NumberOptionRange {
  min?: number;
  max?: number;
  /** Integers only (the default); false accepts any finite number. */
  integer?: boolean;
}

/** The option's value as given (flag, NAME=value argument, then environment), or undefined when not given. */
export function rawOption(
  name: string,
  argv: readonly string[] = process.argv,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const flag = `--${name.toLowerCase().replaceAll('_', '-')}`;
  let raw: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === flag) raw = argv[i + 1];
    else if (a.startsWith(`${flag}=`)) raw = a.slice(flag.length + 1);
    else if (a.startsWith(`${name}=`)) raw = a.slice(name.length + 1);
  }
  raw ??= env[name];
  return raw === '' ? undefined : raw;
}

export function numberOption(
  name: string,
  fallback: number,
  { min = 1, max = 10_000_000, integer = true }: NumberOptionRange = {},
): number {
  const raw = rawOption(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const valid = integer ? Number.isInteger(v) : Number.isFinite(v);
  if (!valid || v < min || v > max)
    throw new Error(
      `${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got '${raw}'`,
    );
  return v;
}

/** One of a fixed set of words (`--mode=background`, `MODE=background`); the fallback when not given. */
export function choiceOption<C extends string>(
  name: string,
  choices: readonly C[],
  fallback: C,
  argv: readonly string[] = process.argv,
  env: Record<string, string | undefined> = process.env,
): C {
  const raw = rawOption(name, argv, env);
  if (raw === undefined) return fallback;
  const choice = choices.find((c) => c === raw);
  if (choice === undefined) throw new Error(`${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  return choice;
}

/** A yes/no environment variable: 1, true or yes. */
export const flagOn = (name: string): boolean =>
  ['1', 'true', 'yes'].includes(String(process.env[name] ?? '').toLowerCase());

/** An environment variable passed through to a service when set. */
export const passThrough = (names: readonly string[]): Record<string, string> =>
  Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]]] : [])));

/** With --help or -h: prints the script's opening `//` comment (its usage and options) and exits. */
export function helpFromHeader(scriptUrl: string): void {
  if (!process.argv.includes('--help') && !process.argv.includes('-h')) return;
  const lines = readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n');
  const end = lines.findIndex((l) => !l.startsWith('//'));
  console.log(
    lines
      .slice(0, end)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}
