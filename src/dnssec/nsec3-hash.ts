/** NSEC3 hashing (RFC 5155 §5): the iterated SHA-1 of a wire name, and the owner label it makes. Pure. */

import type { hash } from 'node:crypto';
import { nodeCrypto } from '../lazy-crypto.js';
import { encodeBase32HexInto } from '../zone/rdata/encoding.js';

/** The only NSEC3 hash algorithm defined (RFC 5155 §11): SHA-1, 20 octets. */
export const NSEC3_SHA1 = 1;
/** Octets of a SHA-1 NSEC3 hash. */
export const NSEC3_HASH_LENGTH = 20;

/**
 * RFC 5155 §5: IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt).
 * `name[start, end)` is the wire name, lower-cased (canonical form, RFC 4034
 * §6.2) by the caller. SHA-1 through node:crypto, one call per iteration.
 */
export function nsec3Hash(name: Uint8Array, start: number, end: number, salt: Uint8Array, iterations: number): Buffer {
  const oneShot = (sha1 ??= nodeCrypto().hash);
  const need = Math.max(end - start, NSEC3_HASH_LENGTH) + salt.length;
  if (need > input.length) input = Buffer.allocUnsafe(need);
  input.set(name.subarray(start, end), 0);
  input.set(salt, end - start);
  let digest = oneShot('sha1', input.subarray(0, end - start + salt.length), 'buffer');
  for (let k = 0; k < iterations; k++) {
    digest.copy(input, 0);
    input.set(salt, digest.length);
    digest = oneShot('sha1', input.subarray(0, digest.length + salt.length), 'buffer');
  }
  return digest;
}

/** node:crypto's one-shot hash, taken at the first NSEC3 hash (a worker serving unsigned zones never loads node:crypto for it). */
let sha1: typeof hash | null = null;

/** What one hash step reads: the name (or the last digest) and the salt, reused from call to call. */
let input = Buffer.allocUnsafe(512);

/**
 * Writes the owner label of a hash (lower-case base32hex, RFC 5155 §3.3),
 * as ASCII, into `out` from 0; returns its length (32 for SHA-1).
 */
export function hashLabelInto(hash: Uint8Array, out: Uint8Array): number {
  return encodeBase32HexInto(hash, out, 0, true);
}

/** The owner label of a hash as a string (lower case). */
export function hashLabel(hash: Uint8Array): string {
  const out = new Uint8Array(64);
  return Buffer.from(out.buffer, 0, hashLabelInto(hash, out)).toString('latin1');
}
