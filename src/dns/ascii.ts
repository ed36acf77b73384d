/** Case folding of DNS name octets: ASCII letters only (RFC 4343 §3). */

/** The octet with an ASCII upper-case letter folded to lower case; every other octet (label lengths, Latin-1) as it is. */
export function lowerOctet(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Copies `len` octets of the name at `src[at]` to `out[w]` with ASCII letters lower-cased (RFC 4343 §3); label lengths and other octets unchanged. */
export function lowerName(src: Uint8Array, at: number, len: number, out: Uint8Array, w: number): void {
  for (let i = 0; i < len; i++) out[w + i] = lowerOctet(src[at + i]!);
}
