/** NSEC3 hashing (RFC 5155 §5): the iterated SHA-1 of a wire name, and the base32hex form of NSEC3 owner labels (RFC 4648 §7). Pure. */

import { hash as oneShot } from 'node:crypto';

/** The only NSEC3 hash algorithm defined (RFC 5155 §11): SHA-1, 20 octets. */
export const NSEC3_SHA1 = 1;
/** Octets of a SHA-1 NSEC3 hash. */
export const NSEC3_HASH_LENGTH = 20;

/** Lower-case base32hex digits (RFC 4648 §7), as NSEC3 owner labels are written. */
const DIGITS = '0123456789abcdefghijklmnopqrstuv';

/**
 * RFC 5155 §5: IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt).
 * `name[start, end)` is the wire name, lower-cased (canonical form, RFC 4034
 * §6.2) by the caller. SHA-1 through node:crypto, one call per iteration.
 */
export function nsec3Hash(name: Uint8Array, start: number, end: number, salt: Uint8Array, iterations: number): Buffer {
  const input = Buffer.allocUnsafe(Math.max(end - start, NSEC3_HASH_LENGTH) + salt.length);
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

/** The base32hex (RFC 4648 §7, no padding, lower case) of `bytes`: an NSEC3 owner's first label. */
export function base32hex(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += DIGITS[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += DIGITS[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The octets an NSEC3 owner label (base32hex, either case) stands for, or
 * null when it is not base32hex of a whole number of octets.
 */
export function fromBase32hex(label: Uint8Array, start: number, end: number): Uint8Array | null {
  const n = end - start;
  const bytes = Math.floor((n * 5) / 8);
  if (((bytes * 8 + 4) / 5 | 0) !== n) return null;
  const out = new Uint8Array(bytes);
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = label[i]!;
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x76) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x56) d = c - 0x41 + 10;
    else return null;
    value = ((value << 5) | d) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[o++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}
