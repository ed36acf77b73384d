#!/usr/bin/env node
// shardns command entry: runs the compiled CLI (npm run build writes dist/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('shardns: dist/ is missing; run "npm run build" (npm ci runs it for you) first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
// Exit explicitly: a finished command must not linger on a leftover timer or handle.
process.exit(await main(process.argv.slice(2)));
