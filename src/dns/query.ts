/** Reading a query from its bytes alone: a plain query's question and EDNS facts (at most an OPT), and any query's COOKIE option; no decoder objects. Pure. */

import type { EdnsRead, EdnsRequest } from './edns.js';
import { HEADER_LENGTH } from './header.js';

/** OPT's type number (RFC 6891 §6.1.2). */
export const TYPE_OPT = 41;
const OPTION_NSID = 3;
/** COOKIE option code (RFC 7873 §4). */
const OPTION_COOKIE = 10;
/** DO bit in the OPT flags (RFC 3225 §3). */
const FLAG_DO = 0x80;

/**
 * The EDNS facts of a plain query, read from its bytes: one question whose
 * name is uncompressed labels (RFC 1035 §4.1.2, at most 63 octets a label
 * and 255 a name), no answer or authority records, and either nothing after
 * the question or exactly one OPT owned by the root whose options fill its
 * RDATA (RFC 6891 §6.1.2). The header's QR, opcode and QDCOUNT are the
 * caller's to check first. Any other message gives null: the caller decodes
 * it in full, which also finds every FORMERR. This is the shape the reply
 * cache takes (answer-cache.ts scan), so a question answers alike whether it
 * hits or misses there; option contents other than NSID are not read, here
 * or there.
 */
export function readPlainQuery(q: Uint8Array): EdnsRead | null {
  const facts = plainQueryFacts(q);
  if (facts === NOT_PLAIN) return null;
  if (facts === PLAIN_NO_OPT) return { kind: 'none' };
  return { kind: 'edns', request: ednsRequest(facts) };
}

/** plainQueryFacts: not a plain query. */
export const NOT_PLAIN = -2;
/** plainQueryFacts: a plain query without an OPT. */
export const PLAIN_NO_OPT = -1;

/**
 * {@link readPlainQuery} without objects: NOT_PLAIN, PLAIN_NO_OPT, or the
 * OPT's facts as {@link readOpt} gives them (≥ 0; {@link ednsRequest}
 * makes them a request).
 */
export function plainQueryFacts(q: Uint8Array): number {
  const end = q.length;
  if (end < HEADER_LENGTH + 5) return NOT_PLAIN;
  if (q[6] !== 0 || q[7] !== 0 || q[8] !== 0 || q[9] !== 0 || q[10] !== 0) return NOT_PLAIN;
  const arcount = q[11]!;
  if (arcount > 1) return NOT_PLAIN;
  let at = HEADER_LENGTH;
  for (;;) {
    if (at >= end) return NOT_PLAIN;
    const l = q[at]!;
    if (l === 0) break;
    if (l > 63 || at + 1 + l > end || at - HEADER_LENGTH + l + 2 > 255) return NOT_PLAIN;
    at += l + 1;
  }
  const qEnd = at + 5;
  if (qEnd > end) return NOT_PLAIN;
  if (arcount === 0) return qEnd === end ? PLAIN_NO_OPT : NOT_PLAIN;
  const facts = readOpt(q, qEnd, end);
  return facts < 0 ? NOT_PLAIN : facts;
}

/** The request an OPT's facts (readOpt) make. */
export function ednsRequest(facts: number): EdnsRequest {
  // RFC 6891 §6.2.3: a size below 512 counts as 512.
  return { version: Math.floor(facts / OPT_VERSION) % 256, udpSize: Math.max(512, Math.floor(facts / OPT_SIZE)), dnssecOk: (facts & OPT_DO) !== 0, nsid: (facts & OPT_NSID) !== 0 };
}

/**
 * The EDNS facts of a query with only a COOKIE option (RFC 7873 §5.4): QR=0,
 * opcode QUERY, no question and no records but one OPT, version 0, owned by
 * the root, filling the message, with a COOKIE option of a well-formed
 * length (RFC 7873 §5.2.2) among its options. Null for anything else (with
 * no question, that is FORMERR, answer.ts).
 */
export function readCookieOnlyQuery(q: Uint8Array): EdnsRequest | null {
  if (q.length < HEADER_LENGTH || (q[2]! & 0xf8) !== 0) return null;
  for (let i = 4; i < 11; i++) if (q[i] !== 0) return null;
  if (q[11] !== 1) return null;
  const facts = readOpt(q, HEADER_LENGTH, q.length);
  if (facts < 0 || (facts & OPT_COOKIE) === 0 || Math.floor(facts / OPT_VERSION) % 256 !== 0) return null;
  return { version: 0, udpSize: Math.max(512, Math.floor(facts / OPT_SIZE)), dnssecOk: (facts & OPT_DO) !== 0, nsid: (facts & OPT_NSID) !== 0 };
}

/** readOpt's result: the UDP size times OPT_SIZE, plus the version times OPT_VERSION, plus the DO, NSID and COOKIE bits. */
export const OPT_SIZE = 0x10000;
export const OPT_VERSION = 0x100;
export const OPT_DO = 2;
export const OPT_NSID = 1;
/** A COOKIE option of a well-formed length (RFC 7873 §5.2.2: 8, or 16 to 40 octets); the first one counts. */
export const OPT_COOKIE = 4;
/** A COOKIE option of any other length (FORMERR where cookies are answered). */
export const OPT_BAD_COOKIE = 8;

