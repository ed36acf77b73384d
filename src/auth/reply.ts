/** writeReply(): a reply's wire form from record references — header, question, records, OPT — names compressed, fitted to the size limit. Pure. */

import { compressName, compressRdata, startMessage } from '../dns/compress.js';
import { replyOptLength, writeReplyOpt, type EdnsRequest } from '../dns/edns.js';
import { HEADER_LENGTH } from '../dns/header.js';
import type { RecordList } from './records.js';
import { MAX_NAME } from './wire-name.js';

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
  answers: RecordList | null;
  authorities: RecordList | null;
  additionals: RecordList | null;
  opt: ReplyOpt | null;
  /** The most octets the reply may have. */
  limit: number;
  /** The additional section (but OPT) may be left out to fit: it is not referral glue (RFC 9471). */
  dropAdditional: boolean;
  /** The authority section may be left out to fit too (NS of a positive answer, RFC 2181 §9). */
  dropAuthority: boolean;
}

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

/** Writes one section's records at `w`; returns the offset past them. */
function writeRecords(list: RecordList | null, w: number): number {
  if (list === null) return w;
  for (let i = 0; i < list.length; i++) {
    const r = list.at(i);
    const rdlength = (r.data[r.dataAt]! << 8) | r.data[r.dataAt + 1]!;
    const out = room(w + MAX_NAME + 10 + rdlength);
    const at = compressName(r.owner, r.ownerAt, r.owner.length, out, w);
    if (at < 0) throw new Error('a record\'s owner name is not a well-formed wire name');
    w = at;
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

/**
 * The reply's octets, in one Buffer of its final size: header (QR set, the
 * counts), the question as asked, the answer, authority and additional
 * records with every name compressed as compress.ts does (RFC 1035 §4.1.4;
 * RDATA names only for the RFC 1035 types, RFC 3597 §4), then the OPT.
 * Fitted to `limit` as NSD does (RFC 2181 §9, RFC 1035 §4.2.1): the whole
 * reply; else without the additional records, when they may go; else also
 * without the authority, when it may go; else TC=1 with only the header,
 * the question and the OPT. Compression points only backwards, so leaving
 * the later sections out keeps the earlier octets as they were written.
 */
export function writeReply(spec: ReplySpec): Buffer {
  startMessage();
  let out = room(HEADER_LENGTH + MAX_NAME + 4);
  let w = compressName(spec.qname, spec.qnameAt, spec.qname.length, out, HEADER_LENGTH);
  if (w < 0) throw new Error('the question name is not a well-formed wire name');
  out[w] = spec.qtype >> 8;
  out[w + 1] = spec.qtype & 0xff;
  out[w + 2] = spec.qclass >> 8;
  out[w + 3] = spec.qclass & 0xff;
  const questionEnd = w + 4;
  const answerEnd = writeRecords(spec.answers, questionEnd);
  const authorityEnd = writeRecords(spec.authorities, answerEnd);
  const additionalEnd = writeRecords(spec.additionals, authorityEnd);
  out = scratch;

  const opt = spec.opt;
  const optLength = opt === null ? 0 : replyOptLength(opt.request, opt.nsid, opt.extendedError);
  let end = additionalEnd;
  let an = spec.answers?.length ?? 0;
  let ns = spec.authorities?.length ?? 0;
  let ar = spec.additionals?.length ?? 0;
  let flags = (spec.flags & 0x7fff) | QR;
  if (additionalEnd + optLength > spec.limit) {
    if (spec.dropAdditional && authorityEnd + optLength <= spec.limit) {
      end = authorityEnd;
      ar = 0;
    } else if (spec.dropAdditional && spec.dropAuthority && answerEnd + optLength <= spec.limit) {
      end = answerEnd;
      ns = ar = 0;
    } else {
      end = questionEnd;
      an = ns = ar = 0;
      flags |= TC;
    }
  }
  if (opt !== null) ar++;

  const reply = Buffer.allocUnsafe(end + optLength);
  reply[0] = spec.id >> 8;
  reply[1] = spec.id & 0xff;
  reply[2] = flags >> 8;
  reply[3] = flags & 0xff;
  reply[4] = 0;
  reply[5] = 1;
  reply[6] = an >> 8;
  reply[7] = an & 0xff;
  reply[8] = ns >> 8;
  reply[9] = ns & 0xff;
  reply[10] = ar >> 8;
  reply[11] = ar & 0xff;
  out.copy(reply, HEADER_LENGTH, HEADER_LENGTH, end);
  if (opt !== null) writeReplyOpt(reply, end, opt.request, opt.udpSize, opt.nsid, opt.rcode, opt.extendedError);
  return reply;
}
