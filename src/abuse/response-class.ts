/**
 * What RRL counts a reply as, read from the reply's bytes alone (so the reply
 * cache's hit path classifies what it is about to send, with no lookup): the
 * response class NSD's RRL uses (rrl.c rrl_classify) and the name it is
 * counted under, hashed with a secret seed. Pure; nothing is allocated.
 */

import { lowerOctet } from '../dns/ascii.js';
import { HEADER_LENGTH } from '../dns/header.js';

/**
 * NSD's response classes (rrl.h rrl_type), each counted apart so one kind
 * of traffic cannot starve another. `wildcard` is NSD's and is never given
 * here: a reply's bytes do not say a wildcard made it (its records carry the
 * name asked), so a wildcard answer counts as `positive` under its name.
 */
export const RESPONSE_CLASS = {
  nxdomain: 0x01,
  error: 0x02,
  referral: 0x04,
  any: 0x08,
  wildcard: 0x10,
  nodata: 0x20,
  dnskey: 0x40,
  positive: 0x80,
  rrsig: 0x100,
} as const;

const TYPE_NS = 2;
const TYPE_RRSIG = 46;
const TYPE_DNSKEY = 48;
const TYPE_ANY = 255;
const RCODE_NXDOMAIN = 3;
/** A compressed name is followed through at most this many pointers (a loop ends the walk). */
const MAX_POINTERS = 32;

/** The class of the reply `responseKey` read last (for tests and logs; the hot path needs only the key). */
export const classified = { kind: 0 };

/**
 * A 32-bit key for the reply at `buf[at, at + len)`: its response class and
 * the name it is counted under, mixed into `seed`. As NSD counts them:
 * NXDOMAIN, NODATA and other errors under the zone (the owner of the first
 * authority record, the SOA; none when there is no authority section, as
 * for REFUSED), a referral under the delegation (the NS owner), and answers
 * (positive, ANY, RRSIG, DNSKEY) under the name asked. A positive answer's
 * key also holds the type asked (as BIND counts it), so A and AAAA
 * questions for one name are limited apart. Names count case-insensitively
 * (RFC 4343). A reply that does not parse counts as an error with no name.
 */
export function responseKey(buf: Uint8Array, at: number, len: number, seed: number): number {
  const end = at + len;
  if (len < HEADER_LENGTH || buf[at + 4] !== 0 || buf[at + 5] !== 1) return finish(RESPONSE_CLASS.error, seed);
  const rcode = buf[at + 3]! & 0x0f;
  const aa = (buf[at + 2]! & 0x04) !== 0;
  const ancount = (buf[at + 6]! << 8) | buf[at + 7]!;
  const nscount = (buf[at + 8]! << 8) | buf[at + 9]!;
  const qname = at + HEADER_LENGTH;
  const nameEnd = skipName(buf, qname, end);
  if (nameEnd < 0 || nameEnd + 4 > end) return finish(RESPONSE_CLASS.error, seed);
  const qtype = (buf[nameEnd]! << 8) | buf[nameEnd + 1]!;

  let kind: number;
  let nameAt = -1;
  let withType = false;
  if (rcode === RCODE_NXDOMAIN || rcode !== 0 || ancount === 0) {
    // Counted under the zone or the delegation: the owner of the first authority record.
    let authority = -1;
    if (nscount > 0) {
      let off = nameEnd + 4;
      for (let i = 0; i < ancount && off >= 0; i++) off = skipRecord(buf, off, end);
      if (off >= 0 && skipName(buf, off, end) >= 0) authority = off;
    }
    const authorityType = authority >= 0 ? typeAfterName(buf, authority, end) : -1;
    if (rcode === RCODE_NXDOMAIN) kind = RESPONSE_CLASS.nxdomain;
    else if (rcode !== 0) kind = RESPONSE_CLASS.error;
    else if (!aa && authorityType === TYPE_NS) kind = RESPONSE_CLASS.referral;
    else if (qtype === TYPE_ANY) kind = RESPONSE_CLASS.any;
    else if (qtype === TYPE_RRSIG) kind = RESPONSE_CLASS.rrsig;
    else kind = RESPONSE_CLASS.nodata;
    if (kind === RESPONSE_CLASS.any || kind === RESPONSE_CLASS.rrsig) nameAt = qname;
    else nameAt = authority;
  } else {
    nameAt = qname;
    if (qtype === TYPE_ANY) kind = RESPONSE_CLASS.any;
    else if (qtype === TYPE_RRSIG) kind = RESPONSE_CLASS.rrsig;
    else if (qtype === TYPE_DNSKEY) kind = RESPONSE_CLASS.dnskey;
    else {
      kind = RESPONSE_CLASS.positive;
      withType = true;
    }
  }
  let h = Math.imul(seed ^ kind, 0x01000193);
  if (withType) h = Math.imul(Math.imul(h ^ (qtype >> 8), 0x01000193) ^ (qtype & 0xff), 0x01000193);
  if (nameAt >= 0) h = hashName(buf, at, nameAt, end, h);
  classified.kind = kind;
  return fmix(h);
}

/** The key of a class with no name. */
function finish(kind: number, seed: number): number {
  classified.kind = kind;
  return fmix(Math.imul(seed ^ kind, 0x01000193));
}

/** FNV-1a over the name at `buf[off]` (pointers followed, relative to the message at `base`), lower-cased; `h` if it cannot be read. */
function hashName(buf: Uint8Array, base: number, off: number, end: number, h: number): number {
  let hops = 0;
  for (;;) {
    if (off >= end) return h;
    const l = buf[off]!;
    if ((l & 0xc0) === 0xc0) {
      if (off + 1 >= end || ++hops > MAX_POINTERS) return h;
      off = base + (((l & 0x3f) << 8) | buf[off + 1]!);
      continue;
    }
    h = Math.imul(h ^ l, 0x01000193);
    if (l === 0) return h;
    if (l > 63 || off + 1 + l > end) return h;
    for (let i = off + 1; i <= off + l; i++) h = Math.imul(h ^ lowerOctet(buf[i]!), 0x01000193);
    off += l + 1;
  }
}

/** The offset past the name at `buf[off]` (a pointer ends it), or -1. */
function skipName(buf: Uint8Array, off: number, end: number): number {
  for (;;) {
    if (off >= end) return -1;
    const l = buf[off]!;
    if (l === 0) return off + 1;
    if ((l & 0xc0) === 0xc0) return off + 2 <= end ? off + 2 : -1;
    if (l > 63) return -1;
    off += l + 1;
  }
}

/** The offset past the record at `buf[off]`, or -1. */
function skipRecord(buf: Uint8Array, off: number, end: number): number {
  const n = skipName(buf, off, end);
  if (n < 0 || n + 10 > end) return -1;
  const next = n + 10 + ((buf[n + 8]! << 8) | buf[n + 9]!);
  return next <= end ? next : -1;
}

/** The TYPE of the record whose owner starts at `buf[off]`, or -1. */
function typeAfterName(buf: Uint8Array, off: number, end: number): number {
  const n = skipName(buf, off, end);
  return n < 0 || n + 2 > end ? -1 : (buf[n]! << 8) | buf[n + 1]!;
}

/** MurmurHash3's finalizer: spreads the FNV state over all 32 bits (the bucket index takes them modulo the table size). */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
