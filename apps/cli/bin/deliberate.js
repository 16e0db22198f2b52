#!/usr/bin/env node
'use strict';
// The `deliberate` command: runs the compiled CLI (apps/cli/dist), which `npm run build` produces.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(
    `deliberate: ${main} is missing: run \`npm run build\` first (at the repository root)\n`,
  );
  process.exit(2);
}
require(main);
