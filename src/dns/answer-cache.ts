/**
 * Encoded replies kept by question, so a repeated query skips decode, lookup
 * and encode. The hit path allocates nothing: the key is read from the query's
 * bytes, found in one open-addressed table of typed arrays, and the stored
 * reply is copied from one byte arena straight into the caller's send buffer.
 */

import { lowerOctet } from './ascii.js';
import { HEADER_LENGTH } from './header.js';
import { OPT_BAD_COOKIE, OPT_COOKIE, OPT_DO, OPT_NSID, OPT_SIZE, OPT_VERSION, readOpt, TYPE_OPT } from './query.js';
import type { ZoneSet } from '../auth/zone-set.js';

/** What makes two queries get the same reply bytes, but for the ID and the case of the name. */
export interface QueryShape {
  /** The question (name, type, class) in wire form, its name lower-cased (ASCII only, RFC 4343 §3). */
  question: Buffer;
  /**
   * The rest of the key as one number: reply size limit, EDNS present, DO,
   * NSID, a cookie (where cookies are answered), the asker's address family, CD, RD, recursion allowed. CD is in it because a forwarded answer
   * asked with CD=1 may hold data a validating upstream refuses with CD=0,
   * and every reply echoes the asker's CD (RFC 4035 §3.2.2).
   */
  variant: number;
  /** Offset just past the question name (the bytes patched with the asker's case). */
  nameEnd: number;
  /** Hash of question and variant (the table's probe start). */
  hash: number;
}


/** What `scan` found in the last query it read (one per process: the hit path allocates nothing). */
const scanned = { nameEnd: 0, variant: 0, hash: 0 };

/** The variant bit of a query with a COOKIE option: its reply ends with one (edns.ts writes it last), 28 octets. */
const VARIANT_COOKIE = 8 * 32; // edns bit 8, at edns × 32 in the variant (scan)
/** COOKIE option data in our replies: the client's cookie and our server cookie (RFC 7873 §4, RFC 9018 §4). */
const REPLY_COOKIE_LENGTH = 24;

/**
 * Reads, from the raw bytes `q[off, off + len)` alone, the facts that decide
 * a reply: a plain query (QR=0, opcode QUERY, one question, no answer or
 * authority records, at most one additional record which is an EDNS version 0
 * OPT at the root, nothing after it), the reply size limit, DO, NSID asked,
 * CD, RD, and whether the client may recurse; with `cookies` (they are
 * answered), whether it has a COOKIE option, and a malformed one is left to
 * the full path (FORMERR). Fills `scanned` and returns true;
 * anything else returns false and takes the full path (which also gives every
 * error reply). Only the name is case-folded: type and class octets that
 * happen to be letters (HTTPS is 65, "A") stay as they are.
 */
function scan(q: Uint8Array, off: number, len: number, ourUdpSize: number, tcp: boolean, recursionAllowed: boolean, v6: boolean, cookies: boolean): boolean {
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
    for (let i = at + 1; i <= at + l; i++) h = Math.imul(h ^ lowerOctet(q[i]!), 0x01000193);
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
    const facts = readOpt(q, qEnd, end);
    if (facts < 0) return false;
    if (Math.floor(facts / OPT_VERSION) % 256 !== 0) return false; // version ≠ 0: BADVERS on the full path
    const size = Math.floor(facts / OPT_SIZE);
    const dnssecOk = (facts & OPT_DO) !== 0;
    const nsid = (facts & OPT_NSID) !== 0;
    if (!tcp) limit = Math.min(Math.max(512, size), ourUdpSize);
    edns = 1 | (dnssecOk ? 2 : 0) | (nsid ? 4 : 0);
    if (cookies) {
      if ((facts & OPT_BAD_COOKIE) !== 0) return false;
      if ((facts & OPT_COOKIE) !== 0) edns |= 8;
    }
  }
  // limit ≤ 65535, so the variant stays below 2^25. The asker's address family is part of it:
  // an IPv6 asker gets NS targets' AAAA first and a smaller minimal-response size (as NSD);
  // and AD, which a forwarded reply keeps only for an asker who set AD or DO (RFC 6840 §5.7).
  const variant = limit * 512 + edns * 32 + ((q[off + 3]! & 0x20) !== 0 ? 16 : 0) + (v6 ? 8 : 0) + ((q[off + 3]! & 0x10) !== 0 ? 4 : 0) + ((b2 & 0x01) !== 0 ? 2 : 0) + (recursionAllowed ? 1 : 0);
  scanned.nameEnd = nameEnd - off;
  scanned.variant = variant;
  scanned.hash = Math.imul(h ^ variant, 0x01000193) | 0;
  return true;
}

