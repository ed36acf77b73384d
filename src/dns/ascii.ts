/** Case folding of DNS name octets: ASCII letters only (RFC 4343 §3). */

/** The octet with an ASCII upper-case letter folded to lower case; every other octet (label lengths, Latin-1) as it is. */
export function lowerOctet(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}
