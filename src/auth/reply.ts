/** writeReply(): a reply's wire form from record references — header, question, records, OPT — names compressed, fitted to the size limit. Pure. */

import { compressName, compressRdata, startMessage } from '../dns/compress.js';
import { replyOptLength, writeReplyOpt, type EdnsRequest } from '../dns/edns.js';
import { HEADER_LENGTH } from '../dns/header.js';
import { negativeSoa, negativeSoaUsable, writeNegativeSoa } from './negative-soa.js';
import type { RecordList } from './records.js';
import { MAX_NAME, nameLength } from './wire-name.js';

/** QR and TC in the header's flags word (RFC 1035 §4.1.1). */
const QR = 0x8000;
const TC = 0x0200;

/** The OPT record of a reply (RFC 6891), as edns.ts replyOpt describes it. */
export interface ReplyOpt {
  request: EdnsRequest;
  /** Our UDP payload size. */
  udpSize: number;
  /** NSID payload, sent when the request asks (RFC 5001). */
  nsid: Uint8Array;
  /** The full RCODE: its upper bits go into the OPT. */
  rcode: number;
  /** An Extended DNS Error INFO-CODE to add (RFC 8914), if any. */
  extendedError?: number | undefined;
}

/** Everything a reply is made of. */
export interface ReplySpec {
  id: number;
  /** Header flags but QR and TC: opcode, AA, RD, RA, CD, and the RCODE's low four bits. */
  flags: number;
  /** The question: its name (uncompressed wire form, as asked) at `qname[qnameAt]`, type and class. */
  qname: Uint8Array;
  qnameAt: number;
  qtype: number;
  qclass: number;
  /**
   * The records, by NSD's sections in the order they are written: answer,
   * authority, optional authority, additional addresses of the first kind
   * and of the second (see Sections). Null: none.
   */
  sections: readonly [RecordList | null, RecordList | null, RecordList | null, RecordList | null, RecordList | null];
  opt: ReplyOpt | null;
  /** The most octets the reply may have. */
  limit: number;
  /** Over UDP, optional records stop once the reply passes this many octets (NSD's minimal responses: 1232 over IPv4, 1220 over IPv6). */
  minimal: number;
  /** A referral: when not one address of the first kind fits, TC is set (the resolver needs glue, RFC 9471 §3). */
  referral: boolean;
  tcp: boolean;
}

/** Section indexes in ReplySpec.sections. */
const ANSWER = 0;
const AUTHORITY = 1;
const OPTIONAL = 2;
const ADDITIONAL_A = 3;

/** The message is written here first, then copied out at its final size. */
let scratch = Buffer.allocUnsafeSlow(70_000);

/** Grows the scratch so `need` octets fit (a reply may pass 64 KiB before it is fitted). */
function room(need: number): Buffer {
  if (need > scratch.length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(need, scratch.length * 2));
    scratch.copy(grown);
    scratch = grown;
  }
  return scratch;
}

/** The owner name written last (its source, and where and how long it was written): the next record's is often the same. */
let lastOwner: Uint8Array | null = null;
let lastOwnerAt = 0;
let lastWrittenAt = 0;
let lastWrittenLength = 0;

/** Writes records `from` to `to` of a section at `w`; returns the offset past them. */
function writeRecords(list: RecordList, from: number, to: number, w: number): number {
  for (let i = from; i < to; i++) {
    const r = list.at(i);
    const rdlength = (r.data[r.dataAt]! << 8) | r.data[r.dataAt + 1]!;
    const out = room(w + MAX_NAME + 10 + rdlength);
    if (r.owner === lastOwner && r.ownerAt === lastOwnerAt && lastWrittenLength >= 2 && lastWrittenAt <= 0x3fff) {
      // The same owner as the record before (an RRset's records, its RRSIGs): point at it, or copy its pointer.
      if (lastWrittenLength === 2 && (out[lastWrittenAt]! & 0xc0) === 0xc0) {
        out[w] = out[lastWrittenAt]!;
        out[w + 1] = out[lastWrittenAt + 1]!;
      } else {
        out[w] = 0xc0 | (lastWrittenAt >> 8);
        out[w + 1] = lastWrittenAt & 0xff;
      }
      w += 2;
    } else {
      const at = compressName(r.owner, r.ownerAt, r.owner.length, out, w);
      if (at < 0) throw new Error('a record\'s owner name is not a well-formed wire name');
      lastOwner = r.owner;
      lastOwnerAt = r.ownerAt;
      lastWrittenAt = w;
      lastWrittenLength = at - w;
      w = at;
    }
    out[w] = r.type >> 8;
    out[w + 1] = r.type & 0xff;
    out[w + 2] = r.klass >> 8;
    out[w + 3] = r.klass & 0xff;
    out[w + 4] = r.ttl >>> 24;
    out[w + 5] = (r.ttl >> 16) & 0xff;
    out[w + 6] = (r.ttl >> 8) & 0xff;
    out[w + 7] = r.ttl & 0xff;
    w += 8;
    const end = compressRdata(r.type, r.data, r.dataAt, out, w);
    if (end >= 0) {
      w = end;
    } else {
      // RDATA that does not follow its type's layout is sent as it is, uncompressed.
      out.set(r.data.subarray(r.dataAt, r.dataAt + 2 + rdlength), w);
      w += 2 + rdlength;
    }
  }
  return w;
}

