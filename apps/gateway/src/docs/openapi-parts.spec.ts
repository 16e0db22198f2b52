import { denialsQuerySchema, spendQuerySchema, webhookDeliveriesQuerySchema } from '@deliberate/contracts';
import { z } from 'zod';
import { buildOpenApiDocument } from './openapi-document';
import { queryParameters } from './openapi-parts';

type Operation = { parameters?: { name: string }[] };

describe('queryParameters', () => {
  it("turns a query schema's properties into parameters: required, schema, description", () => {
    const query = z.strictObject({
      from: z.iso.date().meta({ description: 'a UTC date' }),
      limit: z.coerce.number().int().min(1).max(10).default(5),
    });
    expect(queryParameters(query)).toEqual([
      {
        name: 'from',
        in: 'query',
        required: true,
        schema: { type: 'string', format: 'date', pattern: expect.any(String) },
        description: 'a UTC date',
      },
      { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10, default: 5 } },
    ]);
  });

  it('documents the proxied routes with the query schemas their services validate with', () => {
    const paths = buildOpenApiDocument()['paths'] as Record<string, Record<string, Operation>>;
    const names = (schema: z.ZodType) =>
      Object.keys((z.toJSONSchema(schema, { io: 'input' }) as { properties: object }).properties);
    expect(paths['/v1/ledger/spend']!['get']!.parameters!.map((p) => p.name)).toEqual(
      names(spendQuerySchema),
    );
    expect(paths['/v1/ledger/denials']!['get']!.parameters!.map((p) => p.name)).toEqual(
      names(denialsQuerySchema),
    );
    expect(paths['/v1/webhooks/deliveries']!['get']!.parameters!.map((p) => p.name)).toEqual(
      names(webhookDeliveriesQuerySchema),
    );
  });
});
