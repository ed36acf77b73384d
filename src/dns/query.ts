/** Reading a plain query from its bytes alone: one question and at most an OPT, the EDNS facts, no decoder objects. Pure. */

import type { EdnsRead } from './edns.js';
import { HEADER_LENGTH } from './header.js';

/** OPT's type number (RFC 6891 §6.1.2). */
export const TYPE_OPT = 41;
const OPTION_NSID = 3;
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
  const end = q.length;
  if (end < HEADER_LENGTH + 5) return null;
  if (q[6] !== 0 || q[7] !== 0 || q[8] !== 0 || q[9] !== 0 || q[10] !== 0) return null;
  const arcount = q[11]!;
  if (arcount > 1) return null;
  let at = HEADER_LENGTH;
  for (;;) {
    if (at >= end) return null;
    const l = q[at]!;
    if (l === 0) break;
    if (l > 63 || at + 1 + l > end || at - HEADER_LENGTH + l + 2 > 255) return null;
    at += l + 1;
  }
  const qEnd = at + 5;
  if (qEnd > end) return null;
  if (arcount === 0) return qEnd === end ? { kind: 'none' } : null;
  const facts = readOpt(q, qEnd, end);
  if (facts < 0) return null;
  const size = Math.floor(facts / OPT_SIZE);
  const version = Math.floor(facts / OPT_VERSION) % 256;
  const dnssecOk = (facts & OPT_DO) !== 0;
  const nsid = (facts & OPT_NSID) !== 0;
  // RFC 6891 §6.2.3: a size below 512 counts as 512.
  return { kind: 'edns', request: { version, udpSize: Math.max(512, size), dnssecOk, nsid } };
}

/** readOpt's result: the UDP size times OPT_SIZE, plus the version times OPT_VERSION, plus the DO and NSID bits. */
export const OPT_SIZE = 0x10000;
export const OPT_VERSION = 0x100;
export const OPT_DO = 2;
export const OPT_NSID = 1;

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
  for (let o = at + 11; o < end; ) {
    if (o + 4 > end) return -1;
    const code = (q[o]! << 8) | q[o + 1]!;
    const olen = (q[o + 2]! << 8) | q[o + 3]!;
    if (o + 4 + olen > end) return -1;
    if (code === OPTION_NSID) nsid = true;
    o += 4 + olen;
  }
  return size * OPT_SIZE + version * OPT_VERSION + (dnssecOk ? OPT_DO : 0) + (nsid ? OPT_NSID : 0);
}
