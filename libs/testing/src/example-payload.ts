import { z } from 'zod';

// A small valid instance of a zod schema, built from its JSON Schema: required properties only, the first option of
// a union or enum, the lower bound of a number, a string of the right format. Property-based tests mutate it; a
// schema this cannot satisfy gets an explicit error naming the paths, so a test never starts from an invalid base.

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
};

const FORMATTED: Record<string, string> = {
  uuid: '01890a5d-ac96-774b-bcce-b302099a8057',
  'date-time': '2026-01-01T00:00:00.000Z',
  date: '2026-01-01',
  uri: 'https://example.com/hook',
  url: 'https://example.com/hook',
  email: 'someone@example.com',
};

function example(schema: JsonSchema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return example(options.find((o) => o.type !== 'null') ?? options[0]!);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => example(s) as object)) as unknown;
  const type = Array.isArray(schema.type)
    ? (schema.type.find((t) => t !== 'null') ?? schema.type[0])
    : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? []) out[key] = example(schema.properties?.[key] ?? {});
      return out;
    }
    case 'array': {
      const items =
        schema.prefixItems ?? Array.from({ length: schema.minItems ?? 0 }, () => schema.items ?? {});
      return items.map((s) => example(s));
    }
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'string': {
      if (schema.format && FORMATTED[schema.format]) return FORMATTED[schema.format];
      if (schema.pattern && /^\^\[a-z0-9\]/.test(schema.pattern))
        return 'tenant-a'.slice(0, schema.maxLength ?? 8);
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    }
    case undefined:
    default:
      return {};
  }
}

export function examplePayload(
  schema: z.ZodType,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const value = { ...(example(json) as Record<string, unknown>), ...overrides };
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`no example for this schema without overrides for: ${issues}`);
  }
  return value;
}
