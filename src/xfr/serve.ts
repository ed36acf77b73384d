/**
 * answer()'s branch for zone transfers, NOTIFY and TSIG: the request's TSIG
 * checked (RFC 8945 §5.2), AXFR (RFC 5936) and IXFR (RFC 1995) answered to
 * whom `allow-transfer` admits, NOTIFY (RFC 1996) answered per zone type,
 * and any other signed query answered as usual with its reply signed. Pure:
 * the policy, keys, journals, clock and log come in the context.
 */

import type { AnswerContext, AnswerOutcome, Client } from '../dns/answer.js';
import { replyOptLength, writeReplyOpt, EDE_PROHIBITED, udpLimit, type EdnsRequest } from '../dns/edns.js';
import { headerOnlyReply, RCODE } from '../dns/header.js';
import { lowerName } from '../dns/ascii.js';
import type { ZoneImage } from '../zone/image/image.js';
import type { ZoneType } from '../config.js';
import { describeEntry, NOBODY, type XfrAcl } from './acl.js';
import { axfrStream, TransferStream, ZoneCursor, type RecordCursor } from './axfr.js';
import { incrementalCursor, ixfrQuerySerial, planIxfr, soaCursor } from './ixfr.js';
import { soaRecord, type Journal } from './journal.js';
import { MessageWriter, type MessageHead } from './packer.js';
import { FUDGE, findTsig, RCODE_NOTAUTH, signResponse, TsigKeyring, TsigStreamSigner, tsigErrorReply, tsigFormerr, tsigLength, verifyRequest, wireText, TSIG_ERROR_NAMES, type TsigKey, type TsigRecord } from './tsig.js';

/** Opcodes (RFC 1035 §4.1.1, RFC 1996 §3). */
const OPCODE_NOTIFY = 4;
/** Query types and class (RFC 1035 §3.2.3, RFC 1995 §3). */
const AXFR = 252;
const IXFR = 251;
const IN = 1;
const RD = 0x0100;
const AA = 0x0400;
const RA = 0x0080;

/** What a worker knows about a configured zone's transfers. */
export interface ZonePolicy {
  /** The origin as configured (presentation form). */
  origin: string;
  type: ZoneType;
  /** Who may transfer it (RFC 5936 §4: the primary decides; NSD's provide-xfr, Knot's acl). */
  allowTransfer: XfrAcl;
  /** Who may notify us of it (RFC 1996 §3.10). */
  allowNotify: XfrAcl;
}

/** Where a worker finds a zone's IXFR journal (read from the state directory, src/xfr/journal-file.ts). */
export interface JournalSource {
  /** The journal that leads to `image`, or null (none, unreadable, or for another version). */
  journal(image: ZoneImage): Journal | null;
}

/** A line for the worker's log: refusals and failed TSIG checks (warn), transfers given (info). */
export type TransferLog = (level: 'info' | 'warn', message: string) => void;

/** Told of a NOTIFY for a secondary zone that `allow-notify` admitted (the secondary side refreshes the zone). */
export type NotifyHook = (origin: string, client: Client, serial: number | null) => void;

/** Everything the transfer branch needs, built once per worker from the config (src/xfr/policy.ts). */
export interface TransferContext {
  keys: TsigKeyring;
  /** Configured zones by their lower-cased wire origin (octets as latin1). */
  zones: ReadonlyMap<string, ZonePolicy>;
  journals: JournalSource;
  /** Seconds since 1970 (TSIG times). */
  now: () => number;
  log: TransferLog;
  notified?: NotifyHook;
  /** Told when an AXFR or IXFR stream of messages is handed out (not for a refusal, nor a reply of one message). */
  streamStarted?: () => void;
}

/** No keys, no zone policies: every transfer NOTAUTH or REFUSED, every signed request BADKEY. */
const NONE: TransferContext = { keys: new TsigKeyring([]), zones: new Map(), journals: { journal: () => null }, now: () => Date.now() / 1000, log: () => undefined };

/** The question of a message answer() handed over, as it read it. */
export interface XfrQuestion {
  /** The message as received. */
  query: Buffer;
  /** Offset just past the question. */
  questionEnd: number;
  /** The question's name as asked (uncompressed wire form at index 0). */
  qname: Uint8Array;
  qtype: number;
  qclass: number;
  opcode: number;
  /** The query's EDNS, or null. */
  request: EdnsRequest | null;
  /** RA in our replies: the client may recurse here (answer() sets it on every reply alike, RFC 1035 §4.1.1). */
  recursionAvailable: boolean;
}

/** Answers a message with its TSIG taken off, its reply fitted `reserve` octets smaller (room for our TSIG). */
export type InnerAnswer = (query: Buffer, reserve: number) => AnswerOutcome;