/**
 * Reads the one OPT record (RFC 6891 §6.1.2) that must fill `q[at, end)`
 * exactly: owned by the root, type 41, options that fill its RDATA. Returns
 * its facts as one number (see OPT_SIZE; nothing is allocated: the reply
 * cache's hit path calls this), or -1 when the bytes are anything else.
 */
export function readOpt(q: Uint8Array, at: number, end: number): number {
  // Root name, type 41, class = UDP size, TTL = extended RCODE, version, flags; RDLENGTH; options.
  if (at + 11 > end || q[at] !== 0 || ((q[at + 1]! << 8) | q[at + 2]!) !== TYPE_OPT) return -1;
  const size = (q[at + 3]! << 8) | q[at + 4]!;
  const version = q[at + 6]!;
  const dnssecOk = (q[at + 7]! & FLAG_DO) !== 0;
  const rdlen = (q[at + 9]! << 8) | q[at + 10]!;
  if (at + 11 + rdlen !== end) return -1;
  let nsid = false;
  let cookie = 0;
  for (let o = at + 11; o < end; ) {
    if (o + 4 > end) return -1;
    const code = (q[o]! << 8) | q[o + 1]!;
    const olen = (q[o + 2]! << 8) | q[o + 3]!;
    if (o + 4 + olen > end) return -1;
    if (code === OPTION_NSID) nsid = true;
    else if (code === OPTION_COOKIE && cookie === 0) cookie = cookieLengthOk(olen) ? OPT_COOKIE : OPT_BAD_COOKIE;
    o += 4 + olen;
  }
  return size * OPT_SIZE + version * OPT_VERSION + (dnssecOk ? OPT_DO : 0) + (nsid ? OPT_NSID : 0) + cookie;
}

/** RFC 7873 §5.2.2: a client cookie alone (8 octets), or with a server cookie of 8 to 32 octets. */
function cookieLengthOk(len: number): boolean {
  return len === 8 || (len >= 16 && len <= 40);
}

/** findCookie: the query has no COOKIE option. */
export const NO_COOKIE = -1;
/** findCookie: its first COOKIE option has a length RFC 7873 §5.2.2 calls malformed (answered FORMERR). */
export const MALFORMED_COOKIE = -2;

/**
 * Finds the first COOKIE option (RFC 7873 §4) in the OPT record of the
 * message at `q[off, off + len)`, walking every section (compressed names
 * are skipped), allocation-free: a query without additional records costs a
 * header read. Returns NO_COOKIE, MALFORMED_COOKIE, or where the option's
 * data is and its length packed in one number: read them with
 * {@link cookieDataAt} and {@link cookieDataLength}. A message that does not
 * parse has NO_COOKIE (the answer path finds its FORMERR).
 */
export function findCookie(q: Uint8Array, off: number, len: number): number {
  const end = off + len;
  if (len < HEADER_LENGTH) return NO_COOKIE;
  const arcount = (q[off + 10]! << 8) | q[off + 11]!;
  if (arcount === 0) return NO_COOKIE;
  const qdcount = (q[off + 4]! << 8) | q[off + 5]!;
  const before = ((q[off + 6]! << 8) | q[off + 7]!) + ((q[off + 8]! << 8) | q[off + 9]!);
  let at = off + HEADER_LENGTH;
  for (let i = 0; i < qdcount; i++) {
    at = skipName(q, at, end);
    if (at < 0 || at + 4 > end) return NO_COOKIE;
    at += 4;
  }
  for (let i = 0; i < before + arcount; i++) {
    at = skipName(q, at, end);
    if (at < 0 || at + 10 > end) return NO_COOKIE;
    const type = (q[at]! << 8) | q[at + 1]!;
    const rdEnd = at + 10 + ((q[at + 8]! << 8) | q[at + 9]!);
    if (rdEnd > end) return NO_COOKIE;
    if (i >= before && type === TYPE_OPT) {
      for (let o = at + 10; o + 4 <= rdEnd; ) {
        const code = (q[o]! << 8) | q[o + 1]!;
        const olen = (q[o + 2]! << 8) | q[o + 3]!;
        if (o + 4 + olen > rdEnd) return NO_COOKIE;
        if (code === OPTION_COOKIE) return cookieLengthOk(olen) ? (o + 4) * 64 + olen : MALFORMED_COOKIE;
        o += 4 + olen;
      }
      return NO_COOKIE;
    }
    at = rdEnd;
  }
  return NO_COOKIE;
}

/** Where the COOKIE option's data begins, from a findCookie result ≥ 0. */
export function cookieDataAt(found: number): number {
  return Math.floor(found / 64);
}

/** The COOKIE option data's length (8 to 40), from a findCookie result ≥ 0. */
export function cookieDataLength(found: number): number {
  return found % 64;
}

/** The offset past the name at `q[at]` (a pointer ends it), or -1. */
export function skipName(q: Uint8Array, at: number, end: number = q.length): number {
  for (;;) {
    if (at >= end) return -1;
    const l = q[at]!;
    if (l === 0) return at + 1;
    if ((l & 0xc0) === 0xc0) return at + 2 <= end ? at + 2 : -1;
    if (l > 63) return -1;
    at += l + 1;
  }
}
