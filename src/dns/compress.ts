/**
 * Name compression (RFC 1035 §4.1.4) applied to an encoded message:
 * dns-packet writes every name in full, which makes replies about 1.7× the
 * size NSD sends, so they truncate sooner and cost more to send. Pure.
 */

import { lowerOctet } from './ascii.js';
import { HEADER_LENGTH } from './header.js';

/**
 * Types whose RDATA names may be compressed: only those of RFC 1035 (RFC 3597
 * §4). Each entry lists the RDATA layout: 'n' a domain name, a number that
 * many fixed octets. Every other type's RDATA is copied as it is (RFC 2782
 * forbids compressing SRV targets, RFC 4034 §3.1.7 RRSIG signer names).
 */
const COMPRESSIBLE: ReadonlyMap<number, readonly ('n' | number)[]> = new Map([
  [2, ['n']], // NS
  [3, ['n']], // MD
  [4, ['n']], // MF
  [5, ['n']], // CNAME
  [6, ['n', 'n', 20]], // SOA: MNAME, RNAME, five 32-bit numbers
  [7, ['n']], // MB
  [8, ['n']], // MG
  [9, ['n']], // MR
  [12, ['n']], // PTR
  [14, ['n', 'n']], // MINFO
  [15, [2, 'n']], // MX
]);
/** The same, indexed by type (the RFC 1035 types are all below 16): no map lookup per record. */
const LAYOUTS: readonly (readonly ('n' | number)[] | undefined)[] = Array.from({ length: 16 }, (_, t) => COMPRESSIBLE.get(t));

/** Pointers carry 14 bits of offset. */
const MAX_POINTER = 0x3fff;
/** A name of at most 255 octets has at most 127 labels. */
const MAX_LABELS = 128;
/** Scratch for one name: where each label starts and the hash of the suffix it begins. */
const starts = new Int32Array(MAX_LABELS);
const hashes = new Int32Array(MAX_LABELS);
/**
 * Suffixes written so far in the current message: an open-addressed table of
 * (hash, offset), its slots valid only when stamped with the message's
 * generation, so starting a message clears nothing. Room for the names of
 * a full 16 KiB transfer message (~600 records, a new suffix or two each):
 * with 512 slots, names past the 384th were not remembered and later RDATA
 * names could not point at them (NSD remembers every name of a message).
 */
const TABLE = 4096;
const tableHash = new Int32Array(TABLE);
const tableAt = new Int32Array(TABLE);
const tableGen = new Int32Array(TABLE);
let generation = 0;
let tableUsed = 0;

/** Where a suffix with this hash was written in this message, and is the same name; else -1. */
function lookup(hash: number, src: Uint8Array, at: number, out: Uint8Array): number {
  for (let s = hash & (TABLE - 1); tableGen[s] === generation; s = (s + 1) & (TABLE - 1)) {
    if (tableHash[s] === hash && sameName(src, at, out, tableAt[s]!)) return tableAt[s]!;
  }
  return -1;
}

/** Remembers a suffix written at `at` (the table keeps room for probing; past that, later names are not remembered). */
function remember(hash: number, at: number): void {
  if (tableUsed >= (TABLE * 3) / 4) return;
  let s = hash & (TABLE - 1);
  while (tableGen[s] === generation) s = (s + 1) & (TABLE - 1);
  tableGen[s] = generation;
  tableHash[s] = hash;
  tableAt[s] = at;
  tableUsed++;
}


/**
 * Whether the name at `a[i]` (uncompressed) equals the name at `out[o]`
 * (which may end in pointers into `out`), ignoring ASCII case.
 */
function sameName(a: Uint8Array, i: number, out: Uint8Array, o: number): boolean {
  for (let hops = 0; ; ) {
    while ((out[o]! & 0xc0) === 0xc0) {
      if (++hops > 64) return false;
      o = ((out[o]! & 0x3f) << 8) | out[o + 1]!;
    }
    const l = a[i]!;
    if (out[o] !== l) return false;
    if (l === 0) return true;
    for (let k = 1; k <= l; k++) if (lowerOctet(a[i + k]!) !== lowerOctet(out[o + k]!)) return false;
    i += l + 1;
    o += l + 1;
  }
}