/** Records written per section, filled by writeReply. */
const counts = [0, 0, 0, 0, 0];

/** What compose() left besides the records in the scratch: header flags, section counts, the OPT's length. */
let composedFlags = 0;
let composedAn = 0;
let composedNs = 0;
let composedAr = 0;
let composedOptLength = 0;

/**
 * Writes the question and the records that fit into the scratch (from
 * HEADER_LENGTH on) and leaves the header's flags and counts and the OPT's
 * length in the composed* variables; returns the offset past the records.
 * See writeReply for how names are compressed and the reply is fitted.
 */
function compose(spec: ReplySpec): number {
  const negative = composeNegative(spec);
  if (negative >= 0) return negative;
  startMessage();
  lastOwner = null;
  const out = room(HEADER_LENGTH + MAX_NAME + 4);
  let w = compressName(spec.qname, spec.qnameAt, spec.qname.length, out, HEADER_LENGTH);
  if (w < 0) throw new Error('the question name is not a well-formed wire name');
  out[w] = spec.qtype >> 8;
  out[w + 1] = spec.qtype & 0xff;
  out[w + 2] = spec.qclass >> 8;
  out[w + 3] = spec.qclass & 0xff;
  w += 4;

  const opt = spec.opt;
  const optLength = opt === null ? 0 : replyOptLength(opt.request, opt.nsid, opt.extendedError);
  const limit = spec.limit - optLength;
  let flags = (spec.flags & 0x7fff) | QR;
  counts.fill(0);
  let stop = false;
  // (When an RRset is left out, nothing more is written: no later name can point into its octets.)
  for (let s = 0; s < spec.sections.length && !stop; s++) {
    const list = spec.sections[s];
    if (list === null || list === undefined) continue;
    for (let i = 0; i < list.length && !stop; ) {
      const j = list.groupEnd(i);
      const end = writeRecords(list, i, j, w);
      const fits = end <= limit;
      if (fits && (s <= AUTHORITY || spec.tcp || end <= spec.minimal)) {
        counts[s]! += j - i;
        w = end;
        i = j;
        continue;
      }
      // Left out, with everything after it (so nothing written later can point into its octets).
      stop = true;
      if (s <= AUTHORITY) flags |= TC;
      else if (s === ADDITIONAL_A && counts[ADDITIONAL_A] === 0 && spec.referral) flags |= TC;
    }
  }
  composedFlags = flags;
  composedAn = counts[ANSWER]!;
  composedNs = counts[AUTHORITY]! + counts[OPTIONAL]!;
  composedAr = counts[3]! + counts[4]! + (opt !== null ? 1 : 0);
  composedOptLength = optLength;
  return w;
}

/**
 * compose() for a reply whose only record is its zone's SOA in authority
 * (NXDOMAIN or NODATA without DNSSEC records, RFC 2308 §2): the question
 * name as asked (the first name of a message has nothing to point at),
 * then the zone's template of the record (negative-soa.ts), when the
 * template stands for what compression would write and the record fits.
 * Returns -1 (nothing decided) otherwise.
 */
