/** answer(): one query's bytes in, what to do with it out — reply bytes, drop, or forward. Pure; no I/O. */

import type { Answer, Packet, Question } from 'dns-packet';
import dnsPacket from './dns-packet.js';
import { TYPE } from '../auth/lookup.js';
import { RecordList } from '../auth/records.js';
import { writeReply, writeReplyInto, type ReplyOpt, type ReplySpec } from '../auth/reply.js';
import { Sections } from '../auth/sections.js';
import { copyName, MAX_NAME, nameLength } from '../auth/wire-name.js';
import type { ZoneSet } from '../auth/zone-set.js';
import { nameFromWire } from '../zone/names.js';
import { packetRdata } from '../zone/rdata/packet.js';
import { chaosAnswer, type Identity } from './chaos.js';
import type { Acl } from '../forward/acl.js';
import { BADVERS, EDE_NOT_AUTHORITATIVE, EDE_PROHIBITED, readEdns, udpLimit, type EdnsRequest } from './edns.js';
import { HEADER_LENGTH, RCODE, headerOnlyReply, questionEnd, readHeader } from './header.js';
import { ednsRequest, NOT_PLAIN, plainQueryFacts, PLAIN_NO_OPT } from './query.js';
import { readQuestion, type WireQuestion } from './question.js';
import { transferOutcome, type TransferContext } from '../xfr/serve.js';
import type { ReplyStream } from '../xfr/stream.js';

/** What answer() needs to know about the server that runs it. */
export interface AnswerContext {
  identity: Identity;
  /** The zones served (compiled images). */
  zones: ZoneSet;
  /** Who may have names outside our zones resolved; null when forwarding is off. */
  recursion: Acl | null;
  /** Our EDNS UDP payload size, advertised in OPT and the cap on UDP replies (RFC 6891 §6.2.5). */
  ednsUdpSize: number;
  /** NSID payload (RFC 5001): the worker's identity, sent when a query asks. */
  nsid: Buffer;
  /** Zone transfers, NOTIFY and TSIG (src/xfr/serve.ts): keys, per-zone policy, journals; absent: no keys, every transfer refused. */
  transfer?: TransferContext;
}

/** UDP replies are fitted to the requestor's size; TCP ones only to the 16-bit length. */
export type Transport = 'udp' | 'tcp';

/** Who sent the query, and how. */
export interface Client {
  transport: Transport;
  address: string;
  /** The COOKIE option data for the reply's OPT (RFC 7873 §5.2), when the query had a cookie and cookies are answered (pipeline.ts). */
  cookie?: Uint8Array;
}

/** A question for the forwarder, with what is needed to build the reply once the upstream answers. */
export interface ForwardRequest {
  kind: 'forward';
  id: number;
  /** Header flags to send back: opcode, RD and CD copied, RA set; AD as the client set it (forwarded.ts decides the reply's). */
  flags: number;
  /** The question as the client sent it: its octets go back verbatim in the reply (forwarded.ts). */
  question: WireQuestion;
  edns: EdnsRequest | null;
  transport: Transport;
  /**
   * The name to ask upstream, a name string (src/zone/names.ts, every octet
   * kept): the question's, or where our CNAME chain leads out of our zones.
   */
  target: string;
  /**
   * Our chain's records in wire form (owner uncompressed, type, class, TTL,
   * RDLENGTH, RDATA), answered before the upstream's (empty for a plain
   * forwarded question): copies, owing nothing to the zone images, since the
   * upstream answers after this call has returned.
   */
  chain: Buffer[];
}

/**
 * What answer() decides: reply with these bytes, send nothing, forward the
 * question, or (a zone transfer over TCP) send the messages of a stream,
 * one at a time as the connection takes them (src/net/tcp.ts). A reply
 * marked `perClient` depends on who asked (a transfer refused or not by
 * address and key): it is never kept in the reply cache.
 */
export type AnswerOutcome = { kind: 'reply'; bytes: Buffer; perClient?: true } | { kind: 'drop' } | ForwardRequest | { kind: 'stream'; stream: ReplyStream };

/** The outcome that sends nothing. */
export const DROP: AnswerOutcome = { kind: 'drop' };

/** answerInto(): the reply was written at the place given, `length` octets (valid until the next answerInto call). */
export interface Written {
  kind: 'written';
  length: number;
  perClient?: true;
}

/** What answerInto() decides: as answer(), but a reply that fits is written in place. */
export type InPlaceOutcome = Written | AnswerOutcome;

