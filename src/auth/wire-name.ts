/** Wire-form names as answering handles them: copied out of a message, case-folded, measured and compared, without strings. Pure. */

export { lowerName } from '../dns/ascii.js';

/** The longest name on the wire, its zero octet included (RFC 1035 §3.1). */
export const MAX_NAME = 255;

/**
 * Copies the name at `msg[at]` to `out[w]` uncompressed, following
 * compression pointers (RFC 1035 §4.1.4), labels octet for octet (case and
 * any octet kept). Returns the name's length, zero octet included, or -1
 * when it is not well formed: past the end, a reserved label type, a pointer
 * that does not point backwards, or longer than 255 octets.
 */
export function copyName(msg: Uint8Array, at: number, out: Uint8Array, w: number): number {
  let p = at;
  let limit = at; // a pointer must point before the label that holds it
  let n = 0;
  for (;;) {
    if (p >= msg.length) return -1;
    const l = msg[p]!;
    if (l === 0) break;
    if ((l & 0xc0) === 0xc0) {
      if (p + 1 >= msg.length) return -1;
      const to = ((l & 0x3f) << 8) | msg[p + 1]!;
      if (to >= limit) return -1;
      p = limit = to;
      continue;
    }
    if ((l & 0xc0) !== 0 || p + 1 + l > msg.length || n + l + 2 > MAX_NAME) return -1;
    for (let k = 0; k <= l; k++) out[w + n + k] = msg[p + k]!;
    n += l + 1;
    p += l + 1;
  }
  out[w + n] = 0;
  return n + 1;
}

/** Octets of the uncompressed wire name at `src[at]`, its zero octet included. */
export function nameLength(src: Uint8Array, at: number): number {
  let p = at;
  while (src[p] !== 0) p += src[p]! + 1;
  return p + 1 - at;
}

/** Whether `len` octets at `a[aAt]` and `b[bAt]` are equal. */
export function sameOctets(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}
