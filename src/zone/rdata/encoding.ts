/** Strict hex, base64 and base32hex as master files use them (RFC 4648), and BIND's line chunking. */

/** Decodes hex digits (either case); null when a character is not hex or the count is odd. */
export function decodeHex(text: string): Buffer | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  return Buffer.from(text, 'hex');
}

/** Hex in upper case, as BIND prints it. */
export function encodeHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex').toUpperCase();
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64_VALUE = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => {
  B64_VALUE[c.charCodeAt(0)] = i;
});

/**
 * Decodes base64 strictly (RFC 4648 §4): whole quanta, padding only at the
 * end, unused bits zero. Node's own decoder skips bad characters silently,
 * so it only runs after these checks. Null when the text is not base64.
 */
export function decodeBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !B64.test(text)) return null;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (pad > 0) {
    const last = B64_VALUE[text.charCodeAt(text.length - pad - 1)]!;
    if ((pad === 2 && (last & 0x0f) !== 0) || (pad === 1 && (last & 0x03) !== 0)) return null;
  }
  return Buffer.from(text, 'base64');
}

/** Base64 with padding. */
export function encodeBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const B32H = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

/**
 * Decodes base32hex without padding (RFC 4648 §7, RFC 5155 §3.3): the form
 * of NSEC3 hashed owner names. Null on a bad character, an impossible
 * length, or non-zero unused bits.
 */
export function decodeBase32Hex(text: string): Buffer | null {
  const rem = text.length % 8;
  if (rem === 1 || rem === 3 || rem === 6) return null;
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const v = B32H.indexOf(text[i]!.toUpperCase());
    if (v < 0) return null;
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return null;
  return Buffer.from(out);
}

/** Base32hex in upper case without padding. */
export function encodeBase32Hex(b: Uint8Array): string {
  const out = new Uint8Array(Math.ceil((b.length * 8) / 5));
  return Buffer.from(out.buffer, 0, encodeBase32HexInto(b, out, 0, false)).toString('latin1');
}

/** ASCII codes of the base32hex digits, upper and lower case. */
const B32H_UPPER = Buffer.from(B32H, 'latin1');
const B32H_LOWER = Buffer.from(B32H.toLowerCase(), 'latin1');

/**
 * Writes base32hex without padding (RFC 4648 §7) of `b` as ASCII into
 * `out[at]`, in lower case with `lower` (as NSEC3 owner labels are
 * compared), allocating nothing; returns the number of characters written.
 */
export function encodeBase32HexInto(b: Uint8Array, out: Uint8Array, at: number, lower: boolean): number {
  const digits = lower ? B32H_LOWER : B32H_UPPER;
  let w = at;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < b.length; i++) {
    acc = ((acc << 8) | b[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[w++] = digits[(acc >> bits) & 0x1f]!;
    }
  }
  if (bits > 0) out[w++] = digits[(acc << (5 - bits)) & 0x1f]!;
  return w - at;
}

/** Splits long hex or base64 into words of 56 characters joined by spaces, as BIND's dump does. */
export function chunk56(text: string): string {
  if (text.length <= 56) return text;
  const words: string[] = [];
  for (let i = 0; i < text.length; i += 56) words.push(text.slice(i, i + 56));
  return words.join(' ');
}