/** Where a reply is written in place: `cap` octets at `out[at]`. */
interface ReplyTarget {
  out: Uint8Array;
  at: number;
  cap: number;
}

const NOWHERE = new Uint8Array(0);
/** The one target answerInto() fills (one answer runs at a time), and the one outcome it gives for a reply written. */
const inPlace: ReplyTarget = { out: NOWHERE, at: 0, cap: 0 };
const written: Written = { kind: 'written', length: 0 };

const OPCODE_QUERY = 0;
/** NOTIFY (RFC 1996): answered in src/xfr/serve.ts. */
const OPCODE_NOTIFY = 4;
const TCP_LIMIT = 65535;
const CLASS = { IN: 1, CH: 3, ANY: 255 } as const;
const FLAG = { AA: 0x0400, RD: 0x0100, RA: 0x0080, AD: 0x0020, CD: 0x0010 } as const;

/** The question's name as received (pointers followed), shared by the records that answer with it. */
const qname = new Uint8Array(MAX_NAME);
/** The sections of the response being built (one answer() runs at a time). */
const sections = new Sections();
/** The answer section of a CH identity reply. */
const chaosAnswers = new RecordList();
/** The reply being written: answer() fills the question and limit, finish() the rest (one answer() runs at a time). */
const draft: ReplySpec = {
  id: 0,
  flags: 0,
  qname,
  qnameAt: 0,
  qtype: 0,
  qclass: 0,
  sections: [null, null, null, null, null],
  opt: null,
  limit: 512,
  minimal: 1232,
  referral: false,
  tcp: false,
};
/** No records. */
const NO_SECTIONS: ReplySpec['sections'] = [null, null, null, null, null];
/** The lists of `sections`, in ReplySpec order. */
const SECTION_LISTS: ReplySpec['sections'] = [sections.answers, sections.authorities, sections.optionalAuthorities, sections.additionalA, sections.additionalAAAA];
/** The CH identity answer alone. */
const CHAOS_LISTS: ReplySpec['sections'] = [chaosAnswers, null, null, null, null];
/** NSD's sizes for minimal responses over UDP (packet.h: IPV4_MINIMAL_RESPONSE_SIZE, IPV6_MINIMAL_RESPONSE_SIZE). */
const MINIMAL_V4 = 1232;
const MINIMAL_V6 = 1220;
/** Its OPT, when the query has one. */
const draftOpt: ReplyOpt = { request: { version: 0, udpSize: 512, dnssecOk: false, nsid: false }, udpSize: 0, nsid: Buffer.alloc(0), rcode: 0, extendedError: undefined };

/**
 * The reply to the question in `draft`, with this RCODE and AA, the records
 * of `s` (or only the CH answer `chaos`), and our OPT when the query had one
 * (with an Extended DNS Error when given), fitted as writeReply says.
 */
function finish(into: ReplyTarget | null, flags: number, request: EdnsRequest | null, ctx: AnswerContext, rcode: number, aa: boolean, s: Sections | null, chaos = false, extendedError?: number): InPlaceOutcome {
  draft.flags = flags | (aa ? FLAG.AA : 0) | (rcode & 0xf);
  draft.sections = s !== null ? SECTION_LISTS : chaos ? CHAOS_LISTS : NO_SECTIONS;
  draft.referral = s !== null && s.referral;
  if (request !== null) {
    draftOpt.request = request;
    draftOpt.udpSize = ctx.ednsUdpSize;
    draftOpt.nsid = ctx.nsid;
    draftOpt.rcode = rcode;
    draftOpt.extendedError = extendedError;
    draft.opt = draftOpt;
  } else {
    draft.opt = null;
  }
  try {
    if (into !== null) {
      const length = writeReplyInto(draft, into.out, into.at, into.cap);
      if (length >= 0) {
        written.length = length;
        return written;
      }
    }
    return reply(writeReply(draft));
  } finally {
    // Nothing written keeps a view of an image: the references go, with the lists they sat in.
    sections.release();
    chaosAnswers.release();
    draft.sections = NO_SECTIONS;
  }
}

/** The bytes of a reply as an outcome. */
function reply(bytes: Buffer): AnswerOutcome {
  return { kind: 'reply', bytes };
}

