/**
 * A query's question as the octets it came in, for the forwarding path: the
 * reply echoes them verbatim and the upstream is asked for exactly that name
 * (fuzz finding Q2: dns-packet's strings turn octets that are not UTF-8 into
 * U+FFFD and a dot inside a label into a label boundary). Pure.
 */

import { nameFromWire } from '../zone/names.js';
import { packetTypeName } from '../zone/rdata/packet.js';
import { HEADER_LENGTH } from './header.js';

/** A question as received. */
export interface WireQuestion {
  /**
   * The question section's octets as the client sent them: QNAME
   * uncompressed, in the client's case, then QTYPE and QCLASS (RFC 1035
   * §4.1.2). A reply to the client carries exactly these.
   */
  wire: Buffer;
  /**
   * QNAME as a name string (src/zone/names.ts: `\.` for a dot inside a
   * label, `\DDD` for other octets, one string per octet sequence, case
   * kept), for routing, hosts files, cache keys and the name asked upstream.
   */
  name: string;
  /** QTYPE as dns-packet names it (`A`, `UNKNOWN_65280`). */
  type: string;
}

/**
 * The first question of `query`, whose end `questionEnd` found (so its
 * name is labels of at most 63 octets, at most 255 in all, no pointer).
 * Copied: the query's memory may be reused once the caller returns.
 */
export function readQuestion(query: Uint8Array, qEnd: number): WireQuestion {
  const name = qEnd > HEADER_LENGTH + 4 ? nameFromWire(query.subarray(0, qEnd - 4), HEADER_LENGTH) : null;
  if (name === null) throw new Error('readQuestion: no well-formed question before the offset given (use questionEnd)');
  return { wire: Buffer.from(query.subarray(HEADER_LENGTH, qEnd)), name, type: packetTypeName((query[qEnd - 4]! << 8) | query[qEnd - 3]!) };
}
