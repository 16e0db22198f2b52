import { z } from 'zod';

// Turns a zod failure on a request body into the 400 OpenAI would give: one message naming the parameter, its
// `param` path and a code. Shared by every endpoint of the simulator that takes a JSON body.

export interface RequestProblem {
  message: string;
  param: string | null;
  code: string;
}

// OpenAI names a parameter like `messages[0].content`; zod reports the path as an array.
export function formatParam(path: readonly PropertyKey[]): string | null {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

// Turns the first zod issue into the message OpenAI would give, e.g. "Missing required parameter: 'messages'."
export function describeRequestProblem(error: z.ZodError): RequestProblem {
  const issue = error.issues[0];
  if (!issue) return { message: 'Invalid request body.', param: null, code: 'invalid_request' };
  return describeIssue(issue, []);
}

function describeIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): RequestProblem {
  const path = [...prefix, ...issue.path];
  const param = formatParam(path);
  const name = param ?? 'body';
  const input = (issue as { input?: unknown }).input;
  if (input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    return { message: `Missing required parameter: '${name}'.`, param, code: 'missing_required_parameter' };
  }
  switch (issue.code) {
    case 'invalid_type':
      return {
        message: `Invalid type for '${name}': expected ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}, but got ${describe(input)} instead.`,
        param,
        code: 'invalid_type',
      };
    case 'invalid_value':
      return {
        message: `Invalid value for '${name}': ${JSON.stringify(input)}. Supported values are: ${issue.values.map((v) => `'${String(v)}'`).join(', ')}.`,
        param,
        code: 'invalid_value',
      };
    case 'invalid_union': {
      if (issue.discriminator !== undefined) {
        const options = 'options' in issue ? (issue.options ?? []) : [];
        // zod already ends the path with the discriminator key.
        const discriminatorParam =
          path.at(-1) === issue.discriminator ? name : formatParam([...path, issue.discriminator]);
        return {
          message: `Invalid value for '${discriminatorParam}': ${JSON.stringify((input as Record<string, unknown> | null)?.[issue.discriminator])}. Supported values are: ${options.map((v) => `'${String(v)}'`).join(', ')}.`,
          param: discriminatorParam,
          code: 'invalid_value',
        };
      }
      // Report the alternative that got furthest (e.g. an array of parts with one bad part) rather than "no match".
      const deepest = issue.errors
        .map((alternative) => alternative[0])
        .filter((i): i is z.core.$ZodIssue => i !== undefined)
        .sort((a, b) => b.path.length - a.path.length)[0];
      if (deepest && deepest.path.length > 0) return describeIssue(deepest, path);
      const expected = issue.errors
        .flat()
        .flatMap((i) => (i.code === 'invalid_type' ? [i.expected] : []))
        .join(' or ');
      return {
        message: `Invalid type for '${name}': expected ${expected || 'another type'}, but got ${describe(input)} instead.`,
        param,
        code: 'invalid_type',
      };
    }
    case 'too_small': {
      if (issue.origin === 'array') {
        return {
          message: `Invalid '${name}': empty array. Expected an array with minimum length ${String(issue.minimum)}, but got an empty array instead.`,
          param,
          code: 'empty_array',
        };
      }
      return { message: `Invalid '${name}': ${issue.message}.`, param, code: 'invalid_value' };
    }
    case 'unrecognized_keys': {
      // OpenAI's own wording for a parameter it does not know; the param is the first unknown key.
      const key = issue.keys[0] ?? '';
      return {
        message: `Unrecognized request argument supplied: ${formatParam([...path, key]) ?? key}`,
        param: formatParam([...path, key]),
        code: 'unknown_parameter',
      };
    }
    case 'too_big':
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_key':
    case 'invalid_element':
    case 'custom':
      return { message: `Invalid '${name}': ${issue.message}.`, param, code: 'invalid_value' };
  }
}

export function parseRequestBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
): { ok: true; request: z.infer<S> } | { ok: false; problem: RequestProblem } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      problem: {
        message: 'The request body must be a JSON object.',
        param: null,
        code: 'invalid_request_body',
      },
    };
  }
  const parsed = schema.safeParse(body, { reportInput: true });
  if (!parsed.success) return { ok: false, problem: describeRequestProblem(parsed.error) };
  return { ok: true, request: parsed.data };
}