/**
 * Answers one DNS message. Checks follow NSD's order:
 * shorter than a header or QR=1 → drop (RFC 1035 §4.1.1: never answer a response);
 * opcode other than QUERY and NOTIFY → NOTIMP; QDCOUNT ≠ 1 → FORMERR;
 * undecodable with a readable header → FORMERR; more than one OPT → FORMERR;
 * EDNS version above 0 → BADVERS (RFC 6891 §6.1.3).
 * Zone transfers, NOTIFY and any message with a TSIG go to src/xfr/serve.ts
 * (AXFR over TCP is a `stream`; `reserve` is the room it keeps for a TSIG
 * when it answers a signed query through here).
 * Then by class: CH → identity answers; IN and ANY → our zones (src/auth);
 * a name outside them is forwarded for clients allowed to recurse, else
 * REFUSED; any other class → REFUSED.
 * Nothing returned holds a view of a zone image: replies are written into
 * their own Buffer, forwarded chains are copied out.
 */
export function answer(query: Buffer, ctx: AnswerContext, client: Client, reserve = 0): AnswerOutcome {
  const outcome = answerTo(query, ctx, client, reserve, null);
  if (outcome.kind === 'written') throw new Error('answer() wrote a reply in place with no place given');
  return outcome;
}

/**
 * answer() for the UDP engine's send area: a reply written by the zone or
 * identity paths goes straight to `out[at]` (at most `cap` octets) and the
 * outcome says how long it is (`written`, valid until the next call); any
 * other reply comes as bytes, as from answer() (an error reply, one that
 * does not fit), and so do the other outcomes. Nothing per reply is
 * allocated on the written path.
 */
export function answerInto(query: Buffer, ctx: AnswerContext, client: Client, out: Uint8Array, at: number, cap: number): InPlaceOutcome {
  inPlace.out = out;
  inPlace.at = at;
  inPlace.cap = cap;
  try {
    return answerTo(query, ctx, client, 0, inPlace);
  } finally {
    inPlace.out = NOWHERE;
  }
}