/**
 * The shape of a query, as an object (the full path and TCP), or null when
 * the query is not one the cache takes (see `scan`; `cookies`: they are answered).
 */
export function queryShape(q: Uint8Array, ourUdpSize: number, tcp: boolean, recursionAllowed: boolean, v6 = false, cookies = false): QueryShape | null {
  if (!scan(q, 0, q.length, ourUdpSize, tcp, recursionAllowed, v6, cookies)) return null;
  const { nameEnd, variant, hash } = scanned;
  return { question: questionKey(q, 0, nameEnd), variant, nameEnd, hash };
}

/** The question of the query at `q[qOff…]` (its name ends at `nameEnd`, counted from qOff) as a key: the name lower-cased, type and class as they are. */
function questionKey(q: Uint8Array, qOff: number, nameEnd: number): Buffer {
  const question = Buffer.allocUnsafe(nameEnd + 4 - HEADER_LENGTH);
  for (let i = 0; i < question.length; i++) {
    const c = q[qOff + HEADER_LENGTH + i]!;
    question[i] = HEADER_LENGTH + i < nameEnd ? lowerOctet(c) : c;
  }
  return question;
}

/** Limits of the reply cache. */
export interface AnswerCacheLimits {
  /** Entries; 0 turns the cache off. */
  entries: number;
  /** Bytes of question and reply kept, at most (the arena's size). */
  bytes: number;
  /**
   * Keep an authoritative reply only when its question misses a second time
   * (see ReplyCache.put): names asked once, as in a random-subdomain flood,
   * then cost no store and push out nothing. Off by default.
   */
  admitOnSecondMiss?: boolean;
  /**
   * Cookies are answered (RFC 7873): a query's COOKIE option is part of its
   * shape, and its reply ends with a COOKIE option whose data the caller
   * gives for each asker (answerInto, get). Off by default.
   */
  cookies?: boolean;
}

/**
 * Told of every reply the cache keeps and of every time it empties (a new
 * set of zones, clear()): a copy of the cache kept elsewhere (the UDP
 * thread's, src/net/udp-thread.ts) follows it.
 */
export interface ReplyCacheMirror {
  /**
   * A reply was kept for `shape` under `zones`: forwarded with `ttl` seconds
   * to live from `storedAt` (the cache's clock, ms), or authoritative (`ttl`
   * undefined, `storedAt` 0).
   */
  stored(shape: QueryShape, reply: Uint8Array, zones: ZoneSet, ttl: number | undefined, storedAt: number): void;
  /** Everything kept so far is gone. */
  reset(): void;
}

/** Where a forwarded reply's TTLs are, and what they were when it was stored (its arena copy holds them counted down). */
interface Aging {
  offsets: number[];
  ttls: number[];
}

/**
 * A probe-table slot is four 32-bit words: hash, entry number + 1 (0: empty
 * slot), variant, and arena offset, so a probe and its match read one cache
 * line of the table and then the arena.
 */
const SLOT = 4;
const S_HASH = 0;
const S_ENTRY = 1;
const S_VARIANT = 2;
const S_AT = 3;
/** Each arena record: reply length (2 octets), question length with AGED (2 octets), question, padding to 4, reply. */
const RECORD_HEADER = 4;
const AGED = 0x8000;
const QUESTION_MASK = 0x7fff;

