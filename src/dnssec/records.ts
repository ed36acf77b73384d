/** The DNSSEC record types read from their exact wire RDATA: RRSIG, DNSKEY, NSEC, NSEC3 and NSEC3PARAM fields, and type bitmaps. */

import { skipName } from '../dns/query.js';
import { nameFromWire } from '../zone/names.js';

/** The fields of an RRSIG (RFC 4034 §3.1), read from its wire RDATA. */
export interface Rrsig {
  /** Type covered (§3.1.1). */
  readonly typeCovered: number;
  /** Algorithm number (§3.1.2). */
  readonly algorithm: number;
  /** Labels of the original owner name, without a leading `*` and the root (§3.1.3). */
  readonly labels: number;
  /** TTL of the covered RRset as it was signed (§3.1.4). */
  readonly originalTtl: number;
  /** Signature expiration and inception, 32-bit seconds since 1970 in serial arithmetic (§3.1.5). */
  readonly expiration: number;
  readonly inception: number;
  /** Key tag of the DNSKEY that made it (§3.1.6). */
  readonly keyTag: number;
  /** Signer's name as a name string (names.ts) (§3.1.7). */
  readonly signer: string;
  /** The RDATA up to and including the signer's name: what §3.1.8.1 signs, before the signer is lower-cased. */
  readonly signedFields: Buffer;
  /** The signature octets (§3.1.8). */
  readonly signature: Buffer;
}

/** The fields of a DNSKEY (RFC 4034 §2.1) and what they say. */
export interface Dnskey {
  readonly flags: number;
  readonly protocol: number;
  readonly algorithm: number;
  /** The public key field, in the algorithm's own format (RFC 3110, RFC 6605, RFC 8080). */
  readonly publicKey: Buffer;
  /** The whole RDATA (for the key tag, RFC 4034 Appendix B). */
  readonly rdata: Buffer;
}

/** DNSKEY flag bits (RFC 4034 §2.1.1, RFC 5011 §3 for REVOKE). */
export const DNSKEY_FLAGS = { ZONE: 0x0100, REVOKE: 0x0080, SEP: 0x0001 } as const;

/** An NSEC's next owner name and type bitmap (RFC 4034 §4.1). */
export interface Nsec {
  readonly next: string;
  readonly types: number[];
}

/** NSEC3 hash parameters, as an NSEC3 or NSEC3PARAM carries them (RFC 5155 §3.1, §4.1). */
export interface Nsec3Params {
  readonly hashAlgorithm: number;
  readonly flags: number;
  readonly iterations: number;
  readonly salt: Buffer;
}

/** An NSEC3's parameters, next hashed owner and type bitmap (RFC 5155 §3.1). */
export interface Nsec3 extends Nsec3Params {
  readonly nextHash: Buffer;
  readonly types: number[];
}

/** Reads an RRSIG's wire RDATA; null when it is too short or the signer's name is malformed. */
export function readRrsig(rdata: Buffer): Rrsig | null {
  if (rdata.length < 19) return null;
  const signer = readName(rdata, 18);
  if (signer === null) return null;
  return {
    typeCovered: rdata.readUInt16BE(0),
    algorithm: rdata[2]!,
    labels: rdata[3]!,
    originalTtl: rdata.readUInt32BE(4),
    expiration: rdata.readUInt32BE(8),
    inception: rdata.readUInt32BE(12),
    keyTag: rdata.readUInt16BE(16),
    signer: signer.name,
    signedFields: rdata.subarray(0, signer.end),
    signature: rdata.subarray(signer.end),
  };
}

/** Reads a DNSKEY's wire RDATA; null when it is shorter than its fixed fields. */
export function readDnskey(rdata: Buffer): Dnskey | null {
  if (rdata.length < 4) return null;
  return { flags: rdata.readUInt16BE(0), protocol: rdata[2]!, algorithm: rdata[3]!, publicKey: rdata.subarray(4), rdata };
}

/** Reads an NSEC's wire RDATA; null when malformed. */
export function readNsec(rdata: Buffer): Nsec | null {
  const next = readName(rdata, 0);
  if (next === null) return null;
  const types = readTypeBitmap(rdata.subarray(next.end));
  return types === null ? null : { next: next.name, types };
}

/** Reads an NSEC3's wire RDATA; null when malformed. */
export function readNsec3(rdata: Buffer): Nsec3 | null {
  const params = readNsec3Params(rdata);
  if (params === null) return null;
  let at = 5 + params.salt.length;
  const hashLength = rdata[at];
  if (hashLength === undefined || at + 1 + hashLength > rdata.length) return null;
  const nextHash = rdata.subarray(at + 1, at + 1 + hashLength);
  at += 1 + hashLength;
  const types = readTypeBitmap(rdata.subarray(at));
  return types === null ? null : { ...params, nextHash, types };
}

/** Reads the parameters that start an NSEC3 or NSEC3PARAM's wire RDATA; null when too short. */
export function readNsec3Params(rdata: Buffer): Nsec3Params | null {
  if (rdata.length < 5) return null;
  const saltLength = rdata[4]!;
  if (5 + saltLength > rdata.length) return null;
  return { hashAlgorithm: rdata[0]!, flags: rdata[1]!, iterations: rdata.readUInt16BE(2), salt: rdata.subarray(5, 5 + saltLength) };
}

/** `1 0 10 AABBCCDD` (`-` for no salt): NSEC3 parameters as NSEC3PARAM presents them (RFC 5155 §4.3). */
export function paramsText(p: Nsec3Params): string {
  return `${p.hashAlgorithm} ${p.flags} ${p.iterations} ${p.salt.length === 0 ? '-' : p.salt.toString('hex').toUpperCase()}`;
}

/** True when two parameter sets name the same hash (algorithm, iterations, salt; flags aside). */
export function sameHash(a: Nsec3Params, b: Nsec3Params): boolean {
  return a.hashAlgorithm === b.hashAlgorithm && a.iterations === b.iterations && a.salt.equals(b.salt);
}

/**
 * Reads a type bitmap (RFC 4034 §4.1.2): windows in increasing order, each
 * with 1 to 32 octets of bits. Null when malformed. Types come out sorted.
 */
export function readTypeBitmap(b: Buffer): number[] | null {
  const types: number[] = [];
  let at = 0;
  let lastWindow = -1;
  while (at < b.length) {
    if (at + 2 > b.length) return null;
    const window = b[at]!;
    const length = b[at + 1]!;
    if (window <= lastWindow || length < 1 || length > 32 || at + 2 + length > b.length) return null;
    for (let i = 0; i < length; i++) {
      const bits = b[at + 2 + i]!;
      for (let bit = 0; bit < 8; bit++) if (bits & (0x80 >> bit)) types.push(window * 256 + i * 8 + bit);
    }
    lastWindow = window;
    at += 2 + length;
  }
  return types;
}

/** Reads an uncompressed wire name at `at` (RFC 1035 §3.1); null when it runs past the end or is too long. */
function readName(b: Buffer, at: number): { name: string; end: number } | null {
  const name = nameFromWire(b, at);
  // nameFromWire took every label: skipName walks the same lengths to the zero octet.
  return name === null ? null : { name, end: skipName(b, at) };
}
