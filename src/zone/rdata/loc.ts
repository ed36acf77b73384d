/** LOC records (RFC 1876): reading the position text, the wire form, and BIND's printing. */

import type { Field } from './rdata-fields.js';
import { RdataError, type RdataText } from './rdata-io.js';

/** A LOC RDATA, in wire units. */
export interface Loc {
  readonly size: number; // precision bytes (RFC 1876 §2: mantissa << 4 | exponent, centimetres)
  readonly horiz: number;
  readonly vert: number;
  readonly lat: number; // 2^31 + thousandths of an arc second, north positive
  readonly lon: number;
  readonly alt: number; // centimetres above 100 000 m below the WGS 84 spheroid
}

const EQUATOR = 0x80000000;
const ALT_BASE = 10000000;

/** A decimal with at most `places` fraction digits, as an integer in units of 10^-places; null if malformed. */
function fixed(s: string, places: number, signed: boolean): number | null {
  const m = (signed ? /^(-?)([0-9]+)(?:\.([0-9]+))?$/ : /^()([0-9]+)(?:\.([0-9]+))?$/).exec(s);
  if (m === null || (m[3] !== undefined && m[3].length > places)) return null;
  const v = Number(m[2]) * 10 ** places + Number((m[3] ?? '').padEnd(places, '0') || '0');
  return m[1] === '-' ? -v : v;
}

/** RFC 1876 §2 "precision" byte for a size in centimetres (mantissa truncated, as BIND does). */
function precsize(cm: number): number {
  let exp = 0;
  while (exp < 9 && cm >= 10 ** (exp + 1)) exp++;
  return (Math.min(9, Math.floor(cm / 10 ** exp)) << 4) | exp;
}

function printPrecsize(b: number): string {
  const mantissa = b >> 4;
  const exp = b & 0x0f;
  return exp >= 2 ? `${mantissa * 10 ** (exp - 2)}m` : `0.${String(mantissa * 10 ** exp).padStart(2, '0')}m`;
}

/** Reads `d [m [s]] N|S` (or E|W) and returns thousandths of an arc second, signed. */
function angle(t: RdataText, maxDeg: number, pos: string, neg: string): number {
  const what = pos === 'N' ? 'latitude' : 'longitude';
  const parts: string[] = [];
  for (;;) {
    const s = t.take(what);
    const u = s.toUpperCase();
    if (u === pos || u === neg) {
      if (parts.length === 0) t.fail(`missing degrees of ${what}`);
      const deg = Number(parts[0]);
      const min = parts.length > 1 ? Number(parts[1]) : 0;
      const sec = parts.length > 2 ? fixed(parts[2]!, 3, false)! : 0;
      const total = deg * 3600000 + min * 60000 + sec;
      if (total > maxDeg * 3600000) t.fail(`${what} beyond ${maxDeg} degrees`);
      return u === pos ? total : -total;
    }
    if (parts.length === 3) t.fail(`expected ${pos} or ${neg} after the seconds of ${what}, not "${s}"`);
    const ok = parts.length === 2 ? fixed(s, 3, false) !== null && fixed(s, 3, false)! < 60000 : /^[0-9]+$/.test(s);
    if (!ok) t.fail(`bad ${['degrees', 'minutes', 'seconds'][parts.length]} "${s}" in ${what}`);
    if (parts.length === 0 && Number(s) > maxDeg) t.fail(`degrees ${s} out of range (0..${maxDeg})`);
    if (parts.length === 1 && Number(s) > 59) t.fail(`minutes ${s} out of range (0..59)`);
    parts.push(s);
  }
}

function metres(t: RdataText, what: string, signed: boolean, min: number, max: number): number {
  const s = t.take(what);
  const v = fixed(s.endsWith('m') || s.endsWith('M') ? s.slice(0, -1) : s, 2, signed);
  if (v === null) return t.fail(`bad ${what} "${s}": metres with at most two decimals`);
  if (v < min || v > max) return t.fail(`${what} ${s} out of range`);
  return v;
}

function printAngle(v: number, pos: string, neg: string): string {
  const off = v - EQUATOR;
  const a = Math.abs(off);
  const deg = Math.floor(a / 3600000);
  const min = Math.floor((a % 3600000) / 60000);
  const ms = a % 60000;
  return `${deg} ${min} ${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')} ${off >= 0 ? pos : neg}`;
}

/** The whole LOC RDATA as one field (RFC 1876 §3 presentation form). */
export const loc: Field<Loc> = {
  parse(t) {
    const lat = angle(t, 90, 'N', 'S');
    const lon = angle(t, 180, 'E', 'W');
    const alt = metres(t, 'altitude', true, -ALT_BASE, 4284967295);
    const size = t.more() ? metres(t, 'size', false, 0, 9000000000) : 100;
    const horiz = t.more() ? metres(t, 'horizontal precision', false, 0, 9000000000) : 1000000;
    const vert = t.more() ? metres(t, 'vertical precision', false, 0, 9000000000) : 1000;
    return { size: precsize(size), horiz: precsize(horiz), vert: precsize(vert), lat: EQUATOR + lat, lon: EQUATOR + lon, alt: alt + ALT_BASE };
  },
  write(w, v) {
    w.u8(0);
    w.u8(v.size);
    w.u8(v.horiz);
    w.u8(v.vert);
    w.u32(v.lat);
    w.u32(v.lon);
    w.u32(v.alt);
  },
  read(r) {
    if (r.u8() !== 0) throw new RdataError('unknown LOC version', -1);
    const size = r.u8();
    const horiz = r.u8();
    const vert = r.u8();
    for (const b of [size, horiz, vert]) if (b >> 4 > 9 || (b & 0xf) > 9) throw new RdataError('bad LOC precision', -1);
    return { size, horiz, vert, lat: r.u32(), lon: r.u32(), alt: r.u32() };
  },
  print(v) {
    const cm = v.alt - ALT_BASE;
    const a = Math.abs(cm);
    const alt = `${cm < 0 ? '-' : ''}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}m`;
    return `${printAngle(v.lat, 'N', 'S')} ${printAngle(v.lon, 'E', 'W')} ${alt} ${printPrecsize(v.size)} ${printPrecsize(v.horiz)} ${printPrecsize(v.vert)}`;
  },
};
