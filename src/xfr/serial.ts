/** SOA serial number arithmetic (RFC 1982 §3, SERIAL_BITS 32): which of two serials is newer. Pure. */

/** Half the serial space: serials this far apart or more cannot be compared (RFC 1982 §3.2). */
const HALF = 2 ** 31;

/**
 * Compares two SOA serials as RFC 1982 §3.2 defines it: negative when `a`
 * is older than `b`, positive when newer, 0 when equal. Serials exactly half
 * the space apart are undefined by the RFC; they count as newer here (BIND
 * and NSD take the same side), so a serial never compares equal to another.
 */
export function compareSerial(a: number, b: number): number {
  const x = a >>> 0;
  const y = b >>> 0;
  if (x === y) return 0;
  const d = (x - y + 2 ** 32) % 2 ** 32;
  return d < HALF || d === HALF ? 1 : -1;
}

/** Whether serial `a` is newer than `b` (RFC 1982 §3.2). */
export function serialNewer(a: number, b: number): boolean {
  return compareSerial(a, b) > 0;
}
