/** The parts of dns-packet the zone code relies on that its typings do not declare. */

import { createRequire } from 'node:module';

/** dns-packet's type table, through require() (see src/dns/dns-packet.ts: an ES import of a CommonJS package costs memory). */
const packetTypes = createRequire(import.meta.url)('dns-packet/types.js') as { toString(code: number): string };

interface NameCodec {
  encode: { (name: string, buf?: Buffer, offset?: number, opts?: { mail?: boolean }): Buffer; bytes: number };
  decode(buf: Buffer, offset?: number, opts?: { mail?: boolean }): string;
}

interface AnswerCodec {
  encode(answer: unknown, buf?: Buffer, offset?: number): Buffer;
  decode(buf: Buffer, offset?: number): { type: string; data: unknown };
}

/**
 * dns-packet's codecs, loaded on first use: the zone code needs them only
 * for RFC 3597 data of known types and for checks, so a zone builder that
 * meets none does not load the package (a few tens of ms at its start).
 */
let codecs: { name: NameCodec; answer: AnswerCodec } | null = null;
function internals(): { name: NameCodec; answer: AnswerCodec } {
  return (codecs ??= createRequire(import.meta.url)('dns-packet') as { name: NameCodec; answer: AnswerCodec });
}

/** dns-packet's own name for a type number: `A`, `SPF`, or `UNKNOWN_65`. */
export function packetTypeName(code: number): string {
  return packetTypes.toString(code);
}

/**
 * The wire form dns-packet writes for a name (mail: the SOA RNAME / RP mbox
 * convention). It equals names.ts nameToWire only for name strings without
 * escapes; nameToWire is the exact one.
 */
export function packetNameWire(name: string, mail: boolean): Buffer {
  // The buffer may be longer than the name (dns-packet sizes it before resolving `\.`); trust encode.bytes.
  const buf = internals().name.encode(name, undefined, 0, { mail });
  return buf.subarray(0, internals().name.encode.bytes);
}

/** The name string dns-packet reads from wire form. */
export function packetNameFromWire(wire: Buffer, mail: boolean): string {
  return internals().name.decode(wire, 0, { mail });
}

/** Encodes one resource record as dns-packet does when it writes an answer. */
export function packetEncodeRecord(record: unknown): Buffer {
  return internals().answer.encode(record);
}

/** Decodes one resource record with dns-packet (from offset 0). */
export function packetDecodeRecord(wire: Buffer): { type: string; data: unknown } {
  return internals().answer.decode(wire, 0);
}

/** The RDATA dns-packet writes for a record: the encoded record minus owner, type, class, TTL and length. */
export function packetRdata(record: unknown): Buffer {
  const wire = packetEncodeRecord(record);
  let i = 0;
  // dns-packet writes uncompressed names: skip the owner's labels.
  while (wire[i]! !== 0) i += wire[i]! + 1;
  i += 1 + 8;
  const len = wire.readUInt16BE(i);
  return wire.subarray(i + 2, i + 2 + len);
}
