/**
 * Preload that records every module a Node process loads, for
 * bench/start-cost.ts: `NODE_OPTIONS="--import <dist>/bench/module-count.js"`
 * with SHARDNS_MODULE_LOG set to a folder. ES modules are seen by a loader
 * hook (bench/module-count-hooks.ts, which runs off the main thread and posts
 * each URL here); CommonJS modules a package requires are read from
 * require's cache at exit. On exit, writes `<folder>/<pid>.json`:
 * `{ argv, esm: [url…], cjs: [path…] }`.
 */

import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const folder = process.env.SHARDNS_MODULE_LOG;
if (folder) {
  const esm: string[] = [];
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url: string) => esm.push(url));
  port1.unref();
  register('./module-count-hooks.js', import.meta.url, { data: { port: port2 }, transferList: [port2] });
  process.on('exit', () => {
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    writeFileSync(`${folder}/${process.pid}.json`, JSON.stringify({ argv: process.argv, esm, cjs }));
  });
}
