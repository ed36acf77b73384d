/** Fitting a dns-packet reply (a forwarded one) into the requestor's size: drop what may be dropped, else TC=1 (RFC 2181 §9, RFC 1035 §4.2.1); src/auth/reply.ts does the same for authoritative replies. */

import type { Answer, Packet } from 'dns-packet';
import dnsPacket from './dns-packet.js';
import { compressNames } from './compress.js';

/** What may be left out of a reply that does not fit. */
export interface Droppable {
  /** The additional section (except OPT) is not required (it is for referral glue, RFC 9471). */
  additional: boolean;
  /** The authority section is not required (NS of a positive answer). */
  authority: boolean;
}

/**
 * Encodes `reply` within `limit` octets, names compressed (RFC 1035 §4.1.4). First the whole reply; then without
 * the additional records that may go; then also without an optional authority
 * section (neither needs TC, RFC 2181 §9). If the required part still does not
 * fit: TC=1 with only the header, the question and the OPT, as NSD sends.
 */
export function encodeWithin(reply: Packet, limit: number, droppable: Droppable): { bytes: Buffer; truncated: boolean } {
  const full = compressNames(dnsPacket.encode(reply));
  if (full.length <= limit) return { bytes: full, truncated: false };
  const opt = (reply.additionals ?? []).filter((r) => r.type === 'OPT');
  const tries: Packet[] = [];
  if (droppable.additional) {
    tries.push({ ...reply, additionals: opt });
    if (droppable.authority) tries.push({ ...reply, authorities: [], additionals: opt });
  }
  for (const t of tries) {
    const bytes = compressNames(dnsPacket.encode(t));
    if (bytes.length <= limit) return { bytes, truncated: false };
  }
  const tc: Packet = {
    ...reply,
    flags: (reply.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
    additionals: opt as Answer[],
  };
  return { bytes: compressNames(dnsPacket.encode(tc)), truncated: true };
}
