/** answer(): one query's bytes in, the reply's bytes out (or null: drop). Pure; no I/O. */

import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { chaosAnswer, type Identity } from './chaos.js';
import { RCODE, headerOnlyReply, questionEnd, readHeader } from './header.js';

/** What answer() needs to know about the server that runs it. */
export interface AnswerContext {
  identity: Identity;
  /** Our EDNS UDP payload size, advertised in OPT (RFC 6891 §6.2.5). */
  ednsUdpSize: number;
}

const OPCODE_QUERY = 0;

/**
 * Answers one DNS message. Checks follow NSD's order:
 * shorter than a header or QR=1 → drop (RFC 1035 §4.1.1: never answer a response);
 * opcode other than QUERY → NOTIMP; QDCOUNT ≠ 1 → FORMERR;
 * undecodable with a readable header → FORMERR.
 * Class CH → identity answers; anything else → REFUSED until zones are served.
 */
export function answer(query: Buffer, ctx: AnswerContext): Buffer | null {
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
  const opts = (packet.additionals ?? []).filter((rr) => rr.type === 'OPT');
  // RFC 6891 §6.1.1: more than one OPT makes the message malformed.
  if (opts.length > 1) return headerOnlyReply(query, RCODE.FORMERR, questionEnd(query));

  const reply: Packet = {
    id: header.id,
    type: 'response',
    flags: replyFlags(header.rd, header.cd, header.opcode),
    questions: [question],
    answers: [],
    authorities: [],
    additionals: opts.length === 1 ? [ourOpt(ctx)] : [],
  };
  let rcode: number = RCODE.REFUSED;
  if (question.class === 'CH') {
    const outcome = chaosAnswer(question.name, question.type, ctx.identity);
    if (outcome.kind === 'answer') {
      reply.answers = outcome.answers;
      rcode = RCODE.NOERROR;
    } else if (outcome.kind === 'nodata') {
      rcode = RCODE.NOERROR;
    }
    if (rcode === RCODE.NOERROR) reply.flags = (reply.flags ?? 0) | dnsPacket.AUTHORITATIVE_ANSWER;
  }
  reply.flags = (reply.flags ?? 0) | rcode;
  return dnsPacket.encode(reply);
}

/** Header flags of a reply: opcode kept, RD and CD copied (RFC 1035 §4.1.1, RFC 4035 §3.2.2). */
function replyFlags(rd: boolean, cd: boolean, opcode: number): number {
  return (opcode << 11) | (rd ? dnsPacket.RECURSION_DESIRED : 0) | (cd ? dnsPacket.CHECKING_DISABLED : 0);
}

/** Our OPT record: our UDP size, version 0, no options (RFC 6891 §6.1.2). */
function ourOpt(ctx: AnswerContext): Answer {
  return { type: 'OPT', name: '.', udpPayloadSize: ctx.ednsUdpSize, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] } as unknown as Answer;
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
