/**
 * Encoded replies kept by question, so a repeated query skips decode, lookup
 * and encode. The hit path allocates nothing: the key is read from the query's
 * bytes, found in one open-addressed table of typed arrays, and the stored
 * reply is copied from one byte arena straight into the caller's send buffer.
 */

import { HEADER_LENGTH } from './header.js';
import type { ZoneSet } from './zoneset.js';

/** What makes two queries get the same reply bytes, but for ID, RD, CD and the case of the name. */
export interface QueryShape {
  /** The question (name, type, class) in wire form, its name lower-cased (ASCII only, RFC 4343 §3). */
  question: Buffer;
  /** The rest of the key as one number: reply size limit, EDNS present, DO, NSID, RD, recursion allowed. */
  variant: number;
  /** Offset just past the question name (the bytes patched with the asker's case). */
  nameEnd: number;
  /** Hash of question and variant (the table's probe start). */
  hash: number;
}

const TYPE_OPT = 41;
const OPTION_NSID = 3;

/** What `scan` found in the last query it read (one per process: the hit path allocates nothing). */
const scanned = { nameEnd: 0, variant: 0, hash: 0 };

/** ASCII upper case to lower; every other octet (label lengths ≤ 63 included) as it is. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * Reads, from the raw bytes `q[off, off + len)` alone, the facts that decide
 * a reply: a plain query (QR=0, opcode QUERY, one question, no answer or
 * authority records, at most one additional record which is an EDNS version 0
 * OPT at the root, nothing after it), the reply size limit, DO, NSID asked,
 * RD, and whether the client may recurse. Fills `scanned` and returns true;
 * anything else returns false and takes the full path (which also gives every
 * error reply). Only the name is case-folded: type and class octets that
 * happen to be letters (HTTPS is 65, "A") stay as they are.
 */
function scan(q: Uint8Array, off: number, len: number, ourUdpSize: number, tcp: boolean, recursionAllowed: boolean): boolean {
  if (len < HEADER_LENGTH + 5) return false;
  const b2 = q[off + 2]!;
  if ((b2 & 0xf8) !== 0) return false; // QR=0, opcode 0
  if (q[off + 4] !== 0 || q[off + 5] !== 1 || q[off + 6] !== 0 || q[off + 7] !== 0 || q[off + 8] !== 0 || q[off + 9] !== 0 || q[off + 10] !== 0) return false;
  const arcount = q[off + 11]!;
  if (arcount > 1) return false;
  const end = off + len;
  let at = off + HEADER_LENGTH;
  // FNV-1a over the lower-cased name, then type and class.
  let h = 0x811c9dc5;
  for (;;) {
    if (at >= end) return false;
    const l = q[at]!;
    if (l === 0) break;
    if (l > 63 || at + 1 + l > end || at - off - HEADER_LENGTH + l + 2 > 255) return false;
    h = Math.imul(h ^ l, 0x01000193);
    for (let i = at + 1; i <= at + l; i++) h = Math.imul(h ^ lower(q[i]!), 0x01000193);
    at += l + 1;
  }
  const nameEnd = at + 1;
  const qEnd = nameEnd + 4;
  if (qEnd > end) return false;
  for (let i = nameEnd; i < qEnd; i++) h = Math.imul(h ^ q[i]!, 0x01000193);
  let limit = tcp ? 65535 : 512;
  let edns = 0;
  if (arcount === 0) {
    if (qEnd !== end) return false;
  } else {
    // OPT: root name, type 41, class = UDP size, TTL = ext-rcode, version, flags; RDLENGTH; options.
    if (qEnd + 11 > end || q[qEnd] !== 0 || ((q[qEnd + 1]! << 8) | q[qEnd + 2]!) !== TYPE_OPT) return false;
    const size = (q[qEnd + 3]! << 8) | q[qEnd + 4]!;
    if (q[qEnd + 6] !== 0) return false; // version ≠ 0: BADVERS on the full path
    const dnssecOk = (q[qEnd + 7]! & 0x80) !== 0;
    const rdlen = (q[qEnd + 9]! << 8) | q[qEnd + 10]!;
    if (qEnd + 11 + rdlen !== end) return false;
    let nsid = false;
    for (let o = qEnd + 11; o < end; ) {
      if (o + 4 > end) return false;
      const code = (q[o]! << 8) | q[o + 1]!;
      const olen = (q[o + 2]! << 8) | q[o + 3]!;
      if (o + 4 + olen > end) return false;
      if (code === OPTION_NSID) nsid = true;
      o += 4 + olen;
    }
    if (!tcp) limit = Math.min(Math.max(512, size), ourUdpSize);
    edns = 1 | (dnssecOk ? 2 : 0) | (nsid ? 4 : 0);
  }
  const variant = limit * 32 + edns * 4 + ((b2 & 0x01) !== 0 ? 2 : 0) + (recursionAllowed ? 1 : 0);
  scanned.nameEnd = nameEnd - off;
  scanned.variant = variant;
  scanned.hash = Math.imul(h ^ variant, 0x01000193) >>> 0;
  return true;
}

