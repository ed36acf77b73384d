/** IPv4 and IPv6 addresses in text: strict reading and the printed forms. */

/**
 * Reads a dotted quad strictly, as BIND does (RFC 1035 §3.4.1 A RDATA):
 * four decimal octets, no leading zeros, none above 255. Returns the text
 * itself (already canonical) or null.
 */
export function parseIPv4(text: string): string | null {
  return ipv4At(text, 0, text.length, scratch4, 0) ? text : null;
}

/** Where parseIPv4 lets ipv4At write the octets it does not keep. */
const scratch4 = new Uint8Array(4);

/**
 * Writes the dotted quad `text[a, b)` as 4 octets at `out[at]` when it is
 * one as parseIPv4 reads it (four decimal octets, no leading zeros, none
 * above 255); false otherwise.
 */
export function ipv4At(text: string, a: number, b: number, out: Uint8Array, at: number): boolean {
  if (b - a < 7 || b - a > 15) return false;
  let parts = 0;
  let value = 0;
  let digits = 0;
  let lead = 0;
  for (let i = a; i <= b; i++) {
    const c = i < b ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || (digits > 1 && lead === 0x30) || parts === 4) return false;
      out[at + parts++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39) return false;
    if (digits === 0) lead = c;
    value = value * 10 + (c - 0x30);
    if (++digits > 3) return false;
  }
  return parts === 4;
}

/** The four octets of a dotted quad already checked by parseIPv4. */
export function ipv4Bytes(text: string, out: Uint8Array, at: number): void {
  let v = 0;
  let k = at;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      out[k++] = v;
      v = 0;
    } else {
      v = v * 10 + (c - 0x30);
    }
  }
  out[k] = v;
}

/**
 * Reads an IPv6 address (RFC 4291 §2.2): up to eight groups of one to four
 * hex digits, at most one `::`, optionally ending in a dotted quad.
 * Returns the 16 octets or null.
 */
export function parseIPv6(text: string): Uint8Array | null {
  if (!parseIPv6Words(text, W16)) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = W16[i]! >> 8;
    out[2 * i + 1] = W16[i]! & 0xff;
  }
  return out;
}

/**
 * Writes the 16 octets of an IPv6 address (as parseIPv6 reads it) into `out`
 * at `at`; false, writing nothing, when it is not one. The address is
 * `text[from, to)` (the whole text by default), so a reader scanning a line
 * needs no string of its own for it.
 */
export function ipv6Bytes(text: string, out: Uint8Array, at: number, from = 0, to = text.length): boolean {
  if (!parseIPv6Words(text, W16, from, to)) return false;
  for (let i = 0; i < 8; i++) {
    out[at + 2 * i] = W16[i]! >> 8;
    out[at + 2 * i + 1] = W16[i]! & 0xff;
  }
  return true;
}

/** An IPv6 address in the RFC 5952 text records carry, or null: parseIPv6 then formatIPv6, without the octets. */
export function canonicalIPv6(text: string): string | null {
  return parseIPv6Words(text, W16) ? formatWords(W16, false) : null;
}

/** Reads the IPv6 address `text[from, to)` into eight 16-bit words; false when it is not one. */
function parseIPv6Words(text: string, out: Uint16Array, from = 0, to = text.length): boolean {
  const n = to;
  if (n - from < 2 || n - from > 45) return false;
  // The groups read, in order (a dotted quad at the end counts as two), then placed around the gap.
  const words = WORDS;
  let count = 0;
  let gap = -1;
  let i = from;
  if (text.charCodeAt(from) === 0x3a && text.charCodeAt(from + 1) === 0x3a) {
    gap = 0;
    i = from + 2;
    if (n === from + 2) {
      out.fill(0);
      return true;
    }
  } else if (text.charCodeAt(from) === 0x3a) {
    return false;
  }
  while (i < n) {
    // One group: hex digits, or a dotted quad at the very end.
    let j = i;
    while (j < n && isHex(text.charCodeAt(j))) j++;
    if (j < n && text.charCodeAt(j) === 0x2e) {
      const quad = parseIPv4(text.slice(i, n));
      if (quad === null || count > 6) return false;
      const b = new Uint8Array(4);
      ipv4Bytes(quad, b, 0);
      words[count++] = (b[0]! << 8) | b[1]!;
      words[count++] = (b[2]! << 8) | b[3]!;
      i = n;
      break;
    }
    if (j === i || j - i > 4) return false;
    let word = 0;
    for (let q = i; q < j; q++) word = (word << 4) | hexValue(text.charCodeAt(q));
    if (count >= 8) return false;
    words[count++] = word;
    if (j === n) {
      i = n;
      break;
    }
    if (text.charCodeAt(j) !== 0x3a) return false;
    if (j + 1 < n && text.charCodeAt(j + 1) === 0x3a) {
      if (gap >= 0) return false;
      gap = count;
      i = j + 2;
    } else {
      if (j + 1 === n) return false;
      i = j + 1;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  out.fill(0);
  const tail = gap < 0 ? 0 : count - gap;
  for (let w = 0; w < count; w++) out[gap >= 0 && w >= gap ? 8 - tail + (w - gap) : w] = words[w]!;
  return true;
}

/** The groups parseIPv6Words has read (at most eight; a ninth makes the address invalid). */
const WORDS = new Uint16Array(8);

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

const W16 = new Uint16Array(8);
const FORMAT16 = new Uint16Array(8);
const PARTS: string[] = [];
/** Hex text of 16-bit values, filled as they are met (at most 65536 short strings); made on first use (512 KB of slots every process would hold). */
let HEX16: (string | undefined)[] | null = null;

function hex16(v: number): string {
  return ((HEX16 ??= new Array<string | undefined>(65536))[v] ??= v.toString(16));
}

/**
 * Prints 16 octets as text. The longest run of two or more zero groups
 * becomes `::` (the first on a tie), digits in lower case (RFC 5952 §4).
 * With `embedV4`, IPv4-compatible and IPv4-mapped addresses end in a dotted
 * quad, as BIND prints them; without it the text is pure hex, which
 * dns-packet's encoder reads correctly.
 */
export function formatIPv6(b: ArrayLike<number>, embedV4 = false): string {
  const w = FORMAT16;
  for (let i = 0; i < 8; i++) w[i] = (b[2 * i]! << 8) | b[2 * i + 1]!;
  return formatWords(w, embedV4);
}

/** formatIPv6 from eight words. */
function formatWords(w: Uint16Array, embedV4: boolean): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) best = -1;
  const v4 =
    embedV4 && best === 0 && (bestLen === 6 || (bestLen === 7 && w[7] !== 1) || (bestLen === 5 && w[5] === 0xffff));
  if (v4) return (bestLen === 5 ? '::ffff:' : '::') + `${w[6]! >> 8}.${w[6]! & 0xff}.${w[7]! >> 8}.${w[7]! & 0xff}`;
  // Built as an array and joined: repeated += would leave a rope of small strings behind.
  const parts = PARTS;
  parts.length = 0;
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      parts.push(i === 0 ? '::' : ':');
      i += bestLen - 1;
      continue;
    }
    parts.push(hex16(w[i]!));
    if (i < 7) parts.push(':');
  }
  return parts.join('');
}
