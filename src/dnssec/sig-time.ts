/** RRSIG validity windows: 32-bit times in serial arithmetic against now (RFC 4034 §3.1.5, RFC 4035 §5.3.1), and dates as dig prints them. */

/** Where now stands against an RRSIG's inception and expiration. */
export type WindowState =
  | { kind: 'valid' }
  | { kind: 'expired'; at: number }
  | { kind: 'not-yet-valid'; at: number };

/**
 * The RRSIG time `t` (32-bit seconds since 1970, which wrap every 136
 * years) as absolute seconds since 1970: the moment with those low 32 bits
 * nearest to `now` (RFC 4034 §3.1.5 compares them with RFC 1982 serial
 * arithmetic, which amounts to this).
 */
export function absoluteTime(t: number, now: number): number {
  const base = Math.floor(now);
  let d = (t - (base % 0x100000000)) % 0x100000000;
  if (d < 0) d += 0x100000000;
  if (d >= 0x80000000) d -= 0x100000000;
  return base + d;
}

/**
 * Whether an RRSIG is valid at `now` (seconds since 1970): RFC 4035 §5.3.1
 * wants inception ≤ now ≤ expiration.
 */
export function windowState(inception: number, expiration: number, now: number): WindowState {
  const end = absoluteTime(expiration, now);
  if (now > end) return { kind: 'expired', at: end };
  const start = absoluteTime(inception, now);
  if (now < start) return { kind: 'not-yet-valid', at: start };
  return { kind: 'valid' };
}

/** `20240101000000 (2024-01-01T00:00:00Z)`: YYYYMMDDHHmmss as dig and zone files print RRSIG times, then ISO 8601. */
export function dateText(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return `${digits} (${iso.slice(0, 19)}Z)`;
}
