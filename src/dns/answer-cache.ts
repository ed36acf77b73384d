/** Encoded authoritative replies kept by question, so repeated queries skip decode, lookup and encode. */

import { HEADER_LENGTH } from './header.js';
import type { ZoneSet } from './zoneset.js';

/** What makes two queries get the same reply bytes, but for ID, CD and the case of the name. */
export interface QueryShape {
  /** The question (name, type, class) in wire form, lower-cased. */
  question: string;
  /** The rest of the key as one number: reply size limit, EDNS present, DO, NSID, RD, recursion allowed. */
  variant: number;
  /** Offset just past the question name (the bytes patched with the asker's case). */
  nameEnd: number;
}

const TYPE_OPT = 41;
const NON_ASCII = /[\x80-\xff]/;

function latin1(q: Uint8Array, from: number, to: number): string {
  return (Buffer.isBuffer(q) ? q : Buffer.from(q.buffer, q.byteOffset, q.byteLength)).toString('latin1', from, to);
}
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
  for (;;) {
    if (off >= len) return null;
    const l = q[off]!;
    if (l === 0) break;
    if (l > 63 || off + 1 + l > len || off - HEADER_LENGTH + l + 2 > 255) return null;
    off += l + 1;
  }
  const nameEnd = off + 1;
  const qEnd = nameEnd + 4;
  if (qEnd > len) return null;
  // One native slice and ASCII lower-casing; names with other octets take the full path
  // (String.toLowerCase would fold Latin-1 letters, which DNS does not, RFC 4343 §3).
  const question = latin1(q, HEADER_LENGTH, qEnd);
  if (NON_ASCII.test(question)) return null;
  const lowered = question.toLowerCase();
  let limit = tcp ? 65535 : 512;
  let edns = 0;
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
    edns = 1 | (dnssecOk ? 2 : 0) | (nsid ? 4 : 0);
  }
  // Separate numbers, not one concatenated string: no string to build and hash per query.
  const variant = limit * 32 + edns * 4 + ((q[2]! & 0x01) !== 0 ? 2 : 0) + (recursionAllowed ? 1 : 0);
  return { question: lowered, variant, nameEnd };
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
 * empties it (a forwarded name may have become one of ours). Authoritative
 * replies are kept as they are; forwarded ones for their TTL, counted down. A hit is the stored reply with the asker's ID, RD and CD bits,
 * and question-name case patched in; owner names elsewhere in it keep the case
 * of the query that filled the entry (names compare case-insensitively,
 * RFC 4343). Bounded by entries and bytes; when full, the oldest entry goes
 * (first in, first out: a plain Map costs less per hit than keeping recency,
 * and the hot questions of a zone come back right away).
 */
export class ReplyCache {
  private readonly map = new Map<string, Map<number, Entry>>();
  private entries = 0;
  private bytes = 0;
  private zones: ZoneSet | null = null;
  hits = 0;
  misses = 0;

  constructor(
    private readonly limits: AnswerCacheLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** The reply for this query if cached (patched for it), else undefined. */
  get(query: Uint8Array, shape: QueryShape, zones: ZoneSet): Buffer | undefined {
    if (this.limits.entries === 0) return undefined;
    if (zones !== this.zones) {
      this.map.clear();
      this.entries = 0;
      this.bytes = 0;
      this.zones = zones;
    }
    const variants = this.map.get(shape.question);
    const entry = variants?.get(shape.variant);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    let age = 0;
    if (entry.aging) {
      age = Math.floor((this.now() - entry.aging.storedAt) / 1000);
      if (age >= entry.aging.ttl) {
        variants!.delete(shape.variant);
        this.entries--;
        this.bytes -= entry.reply.length;
        this.misses++;
        return undefined;
      }
    }
    this.hits++;
    const stored = entry.reply;
    const reply = Buffer.allocUnsafe(stored.length);
    stored.copy(reply);
    reply[0] = query[0]!;
    reply[1] = query[1]!;
    reply[2] = (reply[2]! & 0xfe) | (query[2]! & 0x01); // RD
    reply[3] = (reply[3]! & 0xef) | (query[3]! & 0x10); // CD
    for (let i = HEADER_LENGTH; i < shape.nameEnd; i++) reply[i] = query[i]!;
    if (entry.aging) {
      // A forwarded answer: every TTL counted down by the entry's age (RFC 1035 §7.4).
      const { offsets, ttls } = entry.aging;
      for (let i = 0; i < offsets.length; i++) reply.writeUInt32BE(Math.max(0, ttls[i]! - age), offsets[i]!);
    }
    return reply;
  }

  /**
   * Keeps a reply for this query shape: an authoritative one as it is, or a
   * forwarded one with `ttl` seconds to live, whose record TTLs then count down.
   */
  put(shape: QueryShape, reply: Buffer, zones: ZoneSet, ttl?: number): void {
    if (this.limits.entries === 0 || zones !== this.zones) return;
    let aging: Aging | undefined;
    if (ttl !== undefined) {
      const offsets = ttlOffsets(reply);
      if (ttl <= 0 || offsets === null) return;
      aging = { storedAt: this.now(), ttl, offsets, ttls: offsets.map((o) => reply.readUInt32BE(o)) };
    }
    // Full: the oldest question goes, with all its variants.
    while (this.map.size > 0 && (this.entries >= this.limits.entries || this.bytes + reply.length > this.limits.bytes)) {
      const [oldest, variants] = this.map.entries().next().value as [string, Map<number, Entry>];
      this.map.delete(oldest);
      for (const e of variants.values()) {
        this.entries--;
        this.bytes -= e.reply.length;
      }
    }
    let variants = this.map.get(shape.question);
    if (!variants) this.map.set(shape.question, (variants = new Map()));
    if (variants.has(shape.variant)) return;
    variants.set(shape.variant, { reply: Buffer.from(reply), aging });
    this.entries++;
    this.bytes += reply.length;
  }

  /** Entries held. */
  get size(): number {
    return this.entries;
  }
}

/** A cached reply; forwarded ones age. */
interface Entry {
  reply: Buffer;
  aging: Aging | undefined;
}

/** When a forwarded reply was stored, how long it may live, and where its TTLs are. */
interface Aging {
  storedAt: number;
  ttl: number;
  offsets: number[];
  ttls: number[];
}

/**
 * Offsets of the TTL field of every record in a reply (the OPT pseudo-record's
 * is not a TTL, RFC 6891 §6.1.3), or null when the message does not parse.
 * Names may be compressed; a pointer ends a name.
 */
export function ttlOffsets(m: Uint8Array): number[] | null {
  if (m.length < HEADER_LENGTH) return null;
  const count = (i: number): number => (m[i]! << 8) | m[i + 1]!;
  const skipName = (at: number): number => {
    for (let o = at; o < m.length; ) {
      const l = m[o]!;
      if (l === 0) return o + 1;
      if ((l & 0xc0) === 0xc0) return o + 2;
      o += l + 1;
    }
    return -1;
  };
  let off = HEADER_LENGTH;
  for (let q = count(4); q > 0; q--) {
    off = skipName(off);
    if (off < 0) return null;
    off += 4;
  }
  const offsets: number[] = [];
  for (let r = count(6) + count(8) + count(10); r > 0; r--) {
    off = skipName(off);
    if (off < 0 || off + 10 > m.length) return null;
    if (count(off) !== TYPE_OPT) offsets.push(off + 4);
    off += 10 + count(off + 8);
  }
  return off === m.length ? offsets : null;
}
