/** EDNS(0) (RFC 6891): what the query's OPT asks for, and the OPT of our reply. */

import type { Answer } from 'dns-packet';
import { headerOnlyReply } from './header.js';

/** NSID option code (RFC 5001 §2.3). */
const OPTION_NSID = 3;
/** Extended DNS Error option (RFC 8914). */
const OPTION_EDE = 15;
/** COOKIE option (RFC 7873 §4). */
const OPTION_COOKIE = 10;
/** RFC 8914 §4.19: this client may not use us for this (forwarding is on, the client is outside `allow-recursion`). */
export const EDE_PROHIBITED = 18;
/** RFC 8914 §4.21: the name is in no zone we are authoritative for, and we do not recurse. */
export const EDE_NOT_AUTHORITATIVE = 20;
/** DO bit in the OPT flags (RFC 3225 §3). */
const FLAG_DO = 0x8000;
/** Extended RCODE BADVERS (RFC 6891 §9). */
export const BADVERS = 16;
/** Extended RCODE BADCOOKIE (RFC 7873 §8). */
export const BADCOOKIE = 23;

/** What a query's OPT record says. */
export interface EdnsRequest {
  version: number;
  /** The requestor's UDP payload size; below 512 counts as 512 (RFC 6891 §6.2.3). */
  udpSize: number;
  /** DNSSEC OK (RFC 3225): copied into the reply. */
  dnssecOk: boolean;
  /** The query carried an (empty) NSID option (RFC 5001 §2.1). */
  nsid: boolean;
  /**
   * The COOKIE option data our reply carries (RFC 7873 §5.2: the client's
   * cookie and our server cookie), when the query had a cookie and cookies
   * are answered. Not read from the query: the pipeline works it out and
   * answer() puts it here. Written as the OPT's last option, so the reply
   * cache finds it in the last octets of a reply.
   */
  cookie?: Uint8Array;
}

/** No OPT, one OPT, or a malformed message (more than one OPT, or an OPT not at the root). */
export type EdnsRead = { kind: 'none' } | { kind: 'edns'; request: EdnsRequest } | { kind: 'formerr' };

interface OptRecord {
  type: 'OPT';
  name: string;
  udpPayloadSize: number;
  extendedRcode: number;
  ednsVersion: number;
  flags: number;
  options: { code: number; data?: Buffer }[];
}

/** Reads the OPT record among a query's additionals (RFC 6891 §6.1.1: at most one, owned by the root). */
export function readEdns(additionals: readonly Answer[] | undefined): EdnsRead {
  let opt: OptRecord | undefined;
  for (const rr of additionals ?? []) {
    if (rr.type !== 'OPT') continue;
    if (opt) return { kind: 'formerr' };
    opt = rr as unknown as OptRecord;
  }
  if (!opt) return { kind: 'none' };
  if (opt.name !== '.' && opt.name !== '') return { kind: 'formerr' };
  return {
    kind: 'edns',
    request: {
      version: opt.ednsVersion,
      udpSize: Math.max(512, opt.udpPayloadSize),
      dnssecOk: (opt.flags & FLAG_DO) !== 0,
      nsid: (opt.options ?? []).some((o) => o.code === OPTION_NSID),
    },
  };
}

/**
 * Our OPT: version 0, our UDP size, the DO bit copied and every other flag
 * clear, unknown options not echoed (RFC 6891 §6.1.4, §7), NSID when asked,
 * the request's cookie last when it has one.
 * `extendedRcode` is the full RCODE; its upper 8 bits go into the OPT.
 * `extendedError` adds an Extended DNS Error option with that INFO-CODE (RFC 8914).
 */
export function replyOpt(request: EdnsRequest, ourUdpSize: number, nsid: Buffer, extendedRcode = 0, extendedError?: number): Answer {
  const options: { code: number; data: Buffer }[] = request.nsid ? [{ code: OPTION_NSID, data: nsid }] : [];
  if (extendedError !== undefined) {
    // RFC 8914 §2: INFO-CODE, no EXTRA-TEXT.
    const data = Buffer.alloc(2);
    data.writeUInt16BE(extendedError);
    options.push({ code: OPTION_EDE, data });
  }
  if (request.cookie !== undefined) options.push({ code: OPTION_COOKIE, data: Buffer.from(request.cookie) });
  const opt: OptRecord = {
    type: 'OPT',
    name: '.',
    udpPayloadSize: ourUdpSize,
    extendedRcode: extendedRcode >> 4,
    ednsVersion: 0,
    flags: request.dnssecOk ? FLAG_DO : 0,
    options,
  };
  return opt as unknown as Answer;
}