/** answer() and answerInto(): `into` is where a reply is written in place, or null. */
function answerTo(query: Buffer, ctx: AnswerContext, client: Client, reserve: number, into: ReplyTarget | null): InPlaceOutcome {
  const transport = client.transport;
  // The header (RFC 1035 §4.1.1), read in place: no object per query.
  if (query.length < HEADER_LENGTH || (query[2]! & 0x80) !== 0) return DROP;
  const opcode = (query[2]! >> 3) & 0xf;
  const qdcount = (query[4]! << 8) | query[5]!;
  const id = (query[0]! << 8) | query[1]!;
  if (opcode !== OPCODE_QUERY && opcode !== OPCODE_NOTIFY) return reply(headerOnlyReply(query, RCODE.NOTIMP, qdcount === 1 ? questionEnd(query) : -1));
  if (qdcount !== 1) return reply(headerOnlyReply(query, RCODE.FORMERR));

  // A plain query (one question, at most an OPT) is read from its bytes; anything else is decoded
  // in full, which finds every FORMERR. The question as dns-packet objects is built only when needed.
  let question: Question | null = null;
  let request: EdnsRequest | null;
  const facts = plainQueryFacts(query);
  const plain = facts !== NOT_PLAIN;
  if (plain) {
    request = facts === PLAIN_NO_OPT ? null : ednsRequest(facts);
  } else {
    // Counts that cannot fit the message (each question takes at least 5 octets, each record 11,
    // RFC 1035 §4.1.2–§4.1.3) are FORMERR before decoding: dns-packet allocates per counted entry.
    const records = ((query[6]! << 8) | query[7]!) + ((query[8]! << 8) | query[9]!) + ((query[10]! << 8) | query[11]!);
    if (qdcount * 5 + records * 11 > query.length - HEADER_LENGTH) return reply(headerOnlyReply(query, RCODE.FORMERR));
    let packet: Packet;
    try {
      packet = dnsPacket.decode(query);
    } catch {
      return reply(headerOnlyReply(query, RCODE.FORMERR, questionEnd(query)));
    }
    question = packet.questions?.[0] ?? null;
    if (question === null) return reply(headerOnlyReply(query, RCODE.FORMERR));
    const edns = readEdns(packet.additionals);
    if (edns.kind === 'formerr') return reply(headerOnlyReply(query, RCODE.FORMERR, questionEnd(query)));
    request = edns.kind === 'edns' ? edns.request : null;
  }
  // The reply's OPT carries the client's cookie and our server cookie (RFC 7873 §5.2), written last in it.
  if (request !== null && client.cookie !== undefined) request.cookie = client.cookie;
  // RA tells a client whether it may recurse here (RFC 1035 §4.1.1): only when forwarding is on and allowed.
  const recursionAllowed = ctx.recursion !== null && ctx.recursion.allows(client.address);
  const rd = (query[2]! & 0x01) !== 0;
  const flags = (opcode << 11) | (rd ? FLAG.RD : 0) | (query[3]! & FLAG.CD) | (recursionAllowed ? FLAG.RA : 0);

  // The question as received: readPlainQuery or dns-packet read it, so the name is well formed.
  const qnameLength = copyName(query, HEADER_LENGTH, qname, 0);
  const qEnd = questionEnd(query);
  if (qnameLength < 0 || qEnd < 0) return reply(headerOnlyReply(query, RCODE.FORMERR));
  const qtype = (query[qEnd - 4]! << 8) | query[qEnd - 3]!;
  const qclass = (query[qEnd - 2]! << 8) | query[qEnd - 1]!;

  draft.id = id;
  draft.qtype = qtype;
  draft.qclass = qclass;
  // `reserve`: room kept for what is added after (a TSIG record, src/xfr/serve.ts).
  draft.limit = (transport === 'tcp' ? TCP_LIMIT : udpLimit(request, ctx.ednsUdpSize)) - reserve;
  draft.tcp = transport === 'tcp';
  const v6 = client.address.includes(':');
  draft.minimal = v6 ? MINIMAL_V6 : MINIMAL_V4;

  // RFC 6891 §6.1.3: an unsupported version gets BADVERS, our version, and no answer.
  if (request && request.version > 0) return finish(into, flags, request, ctx, BADVERS, false, null);
  // Zone transfers (RFC 5936, RFC 1995), NOTIFY (RFC 1996) and TSIG-signed messages (RFC 8945): src/xfr/serve.ts.
  if (!plain || opcode === OPCODE_NOTIFY || qtype === TYPE.AXFR || qtype === TYPE.IXFR) {
    const xfr = transferOutcome({ query, questionEnd: qEnd, qname: Buffer.from(qname.subarray(0, qnameLength)), qtype, qclass, opcode, request, recursionAvailable: recursionAllowed }, ctx, client, (inner, room) => answer(inner, ctx, client, room));
    if (xfr !== null) return xfr;
  }
  if (qclass === CLASS.CH) {
    const q = question ?? questionOf(query, qEnd);
    const outcome = chaosAnswer(q.name, q.type as string, ctx.identity);
    if (outcome.kind === 'refused') return finish(into, flags, request, ctx, RCODE.REFUSED, false, null);
    chaosAnswers.clear();
    if (outcome.kind === 'answer') for (const a of outcome.answers) addChaosRecord(a);
    return finish(into, flags, request, ctx, RCODE.NOERROR, true, null, true);
  }
  if (qclass !== CLASS.IN && qclass !== CLASS.ANY) return finish(into, flags, request, ctx, RCODE.REFUSED, false, null);

  try {
    // A forwarded question keeps the AD bit its client set (RFC 6840 §5.7), for forwarded.ts to honour; our own answers never set it.
    const forwardFlags = flags | (query[3]! & FLAG.AD);
    return fromZones(into, ctx, flags, forwardFlags, request, id, query, qEnd, transport, recursionAllowed && rd, recursionAllowed, v6);
  } finally {
    // Also when a lookup throws: no reference into an image outlives this call.
    sections.release();
  }
}

/** The IN (or ANY) question answered from our zones, forwarded, or refused; `query[0, qEnd)` is the header and question. */
function fromZones(into: ReplyTarget | null, ctx: AnswerContext, flags: number, forwardFlags: number, request: EdnsRequest | null, id: number, query: Buffer, qEnd: number, transport: Transport, chase: boolean, recursionAllowed: boolean, v6: boolean): InPlaceOutcome {
  const r = sections.respond(ctx.zones, qname, 0, draft.qtype, request?.dnssecOk === true, v6, draft.qclass === CLASS.ANY);
  // A zone of ours with no data (a secondary before its first transfer, or expired): SERVFAIL, never forwarded.
  if (r.kind === 'unavailable') return finish(into, flags, request, ctx, RCODE.SERVFAIL, false, null);
  if (r.kind === 'not-ours') {
    // The refusal says why when the client speaks EDNS (RFC 8914): not our zone (as NSD
    // says it), or, with forwarding on, a client outside allow-recursion.
    if (!recursionAllowed) return finish(into, flags, request, ctx, RCODE.REFUSED, false, null, false, ctx.recursion === null ? EDE_NOT_AUTHORITATIVE : EDE_PROHIBITED);
    const question = readQuestion(query, qEnd);
    return { kind: 'forward', id, flags: forwardFlags, question, edns: request, transport, target: question.name, chain: [] };
  }
  // As a resolver for this client, finish the chain through the upstreams (as dnsmasq and Unbound do).
  if (chase && r.leadsOut && r.rcode === RCODE.NOERROR) {
    const chain = copyRecords(r.answers);
    // The last CNAME's target (with DO, an RRSIG follows it).
    const target = cnameTarget(chain);
    return { kind: 'forward', id, flags: forwardFlags, question: readQuestion(query, qEnd), edns: request, transport, target, chain };
  }
  return finish(into, flags, request, ctx, r.rcode, r.aa, r);
}

