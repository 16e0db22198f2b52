// Text Postgres and JSON consumers cannot store or round-trip: NUL (rejected by text and jsonb columns) and lone
// UTF-16 surrogates (invalid Unicode, rejected by jsonb and mangled when encoded as UTF-8). Refused at every boundary.

export type UnsafeTextProblem = 'NUL' | 'lone surrogate';

export interface UnsafeText {
  /** Where the first unsafe string sits, e.g. `input[2].content` or `metadata.note`; `(root)` for a bare string. */
  path: string;
  problem: UnsafeTextProblem;
}

// In a `u` regex a well-formed surrogate pair is one code point, so \p{Cs} only matches a lone surrogate; linear time.
const UNSAFE_CHAR = /[\0\p{Cs}]/u;
const UNSAFE_CHARS = /[\0\p{Cs}]/gu;

/** The problem of one string, or null when it is safe. */
export function unsafeTextProblem(text: string): UnsafeTextProblem | null {
  const match = UNSAFE_CHAR.exec(text);
  if (!match) return null;
  return match[0] === '\0' ? 'NUL' : 'lone surrogate';
}

/**
 * The first string (value or object key) anywhere in `value` holding a NUL or a lone surrogate, with its path;
 * null when there is none. Walks plain JSON-like data: objects, arrays, strings; other values are ignored.
 */
export function findUnsafeText(value: unknown, path = ''): UnsafeText | null {
  // An explicit stack rather than recursion: a hostile document may nest deeper than the call stack.
  const stack: { value: unknown; path: string }[] = [{ value, path }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.value;
    if (typeof v === 'string') {
      const problem = unsafeTextProblem(v);
      if (problem) return { path: item.path || '(root)', problem };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i -= 1) stack.push({ value: v[i], path: `${item.path}[${i}]` });
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (const key of keys) {
        const problem = unsafeTextProblem(key);
        if (problem) return { path: joinPath(item.path, escapeUnsafeText(key)), problem };
      }
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const key = keys[i]!;
        stack.push({ value: (v as Record<string, unknown>)[key], path: joinPath(item.path, key) });
      }
    }
  }
  return null;
}

/** `text` with every NUL and lone surrogate replaced by U+FFFD, for storing what a third party sent us. */
export function replaceUnsafeText(text: string): string {
  return UNSAFE_CHAR.test(text) ? text.replace(UNSAFE_CHARS, '\uFFFD') : text;
}

/** `text` with every NUL and lone surrogate written as a `\uXXXX` escape, for naming it in an error message. */
export function escapeUnsafeText(text: string): string {
  return UNSAFE_CHAR.test(text)
    ? text.replace(UNSAFE_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : text;
}

function joinPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}
