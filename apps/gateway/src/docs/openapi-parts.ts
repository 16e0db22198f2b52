import { z } from 'zod';

// The pieces the gateway's OpenAPI document is assembled from; schemas and query parameters come from zod.

export const schema = (s: z.ZodType, io: 'input' | 'output' = 'output') =>
  z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' });

export const json = (ref: string) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
export const problem = (description: string) => ({ description, ...json('Problem') });
export const bearer = [{ apiKey: [] }];
export const listOf = (description: string, ref: string) => ({
  description,
  content: {
    'application/json': { schema: { type: 'array', items: { $ref: `#/components/schemas/${ref}` } } },
  },
});
export const pathParameter = (name: string, format?: 'uuid') => ({
  name,
  in: 'path',
  required: true,
  schema: format ? { type: 'string', format } : { type: 'string' },
});

/**
 * The query parameters of a route, from the zod schema its service validates the query with: a changed schema
 * changes the document. A property's `.meta({ description })` becomes the parameter's description.
 */
export function queryParameters(query: z.ZodType): Record<string, unknown>[] {
  const { properties = {}, required = [] } = schema(query, 'input') as {
    properties?: Record<string, { description?: string }>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, { description, ...parameterSchema }]) => ({
    name,
    in: 'query',
    ...(required.includes(name) ? { required: true } : {}),
    schema: parameterSchema,
    ...(description === undefined ? {} : { description }),
  }));
}

/** A response whose body is one component. */
export const ok = (description: string, ref: string) => ({ description, ...json(ref) });
/** A JSON request body that is one component. */
export const body = (ref: string, required = true) => ({ required, ...json(ref) });
/** A response whose body is an object with these properties. */
export const objectResponse = (description: string, properties: Record<string, unknown>) => ({
  description,
  content: { 'application/json': { schema: { type: 'object', properties } } },
});
export const arrayOf = (ref: string) => ({ type: 'array', items: { $ref: `#/components/schemas/${ref}` } });

/** An operation that needs an API key. */
export const operation = (
  summary: string,
  responses: Record<string, unknown>,
  request: { parameters?: unknown[]; requestBody?: unknown } = {},
) => ({ summary, security: bearer, ...request, responses });