/** A verified request's key and TSIG record. */
interface Signed {
  key: TsigKey;
  record: TsigRecord;
}

/**
 * Answers a message that is a zone transfer (AXFR, IXFR), a NOTIFY, or
 * carries a TSIG; null for any other (answer() goes on as usual).
 * A TSIG is checked first (RFC 8945 §5.2: FORMERR when misplaced, NOTAUTH
 * with BADKEY, BADSIG, BADTIME or BADTRUNC), and every reply to a verified
 * request is signed with its key, a transfer's every message (§5.3.1).
 */
export function transferOutcome(q: XfrQuestion, ctx: AnswerContext, client: Client, inner: InnerAnswer): AnswerOutcome | null {
  const t = ctx.transfer ?? NONE;
  const isTransfer = q.qtype === AXFR || q.qtype === IXFR;
  const found = findTsig(q.query);
  if (found.kind === 'none' && !isTransfer && q.opcode !== OPCODE_NOTIFY) return null;
  let signed: Signed | null = null;
  if (found.kind === 'formerr') {
    t.log('warn', `${what(q)} from ${client.address}: ${found.why}; answered FORMERR (RFC 8945 §5.2)`);
    return reply(tsigFormerr(q.query, q.questionEnd));
  }
  if (found.kind === 'found') {
    const check = verifyRequest(q.query, found.record, t.keys, t.now());
    if (check.kind === 'formerr') {
      t.log('warn', `${what(q)} from ${client.address}: TSIG with ${check.why}; answered FORMERR (RFC 8945 §5.2.2.1)`);
      return reply(tsigFormerr(q.query, q.questionEnd));
    }
    if (check.kind === 'error') {
      t.log('warn', `${what(q)} from ${client.address}: TSIG ${TSIG_ERROR_NAMES[check.error]}: ${check.why}; answered NOTAUTH (RFC 8945 §5.2)`);
      return reply(tsigErrorReply(q.query, q.questionEnd, check, t.now()));
    }
    signed = { key: check.key, record: check.record };
  }
  if (q.opcode === OPCODE_NOTIFY) return notify(q, ctx, t, client, signed);
  if (isTransfer) return transfer(q, ctx, t, client, signed);
  // Any other signed request (a secondary's SOA query): answered as usual, the reply signed.
  const s = signed!;
  const unsigned = Buffer.from(q.query.subarray(0, s.record.start));
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  const out = inner(unsigned, tsigLength(s.key));
  switch (out.kind) {
    case 'reply':
      return reply(sign(out.bytes, s, t));
    case 'drop':
      return out;
    case 'stream':
      out.stream.close();
      return reply(sign(errorReply(q, ctx, RCODE.SERVFAIL), s, t));
    case 'forward':
      // A signed question is answered from our zones only: its reply must carry our signature.
      return reply(sign(errorReply(q, ctx, RCODE.REFUSED), s, t));
  }
}

/** `AXFR example.com.`, `NOTIFY example.com.`, `query www.example.com. A`, for log lines. */
function what(q: XfrQuestion): string {
  const name = wireText(q.qname);
  if (q.opcode === OPCODE_NOTIFY) return `NOTIFY for ${name}`;
  if (q.qtype === AXFR) return `AXFR of ${name}`;
  if (q.qtype === IXFR) return `IXFR of ${name}`;
  return `query ${name} type ${q.qtype}`;
}

/** `(key xfr-key.)`, `(unsigned)`. */
function how(signed: Signed | null): string {
  return signed === null ? 'unsigned' : `key ${signed.key.name}`;
}

/** The zone configured with exactly this origin, and its image when it is served. */
function zoneOf(q: XfrQuestion, ctx: AnswerContext, t: TransferContext): { policy: ZonePolicy | undefined; image: ZoneImage | undefined } {
  const len = q.qname.length;
  const lower = Buffer.allocUnsafe(len);
  lowerName(q.qname, 0, len, lower, 0);
  const policy = t.zones.get(lower.toString('latin1'));
  const found = ctx.zones.find(lower, 0, len);
  const image = found !== undefined && found.originKey.length === len ? found : undefined;
  return { policy, image };
}

/**
 * AXFR and IXFR: the zone must be ours exactly (else NOTAUTH, as NSD),
 * `allow-transfer` must admit the client (address, and key when the entry
 * names one; else REFUSED with Extended DNS Error 18, logged), AXFR only
 * over TCP (RFC 5936 §4.2). IXFR (RFC 1995): our SOA alone when the client
 * is current; the journal's versions when it leads from the client's serial
 * to ours; the whole zone otherwise. Over UDP an IXFR reply that does not
 * fit is our SOA alone with TC set (the client retries over TCP, RFC 1995 §2).
 */
