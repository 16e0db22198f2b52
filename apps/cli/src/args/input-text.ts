import { TASK_LIMITS, unsafeTextProblem } from '@deliberate/contracts';
import { CliError, EXIT, usageError } from '../exit-codes';

// The text of a task's input or a reviewer's answer, from an argument, a file, or stdin (`-`). Text the gateway would
// refuse (not UTF-8, a NUL, a lone surrogate, too long) is refused here with where it is, before any request.

export interface InputSource {
  /** The positional argument; `-` reads stdin. */
  arg?: string | undefined;
  /** `--file <path>`; `-` reads stdin. */
  file?: string | undefined;
}

export interface InputReader {
  /** The file's size in bytes; throws a Node error (ENOENT, EISDIR, ...) when it cannot be read. */
  sizeOf(path: string): number;
  readFile(path: string): Buffer;
  /** Stdin, cut after more than `maxBytes` (enough to know it is too large). */
  readStdin(maxBytes: number): Promise<Buffer>;
}

// A character takes at most 4 bytes in UTF-8: a larger file cannot fit, and is refused before it is read.
const bytesCap = (maxChars: number) => maxChars * 4;

const where = (text: string, index: number) => {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return `line ${line}, column ${index - before.lastIndexOf('\n')}`;
};

/** Checks decoded text; `what` names it in messages. */
export function checkText(text: string, what: string, maxChars: number): string {
  if (text.length === 0) throw usageError([`${what} is empty`]);
  const problem = unsafeTextProblem(text);
  if (problem) {
    const index = problem === 'NUL' ? text.indexOf('\0') : firstLoneSurrogate(text);
    throw usageError([
      `${what} holds a ${problem} at ${where(text, index)}: the gateway refuses it (Postgres and JSON consumers cannot store it)`,
    ]);
  }
  if (text.length > maxChars) {
    throw usageError([
      `${what} is ${text.length.toLocaleString('en')} characters; the gateway accepts at most ${maxChars.toLocaleString('en')}`,
    ]);
  }
  return text;
}

function firstLoneSurrogate(text: string): number {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

function decode(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw usageError([`${what} is not valid UTF-8`]);
  }
}

function readPath(path: string, reader: InputReader, maxChars: number): Buffer {
  try {
    const size = reader.sizeOf(path);
    if (size > bytesCap(maxChars)) {
      throw usageError([
        `${path} is ${size.toLocaleString('en')} bytes: more than ${maxChars.toLocaleString('en')} characters can take, the most the gateway accepts`,
      ]);
    }
    return reader.readFile(path);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    throw new CliError(`cannot read ${path}: ${why}`, EXIT.usage);
  }
}

/** Reads the text from exactly one source. `what` names it in messages ("the input", "the answer"). */
export async function readInputText(
  source: InputSource,
  reader: InputReader,
  what: string,
  maxChars: number = TASK_LIMITS.maxInputChars,
): Promise<string> {
  const given = [source.arg, source.file].filter((s) => s !== undefined);
  if (given.length === 0) {
    throw usageError([
      `${what} is missing: give it as an argument, with --file <path>, or as - to read stdin`,
    ]);
  }
  if (given.length > 1)
    throw usageError([`${what} is given twice: pass either an argument or --file, not both`]);
  if (source.arg !== undefined && source.arg !== '-') return checkText(source.arg, what, maxChars);
  const path = source.file ?? '-';
  if (path === '-') {
    const bytes = await reader.readStdin(bytesCap(maxChars));
    if (bytes.length > bytesCap(maxChars)) {
      throw usageError([
        `${what} on stdin is more than ${maxChars.toLocaleString('en')} characters can take`,
      ]);
    }
    return checkText(decode(bytes, `${what} on stdin`), `${what} on stdin`, maxChars);
  }
  return checkText(decode(readPath(path, reader, maxChars), path), path, maxChars);
}
