/** TTL values in master files: plain seconds or BIND's unit form (RFC 2308 §4, `1h30m`). */

/** Largest TTL a record may carry (RFC 2181 §8: the top bit of the 32-bit field is zero). */
export const MAX_TTL = 0x7fffffff;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * Parses a TTL token: digits, or groups of digits each followed by a unit
 * (w, d, h, m, s; case-insensitive; any order; summed). Returns the value as
 * an unsigned 32-bit number, or -1 when the token is not a TTL (including a
 * sum beyond 2^32-1, which BIND also refuses to read as a TTL). Callers decide
 * what to do with values above MAX_TTL.
 */
export function parseTtl(text: string): number {
  const n = text.length;
  if (n === 0) return -1;
  let total = 0;
  let group = 0;
  let digits = 0;
  let units = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      group = group * 10 + (c - 0x30);
      if (group > 0xffffffff) return -1;
      digits++;
      continue;
    }
    const unit = UNIT_SECONDS[String.fromCharCode(c | 0x20)];
    if (unit === undefined || digits === 0) return -1;
    total += group * unit;
    if (total > 0xffffffff) return -1;
    group = 0;
    digits = 0;
    units++;
  }
  if (digits > 0) {
    // Trailing digits without a unit are only allowed when there is no unit at all.
    if (units > 0) return -1;
    total = group;
  }
  return total;
}

/** True when the token starts like a number, so it can only be a TTL (or an error). */
export function looksNumeric(text: string): boolean {
  const c = text.charCodeAt(0);
  return c >= 0x30 && c <= 0x39;
}
