/** Fitting a dns-packet reply (a forwarded one) into the requestor's size: drop what may be dropped, else TC=1 (RFC 2181 §9, RFC 1035 §4.2.1); src/auth/reply.ts does the same for authoritative replies. */

import type { Answer, Packet } from 'dns-packet';
import dnsPacket from './dns-packet.js';
import { compressNames } from './compress.js';
import { HEADER_LENGTH } from './header.js';

/** What may be left out of a reply that does not fit. */
export interface Droppable {
  /** The additional section (except OPT) is not required (it is for referral glue, RFC 9471). */
  additional: boolean;
  /** The authority section is not required (NS of a positive answer). */
  authority: boolean;
}

/**
 * Parts of a reply given as octets, written into it verbatim: dns-packet's
 * strings would lose octets (fuzz finding Q2: U+FFFD for octets that are not
 * UTF-8, a label boundary for a dot inside a label).
 */
export interface WireParts {
  /** The question section (name uncompressed, type, class): the reply's only question. */
  question: Uint8Array;
  /** Records (owners and names uncompressed) answered before the packet's own answers; left out with them under TC=1. */
  answers: readonly Uint8Array[];
}

/**
 * Encodes `reply` within `limit` octets, names compressed (RFC 1035 §4.1.4). First the whole reply; then without
 * the additional records that may go; then also without an optional authority
 * section (neither needs TC, RFC 2181 §9). If the required part still does not
 * fit: TC=1 with only the header, the question and the OPT, as NSD sends.
 * With `wire`, its question and records go in verbatim (the packet's own
 * questions should then be empty).
 */
export function encodeWithin(reply: Packet, limit: number, droppable: Droppable, wire?: WireParts): { bytes: Buffer; truncated: boolean } {
  const full = encode(reply, wire, true);
  if (full.length <= limit) return { bytes: full, truncated: false };
  const opt = (reply.additionals ?? []).filter((r) => r.type === 'OPT');
  const tries: Packet[] = [];
  if (droppable.additional) {
    tries.push({ ...reply, additionals: opt });
    if (droppable.authority) tries.push({ ...reply, authorities: [], additionals: opt });
  }
  for (const t of tries) {
    const bytes = encode(t, wire, true);
    if (bytes.length <= limit) return { bytes, truncated: false };
  }
  const tc: Packet = {
    ...reply,
    flags: (reply.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
    additionals: opt as Answer[],
  };
  return { bytes: encode(tc, wire, false), truncated: true };
}

/** The packet encoded, `wire`'s question and (`withAnswers`) records spliced in after the header, then names compressed. */
function encode(p: Packet, wire: WireParts | undefined, withAnswers: boolean): Buffer {
  const encoded = dnsPacket.encode(p);
  if (wire === undefined) return compressNames(encoded);
  const records = withAnswers ? wire.answers : [];
  const out = Buffer.concat([encoded.subarray(0, HEADER_LENGTH), wire.question, ...records, encoded.subarray(HEADER_LENGTH)]);
  // dns-packet wrote no question (the packet's questions are empty) and its own answers after ours.
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(encoded.readUInt16BE(6) + records.length, 6);
  return compressNames(out);
}
