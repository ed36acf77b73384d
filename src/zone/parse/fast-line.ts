/** The commonest master-file lines read straight from the text: a one-line record of a few plain types, with no token strings and its RDATA written as wire octets. */

import { ipv6Bytes } from '../rdata/address.js';
import { T } from '../rdata/rrtypes.js';

/*
 * Most lines of a big zone are `owner [TTL] [IN] type RDATA` on one line,
 * of type A, AAAA, NS, CNAME, PTR, MX, SRV or TXT, with plain tokens (no
 * escapes, no parentheses). The master reader (parser.ts) tries this path
 * first for each entry; anything it does not recognise here — a directive,
 * parentheses, an escape, another type, a field it would have to report as
 * wrong — is left to the lexer and the general RDATA reader, which read the
 * line again from its start and report what is wrong with it. So this path
 * never reports anything: it either reads a line exactly as the general
 * path would, or declines it (test/unit/zone/fast-line.test.ts compares the
 * two on every shape of line).
 *
 * Tokens are found as the lexer finds them (RFC 1035 §5.1): blanks (space,
 * tab, CR) separate them, `;` starts a comment to the end of the line, and a
 * quoted string is a token of its own even when no blank stands beside it.
 */

/** The most tokens a line read here has (SRV: owner, TTL, class, type and four fields). */
const MAX_TOKENS = 8;

/** The tokens of one line, as index ranges into the text; reused from line to line. */
export class LineTokens {
  count = 0;
  readonly starts = new Int32Array(MAX_TOKENS);
  readonly ends = new Int32Array(MAX_TOKENS);
  /** Bit k set: token k was quoted (its range excludes the quotes). */
  quoted = 0;
  /** The line began with a blank: the owner is omitted (RFC 1035 §5.1). */
  blankStart = false;
  /** Where the next line starts (past the newline, or the end of the text). */
  next = 0;
  /** Whether the line ended with a newline (false only for the text's last line). */
  newline = false;
}

// What a character is to this scanner.
const PLAIN = 0;
const BLANK = 1; // space, tab, CR (as the lexer)
const END = 2; // newline, or `;` (the rest of the line is a comment)
const QUOTE = 3;
const DECLINE = 4; // parentheses, backslash, control and non-ASCII octets: the lexer's business
const KIND = new Uint8Array(256).fill(DECLINE);
for (let c = 0x21; c <= 0x7e; c++) KIND[c] = PLAIN;
KIND[0x20] = BLANK;
KIND[0x09] = BLANK;
KIND[0x0d] = BLANK;
KIND[0x0a] = END;
KIND[0x3b] = END;
KIND[0x22] = QUOTE;
KIND[0x28] = DECLINE;
KIND[0x29] = DECLINE;
KIND[0x5c] = DECLINE;

/**
 * Splits the line starting at `pos` into tokens. False when it holds
 * anything this path leaves to the lexer (see KIND), more than
 * MAX_TOKENS tokens, or a quoted string with an escape or no closing quote.
 * A line of blanks or a comment alone gives no tokens (true, count 0).
 */
export function scanLine(text: string, pos: number, out: LineTokens): boolean {
  const n = text.length;
  let i = pos;
  let count = 0;
  let quoted = 0;
  out.blankStart = i < n && KIND[text.charCodeAt(i) & 0xff] === BLANK;
  for (;;) {
    if (i >= n) {
      out.next = n;
      out.newline = false;
      break;
    }
    const c = text.charCodeAt(i);
    const k = c < 256 ? KIND[c]! : DECLINE;
    if (k === BLANK) {
      i++;
      continue;
    }
    if (k === END) {
      const nl = c === 0x0a ? i : text.indexOf('\n', i);
      out.next = nl < 0 ? n : nl + 1;
      out.newline = nl >= 0;
      break;
    }
    if (k === DECLINE || count === MAX_TOKENS) return false;
    if (k === QUOTE) {
      const start = i + 1;
      let j = start;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x22) break;
        if (d === 0x5c || d === 0x0a) return false;
      }
      if (j >= n) return false;
      out.starts[count] = start;
      out.ends[count] = j;
      quoted |= 1 << count;
      count++;
      i = j + 1;
      continue;
    }
    const start = i;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d >= 256 || KIND[d] !== PLAIN) break;
      i++;
    }
    out.starts[count] = start;
    out.ends[count] = i;
    count++;
  }
  out.count = count;
  out.quoted = quoted;
  return true;
}

