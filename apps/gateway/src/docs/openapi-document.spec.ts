import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApiDocument } from './openapi-document';

describe('OpenAPI document', () => {
  it('matches the checked-in docs/openapi.json (run npm run docs:generate after changing an HTTP contract)', () => {
    const checkedIn = JSON.parse(readFileSync(join(__dirname, '../../../../docs/openapi.json'), 'utf8'));
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it('documents each status the task endpoints answer with', () => {
    const paths = buildOpenApiDocument()['paths'] as Record<
      string,
      Record<string, { responses: Record<string, unknown> }>
    >;
    expect(Object.keys(paths['/v1/tasks']!['post']!.responses).sort()).toEqual([
      '202',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '422',
      '429',
      '503',
    ]);
    expect(Object.keys(paths['/v1/tasks/{id}']!['get']!.responses).sort()).toEqual([
      '200',
      '401',
      '404',
      '503',
    ]);
  });
});
