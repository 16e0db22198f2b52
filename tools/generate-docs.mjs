// Writes docs/openapi.json, docs/asyncapi.json and the topic table of docs/architecture.md from the built
// contracts (run `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { buildAsyncApiDocument, withTopicTable } = require(join(root, 'libs/contracts/dist/index.js'));
const { buildOpenApiDocument } = require(join(root, 'apps/gateway/dist/docs/openapi-document.js'));

for (const [file, doc] of [
  ['docs/asyncapi.json', buildAsyncApiDocument()],
  ['docs/openapi.json', buildOpenApiDocument()],
]) {
  writeFileSync(join(root, file), JSON.stringify(doc, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

const architecture = join(root, 'docs/architecture.md');
writeFileSync(architecture, withTopicTable(readFileSync(architecture, 'utf8')));
console.log('wrote the topic table of docs/architecture.md');