function transfer(q: XfrQuestion, ctx: AnswerContext, t: TransferContext, client: Client, signed: Signed | null): AnswerOutcome {
  const kind = q.qtype === AXFR ? 'AXFR' : 'IXFR';
  const { policy, image } = zoneOf(q, ctx, t);
  if ((image === undefined && policy === undefined) || q.qclass !== IN) {
    t.log('info', `${what(q)} from ${client.address} (${how(signed)}): not a zone we serve; answered NOTAUTH`);
    return reply(sign(errorReply(q, ctx, RCODE_NOTAUTH), signed, t));
  }
  if (kind === 'AXFR' && client.transport === 'udp') {
    // RFC 5936 §4.2: AXFR is defined over TCP only.
    return reply(sign(errorReply(q, ctx, RCODE.REFUSED), signed, t));
  }
  // A zone without a policy (no transfer context) admits nobody. The client is checked before it learns whether the zone has data (as NSD).
  const allow = policy?.allowTransfer ?? NOBODY;
  const entry = allow.admits(client.address, signed?.key.name ?? null);
  if (entry === null) {
    const why = allow.empty ? 'the zone has no allow-transfer' : 'not admitted by allow-transfer';
    t.log('warn', `${what(q)} from ${client.address} (${how(signed)}) refused: ${why}`);
    return reply(sign(errorReply(q, ctx, RCODE.REFUSED, EDE_PROHIBITED), signed, t));
  }
  if (image === undefined) {
    // A configured zone with no data yet (a secondary before its first transfer, or expired): nothing to send.
    t.log('info', `${what(q)} from ${client.address} (${how(signed)}): the zone has no data yet; answered NOTAUTH`);
    return reply(sign(errorReply(q, ctx, RCODE_NOTAUTH), signed, t));
  }
  const origin = policy?.origin ?? image.meta.origin;
  const head: MessageHead = { id: q.query.readUInt16BE(0), flags: (q.opcode << 11) | (q.query[2]! & 0x01 ? RD : 0) | (q.recursionAvailable ? RA : 0), question: q.query.subarray(12, q.questionEnd) };
  const opt = q.request === null ? null : optRecord(q.request, ctx, 0);
  const signer = signed === null ? null : new TsigStreamSigner(signed.key, signed.record.mac, signed.record.originalId, t.now);
  const admitted = `${describeEntry(entry)}`;
  if (kind === 'AXFR') {
    t.log('info', `AXFR of ${origin} serial ${image.serial} to ${client.address} (${how(signed)}, allowed by ${admitted})`);
    t.streamStarted?.();
    return { kind: 'stream', stream: axfrStream(image, { head, opt, signer }) };
  }
  const from = ixfrQuerySerial(q.query);
  if (from < 0) {
    t.log('info', `${what(q)} from ${client.address}: no SOA in the authority section (RFC 1995 §3); answered FORMERR`);
    return reply(sign(errorReply(q, ctx, RCODE.FORMERR), signed, t));
  }
  const plan = planIxfr(image, from, t.journals.journal(image));
  if (plan.kind === 'current') return reply(soaOnly(head, image, opt, signed, t, false));
  const cursor: RecordCursor = plan.kind === 'incremental' ? incrementalCursor(plan.versions, soaRecord(image)) : new ZoneCursor(image);
  const form = plan.kind === 'incremental' ? `incremental, ${plan.versions.length} version(s)` : 'the whole zone (no journal from that serial)';
  if (client.transport === 'udp') {
    // RFC 1995 §2: over UDP the reply must fit one message; else our SOA alone, TC set (NSD does the same).
    const whole = plan.kind === 'incremental' ? single(head, cursor, opt, signed, t, ctx, q, client) : null;
    t.log('info', `IXFR of ${origin} from serial ${from} to ${image.serial} for ${client.address} over UDP (${how(signed)}): ${whole === null ? 'does not fit: SOA and TC' : form}`);
    return reply(whole ?? soaOnly(head, image, opt, signed, t, true));
  }
  t.log('info', `IXFR of ${origin} from serial ${from} to ${image.serial} for ${client.address} (${how(signed)}, allowed by ${admitted}): ${form}`);
  if (plan.kind === 'full') image.hold();
  t.streamStarted?.();
  return { kind: 'stream', stream: new TransferStream(cursor, { head, opt, signer, onClose: () => plan.kind === 'full' && image.release() }) };
}

/** One message holding every record of `cursor` within the client's limit, signed when the request was; null when it does not fit. */
function single(head: MessageHead, cursor: RecordCursor, opt: Uint8Array | null, signed: Signed | null, t: TransferContext, ctx: AnswerContext, q: XfrQuestion, client: Client): Buffer | null {
  const limit = client.transport === 'tcp' ? 65535 : udpLimit(q.request, ctx.ednsUdpSize);
  const w = new MessageWriter();
  w.begin(head, true, limit, (opt?.length ?? 0) + (signed === null ? 0 : tsigLength(signed.key)), true);
  if (!cursor.fill(w)) return null;
  return sign(w.finish(opt), signed, t);
}

