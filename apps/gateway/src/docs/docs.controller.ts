import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '@deliberate/http';
import { createHash } from 'node:crypto';
import { buildOpenApiDocument } from './openapi-document';

const SWAGGER_INIT = `SwaggerUIBundle({ url: '/docs/openapi.json', dom_id: '#ui' });`;

const SWAGGER_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Deliberate API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>${SWAGGER_INIT}</script></body></html>`;

// Swagger UI runs its bundle and the one inline script above (allowed by its hash), sets inline styles, draws
// data: images and calls the API it documents; nothing else, and nothing may frame it.
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(SWAGGER_INIT).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

@Public()
@Controller('docs')
export class DocsController {
  private readonly document = buildOpenApiDocument();

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return SWAGGER_PAGE;
  }

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    return this.document;
  }
}
