/** NOTIFY messages (RFC 1996): the one a primary sends of a new serial, and whether a reply acknowledges it. Pure. */

import { lowerOctet } from '../dns/ascii.js';
import { HEADER_LENGTH } from '../dns/header.js';
import { NameError, nameToWire, parseZoneName } from '../zone/names.js';

/** NOTIFY's opcode (RFC 1996 §3). */
export const OPCODE_NOTIFY = 4;
/** SOA's type, class IN. */
const SOA = 6;
const IN = 1;

/** The zone's SOA record a NOTIFY carries: TTL and RDATA (uncompressed wire form, no RDLENGTH). */
export interface NotifySoa {
  ttl: number;
  rdata: Uint8Array;
}

/**
 * A NOTIFY for zone `origin` (RFC 1996 §3.7): opcode NOTIFY, AA set, the
 * question `origin SOA IN`, and the zone's SOA in the answer section when
 * `soa` is given (§3.7 allows it as a hint of the new serial; NSD, Knot and
 * BIND send it, and BIND logs "no serial" without it). The secondary still
 * asks for the SOA itself (§3.11). `id`: the message ID to match the reply by.
 */
export function notifyMessage(origin: string, id: number, soa: NotifySoa | null = null): Buffer {
  const name = parseZoneName(origin);
  if (name instanceof NameError) throw new Error(`bad zone name ${origin}: ${name.message}`);
  const wire = nameToWire(name);
  const questionEnd = HEADER_LENGTH + wire.length + 4;
  const msg = Buffer.alloc(questionEnd + (soa === null ? 0 : 12 + soa.rdata.length));
  msg.writeUInt16BE(id, 0);
  msg.writeUInt16BE((OPCODE_NOTIFY << 11) | 0x0400, 2);
  msg.writeUInt16BE(1, 4);
  wire.copy(msg, HEADER_LENGTH);
  msg.writeUInt16BE(SOA, HEADER_LENGTH + wire.length);
  msg.writeUInt16BE(IN, HEADER_LENGTH + wire.length + 2);
  if (soa !== null) {
    msg.writeUInt16BE(1, 6);
    // The owner is the question's name: a pointer to it (RFC 1035 §4.1.4).
    msg.writeUInt16BE(0xc000 | HEADER_LENGTH, questionEnd);
    msg.writeUInt16BE(SOA, questionEnd + 2);
    msg.writeUInt16BE(IN, questionEnd + 4);
    msg.writeUInt32BE(soa.ttl >>> 0, questionEnd + 6);
    msg.writeUInt16BE(soa.rdata.length, questionEnd + 10);
    msg.set(soa.rdata, questionEnd + 12);
  }
  return msg;
}

/**
 * What a datagram says about NOTIFY `sent` (RFC 1996 §3.7, §4.7): `ack`
 * (a NOTIFY response with its ID and question and NOERROR), `refused`
 * (such a response with another RCODE: the secondary said no), or `other`
 * (not a response to it: ignored).
 */
export type NotifyReply = { kind: 'ack' } | { kind: 'refused'; rcode: number } | { kind: 'other' };

/** Reads a reply to the NOTIFY `sent` (the question compared case-insensitively). */
export function notifyReply(reply: Uint8Array, sent: Uint8Array): NotifyReply {
  if (reply.length < HEADER_LENGTH) return { kind: 'other' };
  const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
  if (u16(reply, 0) !== u16(sent, 0)) return { kind: 'other' };
  const flags = u16(reply, 2);
  if ((flags & 0x8000) === 0 || ((flags >> 11) & 0xf) !== OPCODE_NOTIFY) return { kind: 'other' };
  const rcode = flags & 0xf;
  // A reply with an error may leave the question out; one that echoes it must echo ours.
  if (u16(reply, 4) === 1) {
    const qEnd = sent.length;
    if (reply.length < qEnd) return { kind: 'other' };
    for (let i = HEADER_LENGTH; i < qEnd; i++) {
      const a = reply[i]!;
      const b = sent[i]!;
      if (lowerOctet(a) !== lowerOctet(b)) return { kind: 'other' };
    }
  } else if (rcode === 0) return { kind: 'other' };
  return rcode === 0 ? { kind: 'ack' } : { kind: 'refused', rcode };
}