/** Our SOA alone (RFC 1995 §2, §4), TC set when `truncated`. */
function soaOnly(head: MessageHead, image: ZoneImage, opt: Uint8Array | null, signed: Signed | null, t: TransferContext, truncated: boolean): Buffer {
  const w = new MessageWriter();
  w.begin(head, true, 65535, (opt?.length ?? 0) + (signed === null ? 0 : tsigLength(signed.key)));
  soaCursor(image).fill(w);
  return sign(w.finish(opt, 0, truncated), signed, t);
}

/**
 * NOTIFY (RFC 1996): for a zone we do not have, NOTAUTH; for our primary
 * zone, REFUSED (NSD's answer: a primary takes no NOTIFY); for a secondary
 * zone, NOERROR with AA when `allow-notify` admits the sender (the
 * secondary side is told through `notified`), else REFUSED, logged.
 */
function notify(q: XfrQuestion, ctx: AnswerContext, t: TransferContext, client: Client, signed: Signed | null): AnswerOutcome {
  const { policy, image } = zoneOf(q, ctx, t);
  if ((policy === undefined && image === undefined) || q.qclass !== IN) {
    t.log('info', `${what(q)} from ${client.address} (${how(signed)}): not a zone we have; answered NOTAUTH`);
    return reply(sign(errorReply(q, ctx, RCODE_NOTAUTH), signed, t));
  }
  if (policy === undefined || policy.type === 'primary') {
    t.log('info', `${what(q)} from ${client.address} (${how(signed)}) refused: we are the zone's primary`);
    return reply(sign(errorReply(q, ctx, RCODE.REFUSED), signed, t));
  }
  if (policy.allowNotify.admits(client.address, signed?.key.name ?? null) === null) {
    t.log('warn', `${what(q)} from ${client.address} (${how(signed)}) refused: not admitted by allow-notify`);
    return reply(sign(errorReply(q, ctx, RCODE.REFUSED, EDE_PROHIBITED), signed, t));
  }
  t.notified?.(policy.origin, client, notifySerial(q.query));
  const ok = headerOnlyReply(q.query, RCODE.NOERROR, q.questionEnd);
  ok[2] = ok[2]! | (AA >> 8);
  if (q.recursionAvailable) ok[3] = ok[3]! | RA;
  return reply(sign(ok, signed, t));
}

/** The serial of the SOA a NOTIFY may carry in its answer section (RFC 1996 §3.7), or null. */
function notifySerial(query: Buffer): number | null {
  if (query.readUInt16BE(6) === 0) return null;
  // The answer section comes first after the question: read it as an IXFR's authority would be.
  const copy = Buffer.from(query);
  copy.writeUInt16BE(0, 6);
  copy.writeUInt16BE(query.readUInt16BE(6), 8);
  const serial = ixfrQuerySerial(copy);
  return serial < 0 ? null : serial;
}

/** The query's header and question with this RCODE (AA clear, RA as answer() sets it), and our OPT (with an Extended DNS Error) when it had EDNS. */
function errorReply(q: XfrQuestion, ctx: AnswerContext, rcode: number, ede?: number): Buffer {
  const base = headerOnlyReply(q.query, rcode, q.questionEnd);
  if (q.recursionAvailable) base[3] = base[3]! | RA;
  if (q.request === null) return base;
  const opt = optRecord(q.request, ctx, rcode, ede);
  const out = Buffer.concat([base, opt]);
  out.writeUInt16BE(1, 10);
  return out;
}

/** Our OPT record's octets (RFC 6891) for a reply with this RCODE. */
function optRecord(request: EdnsRequest, ctx: AnswerContext, rcode: number, ede?: number): Buffer {
  const out = Buffer.alloc(replyOptLength(request, ctx.nsid, ede));
  writeReplyOpt(out, 0, request, ctx.ednsUdpSize, ctx.nsid, rcode, ede);
  return out;
}

/** The reply signed with the request's key (RFC 8945 §4.3.1), or as it is when the request was unsigned. */
function sign(bytes: Buffer, signed: Signed | null, t: TransferContext): Buffer {
  if (signed === null) return bytes;
  return signResponse(bytes, signed.key, signed.record.mac, { timeSigned: Math.floor(t.now()), fudge: FUDGE, originalId: signed.record.originalId, error: 0, other: Buffer.alloc(0) });
}

/** A reply outcome: per client (who may transfer depends on address and key), so never kept in the reply cache. */
function reply(bytes: Buffer): AnswerOutcome {
  return { kind: 'reply', bytes, perClient: true };
}
