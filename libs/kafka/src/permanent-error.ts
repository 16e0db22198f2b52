// Thrown by a handler when retrying cannot help (unknown tenant, conflicting duplicate):
// the message goes straight to the dead-letter topic with this error's message as the reason.
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

// Postgres answers these the same way for the same input, however often it is retried: data exceptions
// (class 22: NUL or lone surrogate, too long, out of range, bad format), check and not-null violations, and program
// limits (class 54: a row or index entry too big). Unique and foreign-key violations are not here: a concurrent
// transaction can make them go away.
const PERMANENT_SQLSTATE = /^(22[0-9A-Z]{3}|23514|23502|54[0-9A-Z]{3})$/;

/** Whether retrying the work that threw `error` can never succeed, so its message should be dead-lettered at once. */
export function isPermanentError(error: unknown): boolean {
  if (error instanceof PermanentError) return true;
  const code = sqlState(error);
  return code !== undefined && PERMANENT_SQLSTATE.test(code);
}

// node-postgres puts the SQLSTATE on the error; TypeORM's QueryFailedError keeps it on `driverError`; other wrappers
// on `cause`.
function sqlState(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const candidate = current as { code?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) return candidate.code;
    current = candidate.driverError ?? candidate.cause;
  }
  return undefined;
}