/** Where the reply of a record at `at` with a question of `qLen` octets begins (4-aligned, for word copies). */
function replyAt(at: number, qLen: number): number {
  return (at + RECORD_HEADER + qLen + 3) & ~3;
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
 * Layout, chosen so a hit touches few cache lines: a linear-probing table
 * whose slots hold hash, entry, variant and arena offset, then one arena
 * record holding lengths, question and reply together. Arena records are
 * written in entry order and entries form a ring of fixed size; when the ring
 * or the arena is full, the oldest entry goes (first in, first out: the hot
 * questions of a zone come back at once, and FIFO costs nothing per hit,
 * where LRU would write on every hit).
 */
export class ReplyCache {
  private readonly cap: number;
  private readonly mask: number;
  private readonly slots: Int32Array;
  /** Hash and arena offset by entry (for taking the oldest entry out). */
  private readonly eHash: Int32Array;
  private readonly eAt: Int32Array;
  /** 1 while the entry is in the table (an expired forwarded entry leaves the table before its arena space is reused). */
  private readonly eLive: Uint8Array;
  /** A forwarded entry's TTL fields; read only when its arena copy is counted down (once a second at most). */
  private readonly eAging: (Aging | undefined)[];
  /** A forwarded entry: when it was stored and when it expires (ms, the cache's clock). */
  private readonly eStored: Float64Array;
  private readonly eExpires: Float64Array;
  /**
   * A forwarded entry: the age in whole seconds its arena copy's TTLs were
   * counted down for. A hit in the same second copies the reply as it is;
   * the next second rewrites them once (RFC 1035 §7.4: a cached record's
   * TTL is what is left of it).
   */
  private readonly eAge: Int32Array;
  /** The clock as find() read it for the aged entry it found (write() counts down by it). */
  private foundNow = 0;
  private readonly arena: Buffer;
  private readonly arena32: Int32Array;
  /** The last output buffer seen, as 32-bit words (the engine passes the same one every time). */
  private out: Uint8Array | null = null;
  private out32: Int32Array | null = null;
  /** The last query buffer seen, as 32-bit words (the engine passes its receive area every time), or null when it is not 4-aligned. */
  private in: Uint8Array | null = null;
  private in32: Int32Array | null = null;
  /** Oldest entry in the ring, entries in the ring, entries in the table, next free arena offset. */
  private tail = 0;
  private count = 0;
  private live = 0;
  private head = 0;
  private zones: ZoneSet | null = null;
  /** The entry of the record find() returned last. */
  private found = -1;
  hits = 0;
  misses = 0;
  /** Authoritative replies not kept because their question missed for the first time. */
  notAdmitted = 0;
  /** The doorkeeper: hashes of questions that missed once (slot = hash & doorMask); null when every reply is kept. */
  private readonly door: Uint32Array | null;
  private readonly doorMask: number;
  /** Cookies are answered (AnswerCacheLimits.cookies): a query's COOKIE option is part of its shape. */
  readonly cookies: boolean;
  /** The shape of the query the last answerInto() call missed (valid while `missedValid`), for putMissed(). */
  private missedValid = false;
  private missedHash = 0;
  private missedVariant = 0;
  private missedNameEnd = 0;
  /** Told of what is kept and of every emptying (see ReplyCacheMirror); null: nobody. */
  mirror: ReplyCacheMirror | null = null;

  constructor(
    limits: AnswerCacheLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.cap = Math.max(0, limits.entries);
    let size = 2;
    while (size < this.cap * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(this.cap > 0 ? size * SLOT : 0);
    this.eHash = new Int32Array(this.cap);
    this.eAt = new Int32Array(this.cap);
    this.eLive = new Uint8Array(this.cap);
    this.eAging = new Array<Aging | undefined>(this.cap).fill(undefined);
    this.eStored = new Float64Array(this.cap);
    this.eExpires = new Float64Array(this.cap);
    this.eAge = new Int32Array(this.cap);
    // Its own zero-filled ArrayBuffer (calloc: untouched pages cost no memory), a multiple of 4.
    const bytes = this.cap > 0 ? Math.max(0, limits.bytes) & ~3 : 0;
    this.arena = Buffer.from(new ArrayBuffer(bytes));
    this.arena32 = new Int32Array(this.arena.buffer, 0, bytes >> 2);
    // Four slots per entry: a question is forgotten once about 4 × entries other questions went by.
    let doorSize = 1024;
    while (doorSize < this.cap * 4) doorSize *= 2;
    this.door = limits.admitOnSecondMiss && this.cap > 0 ? new Uint32Array(doorSize) : null;
    this.doorMask = doorSize - 1;
    this.cookies = limits.cookies === true;
  }

  /**
   * The UDP fast path: if the query at `q[qOff, qOff + qLen)` has a cached
   * reply that fits in `cap` bytes, writes it (patched for this query) at
   * `out[outOff]` and returns its length; otherwise returns -1 and the query
   * takes the full path, which need not ask get() again. A query with a
   * cookie gets `cookie` (the COOKIE option data for this asker, 24 octets)
   * as its reply's; without one it is not answered from here.
   */
  answerInto(q: Uint8Array, qOff: number, qLen: number, ourUdpSize: number, recursionAllowed: boolean, v6: boolean, zones: ZoneSet, out: Uint8Array, outOff: number, cap: number, cookie: Uint8Array | null = null): number {
    this.missedValid = false;
    if (this.cap === 0) return -1;
    if (!scan(q, qOff, qLen, ourUdpSize, false, recursionAllowed, v6, this.cookies)) return -1;
    if ((scanned.variant & VARIANT_COOKIE) !== 0 && cookie === null) return -1;
    this.sync(zones);
    if (q !== this.in) {
      // Word compares and copies of the name need 4-aligned memory; the engine's receive area is, and it is the same buffer every time.
      this.in = q;
      this.in32 = (q.byteOffset & 3) === 0 ? new Int32Array(q.buffer, q.byteOffset, q.byteLength >> 2) : null;
    }
    const q32 = (qOff & 3) === 0 ? this.in32 : null;
    const at = this.find(q, qOff, scanned.nameEnd, scanned.variant, scanned.hash, q32);
    if (at < 0 || this.replyLength(at) > cap) {
      this.misses++;
      this.missedValid = true;
      this.missedHash = scanned.hash;
      this.missedVariant = scanned.variant;
      this.missedNameEnd = scanned.nameEnd;
      return -1;
    }
    if (out !== this.out) {
      // Word copies need 4-aligned memory; the engine's send area is, and it is the same buffer every time.
      this.out = out;
      this.out32 = (out.byteOffset & 3) === 0 ? new Int32Array(out.buffer, out.byteOffset, out.byteLength >> 2) : null;
    }
    const len = this.write(at, q, qOff, scanned.nameEnd, out, outOff, (outOff & 3) === 0 ? this.out32 : null, q32);
    if ((scanned.variant & VARIANT_COOKIE) !== 0) out.set(cookie!, outOff + len - REPLY_COOKIE_LENGTH);
    return len;
  }

  /** The reply for this query if cached (patched for it, `cookie` as answerInto takes it), else undefined. */
  get(query: Uint8Array, shape: QueryShape, zones: ZoneSet, cookie: Uint8Array | null = null): Buffer | undefined {
    if (this.cap === 0) return undefined;
    if ((shape.variant & VARIANT_COOKIE) !== 0 && cookie === null) return undefined;
    this.sync(zones);
    const at = this.find(query, 0, shape.nameEnd, shape.variant, shape.hash);
    if (at < 0) {
      this.misses++;
      return undefined;
    }
    const reply = Buffer.allocUnsafe(this.replyLength(at));
    this.write(at, query, 0, shape.nameEnd, reply, 0, null);
    if ((shape.variant & VARIANT_COOKIE) !== 0) reply.set(cookie!, reply.length - REPLY_COOKIE_LENGTH);
    return reply;
  }

  /**
   * The doorkeeper of TinyLFU-style admission: true when this question's
   * hash was seen missing before (and is then forgotten), else remembers
   * it and says no. A question has two slots (from its hash's low bits and
   * from a mix of all of them) and is remembered in an empty one of the
   * two, else over the first or the second by one of its hash's bits. With
   * one slot, two questions sharing it pushed each other out at every miss,
   * and neither was ever kept: 156 of 5,000 names asked in turn five times
   * (3 %, the default 20,000 entries: 131,072 slots); with two, none.
   */
  private admit(hash: number): boolean {
    const door = this.door!;
    const mask = this.doorMask;
    const a = hash & mask;
    const b = (Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 12) & mask;
    const mark = (hash | 1) >>> 0;
    if (door[a] === mark) {
      door[a] = 0;
      return true;
    }
    if (door[b] === mark) {
      door[b] = 0;
      return true;
    }
    door[door[a] === 0 ? a : door[b] === 0 ? b : (hash & 0x80000000) === 0 ? a : b] = mark;
    this.notAdmitted++;
    return false;
  }

  /**
   * Keeps a reply for this query shape: an authoritative one as it is, or a
   * forwarded one with `ttl` seconds to live, whose record TTLs then count down.
   * With `admitOnSecondMiss`, an authoritative reply is kept only the second
   * time its question misses (a forwarded one was costly to get, and is kept
   * at once; the forwarder's own cache stands behind it). `storedAt`: when
   * the reply's TTLs were what they say (the cache's clock, ms), for a copy
   * kept later than the original (the UDP thread's); now by default.
   */
  put(shape: QueryShape, reply: Uint8Array, zones: ZoneSet, ttl?: number, storedAt?: number): void {
    if (this.cap === 0 || zones !== this.zones) return;
    // A hit writes its asker's cookie over the last 24 octets: keep only replies that end with one.
    if ((shape.variant & VARIANT_COOKIE) !== 0 && !endsWithCookie(reply)) return;
    if (ttl === undefined && this.door !== null && !this.admit(shape.hash)) return;
    this.store(shape, reply, ttl, storedAt);
  }

  /**
   * Whether the last answerInto() call missed a query the cache takes (then
   * its full answer may be kept with putMissed), rather than turning down
   * one it does not take (not a plain query, a cookie it was not given).
   */
  get missedLast(): boolean {
    return this.missedValid;
  }

  /**
   * put() for an authoritative reply to the query answerInto() missed last
   * (`q[qOff…]`, the same bytes), written at `reply[at, at + length)`: its
   * shape is the one that call read, so nothing is read or allocated again
   * unless the reply is kept (with `admitOnSecondMiss`, from its question's
   * second miss on). Does nothing when that call did not miss.
   */
  putMissed(q: Uint8Array, qOff: number, reply: Uint8Array, at: number, length: number, zones: ZoneSet): void {
    if (!this.missedValid) return;
    this.missedValid = false;
    if (this.cap === 0 || zones !== this.zones) return;
    const variant = this.missedVariant;
    const hash = this.missedHash;
    if ((variant & VARIANT_COOKIE) !== 0 && !endsWithCookie(reply.subarray(at, at + length))) return;
    if (this.door !== null && !this.admit(hash)) return;
    const nameEnd = this.missedNameEnd;
    this.store({ question: questionKey(q, qOff, nameEnd), variant, nameEnd, hash }, reply.subarray(at, at + length));
  }

  /** Keeps `reply` for `shape` (admitted already); a forwarded one with `ttl` seconds to live. */
  private store(shape: QueryShape, reply: Uint8Array, ttl?: number, storedAt?: number): void {
    let aging: Aging | undefined;
    if (ttl !== undefined) {
      const offsets = ttlOffsets(reply);
      if (ttl <= 0 || offsets === null) return;
      const view = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
      aging = { offsets, ttls: offsets.map((o) => view.readUInt32BE(o)) };
    }
    const qLen = shape.question.length;
    const need = replyAt(0, qLen) + reply.length;
    if (need > this.arena.length || reply.length > 0xffff) return;
    if (this.findKey(shape.question, shape.variant, shape.hash) >= 0) return;
    if (this.count === this.cap) this.evictOldest();
    const at = this.place(need);
    const e = (this.tail + this.count) % this.cap;
    this.count++;
    this.arena.writeUInt16LE(reply.length, at);
    this.arena.writeUInt16LE(qLen | (aging ? AGED : 0), at + 2);
    this.arena.set(shape.question, at + RECORD_HEADER);
    this.arena.set(reply, replyAt(at, qLen));
    this.head = at + need;
    this.eHash[e] = shape.hash;
    this.eAt[e] = at;
    this.eAging[e] = aging;
    let now = 0;
    if (aging !== undefined) {
      now = storedAt ?? this.now();
      this.eStored[e] = now;
      this.eExpires[e] = now + ttl! * 1000;
      this.eAge[e] = 0; // stored as the upstream's TTLs are: age 0
    }
    this.eLive[e] = 1;
    this.live++;
    const slots = this.slots;
    let s = shape.hash & this.mask;
    while (slots[s * SLOT + S_ENTRY] !== 0) s = (s + 1) & this.mask;
    slots[s * SLOT + S_HASH] = shape.hash;
    slots[s * SLOT + S_ENTRY] = e + 1;
    slots[s * SLOT + S_VARIANT] = shape.variant;
    slots[s * SLOT + S_AT] = at;
    this.mirror?.stored(shape, reply, this.zones!, ttl, now);
  }

  /** Entries held. */
  get size(): number {
    return this.live;
  }

  /**
   * Forgets every reply (emptied at the next lookup, as by a reload): a
   * name whose local answer changed (a hosts file edited) must not be
   * answered from here with what an upstream said before.
   */
  clear(): void {
    this.zones = null;
    this.mirror?.reset();
  }

  /**
   * Serves for `zones` from now on: emptied if they are not the set it
   * served last (a lookup does this by itself; a copy that is only ever
   * put into, the UDP thread's, calls it before its puts).
   */
  use(zones: ZoneSet): void {
    this.sync(zones);
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
    this.mirror?.reset();
  }

  /** Reply length of the arena record at `at`. */
  private replyLength(at: number): number {
    return this.arena[at]! | (this.arena[at + 1]! << 8);
  }

  /** Question length and AGED of the arena record at `at`. */
  private questionWord(at: number): number {
    return this.arena[at + 2]! | (this.arena[at + 3]! << 8);
  }

  /**
   * The arena offset of the record whose question matches the query's (its
   * name compared case-insensitively; its entry goes to `found`), or -1; an
   * expired forwarded entry is dropped. `q32`: `q` as words when `qOff` is
   * 4-aligned (the stored question is): the name is compared a word at a
   * time while the octets are equal, case-insensitively octet by octet from
   * the first word that is not.
   */
  private find(q: Uint8Array, qOff: number, nameEnd: number, variant: number, hash: number, q32: Int32Array | null = null): number {
    const arena = this.arena;
    const slots = this.slots;
    const qLen = nameEnd + 4 - HEADER_LENGTH;
    const nameLen = nameEnd - HEADER_LENGTH;
    const from = qOff + HEADER_LENGTH;
    for (let s = hash & this.mask; ; s = (s + 1) & this.mask) {
      const slot = s * SLOT;
      const entry = slots[slot + S_ENTRY]!;
      if (entry === 0) return -1;
      if (slots[slot + S_HASH] !== hash || slots[slot + S_VARIANT] !== variant) continue;
      const at = slots[slot + S_AT]!;
      const word = this.questionWord(at);
      if ((word & QUESTION_MASK) !== qLen) continue;
      const key = at + RECORD_HEADER;
      let i = 0;
      if (q32 !== null) {
        // The stored name is lower-cased: a query in lower case (most are) matches it word for word.
        const arena32 = this.arena32;
        const kw = key >> 2;
        const fw = from >> 2;
        while (i + 4 <= nameLen && arena32[kw + (i >> 2)] === q32[fw + (i >> 2)]) i += 4;
      }
      while (i < nameLen && arena[key + i] === lowerOctet(q[from + i]!)) i++;
      if (i < nameLen) continue;
      while (i < qLen && arena[key + i] === q[from + i]) i++;
      if (i < qLen) continue;
      if ((word & AGED) !== 0) {
        const now = this.now();
        if (now >= this.eExpires[entry - 1]!) {
          this.unlink(entry - 1);
          return -1;
        }
        this.foundNow = now;
      }
      this.found = entry - 1;
      return at;
    }
  }

  /** The entry holding this question (already lower-cased: put), or -1; an expired entry is dropped. */
  private findKey(question: Buffer, variant: number, hash: number): number {
    const slots = this.slots;
    for (let s = hash & this.mask; ; s = (s + 1) & this.mask) {
      const slot = s * SLOT;
      const entry = slots[slot + S_ENTRY]!;
      if (entry === 0) return -1;
      if (slots[slot + S_HASH] !== hash || slots[slot + S_VARIANT] !== variant) continue;
      const key = slots[slot + S_AT]! + RECORD_HEADER;
      if ((this.questionWord(key - RECORD_HEADER) & QUESTION_MASK) !== question.length) continue;
      if (this.arena.compare(question, 0, question.length, key, key + question.length) !== 0) continue;
      if (!this.expired(entry - 1)) return entry - 1;
      this.unlink(entry - 1);
      return -1;
    }
  }

  /** Whether a forwarded entry has outlived its TTL. */
  private expired(e: number): boolean {
    return this.eAging[e] !== undefined && this.now() >= this.eExpires[e]!;
  }

  /**
   * Copies the reply of the record at `at` to `out[outOff]` with the query's
   * ID, RD, CD and name case; returns its length. `out32` is `out` as words
   * when `outOff` is 4-aligned: a few dozen word moves cost less than the
   * subarray a native copy needs; with `q32` too (`q` as words, `qOff`
   * 4-aligned), the name's case is copied a word at a time.
   */
  private write(at: number, q: Uint8Array, qOff: number, nameEnd: number, out: Uint8Array, outOff: number, out32: Int32Array | null, q32: Int32Array | null = null): number {
    this.hits++;
    const arena = this.arena;
    const word = this.questionWord(at);
    const from = replyAt(at, word & QUESTION_MASK);
    const len = this.replyLength(at);
    if ((word & AGED) !== 0) this.age(this.found, from);
    if (out32 !== null) {
      const words = len >> 2;
      const src = from >> 2;
      const dst = outOff >> 2;
      const arena32 = this.arena32;
      for (let i = 0; i < words; i++) out32[dst + i] = arena32[src + i]!;
      for (let i = words << 2; i < len; i++) out[outOff + i] = arena[from + i]!;
    } else {
      out.set(arena.subarray(from, from + len), outOff);
    }
    out[outOff] = q[qOff]!;
    out[outOff + 1] = q[qOff + 1]!;
    out[outOff + 2] = (arena[from + 2]! & 0xfe) | (q[qOff + 2]! & 0x01); // RD
    out[outOff + 3] = (arena[from + 3]! & 0xef) | (q[qOff + 3]! & 0x10); // CD
    // The question name with the asker's case (RFC 5452 §9.1's 0x20 trick relies on it): whole words of it, then its last octets.
    let i = HEADER_LENGTH;
    if (out32 !== null && q32 !== null) {
      const dst = outOff >> 2;
      const src = qOff >> 2;
      for (; i + 4 <= nameEnd; i += 4) out32[dst + (i >> 2)] = q32[src + (i >> 2)]!;
    }
    for (; i < nameEnd; i++) out[outOff + i] = q[qOff + i]!;
    return len;
  }

  /**
   * Forwarded entry `e`, whose reply is at arena offset `from`: when its age
   * in whole seconds (by the clock find() read) is not the one its TTLs were
   * counted down for, every TTL is rewritten in the arena as the stored one
   * less that age (RFC 1035 §7.4, never below 0). Hits within one second
   * then copy the reply as it is.
   */
  private age(e: number, from: number): void {
    // A clock set back is age 0: a TTL never grows past what the upstream gave.
    const age = Math.max(0, Math.floor((this.foundNow - this.eStored[e]!) / 1000));
    if (age === this.eAge[e]) return;
    this.eAge[e] = age;
    const aging = this.eAging[e]!;
    const arena = this.arena;
    for (let i = 0; i < aging.offsets.length; i++) {
      const t = Math.max(0, aging.ttls[i]! - age);
      const o = from + aging.offsets[i]!;
      arena[o] = t >>> 24;
      arena[o + 1] = (t >>> 16) & 0xff;
      arena[o + 2] = (t >>> 8) & 0xff;
      arena[o + 3] = t & 0xff;
    }
  }

  /** Arena offset for `need` bytes, evicting the oldest entries until they fit (first in, first out). Offsets stay multiples of 4. */
  private place(need: number): number {
    for (;;) {
      if (this.count === 0) return (this.head = 0);
      const head = (this.head + 3) & ~3;
      const t = this.eAt[this.tail]!;
      if (t < head) {
        // Live bytes are [t, head): room after head, or from 0 up to t.
        if (head + need <= this.arena.length) return head;
        if (need <= t) return 0;
      } else if (head + need <= t) {
        // Live bytes wrap around: [t, end) and [0, head); room is [head, t).
        return head;
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
    const slots = this.slots;
    let s = this.eHash[e]! & mask;
    while (slots[s * SLOT + S_ENTRY] !== e + 1) s = (s + 1) & mask;
    slots[s * SLOT + S_ENTRY] = 0;
    for (let j = (s + 1) & mask; slots[j * SLOT + S_ENTRY] !== 0; j = (j + 1) & mask) {
      const home = slots[j * SLOT + S_HASH]! & mask;
      // Move j's entry into the hole unless its home lies cyclically in (s, j].
      const stays = s < j ? home > s && home <= j : home > s || home <= j;
      if (!stays) {
        slots.copyWithin(s * SLOT, j * SLOT, j * SLOT + SLOT);
        slots[j * SLOT + S_ENTRY] = 0;
        s = j;
      }
    }
    this.eLive[e] = 0;
    this.live--;
  }
}

/**
 * Whether the message's last record is an OPT whose last option is a COOKIE
 * with our 24 octets of data, ending the message (as edns.ts writes it): a
 * reply cut to fit, without its OPT, or with another cookie, is not.
 */
export function endsWithCookie(m: Uint8Array): boolean {
  const records = recordOffsets(m);
  if (records === null || records.length === 0) return false;
  const count = (i: number): number => (m[i]! << 8) | m[i + 1]!;
  const last = records[records.length - 1]!;
  if (count(last) !== TYPE_OPT) return false;
  // The options of the OPT: walk to the last one.
  const end = m.length;
  let lastOption = -1;
  for (let o = last + 10; o < end; ) {
    if (o + 4 > end) return false;
    lastOption = o;
    o += 4 + count(o + 2);
  }
  return lastOption >= 0 && count(lastOption) === 10 && count(lastOption + 2) === REPLY_COOKIE_LENGTH && lastOption + 4 + REPLY_COOKIE_LENGTH === end;
}

/**
 * Offsets of the TTL field of every record in a reply (the OPT pseudo-record's
 * is not a TTL, RFC 6891 §6.1.3), or null when the message does not parse.
 * Names may be compressed; a pointer ends a name.
 */
export function ttlOffsets(m: Uint8Array): number[] | null {
  const records = recordOffsets(m);
  if (records === null) return null;
  const offsets: number[] = [];
  for (const at of records) if (((m[at]! << 8) | m[at + 1]!) !== TYPE_OPT) offsets.push(at + 4);
  return offsets;
}

/**
 * Where each record's TYPE field starts (its owner name skipped, compressed
 * or not), in message order, or null when the message does not parse or
 * does not end with its last record.
 */
function recordOffsets(m: Uint8Array): number[] | null {
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
    offsets.push(off);
    off += 10 + count(off + 8);
  }
  return off === m.length ? offsets : null;
}
