/** Signature verification with node:crypto: DNSKEY public keys as KeyObjects, key tags, algorithm names, and checking one signature. */

import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Dnskey } from './records.js';

/** DNSSEC algorithm mnemonics (IANA "DNS Security Algorithm Numbers"; RFC 8624 §3.1). */
const ALGORITHM_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'RSAMD5'],
  [3, 'DSA'],
  [5, 'RSASHA1'],
  [6, 'DSA-NSEC3-SHA1'],
  [7, 'RSASHA1-NSEC3-SHA1'],
  [8, 'RSASHA256'],
  [10, 'RSASHA512'],
  [12, 'ECC-GOST'],
  [13, 'ECDSAP256SHA256'],
  [14, 'ECDSAP384SHA384'],
  [15, 'ED25519'],
  [16, 'ED448'],
]);

/** `ECDSAP256SHA256`, or `algorithm 200` for a number without a mnemonic. */
export function algorithmName(algorithm: number): string {
  return ALGORITHM_NAMES.get(algorithm) ?? `algorithm ${algorithm}`;
}

/**
 * How each supported algorithm's key and signature are read: the digest
 * for crypto.verify (null: the curve fixes it, as for EdDSA), and the
 * expected public key and signature lengths where the algorithm fixes them.
 */
interface AlgorithmSpec {
  readonly kind: 'rsa' | 'ec' | 'okp';
  readonly digest: string | null;
  readonly curve?: 'P-256' | 'P-384' | 'Ed25519' | 'Ed448';
  readonly keyLength?: number;
}

const SUPPORTED: ReadonlyMap<number, AlgorithmSpec> = new Map<number, AlgorithmSpec>([
  // RFC 5702 §2, §3: RSA/SHA-256 and RSA/SHA-512, PKCS #1 v1.5 signatures, keys as RFC 3110 §2.
  [8, { kind: 'rsa', digest: 'sha256' }],
  [10, { kind: 'rsa', digest: 'sha512' }],
  // RFC 6605 §4: the key is Q = x | y; the signature r | s (IEEE P1363 form).
  [13, { kind: 'ec', digest: 'sha256', curve: 'P-256', keyLength: 64 }],
  [14, { kind: 'ec', digest: 'sha384', curve: 'P-384', keyLength: 96 }],
  // RFC 8080 §3, §4: the key is the curve point's octets; EdDSA hashes internally.
  [15, { kind: 'okp', digest: null, curve: 'Ed25519', keyLength: 32 }],
  [16, { kind: 'okp', digest: null, curve: 'Ed448', keyLength: 57 }],
]);

/** True for the algorithms this module verifies. */
export function supportedAlgorithm(algorithm: number): boolean {
  return SUPPORTED.has(algorithm);
}

/** The algorithms this module verifies, by mnemonic, for messages. */
export function supportedAlgorithmNames(): string[] {
  return [...SUPPORTED.keys()].map(algorithmName);
}

/**
 * The key tag of a DNSKEY (RFC 4034 Appendix B): the RDATA summed as
 * 16-bit words with the carry folded in; for algorithm 1 (RSA/MD5,
 * Appendix B.1) the two octets before the last of the modulus.
 */
export function keyTag(key: Pick<Dnskey, 'algorithm' | 'rdata'>): number {
  const r = key.rdata;
  if (key.algorithm === 1) return r.length < 4 ? 0 : (r[r.length - 3]! << 8) | r[r.length - 2]!;
  let ac = 0;
  for (let i = 0; i < r.length; i++) ac += i & 1 ? r[i]! : r[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** A DNSKEY's public key for node:crypto, or why there is none. */
export type PublicKeyOutcome =
  | { kind: 'key'; key: KeyObject; algorithm: number }
  | { kind: 'unsupported'; algorithm: number }
  | { kind: 'bad-key'; algorithm: number; reason: string };

/** Base64url without padding, as JWK wants (RFC 7518 §6). */
function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * The public key of a DNSKEY as a KeyObject, through JWK (RFC 7517), so
 * node:crypto does the key encoding: RSA from RFC 3110 §2 (an exponent
 * length octet, or 0 and two octets, then the exponent, then the modulus),
 * ECDSA from RFC 6605 §4 (x | y), Ed25519/Ed448 from RFC 8080 §3.
 */
export function publicKey(algorithm: number, octets: Buffer): PublicKeyOutcome {
  const spec = SUPPORTED.get(algorithm);
  if (spec === undefined) return { kind: 'unsupported', algorithm };
  const bad = (reason: string): PublicKeyOutcome => ({ kind: 'bad-key', algorithm, reason });
  let jwk: Record<string, string>;
  if (spec.kind === 'rsa') {
    if (octets.length < 3) return bad('the RSA key is shorter than its exponent length');
    const long = octets[0] === 0;
    const expLength = long ? octets.readUInt16BE(1) : octets[0]!;
    const expAt = long ? 3 : 1;
    const exponent = octets.subarray(expAt, expAt + expLength);
    const modulus = octets.subarray(expAt + expLength);
    if (expLength === 0 || exponent.length < expLength || modulus.length === 0) return bad('the RSA key does not hold an exponent and a modulus (RFC 3110 §2)');
    jwk = { kty: 'RSA', n: b64url(modulus), e: b64url(exponent) };
  } else if (octets.length !== spec.keyLength) {
    return bad(`a ${algorithmName(algorithm)} public key has ${spec.keyLength} octets, this one ${octets.length}`);
  } else if (spec.kind === 'ec') {
    const half = octets.length / 2;
    jwk = { kty: 'EC', crv: spec.curve!, x: b64url(octets.subarray(0, half)), y: b64url(octets.subarray(half)) };
  } else {
    jwk = { kty: 'OKP', crv: spec.curve!, x: b64url(octets) };
  }
  try {
    return { kind: 'key', key: createPublicKey({ key: jwk, format: 'jwk' }), algorithm };
  } catch (err) {
    return bad(`node:crypto refuses the key: ${(err as Error).message}`);
  }
}

/**
 * True when `signature` is a valid signature of `data` by `key` under
 * `algorithm` (one of the supported ones). ECDSA signatures are r | s
 * (RFC 6605 §4), node:crypto's `ieee-p1363` encoding. A malformed
 * signature is simply not valid.
 */
export function verifySignature(algorithm: number, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const spec = SUPPORTED.get(algorithm);
  if (spec === undefined) return false;
  try {
    if (spec.kind === 'ec') return verify(spec.digest, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    return verify(spec.digest, data, key, signature);
  } catch {
    return false;
  }
}
