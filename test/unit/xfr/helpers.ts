/** Helpers for the src/xfr tests: zone text compiled to images, and the records of images and wire regions as comparable lines. */

import { createHash } from 'node:crypto';
import { compileZone } from '../../../src/zone/image/compile.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { load, ok } from '../zone/helpers.js';

/** A zone file's head: SOA with `serial`, NS, the NS's address. */
export function head(serial: number, origin = 'example.com.'): string {
  return `$ORIGIN ${origin}\n$TTL 3600\n@ SOA ns1 hostmaster ${serial} 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n`;
}

/** The image of a zone text, its source hash that of the text (two texts, two versions). */
export function image(text: string, origin = 'example.com.'): ZoneImage {
  const zone = ok(load({ 'zone.db': text }, origin));
  const source = createHash('sha256').update(text).digest('hex');
  return new ZoneImage(compileZone(zone, { origin, source }));
}

/** `owner type class ttl rdata-hex`, the owner lower-cased: one line per record. */
function line(owner: Uint8Array, type: number, klass: number, ttl: number, rdata: Uint8Array): string {
  const labels: string[] = [];
  for (let i = 0; owner[i] !== 0; i += owner[i]! + 1) labels.push(Buffer.from(owner.subarray(i + 1, i + 1 + owner[i]!)).toString('latin1').toLowerCase());
  return `${labels.join('.')}. ${type} ${klass} ${ttl} ${Buffer.from(rdata).toString('hex')}`;
}

/** Every record of an image (NSEC3 nodes included), the apex SOA left out unless `withSoa`. */
export function recordsOf(img: ZoneImage, withSoa = false): string[] {
  const out: string[] = [];
  for (let n = 0; n < img.nodeCount + img.nsec3Count; n++) {
    const owner = img.owner(n);
    for (let s = img.firstSet(n); s < img.firstSet(n) + img.setCount(n); s++) {
      if (n === 0 && img.setType(s) === 6 && !withSoa) continue;
      for (const rd of img.rdatas(s)) out.push(line(owner, img.setType(s), 1, img.setTtl(s), rd));
    }
  }
  return out.sort();
}

/** The records of a region of uncompressed wire records, as lines. */
export function wireLines(region: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < region.length; ) {
    let end = at;
    while (region[end] !== 0) end += region[end]! + 1;
    end++;
    const u16 = (o: number): number => (region[o]! << 8) | region[o + 1]!;
    const ttl = ((region[end + 4]! << 24) | (region[end + 5]! << 16) | (region[end + 6]! << 8) | region[end + 7]!) >>> 0;
    const rdlength = u16(end + 8);
    out.push(line(region.subarray(at, end), u16(end), u16(end + 2), ttl, region.subarray(end + 10, end + 10 + rdlength)));
    at = end + 10 + rdlength;
  }
  return out;
}

/**
 * `records` after an IXFR version's deletions and additions (RFC 1995 §4):
 * every deleted record must be there and every added one must not, as a
 * secondary applying it (Knot) insists.
 */
export function apply(records: readonly string[], deleted: readonly string[], added: readonly string[]): string[] {
  const have = [...records];
  for (const d of deleted) {
    const i = have.indexOf(d);
    if (i < 0) throw new Error(`deletes a record that is not there: ${d}`);
    have.splice(i, 1);
  }
  for (const a of added) {
    if (have.includes(a)) throw new Error(`adds a record already there: ${a}`);
    have.push(a);
  }
  return have.sort();
}
