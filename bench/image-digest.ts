/** Prints a digest of the image a zone file compiles to, without the parts that change from build to build (the build time in the meta, the checksum over it): two builds of shardns that agree on it make the same image. */

import { createHash } from 'node:crypto';
import { compileZone } from '../src/zone/image/compile.js';
import { H } from '../src/zone/image/format.js';
import { loadZoneFile } from '../src/zone/parse/load.js';

/*
 * Usage (after `npx tsc -p .`):
 *
 *   node dist/bench/image-digest.js ORIGIN FILE…
 *
 * One line per file: the SHA-256 of the image's octets before its meta
 * region with the checksum field taken as zero, the record count and the
 * image's size; or the first errors. To compare two builds (say a branch
 * and its start), copy dist/bench/image-digest.js into the other build's
 * dist/bench/ and run both on the same files.
 */

const [origin, ...files] = process.argv.slice(2);
if (origin === undefined || files.length === 0) {
  console.error('usage: node dist/bench/image-digest.js ORIGIN FILE…');
  process.exit(2);
}
let failed = false;
for (const file of files) {
  const loaded = loadZoneFile(origin, file);
  if (!loaded.ok) {
    console.log(`${file}: errors: ${loaded.errors.slice(0, 3).map((d) => `${d.line}:${d.column} ${d.message}`).join('; ')}`);
    failed = true;
    continue;
  }
  const image = compileZone(loaded.zone, { origin, source: '00'.repeat(32) });
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const metaOff = view.getUint32(H.metaOff, true);
  const body = Buffer.from(image.subarray(0, metaOff));
  body.writeUInt32LE(0, H.checksum);
  const digest = createHash('sha256').update(body).digest('hex');
  console.log(`${digest} ${loaded.zone.size} records ${image.length} octets ${loaded.warnings.length} warnings ${file}`);
}
process.exit(failed ? 1 : 0);
