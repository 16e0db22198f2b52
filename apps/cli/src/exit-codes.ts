// What the CLI's exit status means; scripts branch on these, so a number never changes meaning.
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  refused: 3,
  notFound: 4,
  taskNotCompleted: 5,
  verifyFailed: 6,
  unavailable: 7,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit codes as `--help` and the README list them. */
export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  unexpected error (a bug, or an answer the CLI cannot read)
  2  usage or configuration error, or a request the API refused as invalid (400, 409, 413, 415, 422)
  3  refused: the API key is missing, unknown or lacks the role (401, 403)
  4  not found (404)
  5  the task ended other than completed (failed, cancelled, waiting for a human), or --wait timed out
  6  audit verify-export found a broken chain or checkpoint
  7  the service is unavailable (no connection, 429, 502, 503, 504)`;

/** An error the CLI reports in one message and ends with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error listing every problem at once. */
export function usageError(problems: readonly string[]): CliError {
  return new CliError(
    problems.length === 1
      ? problems[0]!
      : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    EXIT.usage,
  );
}

/** The exit code of an HTTP error status from the gateway. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.refused;
  if (status === 404) return EXIT.notFound;
  if (status === 429 || status === 502 || status === 503 || status === 504) return EXIT.unavailable;
  if (status >= 400 && status < 500) return EXIT.usage;
  return EXIT.unexpected;
}
