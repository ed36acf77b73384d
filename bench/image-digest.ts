/** Prints digests of the image a zone file compiles to, without the parts that change from build to build (the build time in the meta, the checksum over it): two builds of shardns that agree on them make the same image, octet for octet or up to where each name sits in the names region. */

import { createHash } from 'node:crypto';
import { compileZone } from '../src/zone/image/compile.js';
import { H, NODE_WORDS } from '../src/zone/image/format.js';
import { loadZoneFile } from '../src/zone/parse/load.js';

/*
 * Usage (after `npx tsc -p .`):
 *
 *   node dist/bench/image-digest.js ORIGIN FILE…
 *
 * One line per file: the SHA-256 of the image's octets before its meta
 * region with the checksum field taken as zero; the SHA-256 of the same
 * read through its node words ("logical": each node's name octets and its
 * other node words in node order, then every region but the nodes and the
 * names as they are), which stays the same when only the place of names in
 * the names region changes (doc/zone-image.md: nothing reads names by
 * position); the record count and the image's size; or the first errors. To compare two builds (say a branch
 * and its start), copy dist/bench/image-digest.js into the other build's
 * dist/bench/ and run both on the same files.
 */

/** The image's digest through its node words (see the usage note). */
function logicalDigest(image: Uint8Array, view: DataView): string {
  const u32 = (off: number): number => view.getUint32(off, true);
  const h = createHash('sha256');
  const nodes = u32(H.nodeCount) + u32(H.nsec3NodeCount);
  const nodesOff = u32(H.nodesOff);
  const namesOff = u32(H.namesOff);
  for (let n = 0; n < nodes; n++) {
    const w = nodesOff + n * NODE_WORDS * 4;
    const at = namesOff + u32(w);
    h.update(image.subarray(at, at + 1 + 2 * image[at]!));
    h.update(image.subarray(w + 4, w + NODE_WORDS * 4));
  }
  // The header but for the checksum and the meta, then the regions after the node table but the names.
  const header = Buffer.from(image.subarray(0, nodesOff));
  header.writeUInt32LE(0, H.checksum);
  h.update(header.subarray(0, H.metaOff));
  const metaOff = u32(H.metaOff);
  h.update(image.subarray(nodesOff + nodes * NODE_WORDS * 4, namesOff));
  h.update(image.subarray(namesOff + u32(H.namesBytes), metaOff));
  return h.digest('hex').slice(0, 32);
}

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
  console.log(`${digest} logical ${logicalDigest(image, view)} ${loaded.zone.size} records ${image.length} octets ${loaded.warnings.length} warnings ${file}`);
}
process.exit(failed ? 1 : 0);