/** Whether `text[a, b)` is the string `s`. */
export function sameText(text: string, a: number, b: number, s: string): boolean {
  if (b - a !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (text.charCodeAt(a + i) !== s.charCodeAt(i)) return false;
  return true;
}

/** A TTL of plain decimal digits in `text[a, b)` (the general path reads unit forms), or -1. */
export function plainTtl(text: string, a: number, b: number): number {
  let v = 0;
  for (let i = a; i < b; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
    if (v > 0xffffffff) return -1;
  }
  return v;
}

/** Whether `text[a, b)` is the class IN, in any case. */
export function isClassIn(text: string, a: number, b: number): boolean {
  return b - a === 2 && (text.charCodeAt(a) | 0x20) === 0x69 && (text.charCodeAt(a + 1) | 0x20) === 0x6e;
}

/** The type `text[a, b)` names (any case) when it is one this path reads, else -1. */
export function fastType(text: string, a: number, b: number): number {
  const c = text.charCodeAt(a) | 0x20;
  switch (b - a) {
    case 1:
      return c === 0x61 ? T.A : -1;
    case 2:
      if (c === 0x6e && (text.charCodeAt(a + 1) | 0x20) === 0x73) return T.NS;
      if (c === 0x6d && (text.charCodeAt(a + 1) | 0x20) === 0x78) return T.MX;
      return -1;
    case 3:
      if (upperIs(text, a, 'PTR')) return T.PTR;
      if (upperIs(text, a, 'SRV')) return T.SRV;
      if (upperIs(text, a, 'TXT')) return T.TXT;
      return -1;
    case 4:
      return upperIs(text, a, 'AAAA') ? T.AAAA : -1;
    case 5:
      return upperIs(text, a, 'CNAME') ? T.CNAME : -1;
  }
  return -1;
}

/** Whether the letters at `text[a…]` are `upper` in any case. */
function upperIs(text: string, a: number, upper: string): boolean {
  for (let i = 0; i < upper.length; i++) if ((text.charCodeAt(a + i) & 0xdf) !== upper.charCodeAt(i)) return false;
  return true;
}

/** A decimal number of at most `max` in `text[a, b)` (digits only, as the general reader takes them), or -1. */
export function plainUint(text: string, a: number, b: number, max: number): number {
  if (b <= a) return -1;
  let v = 0;
  for (let i = a; i < b; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
    if (v > max) return -1;
  }
  return v;
}


/** Writes the IPv6 address `text[a, b)` as 16 octets at `out[at]`; false when it is not one. */
export function ipv6At(text: string, a: number, b: number, out: Uint8Array, at: number): boolean {
  return ipv6Bytes(text, out, at, a, b);
}

/**
 * Writes the domain name `text[a, b)` (plain characters only: scanLine
 * let no escape through) in uncompressed wire form at `out[at]` (room for
 * b - a + 1 + origin.length octets): `@` is the origin, a name ending in a
 * dot is absolute, any other is relative to the origin, whose wire form is
 * `origin` (RFC 1035 §5.1). Returns the length written, or -1 for what
 * parseName refuses (an empty label, a label over 63 octets, a name over
 * 255): the general path then says so.
 */
export function nameWireAt(text: string, a: number, b: number, origin: Uint8Array, out: Uint8Array, at: number): number {
  if (b - a === 1) {
    const c = text.charCodeAt(a);
    if (c === 0x40) {
      out.set(origin, at);
      return origin.length;
    }
    if (c === 0x2e) {
      out[at] = 0;
      return 1;
    }
  }
  let lenAt = at;
  let o = at + 1;
  let label = 0;
  for (let i = a; i < b; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (label === 0) return -1;
      out[lenAt] = label;
      lenAt = o++;
      label = 0;
    } else {
      if (++label > 63) return -1;
      out[o++] = c;
    }
  }
  if (label === 0) {
    // Absolute: the last dot's length octet is the root's zero.
    out[lenAt] = 0;
    return o - at > 255 ? -1 : o - at;
  }
  out[lenAt] = label;
  // o is where the origin goes; its wire form ends the name.
  const length = o - at + origin.length;
  if (length > 255) return -1;
  out.set(origin, o);
  return length;
}

/**
 * Writes the character-strings of a TXT record (RFC 1035 §3.3.14) from
 * tokens `from` to the end of `tokens` (quoted or not; scanLine let no
 * escape through, so each token's octets are its characters) at `out[at]`;
 * returns the length, or -1 when a string is longer than 255 octets.
 */
export function txtAt(text: string, tokens: LineTokens, from: number, out: Uint8Array, at: number): number {
  let o = at;
  for (let k = from; k < tokens.count; k++) {
    const a = tokens.starts[k]!;
    const b = tokens.ends[k]!;
    if (b - a > 255) return -1;
    out[o++] = b - a;
    for (let i = a; i < b; i++) out[o++] = text.charCodeAt(i);
  }
  return o - at;
}

/** Octets the RDATA of a line may take at most here: the text of its RDATA tokens, room for the origin after its one name, and for an AAAA's 16 octets. */
export function rdataRoom(tokens: LineTokens, from: number, originLength: number): number {
  let n = 0;
  for (let k = from; k < tokens.count; k++) n += tokens.ends[k]! - tokens.starts[k]! + 2;
  return n + originLength + 16;
}