/** A CH identity record (dns-packet form) as a reference: owner the question's name, RDATA as dns-packet writes it. */
function addChaosRecord(a: Answer): void {
  const rdata = packetRdata(a);
  const data = Buffer.allocUnsafe(2 + rdata.length);
  data.writeUInt16BE(rdata.length, 0);
  rdata.copy(data, 2);
  const ref = chaosAnswers.add();
  ref.type = TYPE.TXT;
  ref.klass = CLASS.CH;
  ref.ttl = (a as { ttl?: number }).ttl ?? 0;
  ref.owner = qname;
  ref.ownerAt = 0;
  ref.data = data;
  ref.dataAt = 0;
}

/**
 * The question of a plain query as dns-packet objects (for CH answers and
 * forwarding, not the authoritative path): decoded from the header and the
 * question alone, so OPT option contents never make it fail.
 */
function questionOf(query: Buffer, qEnd: number): Question {
  const bare = Buffer.from(query.subarray(0, qEnd));
  bare.writeUInt16BE(0, 10); // ARCOUNT: the OPT is not part of it
  const q = dnsPacket.decode(bare).questions?.[0];
  if (q === undefined) throw new Error('a plain query without its question');
  return q;
}

/** The records' wire form, copied (no view of an image survives): owner uncompressed, type, class, TTL, RDLENGTH, RDATA. */
function copyRecords(list: RecordList): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < list.length; i++) {
    const r = list.at(i);
    const ownerLength = nameLength(r.owner, r.ownerAt);
    const rdLength = 2 + ((r.data[r.dataAt]! << 8) | r.data[r.dataAt + 1]!);
    const wire = Buffer.allocUnsafe(ownerLength + 8 + rdLength);
    wire.set(r.owner.subarray(r.ownerAt, r.ownerAt + ownerLength), 0);
    wire.writeUInt16BE(r.type, ownerLength);
    wire.writeUInt16BE(r.klass, ownerLength + 2);
    wire.writeUInt32BE(r.ttl, ownerLength + 4);
    wire.set(r.data.subarray(r.dataAt, r.dataAt + rdLength), ownerLength + 8);
    out.push(wire);
  }
  return out;
}

/** The target of the last CNAME among copied records (RFC 1034 §3.6.2), as a name string: where a chain leads out of our zones. */
function cnameTarget(chain: readonly Buffer[]): string {
  for (let i = chain.length - 1; i >= 0; i--) {
    const r = chain[i]!;
    const ownerLength = nameLength(r, 0);
    if (r.readUInt16BE(ownerLength) !== TYPE.CNAME) continue;
    const target = nameFromWire(r, ownerLength + 10);
    if (target !== null) return target;
  }
  throw new Error('a chain leading out of our zones without a CNAME');
}

/** The largest reply for this client: its EDNS size capped by ours over UDP, 65535 over TCP. */
export function replyLimit(transport: Transport, request: EdnsRequest | null, ctx: AnswerContext): number {
  return transport === 'tcp' ? TCP_LIMIT : udpLimit(request, ctx.ednsUdpSize);
}

/**
 * The reply for a query whose handling threw: SERVFAIL with the question echoed
 * when it can be found, so one bad query never takes the worker down.
 */
export function servfail(query: Buffer): Buffer | null {
  const header = readHeader(query);
  if (header === null || header.qr) return null;
  return headerOnlyReply(query, RCODE.SERVFAIL, header.qdcount === 1 ? questionEnd(query) : -1);
}
