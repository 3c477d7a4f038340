#!/usr/bin/env node
// `npx keyvault ...` from the repo: runs the compiled CLI (npm run build puts it in dist/).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '../../../dist/apps/cli/apps/cli/src/main.js');
if (!existsSync(entry)) {
  process.stderr.write('keyvault: the CLI is not built yet; run `npm run build` first.\n');
  process.exit(1);
}
require(entry);