/**
 * The shape of a query, as an object (the full path and TCP), or null when
 * the query is not one the cache takes (see `scan`).
 */
export function queryShape(q: Uint8Array, ourUdpSize: number, tcp: boolean, recursionAllowed: boolean): QueryShape | null {
  if (!scan(q, 0, q.length, ourUdpSize, tcp, recursionAllowed)) return null;
  const { nameEnd, variant, hash } = scanned;
  const question = Buffer.allocUnsafe(nameEnd + 4 - HEADER_LENGTH);
  for (let i = 0; i < question.length; i++) {
    const c = q[HEADER_LENGTH + i]!;
    question[i] = HEADER_LENGTH + i < nameEnd ? lower(c) : c;
  }
  return { question, variant, nameEnd, hash };
}

/** Limits of the reply cache. */
export interface AnswerCacheLimits {
  /** Entries; 0 turns the cache off. */
  entries: number;
  /** Bytes of question and reply kept, at most (the arena's size). */
  bytes: number;
}

/** When a forwarded reply was stored, how long it may live, and where its TTLs are. */
interface Aging {
  storedAt: number;
  ttl: number;
  offsets: number[];
  ttls: number[];
}

/**
 * Replies by question and variant, for one ZoneSet: a new set of zones (a
 * reload) empties it (a forwarded name may have become one of ours).
 * Authoritative replies are kept as they are; forwarded ones for their TTL,
 * counted down. A hit is the stored reply with the asker's ID, RD and CD bits
 * and question-name case patched in; owner names elsewhere in it keep the
 * case of the query that filled the entry (names compare case-insensitively,
 * RFC 4343).
 *
 * Layout: entries live in a ring of fixed size (typed arrays indexed by entry
 * number), their question and reply bytes one after the other in a byte
 * arena filled in the same order, and a linear-probing table of entry numbers
 * finds them by hash. When the ring or the arena is full, the oldest entry
 * goes (first in, first out: the hot questions of a zone come back at once,
 * and FIFO costs nothing per hit, where LRU would write on every hit).
 */
export class ReplyCache {
  private readonly cap: number;
  private readonly mask: number;
  /** Probe table: entry number + 1, 0 for an empty slot. */
  private readonly slots: Int32Array;
  private readonly eHash: Uint32Array;
  private readonly eVariant: Uint32Array;
  /** Arena offset of the question; the reply follows it. */
  private readonly eAt: Int32Array;
  private readonly eQuestionLen: Uint16Array;
  private readonly eReplyLen: Int32Array;
  /** 1 while the entry is in the table (an expired forwarded entry leaves the table before its arena space is reused). */
  private readonly eLive: Uint8Array;
  private readonly eAging: (Aging | undefined)[];
  private readonly arena: Buffer;
  /** Oldest entry in the ring, entries in the ring, entries in the table, next free arena offset. */
  private tail = 0;
  private count = 0;
  private live = 0;
  private head = 0;
  private zones: ZoneSet | null = null;
  hits = 0;
  misses = 0;