/**
 * Writes the wire form of {@link replyOpt}'s record at `out[at]` (RFC 6891
 * §6.1.2: root owner, TYPE 41, CLASS our UDP size, TTL the upper RCODE bits,
 * version and flags, then the options) and returns the offset past it. The
 * octets are those dns-packet writes for replyOpt's record.
 */
export function writeReplyOpt(out: Uint8Array, at: number, request: EdnsRequest, ourUdpSize: number, nsid: Uint8Array, extendedRcode = 0, extendedError?: number): number {
  const size = ourUdpSize || 4096; // as dns-packet writes a zero size
  const flags = request.dnssecOk ? FLAG_DO : 0;
  const rdlength = replyOptLength(request, nsid, extendedError) - 11;
  out[at] = 0;
  out[at + 1] = 0;
  out[at + 2] = 41;
  out[at + 3] = size >> 8;
  out[at + 4] = size & 0xff;
  out[at + 5] = (extendedRcode >> 4) & 0xff;
  out[at + 6] = 0; // version 0
  out[at + 7] = flags >> 8;
  out[at + 8] = flags & 0xff;
  out[at + 9] = rdlength >> 8;
  out[at + 10] = rdlength & 0xff;
  let w = at + 11;
  if (request.nsid) {
    out[w] = 0;
    out[w + 1] = OPTION_NSID;
    out[w + 2] = nsid.length >> 8;
    out[w + 3] = nsid.length & 0xff;
    out.set(nsid, w + 4);
    w += 4 + nsid.length;
  }
  if (extendedError !== undefined) {
    // RFC 8914 §2: INFO-CODE, no EXTRA-TEXT.
    out[w] = 0;
    out[w + 1] = OPTION_EDE;
    out[w + 2] = 0;
    out[w + 3] = 2;
    out[w + 4] = (extendedError >> 8) & 0xff;
    out[w + 5] = extendedError & 0xff;
    w += 6;
  }
  const cookie = request.cookie;
  if (cookie !== undefined) {
    out[w] = 0;
    out[w + 1] = OPTION_COOKIE;
    out[w + 2] = cookie.length >> 8;
    out[w + 3] = cookie.length & 0xff;
    out.set(cookie, w + 4);
    w += 4 + cookie.length;
  }
  return w;
}

/** Octets {@link writeReplyOpt} writes. */
export function replyOptLength(request: EdnsRequest, nsid: Uint8Array, extendedError?: number): number {
  return 11 + (request.nsid ? 4 + nsid.length : 0) + (extendedError !== undefined ? 6 : 0) + (request.cookie !== undefined ? 4 + request.cookie.length : 0);
}

const NO_NSID = new Uint8Array(0);

/**
 * The BADCOOKIE reply (RFC 7873 §5.2.3 choice 2, §8): the query's ID,
 * opcode, RD and CD, its question (`questionEnd` past it, -1 for none), no
 * records, and our OPT with extended RCODE 23, the DO bit copied and the
 * request's cookie (the client's and a fresh server cookie to retry with).
 */
export function badCookieReply(query: Uint8Array, questionEnd: number, request: EdnsRequest, ourUdpSize: number): Buffer {
  return cookieReply(query, questionEnd, request, ourUdpSize, BADCOOKIE);
}

/**
 * A reply that is only our cookie: the query's ID, opcode, RD and CD, its
 * question (`questionEnd` past it, -1 for none), no records, and our OPT
 * with this (extended) RCODE, the DO bit copied and the request's cookie.
 * BADCOOKIE (above), or the answer to a query with only a COOKIE option
 * (RFC 7873 §5.4: NOERROR, or BADCOOKIE when its server cookie is not ours).
 */
export function cookieReply(query: Uint8Array, questionEnd: number, request: EdnsRequest, ourUdpSize: number, extendedRcode: number): Buffer {
  const head = headerOnlyReply(query, extendedRcode & 0xf, questionEnd);
  const bare: EdnsRequest = { version: 0, udpSize: request.udpSize, dnssecOk: request.dnssecOk, nsid: false, ...(request.cookie !== undefined ? { cookie: request.cookie } : {}) };
  const out = Buffer.alloc(head.length + replyOptLength(bare, NO_NSID));
  head.copy(out);
  out[11] = 1; // ARCOUNT: the OPT
  writeReplyOpt(out, head.length, bare, ourUdpSize, NO_NSID, extendedRcode);
  return out;
}

/** The largest UDP reply this requestor takes: its size capped by ours, 512 without EDNS (RFC 1035 §4.2.1). */
export function udpLimit(request: EdnsRequest | null, ourUdpSize: number): number {
  return request ? Math.min(request.udpSize, ourUdpSize) : 512;
}
