import { usageError } from '../exit-codes';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A task id is a UUID: anything else is a usage error before any request is made. */
export function parseTaskId(value: string, what = 'task id'): string {
  if (!UUID.test(value)) {
    throw usageError([
      `${what} must be a UUID (e.g. 0b8f5c0e-3c1a-4f5e-9a59-2d4c8d1e7f10), not '${printable(value)}'`,
    ]);
  }
  return value.toLowerCase();
}

/** A value shown back in a message: control characters escaped, long values cut. */
export function printable(value: string, max = 80): string {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}