  constructor(
    limits: AnswerCacheLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.cap = Math.max(0, limits.entries);
    let size = 2;
    while (size < this.cap * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(this.cap > 0 ? size : 0);
    this.eHash = new Uint32Array(this.cap);
    this.eVariant = new Uint32Array(this.cap);
    this.eAt = new Int32Array(this.cap);
    this.eQuestionLen = new Uint16Array(this.cap);
    this.eReplyLen = new Int32Array(this.cap);
    this.eLive = new Uint8Array(this.cap);
    this.eAging = new Array<Aging | undefined>(this.cap).fill(undefined);
    // Buffer.alloc is calloc: untouched pages cost no memory until replies fill them.
    this.arena = Buffer.alloc(this.cap > 0 ? Math.max(0, limits.bytes) : 0);
  }

  /**
   * The UDP fast path: if the query at `q[qOff, qOff + qLen)` has a cached
   * reply that fits in `cap` bytes, writes it (patched for this query) at
   * `out[outOff]` and returns its length; otherwise returns -1 and the query
   * takes the full path (whose get() counts the miss).
   */
  answerInto(q: Uint8Array, qOff: number, qLen: number, ourUdpSize: number, recursionAllowed: boolean, zones: ZoneSet, out: Uint8Array, outOff: number, cap: number): number {
    if (this.cap === 0) return -1;
    if (!scan(q, qOff, qLen, ourUdpSize, false, recursionAllowed)) return -1;
    this.sync(zones);
    const e = this.find(q, qOff, scanned.nameEnd, scanned.variant, scanned.hash);
    // A miss is counted by the full path's get(), which follows.
    if (e < 0 || this.eReplyLen[e]! > cap) return -1;
    return this.write(e, q, qOff, scanned.nameEnd, out, outOff);
  }

  /** The reply for this query if cached (patched for it), else undefined. */
  get(query: Uint8Array, shape: QueryShape, zones: ZoneSet): Buffer | undefined {
    if (this.cap === 0) return undefined;
    this.sync(zones);
    const e = this.find(query, 0, shape.nameEnd, shape.variant, shape.hash);
    if (e < 0) {
      this.misses++;
      return undefined;
    }
    const reply = Buffer.allocUnsafe(this.eReplyLen[e]!);
    this.write(e, query, 0, shape.nameEnd, reply, 0);
    return reply;
  }

  /**
   * Keeps a reply for this query shape: an authoritative one as it is, or a
   * forwarded one with `ttl` seconds to live, whose record TTLs then count down.
   */
  put(shape: QueryShape, reply: Uint8Array, zones: ZoneSet, ttl?: number): void {
    if (this.cap === 0 || zones !== this.zones) return;
    let aging: Aging | undefined;
    if (ttl !== undefined) {
      const offsets = ttlOffsets(reply);
      if (ttl <= 0 || offsets === null) return;
      const view = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
      aging = { storedAt: this.now(), ttl, offsets, ttls: offsets.map((o) => view.readUInt32BE(o)) };
    }
    const qLen = shape.question.length;
    const need = qLen + reply.length;
    if (need > this.arena.length) return;
    if (this.findKey(shape.question, shape.variant, shape.hash) >= 0) return;
    if (this.count === this.cap) this.evictOldest();
    const at = this.place(need);
    const e = (this.tail + this.count) % this.cap;
    this.count++;
    this.arena.set(shape.question, at);
    this.arena.set(reply, at + qLen);
    this.head = at + need;
    this.eHash[e] = shape.hash;
    this.eVariant[e] = shape.variant;
    this.eAt[e] = at;
    this.eQuestionLen[e] = qLen;
    this.eReplyLen[e] = reply.length;
    this.eAging[e] = aging;
    this.eLive[e] = 1;
    this.live++;
    let s = shape.hash & this.mask;
    while (this.slots[s] !== 0) s = (s + 1) & this.mask;
    this.slots[s] = e + 1;
  }

  /** Entries held. */
  get size(): number {
    return this.live;
  }

  /** A new set of zones empties the cache. */
  private sync(zones: ZoneSet): void {
    if (zones === this.zones) return;
    this.slots.fill(0);
    this.eLive.fill(0);
    this.eAging.fill(undefined);
    this.tail = 0;
    this.count = 0;
    this.live = 0;
    this.head = 0;
    this.zones = zones;
  }

  /** The live entry whose question matches the query's (its name compared case-insensitively), or -1; an expired forwarded entry is dropped. */
  private find(q: Uint8Array, qOff: number, nameEnd: number, variant: number, hash: number): number {
    const arena = this.arena;
    const qLen = nameEnd + 4 - HEADER_LENGTH;
    const nameLen = nameEnd - HEADER_LENGTH;
    const from = qOff + HEADER_LENGTH;
    for (let s = hash & this.mask; ; s = (s + 1) & this.mask) {
      const slot = this.slots[s]!;
      if (slot === 0) return -1;
      const e = slot - 1;
      if (this.eHash[e] !== hash || this.eVariant[e] !== variant || this.eQuestionLen[e] !== qLen) continue;
      const at = this.eAt[e]!;
      let i = 0;
      while (i < nameLen && arena[at + i] === lower(q[from + i]!)) i++;
      if (i < nameLen) continue;
      while (i < qLen && arena[at + i] === q[from + i]) i++;
      if (i < qLen) continue;
      const aging = this.eAging[e];
      if (aging !== undefined && this.now() - aging.storedAt >= aging.ttl * 1000) {
        this.unlink(e);
        return -1;
      }
      return e;
    }
  }

  /** find() for a question already lower-cased (put); an expired entry is dropped. */
  private findKey(question: Buffer, variant: number, hash: number): number {
    for (let s = hash & this.mask; ; s = (s + 1) & this.mask) {
      const slot = this.slots[s]!;
      if (slot === 0) return -1;
      const e = slot - 1;
      if (this.eHash[e] === hash && this.eVariant[e] === variant && this.eQuestionLen[e] === question.length) {
        const at = this.eAt[e]!;
        if (this.arena.compare(question, 0, question.length, at, at + question.length) === 0) {
          const aging = this.eAging[e];
          if (aging === undefined || this.now() - aging.storedAt < aging.ttl * 1000) return e;
          this.unlink(e);
          return -1;
        }
      }
    }
  }

  /** Copies entry `e`'s reply to `out[outOff]` with the query's ID, RD, CD and name case; returns its length. */
  private write(e: number, q: Uint8Array, qOff: number, nameEnd: number, out: Uint8Array, outOff: number): number {
    this.hits++;
    const arena = this.arena;
    const from = this.eAt[e]! + this.eQuestionLen[e]!;
    const len = this.eReplyLen[e]!;
    if (len > 128) out.set(arena.subarray(from, from + len), outOff);
    else for (let i = 0; i < len; i++) out[outOff + i] = arena[from + i]!;
    out[outOff] = q[qOff]!;
    out[outOff + 1] = q[qOff + 1]!;
    out[outOff + 2] = (arena[from + 2]! & 0xfe) | (q[qOff + 2]! & 0x01); // RD
    out[outOff + 3] = (arena[from + 3]! & 0xef) | (q[qOff + 3]! & 0x10); // CD
    for (let i = HEADER_LENGTH; i < nameEnd; i++) out[outOff + i] = q[qOff + i]!;
    const aging = this.eAging[e];
    if (aging !== undefined) {
      // A forwarded answer: every TTL counted down by the entry's age (RFC 1035 §7.4).
      const age = Math.floor((this.now() - aging.storedAt) / 1000);
      const { offsets, ttls } = aging;
      for (let i = 0; i < offsets.length; i++) {
        const t = Math.max(0, ttls[i]! - age);
        const o = outOff + offsets[i]!;
        out[o] = t >>> 24;
        out[o + 1] = (t >>> 16) & 0xff;
        out[o + 2] = (t >>> 8) & 0xff;
        out[o + 3] = t & 0xff;
      }
    }
    return len;
  }

  /** Arena offset for `need` bytes, evicting the oldest entries until they fit (first in, first out). */
  private place(need: number): number {
    for (;;) {
      if (this.count === 0) return (this.head = 0);
      const t = this.eAt[this.tail]!;
      if (t < this.head) {
        // Live bytes are [t, head): room after head, or from 0 up to t.
        if (this.head + need <= this.arena.length) return this.head;
        if (need <= t) return 0;
      } else if (this.head + need <= t) {
        // Live bytes wrap around: [t, end) and [0, head); room is [head, t).
        return this.head;
      }
      this.evictOldest();
    }
  }

  /** Drops the oldest entry of the ring. */
  private evictOldest(): void {
    const e = this.tail;
    if (this.eLive[e] === 1) this.unlink(e);
    this.eAging[e] = undefined;
    this.tail = (this.tail + 1) % this.cap;
    this.count--;
  }

  /** Takes entry `e` out of the probe table (backward-shift deletion keeps every probe chain whole). */
  private unlink(e: number): void {
    const mask = this.mask;
    let s = this.eHash[e]! & mask;
    while (this.slots[s] !== e + 1) s = (s + 1) & mask;
    this.slots[s] = 0;
    for (let j = (s + 1) & mask; this.slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.eHash[this.slots[j]! - 1]! & mask;
      // Move j's entry into the hole unless its home lies cyclically in (s, j].
      const stays = s < j ? home > s && home <= j : home > s || home <= j;
      if (!stays) {
        this.slots[s] = this.slots[j]!;
        this.slots[j] = 0;
        s = j;
      }
    }
    this.eLive[e] = 0;
    this.live--;
  }
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
