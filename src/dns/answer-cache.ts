/** Encoded authoritative replies kept by question, so repeated queries skip decode, lookup and encode. */

import { LRUCache } from 'lru-cache';
import { HEADER_LENGTH } from './header.js';
import type { ZoneSet } from './zoneset.js';

/** What makes two queries get the same reply bytes, but for ID, RD/CD and the case of the name. */
export interface QueryShape {
  /** The cache key: lower-cased question, EDNS facts, reply size limit, RD, recursion permission. */
  key: string;
  /** Offset just past the question name (the bytes patched with the asker's case). */
  nameEnd: number;
}

const TYPE_OPT = 41;
const OPTION_NSID = 3;

/**
 * Reads, from the raw bytes alone, the facts that decide a reply: a plain
 * query (QR=0, opcode QUERY, one question, no answer or authority records,
 * at most one additional record which is an EDNS version 0 OPT at the root,
 * nothing after it), its question lower-cased, the reply size limit, DO, NSID
 * asked, RD, and whether the client may recurse. Anything else returns null
 * and takes the full path (which also gives every error reply).
 */
export function queryShape(q: Uint8Array, ourUdpSize: number, tcp: boolean, recursionAllowed: boolean): QueryShape | null {
  const len = q.length;
  if (len < HEADER_LENGTH + 5) return null;
  const b2 = q[2]!;
  if ((b2 & 0xf8) !== 0) return null; // QR=0, opcode 0
  if (q[4] !== 0 || q[5] !== 1 || q[6] !== 0 || q[7] !== 0 || q[8] !== 0 || q[9] !== 0 || q[10] !== 0) return null;
  const arcount = q[11]!;
  if (arcount > 1) return null;
  let off = HEADER_LENGTH;
  let key = '';
  for (;;) {
    if (off >= len) return null;
    const l = q[off]!;
    if (l === 0) break;
    if (l > 63 || off + 1 + l > len || off - HEADER_LENGTH + l + 2 > 255) return null;
    key += String.fromCharCode(l);
    for (let i = off + 1; i <= off + l; i++) {
      const c = q[i]!;
      key += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
    }
    off += l + 1;
  }
  const nameEnd = off + 1;
  const qEnd = nameEnd + 4;
  if (qEnd > len) return null;
  key += `\u0000${(q[nameEnd]! << 8) | q[nameEnd + 1]!}/${(q[nameEnd + 2]! << 8) | q[nameEnd + 3]!}`;

  let limit = tcp ? 65535 : 512;
  let edns = '-';
  if (arcount === 0) {
    if (qEnd !== len) return null;
  } else {
    // OPT: root name, type 41, class = UDP size, TTL = ext-rcode, version, flags; RDLENGTH; options.
    if (qEnd + 11 > len || q[qEnd] !== 0 || ((q[qEnd + 1]! << 8) | q[qEnd + 2]!) !== TYPE_OPT) return null;
    const size = (q[qEnd + 3]! << 8) | q[qEnd + 4]!;
    if (q[qEnd + 6] !== 0) return null; // version ≠ 0: BADVERS on the full path
    const dnssecOk = (q[qEnd + 7]! & 0x80) !== 0;
    const rdlen = (q[qEnd + 9]! << 8) | q[qEnd + 10]!;
    if (qEnd + 11 + rdlen !== len) return null;
    let nsid = false;
    for (let o = qEnd + 11; o < len; ) {
      if (o + 4 > len) return null;
      const code = (q[o]! << 8) | q[o + 1]!;
      const olen = (q[o + 2]! << 8) | q[o + 3]!;
      if (o + 4 + olen > len) return null;
      if (code === OPTION_NSID) nsid = true;
      o += 4 + olen;
    }
    if (!tcp) limit = Math.min(Math.max(512, size), ourUdpSize);
    edns = `${dnssecOk ? 'D' : 'd'}${nsid ? 'N' : 'n'}`;
  }
  key += `\u0000${limit}${edns}${(q[2]! & 0x01) !== 0 ? 'R' : 'r'}${recursionAllowed ? 'A' : 'a'}`;
  return { key, nameEnd };
}

/** Limits of the reply cache. */
export interface AnswerCacheLimits {
  /** Entries; 0 turns the cache off. */
  entries: number;
  /** Bytes of reply kept, at most. */
  bytes: number;
}

/**
 * Replies by QueryShape key, for one ZoneSet: a new set of zones (a reload)
 * empties it. A hit is the stored reply with the asker's ID, RD and CD bits,
 * and question-name case patched in; owner names elsewhere in it keep the case
 * of the query that filled the entry (names compare case-insensitively,
 * RFC 4343).
 */
export class ReplyCache {
  private readonly lru: LRUCache<string, Buffer> | null;
  private zones: ZoneSet | null = null;
  hits = 0;
  misses = 0;

  constructor(limits: AnswerCacheLimits) {
    this.lru = limits.entries > 0 ? new LRUCache<string, Buffer>({ max: limits.entries, maxSize: limits.bytes, sizeCalculation: (b) => b.length + 64 }) : null;
  }

  /** The reply for this query if cached (patched for it), else undefined. */
  get(query: Uint8Array, shape: QueryShape, zones: ZoneSet): Buffer | undefined {
    if (!this.lru) return undefined;
    if (zones !== this.zones) {
      this.lru.clear();
      this.zones = zones;
    }
    const stored = this.lru.get(shape.key);
    if (!stored) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const reply = Buffer.allocUnsafe(stored.length);
    stored.copy(reply);
    reply[0] = query[0]!;
    reply[1] = query[1]!;
    reply[2] = (reply[2]! & 0xfe) | (query[2]! & 0x01); // RD
    reply[3] = (reply[3]! & 0xef) | (query[3]! & 0x10); // CD
    reply.set(query.subarray(HEADER_LENGTH, shape.nameEnd), HEADER_LENGTH);
    return reply;
  }

  /** Keeps a reply produced by the full path for this query shape. */
  put(shape: QueryShape, reply: Buffer, zones: ZoneSet): void {
    if (!this.lru || zones !== this.zones) return;
    this.lru.set(shape.key, Buffer.from(reply));
  }

  /** Entries held. */
  get size(): number {
    return this.lru?.size ?? 0;
  }
}