/**
 * Starts a new message for {@link compressName}: the names of the last one
 * are forgotten (by a new generation stamp; nothing is cleared).
 */
export function startMessage(): void {
  if (++generation === 0x7fffffff) {
    // Stamps are about to repeat: forget them all.
    tableGen.fill(0);
    generation = 1;
  }
  tableUsed = 0;
}

/** The hash of the root name, which {@link extendCompressionHash} extends label by label. */
export const COMPRESSION_HASH_ROOT = 0x811c9dc5 | 0;
/** Table keys are the hashes' low 30 bits: small integers, no heap number per key. */
const HASH_MASK = 0x3fffffff;

/**
 * The hash under which the compression table files a name (FNV-1a over its
 * lower-cased octets, from the root down): `state` is the hash of the name
 * less its first label, the label is at `src[at]`. So a name's hash follows
 * from its parent's with one label's work.
 */
export function extendCompressionHash(state: number, src: Uint8Array, at: number): number {
  let h = state;
  for (let k = at, stop = at + src[at]!; k <= stop; k++) h = Math.imul(h ^ lowerOctet(src[k]!), 0x01000193);
  return h;
}

/**
 * {@link extendCompressionHash} for a label already in lower case (a zone
 * image's lookup key): the same hash without folding each octet.
 */
export function extendLowerCaseHash(state: number, src: Uint8Array, at: number): number {
  let h = state;
  for (let k = at, stop = at + src[at]!; k <= stop; k++) h = Math.imul(h ^ src[k]!, 0x01000193);
  return h;
}

/** The hash of the uncompressed, well-formed wire name at `src[at]` (as {@link extendCompressionHash} builds it). */
export function compressionHash(src: Uint8Array, at: number): number {
  let labels = 0;
  for (let p = at; src[p] !== 0 && labels < MAX_LABELS; p += src[p]! + 1) starts[labels++] = p;
  let h = COMPRESSION_HASH_ROOT;
  for (let i = labels - 1; i >= 0; i--) h = extendCompressionHash(h, src, starts[i]!);
  return h;
}

/**
 * Where the name at `src[at]` (uncompressed), whose hash is `hash`, was
 * written in `out` since {@link startMessage}, or -1: for a writer that
 * compresses names it knows more about than {@link compressName} does.
 */
export function findWritten(hash: number, src: Uint8Array, at: number, out: Uint8Array): number {
  return lookup(hash & HASH_MASK, src, at, out);
}

/** Remembers that a name with hash `hash` was written at `at` in this message (its first label there, not a pointer), for the names after it. */
export function rememberWritten(hash: number, at: number): void {
  if (at <= MAX_POINTER) remember(hash & HASH_MASK, at);
}

/** Where the last name {@link compressName} read ended in its source (one past its zero octet). */
let readEnd = 0;

/**
 * Writes the uncompressed wire name at `src[at]` (which must end before
 * `srcEnd`) to `out[w]`, compressed against the names written to `out` since
 * {@link startMessage} (RFC 1035 §4.1.4), and remembers its suffixes for the
 * names after it. Suffixes match without regard to ASCII case (RFC 4343), so
 * a name equal to an earlier one reads back in the earlier one's case.
 * Returns the offset in `out` past the name, or -1 when the name does not
 * parse (a pointer, a label over 63 octets, past `srcEnd`).
 */
