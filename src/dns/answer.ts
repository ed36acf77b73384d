/** answer(): one query's bytes in, the reply's bytes out (or null: drop). Pure; no I/O. */

import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';
import { chaosAnswer, type Identity } from './chaos.js';
import type { Acl } from '../forward/acl.js';
import { BADVERS, EDE_NOT_AUTHORITATIVE, EDE_PROHIBITED, readEdns, replyOpt, udpLimit, type EdnsRequest } from './edns.js';
import { RCODE, headerOnlyReply, questionEnd, readHeader } from './header.js';
import { respond } from './respond.js';
import { encodeWithin } from './truncate.js';
import type { ZoneSet } from './zoneset.js';

/** What answer() needs to know about the server that runs it. */
export interface AnswerContext {
  identity: Identity;
  /** The zones served. */
  zones: ZoneSet;
  /** Who may have names outside our zones resolved; null when forwarding is off. */
  recursion: Acl | null;
  /** Our EDNS UDP payload size, advertised in OPT and the cap on UDP replies (RFC 6891 §6.2.5). */
  ednsUdpSize: number;
  /** NSID payload (RFC 5001): the worker's identity, sent when a query asks. */
  nsid: Buffer;
}

/** UDP replies are fitted to the requestor's size; TCP ones only to the 16-bit length. */
export type Transport = 'udp' | 'tcp';

/** Who sent the query, and how. */
export interface Client {
  transport: Transport;
  address: string;
}

/** A question for the forwarder, with what is needed to build the reply once the upstream answers. */
export interface ForwardRequest {
  kind: 'forward';
  id: number;
  /** Header flags to send back: opcode, RD and CD copied, RA set. */
  flags: number;
  question: Question;
  edns: EdnsRequest | null;
  transport: Transport;
  /** The name to ask upstream: the question's, or where our CNAME chain leads out of our zones. */
  target: string;
  /** Our chain's records, answered before the upstream's (empty for a plain forwarded question). */
  chain: Answer[];
}

/** What answer() decides: reply bytes, nothing (drop), or a question to forward. */
export type AnswerOutcome = Buffer | null | ForwardRequest;

const OPCODE_QUERY = 0;
const TCP_LIMIT = 65535;

/**
 * Answers one DNS message. Checks follow NSD's order:
 * shorter than a header or QR=1 → drop (RFC 1035 §4.1.1: never answer a response);
 * opcode other than QUERY → NOTIMP; QDCOUNT ≠ 1 → FORMERR;
 * undecodable with a readable header → FORMERR; more than one OPT → FORMERR;
 * EDNS version above 0 → BADVERS (RFC 6891 §6.1.3).
 * Then by class: CH → identity answers; IN and ANY → our zones; a name
 * outside them is forwarded for clients allowed to recurse, else REFUSED;
 * zone transfers and any other class → REFUSED.
 */
