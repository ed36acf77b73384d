/**
 * dnsperf's binary query file (`dnsperf -B`): every question as a whole DNS
 * message, each preceded by its length in two octets (the TCP framing of RFC
 * 1035 §4.2.2), so the file fixes the EDNS payload size and the DO bit of
 * every query. dnsperf 2.10's `-D` sets DO but always offers 4096 octets, and
 * `-B` cannot be combined with `-D` or `-e`; dnsperf replaces only the ID.
 */

import dnsPacket from 'dns-packet';
import type { Query } from './queries.js';

/** What each query of a binary file carries besides its question. */
export interface WireQueryOptions {
  /** EDNS UDP payload size offered (RFC 6891 §6.2.3), or null for no OPT record at all. */
  udpSize: number | null;
  /** The DO bit (RFC 3225 §3): ask for DNSSEC records. Needs an OPT record. */
  dnssecOk: boolean;
  /** RD (RFC 1035 §4.1.1): dnsperf sets it on the queries of a text file, so the load test's queries have it. */
  recursionDesired: boolean;
}

/**
 * The signed scenarios' queries: DO=1 and 1232 octets, the size DNS Flag Day
 * 2020 settled on and every server here uses as its own largest UDP reply by
 * default (so none of them is asked to send more than the others may); RD as
 * dnsperf sets it in the other scenarios.
 */
export const SIGNED_QUERY: WireQueryOptions = { udpSize: 1232, dnssecOk: true, recursionDesired: true };

/** One query as DNS wire format (ID 0: dnsperf writes its own). */
export function encodeQuery(q: Pick<Query, 'name' | 'type'>, o: WireQueryOptions): Buffer {
  if (o.dnssecOk && o.udpSize === null) throw new Error('the DO bit lives in the OPT record: a DNSSEC query needs an EDNS payload size');
  return dnsPacket.encode({
    type: 'query',
    id: 0,
    flags: o.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ name: q.name, type: q.type as dnsPacket.RecordType, class: 'IN' }],
    additionals:
      o.udpSize === null
        ? []
        : [{ type: 'OPT', name: '.', udpPayloadSize: o.udpSize, extendedRcode: 0, ednsVersion: 0, flags: o.dnssecOk ? dnsPacket.DNSSEC_OK : 0, flag_do: o.dnssecOk, options: [] }],
  });
}

/**
 * The binary file in pieces of about `chunkBytes` (written one after another,
 * so a file of millions of queries is never held whole): each query's length
 * in two octets, big-endian, then the query.
 */
export function* dnsperfBinaryChunks(queries: Iterable<Pick<Query, 'name' | 'type'>>, o: WireQueryOptions, chunkBytes = 1 << 20): Generator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for (const q of queries) {
    const msg = encodeQuery(q, o);
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(msg.length);
    parts.push(len, msg);
    size += 2 + msg.length;
    if (size >= chunkBytes) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}

/** The messages of a binary file, in order (the inverse of {@link dnsperfBinaryChunks}); throws on a cut-off message. */
export function splitDnsperfBinary(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < file.length) {
    if (at + 2 > file.length) throw new Error(`binary query file: a length prefix is cut off at octet ${at}`);
    const len = file.readUInt16BE(at);
    if (at + 2 + len > file.length) throw new Error(`binary query file: the message at octet ${at} needs ${len} octets, ${file.length - at - 2} are left`);
    out.push(file.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}