export function compressName(src: Uint8Array, at: number, srcEnd: number, out: Uint8Array, w: number): number {
  let labels = 0;
  let p = at;
  for (;;) {
    if (p >= srcEnd) return -1;
    const l = src[p]!;
    if (l === 0) break;
    if (l > 63 || p + 1 + l > srcEnd || labels === MAX_LABELS) return -1;
    starts[labels++] = p;
    p += l + 1;
  }
  readEnd = p + 1;
  // Hashes of each suffix, from the root up.
  let h = COMPRESSION_HASH_ROOT;
  for (let i = labels - 1; i >= 0; i--) {
    h = extendCompressionHash(h, src, starts[i]!);
    hashes[i] = h & HASH_MASK; // a small integer: no heap number per key
  }
  let pointer = -1;
  let keep = labels;
  for (let i = 0; i < labels; i++) {
    const found = lookup(hashes[i]!, src, starts[i]!, out);
    if (found >= 0) {
      pointer = found;
      keep = i;
      break;
    }
  }
  for (let i = 0; i < keep; i++) {
    // (A suffix seen before was found above, unless a longer one matched first: no duplicate to avoid.)
    if (w <= MAX_POINTER) remember(hashes[i]!, w);
    const s = starts[i]!;
    for (let k = s; k <= s + src[s]!; k++) out[w++] = src[k]!;
  }
  if (pointer >= 0) {
    out[w++] = 0xc0 | (pointer >> 8);
    out[w++] = pointer & 0xff;
  } else {
    out[w++] = 0;
  }
  return w;
}

/**
 * Writes one record's RDLENGTH and RDATA, read at `src[at]` (RDLENGTH first,
 * as on the wire), to `out[w]`: the names of the RFC 1035 types compressed,
 * RDLENGTH rewritten; every other type copied as it is (RFC 3597 §4).
 * Returns the offset in `out` past the RDATA, or -1 when the RDATA does not
 * follow its type's layout.
 */
export function compressRdata(type: number, src: Uint8Array, at: number, out: Uint8Array, w: number): number {
  const rdlength = (src[at]! << 8) | src[at + 1]!;
  const rdEnd = at + 2 + rdlength;
  if (rdEnd > src.length) return -1;
  const layout = type < 16 ? LAYOUTS[type] : undefined;
  if (layout === undefined) {
    if (rdlength > 64) {
      out.set(src.subarray(at, rdEnd), w);
      return w + 2 + rdlength;
    }
    for (let r = at; r < rdEnd; ) out[w++] = src[r++]!;
    return w;
  }
  const lengthAt = w;
  w += 2;
  let r = at + 2;
  for (const part of layout) {
    if (part === 'n') {
      w = compressName(src, r, rdEnd, out, w);
      if (w < 0) return -1;
      r = readEnd;
    } else {
      if (r + part > rdEnd) return -1;
      for (const stop = r + part; r < stop; ) out[w++] = src[r++]!;
    }
  }
  if (r !== rdEnd) return -1;
  const written = w - lengthAt - 2;
  out[lengthAt] = written >> 8;
  out[lengthAt + 1] = written & 0xff;
  return w;
}

/**
 * The message with every owner name, question name and RFC 1035 RDATA name
 * compressed against the names before it ({@link compressName}), as NSD
 * writes them: an owner name equal to the question is a pointer to it and
 * reads back in the asker's case. A message that does not parse, or that
 * already holds pointers, is returned as it is.
 */
export function compressNames(msg: Uint8Array): Buffer {
  const src = Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  if (src.length < HEADER_LENGTH) return src;
  const out = Buffer.allocUnsafe(src.length);
  for (let i = 0; i < HEADER_LENGTH; i++) out[i] = src[i]!;
  startMessage();
  let r = HEADER_LENGTH;
  let w = HEADER_LENGTH;
  const count = (at: number): number => (src[at]! << 8) | src[at + 1]!;
  for (let q = count(4); q > 0; q--) {
    w = compressName(src, r, src.length, out, w);
    if (w < 0 || readEnd + 4 > src.length) return src;
    out.set(src.subarray(readEnd, readEnd + 4), w);
    w += 4;
    r = readEnd + 4;
  }
  for (let n = count(6) + count(8) + count(10); n > 0; n--) {
    w = compressName(src, r, src.length, out, w);
    if (w < 0 || readEnd + 10 > src.length) return src;
    r = readEnd;
    const type = count(r);
    for (let k = 0; k < 8; k++) out[w++] = src[r++]!;
    // A written record is never longer than its source: out has room.
    w = compressRdata(type, src, r, out, w);
    if (w < 0) return src;
    r += 2 + count(r);
  }
  if (r !== src.length) return src;
  return out.subarray(0, w);
}