function composeNegative(spec: ReplySpec): number {
  const sections = spec.sections;
  const authority = sections[AUTHORITY];
  if (authority === null || authority.length !== 1) return -1;
  for (let s = 0; s < sections.length; s++) if (s !== AUTHORITY && sections[s] !== null && sections[s]!.length !== 0) return -1;
  const r = authority.at(0);
  const t = negativeSoa(r);
  if (t === null) return -1;
  const qLength = nameLength(spec.qname, spec.qnameAt);
  const shift = negativeSoaUsable(t, r.owner, r.ownerAt, spec.qname, spec.qnameAt, qLength);
  if (shift < 0) return -1;
  const opt = spec.opt;
  const optLength = opt === null ? 0 : replyOptLength(opt.request, opt.nsid, opt.extendedError);
  const end = HEADER_LENGTH + qLength + 4 + t.bytes.length;
  if (end > spec.limit - optLength) return -1;
  const out = room(end);
  const qname = spec.qname;
  for (let i = 0; i < qLength; i++) out[HEADER_LENGTH + i] = qname[spec.qnameAt + i]!;
  let w = HEADER_LENGTH + qLength;
  out[w] = spec.qtype >> 8;
  out[w + 1] = spec.qtype & 0xff;
  out[w + 2] = spec.qclass >> 8;
  out[w + 3] = spec.qclass & 0xff;
  w = writeNegativeSoa(t, shift, out, w + 4);
  composedFlags = (spec.flags & 0x7fff) | QR;
  composedAn = 0;
  composedNs = 1;
  composedAr = opt !== null ? 1 : 0;
  composedOptLength = optLength;
  return w;
}

/** Writes the composed message (its `w` octets in the scratch, then the OPT) at `out[at]`. */
function emit(spec: ReplySpec, w: number, out: Uint8Array, at: number): void {
  out[at] = spec.id >> 8;
  out[at + 1] = spec.id & 0xff;
  out[at + 2] = composedFlags >> 8;
  out[at + 3] = composedFlags & 0xff;
  out[at + 4] = 0;
  out[at + 5] = 1;
  out[at + 6] = composedAn >> 8;
  out[at + 7] = composedAn & 0xff;
  out[at + 8] = composedNs >> 8;
  out[at + 9] = composedNs & 0xff;
  out[at + 10] = composedAr >> 8;
  out[at + 11] = composedAr & 0xff;
  const body = w - HEADER_LENGTH;
  if (body <= 128) {
    // A short body (a negative answer, a small positive one) costs less copied here than through a native call.
    for (let i = 0; i < body; i++) out[at + HEADER_LENGTH + i] = scratch[HEADER_LENGTH + i]!;
  } else {
    scratch.copy(out, at + HEADER_LENGTH, HEADER_LENGTH, w);
  }
  const opt = spec.opt;
  if (opt !== null) writeReplyOpt(out, at + w, opt.request, opt.udpSize, opt.nsid, opt.rcode, opt.extendedError);
}

/**
 * The reply's octets, in one Buffer of its final size: header (QR set, the
 * counts), the question as asked, the records section by section with
 * every name compressed as compress.ts does (RFC 1035 §4.1.4; RDATA names
 * only for the RFC 1035 types, RFC 3597 §4), then the OPT.
 *
 * Fitted as NSD fits it (RFC 2181 §9, RFC 1035 §4.2.1, RFC 4035 §3.1.1),
 * one RRset with its signatures at a time, room kept for the OPT: an RRset
 * of the answer or authority that does not fit is left out with all that
 * follows, and TC set; one of the optional sections that does not fit, or
 * over UDP takes the reply past `minimal`, is left out with all that
 * follows, without TC — unless the reply refers and no address of the
 * first kind made it (then TC). An RRSIG is never sent without its RRset.
 * Compression points only backwards, so what was written before an RRset
 * left out stays as it was.
 */
export function writeReply(spec: ReplySpec): Buffer {
  const w = compose(spec);
  const reply = Buffer.allocUnsafe(w + composedOptLength);
  emit(spec, w, reply, 0);
  return reply;
}

/**
 * {@link writeReply}'s octets written at `out[at]` instead (the UDP engine's
 * send area: no Buffer per reply), when they fit in `cap` octets; returns
 * their length, or -1 (nothing written) when they do not fit.
 */
export function writeReplyInto(spec: ReplySpec, out: Uint8Array, at: number, cap: number): number {
  const w = compose(spec);
  const length = w + composedOptLength;
  if (length > cap) return -1;
  emit(spec, w, out, at);
  return length;
}