export function answer(query: Buffer, ctx: AnswerContext, client: Client): AnswerOutcome {
  const transport = client.transport;
  const header = readHeader(query);
  if (header === null || header.qr) return null;
  if (header.opcode !== OPCODE_QUERY) return headerOnlyReply(query, RCODE.NOTIMP, header.qdcount === 1 ? questionEnd(query) : -1);
  if (header.qdcount !== 1) return headerOnlyReply(query, RCODE.FORMERR);

  let packet: Packet;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return headerOnlyReply(query, RCODE.FORMERR, questionEnd(query));
  }
  const question = packet.questions?.[0];
  if (question === undefined) return headerOnlyReply(query, RCODE.FORMERR);
  const edns = readEdns(packet.additionals);
  if (edns.kind === 'formerr') return headerOnlyReply(query, RCODE.FORMERR, questionEnd(query));
  const request = edns.kind === 'edns' ? edns.request : null;
  // RA tells a client whether it may recurse here (RFC 1035 §4.1.1): only when forwarding is on and allowed.
  const recursionAllowed = ctx.recursion !== null && ctx.recursion.allows(client.address);

  const reply: Packet = {
    id: header.id,
    type: 'response',
    flags:
      (header.opcode << 11) |
      (header.rd ? dnsPacket.RECURSION_DESIRED : 0) |
      (header.cd ? dnsPacket.CHECKING_DISABLED : 0) |
      (recursionAllowed ? dnsPacket.RECURSION_AVAILABLE : 0),
    questions: [question],
    answers: [],
    authorities: [],
    additionals: [],
  };
  const finish = (rcode: number, aa: boolean, droppable = { additional: true, authority: false }, extendedError?: number): Buffer => {
    reply.flags = (reply.flags ?? 0) | (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (rcode & 0xf);
    if (request) reply.additionals = [...(reply.additionals ?? []), replyOpt(request, ctx.ednsUdpSize, ctx.nsid, rcode, extendedError)];
    return encodeWithin(reply, replyLimit(transport, request, ctx), droppable).bytes;
  };

  // RFC 6891 §6.1.3: an unsupported version gets BADVERS, our version, and no answer.
  if (request && request.version > 0) return finish(BADVERS, false);
  const outcome = answerQuestion(question, ctx, reply, finish, recursionAllowed && header.rd);
  if (typeof outcome !== 'symbol') return outcome;
  // The refusal says why when the client speaks EDNS (RFC 8914): not our zone (as NSD
  // says it), or, with forwarding on, a client outside allow-recursion.
  if (outcome === NOT_OURS && !recursionAllowed) return finish(RCODE.REFUSED, false, undefined, ctx.recursion === null ? EDE_NOT_AUTHORITATIVE : EDE_PROHIBITED);
  const chain = outcome === LEADS_OUT ? (reply.answers ?? []) : [];
  const target = outcome === LEADS_OUT ? (chain.at(-1) as { data: string }).data : question.name;
  return { kind: 'forward', id: header.id, flags: reply.flags ?? 0, question, edns: request, transport, target, chain };
}

/** The largest reply for this client: its EDNS size capped by ours over UDP, 65535 over TCP. */
export function replyLimit(transport: Transport, request: EdnsRequest | null, ctx: AnswerContext): number {
  return transport === 'tcp' ? TCP_LIMIT : udpLimit(request, ctx.ednsUdpSize);
}

/** answerQuestion's word for "no zone of ours holds this name". */
const NOT_OURS = Symbol('not ours');
/** and for "our CNAME chain leads out of our zones; a resolver would chase it" (the chain is in reply.answers). */
const LEADS_OUT = Symbol('leads out');

function answerQuestion(
  question: Question,
  ctx: AnswerContext,
  reply: Packet,
  finish: (rcode: number, aa: boolean, droppable?: { additional: boolean; authority: boolean }) => Buffer,
  chase: boolean,
): Buffer | typeof NOT_OURS | typeof LEADS_OUT {
  const qclass = question.class as string;
  const qtype = question.type as string;
  if (qclass === 'CH') {
    const outcome = chaosAnswer(question.name, qtype, ctx.identity);
    if (outcome.kind === 'refused') return finish(RCODE.REFUSED, false);
    if (outcome.kind === 'answer') reply.answers = outcome.answers;
    return finish(RCODE.NOERROR, true);
  }
  if (qclass !== 'IN' && qclass !== 'ANY') return finish(RCODE.REFUSED, false);
  // Zone transfers are not offered (yet): REFUSED, as NSD says to a client not in its ACL; never forwarded.
  if (qtype === 'AXFR' || qtype === 'IXFR') return finish(RCODE.REFUSED, false);

  const sections = respond(ctx.zones, question.name, qtype);
  if (sections === null) return NOT_OURS;
  reply.answers = sections.answers;
  reply.authorities = sections.authorities;
  reply.additionals = sections.additionals;
  // As a resolver for this client, finish the chain through the upstreams (as dnsmasq and Unbound do).
  if (chase && sections.leadsOutTo !== null && sections.rcode === RCODE.NOERROR) return LEADS_OUT;
  return finish(sections.rcode, sections.aa, { additional: !sections.requiredAdditional, authority: sections.optionalAuthority });
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
