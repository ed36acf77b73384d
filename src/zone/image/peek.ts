/** Reading one fact from an image file without mapping or reading it whole: the apex SOA (for a NOTIFY the supervisor sends). */

import { closeSync, openSync, readSync } from 'node:fs';
import { H, HEADER_BYTES, MAGIC, NODE_WORDS, RRSET_WORDS, FORMAT_VERSION } from './format.js';

/** A zone's SOA record as the image holds it: TTL and RDATA (uncompressed wire form, no RDLENGTH). */
export interface ImageSoa {
  serial: number;
  ttl: number;
  rdata: Uint8Array;
}

/** SOA's type. */
const SOA = 6;

/**
 * The apex SOA of the image at `path`, read with a few small reads (the
 * header, the apex node, its RRsets, the record), or null when the file is
 * not a readable image of this format or has no SOA at its apex. Nothing
 * is checksummed: the caller uses it as a hint (RFC 1996 §3.7), not as data
 * it serves.
 */
export function peekSoa(path: string): ImageSoa | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const read = (at: number, length: number): Buffer | null => {
      const b = Buffer.alloc(length);
      return readSync(fd, b, 0, length, at) === length ? b : null;
    };
    const head = read(0, HEADER_BYTES);
    if (head === null || head.toString('latin1', 0, MAGIC.length) !== MAGIC || head.readUInt32LE(H.version) !== FORMAT_VERSION) return null;
    if (head.readUInt32LE(H.nodeCount) === 0) return null;
    // Node 0 is the apex; its RRsets are consecutive from word 2, their count in the low 16 bits of word 3.
    const apex = read(head.readUInt32LE(H.nodesOff), NODE_WORDS * 4);
    if (apex === null) return null;
    const first = apex.readUInt32LE(8);
    const count = apex.readUInt32LE(12) & 0xffff;
    if (first + count > head.readUInt32LE(H.rrsetCount)) return null;
    const sets = read(head.readUInt32LE(H.rrsetsOff) + first * RRSET_WORDS * 4, count * RRSET_WORDS * 4);
    if (sets === null) return null;
    for (let s = 0; s < count; s++) {
      const at = s * RRSET_WORDS * 4;
      if ((sets.readUInt32LE(at) & 0xffff) !== SOA) continue;
      const record = read(head.readUInt32LE(H.rdataOff) + sets.readUInt32LE(at + 8), sets.readUInt32LE(at + 12));
      if (record === null || record.length < 2) return null;
      const rdata = record.subarray(2, 2 + record.readUInt16BE(0));
      // MNAME and RNAME, then the serial (RFC 1035 §3.3.13).
      let p = 0;
      for (let name = 0; name < 2; name++) {
        while (p < rdata.length && rdata[p] !== 0) p += rdata[p]! + 1;
        p++;
      }
      if (p + 20 !== rdata.length) return null;
      return { serial: rdata.readUInt32BE(p), ttl: sets.readUInt32LE(at + 4), rdata };
    }
    return null;
  } finally {
    closeSync(fd);
  }
}
