/** Domain names: reading them from master files, the one string form the zone code keeps them in, their wire form, ordering and printing. */

/*
 * The name string. Inside the zone code a name is one JavaScript string that
 * stands for exactly one sequence of labels (RFC 1035 §3.1), so that equal
 * names (up to ASCII case, RFC 4343 §3) have equal lookup keys and every
 * helper here can work on the text:
 *
 * - the root is `.`; any other name is its labels from the leaf up, joined
 *   by `.`, without a trailing dot (`www.example.com`);
 * - inside a label, each octet is written as one of
 *     `\.` for 0x2e (a dot inside the label, RFC 4343 §2.1),
 *     `\\` for 0x5c,
 *     `\DDD` (three decimal digits) for octets below 0x21 or above 0x7e,
 *     the ASCII character itself for every other octet (letters keep the
 *     case the zone file gave them; `"`, `(`, `)`, `;`, `@`, `$` are plain).
 *
 * Each octet sequence has exactly one spelling (`\065` reads as `A` and is
 * kept as `A`), the string is printable ASCII only, and an unescaped `.` is
 * always a label separator. A name of printable ASCII without dots or
 * backslashes inside labels — nearly every name — is the same text as its
 * presentation form without the final dot, so the fast paths below never see
 * a backslash. This is also dns-packet's form for such names, and for SOA
 * RNAME / RP mailboxes with `\.` in the first label (its `mail` option).
 */

/** The origin relative names are completed with, and its wire length. */
export interface Origin {
  /** Name string (see above): `example.com`, or `.` for the root. */
  readonly name: string;
  /** Octets of its wire form, including the final zero octet. */
  readonly wire: number;
}

/** The root as an origin. */
export const ROOT_ORIGIN: Origin = { name: '.', wire: 1 };

/** Why a token is not a usable domain name. */
export class NameError {
  constructor(readonly message: string) {}
}

/** A name, or why the text is not one. */
export type NameResult = string | NameError;

const MAX_LABEL = 63;
const MAX_NAME = 255;
const DOT = 0x2e;
const BACKSLASH = 0x5c;

/** Builds an origin from a name string. */
export function originOf(name: string): Origin {
  if (name === '.') return ROOT_ORIGIN;
  return { name, wire: wireLength(name) };
}

/** True when a name string holds an escape, i.e. a label with an octet other than printable ASCII, `.` or `\`. */
function escaped(name: string): boolean {
  return name.indexOf('\\') >= 0;
}

/** Octets of the wire form of a name string (RFC 1035 §3.1), the final zero octet included. */
export function wireLength(name: string): number {
  if (name === '.') return 1;
  if (!escaped(name)) return name.length + 2;
  let n = 2;
  for (let i = 0; i < name.length; i++, n++) if (name.charCodeAt(i) === BACKSLASH) i += isDigit(name.charCodeAt(i + 1)) ? 3 : 1;
  return n;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Reads a name token (RFC 1035 §5.1): `@` is the origin, a name ending in a
 * dot is absolute, any other is relative to the origin. Escapes `\X` and
 * `\DDD` stand for one octet; any octet may appear in a label (RFC 4343 §2.1).
 * The text is read as octets: one character per octet (latin1).
 */
export function parseName(text: string, origin: Origin): NameResult {
  if (text === '@') return origin.name;
  const n = text.length;
  let labelLen = 0;
  let wire = 1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (labelLen === 0) {
        if (n === 1) return '.';
        return new NameError(`empty label in name "${text}"`);
      }
      wire += labelLen + 1;
      labelLen = 0;
    } else if (c === BACKSLASH || c < 0x21 || c > 0x7e) {
      return parseSlow(text, origin);
    } else if (++labelLen > MAX_LABEL) {
      return new NameError(`label longer than ${MAX_LABEL} octets in name "${text}"`);
    }
  }
  if (labelLen === 0) {
    if (n === 0) return new NameError('empty name');
    if (wire > MAX_NAME) return tooLong(text);
    return text.slice(0, -1);
  }
  wire += labelLen + 1;
  if (origin.name === '.') {
    if (wire > MAX_NAME) return tooLong(text);
    return text;
  }
  if (wire + origin.wire - 1 > MAX_NAME) return tooLong(text);
  return text + '.' + origin.name;
}

/**
 * Reads a zone's name as a configuration gives it: absolute whether or not
 * it ends in a dot, `.` (or nothing) the root (RFC 8806 local root), escapes
 * as in master files. Characters beyond ASCII (from a JSON config or the
 * command line) stand for their UTF-8 octets.
 */
export function parseZoneName(text: string): NameResult {
  if (text === '.' || text === '') return '.';
  let octets = text;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      octets = Buffer.from(text, 'utf8').toString('latin1');
      break;
    }
  }
  // Relative to the root, a name is the same with or without its final dot.
  return parseName(octets, ROOT_ORIGIN);
}

function tooLong(text: string): NameError {
  return new NameError(`name "${text}" is longer than ${MAX_NAME} octets`);
}

/** The general path: escapes and octets that are not printable ASCII. */
function parseSlow(text: string, origin: Origin): NameResult {
  const labels: number[][] = [];
  let cur: number[] = [];
  let absolute = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c === DOT) {
      if (cur.length === 0) return new NameError(`empty label in name "${text}"`);
      labels.push(cur);
      cur = [];
      i++;
      if (i === n) absolute = true;
      continue;
    }
    if (c === BACKSLASH) {
      if (i + 1 >= n) return new NameError(`bad escape at the end of name "${text}": write \\\\ for a backslash`);
      const d = text.charCodeAt(i + 1);
      if (isDigit(d)) {
        const v = decimalEscape(text, i + 1);
        if (v < 0) return new NameError(`bad escape in name "${text}": \\DDD needs three digits, at most 255`);
        c = v;
        i += 4;
      } else {
        c = d;
        i += 2;
      }
    } else {
      i++;
    }
    if (c > 0xff) return new NameError(`name "${text}" has characters that are not octets; write them as \\DDD escapes`);
    cur.push(c);
    if (cur.length > MAX_LABEL) return new NameError(`label longer than ${MAX_LABEL} octets in name "${text}"`);
  }
  if (!absolute) labels.push(cur);
  let wire = 1;
  for (const l of labels) wire += l.length + 1;
  if (!absolute && origin.name !== '.') wire += origin.wire - 1;
  if (wire > MAX_NAME) return tooLong(text);
  const own = labelsToName(labels);
  if (absolute || origin.name === '.') return own;
  return own + '.' + origin.name;
}

/** Value of a `\DDD` escape whose digits start at `i`, or -1. */
export function decimalEscape(text: string, i: number): number {
  if (i + 3 > text.length) return -1;
  let v = 0;
  for (let k = i; k < i + 3; k++) {
    const d = text.charCodeAt(k) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v > 255 ? -1 : v;
}

/** The name string of a sequence of labels (octets, leaf first); no labels is the root. Lengths are not checked. */
export function labelsToName(labels: ArrayLike<number>[]): string {
  if (labels.length === 0) return '.';
  let name = labelText(labels[0]!);
  for (let j = 1; j < labels.length; j++) name += '.' + labelText(labels[j]!);
  return name;
}

/**
 * The name string of the uncompressed wire name at `wire[at]` (RFC 1035
 * §3.1): every octet kept, so the string stands for exactly those octets.
 * Null when it is not one: it runs past the end, a label is longer than 63
 * octets or is a compression pointer, or it is longer than 255 octets.
 */
export function nameFromWire(wire: Uint8Array, at = 0): string | null {
  const labels: Uint8Array[] = [];
  let length = 1;
  for (;;) {
    if (at >= wire.length) return null;
    const l = wire[at]!;
    if (l === 0) return labelsToName(labels);
    length += l + 1;
    if (l > MAX_LABEL || at + 1 + l > wire.length || length > MAX_NAME) return null;
    labels.push(wire.subarray(at + 1, at + 1 + l));
    at += l + 1;
  }
}

/** One label in the name string's spelling (see the top of this module). */
function labelText(l: ArrayLike<number>): string {
  let out = '';
  let plainFrom = 0;
  for (let k = 0; k < l.length; k++) {
    const b = l[k]!;
    if (b > 0x20 && b < 0x7f && b !== DOT && b !== BACKSLASH) continue;
    out += octetsText(l, plainFrom, k) + escapeOctet(b);
    plainFrom = k + 1;
  }
  return out + octetsText(l, plainFrom, l.length);
}

/** The octets [from, to) as characters. */
function octetsText(l: ArrayLike<number>, from: number, to: number): string {
  let s = '';
  for (let k = from; k < to; k++) s += String.fromCharCode(l[k]!);
  return s;
}

/** `\.`, `\\` or `\DDD` for an octet the name string escapes. */
function escapeOctet(b: number): string {
  return b === DOT || b === BACKSLASH ? '\\' + String.fromCharCode(b) : '\\' + String(b).padStart(3, '0');
}

/** Splits a name string into its labels' octets, leaf first (the root has none). */
export function nameLabels(name: string): Uint8Array[] {
  if (name === '.') return [];
  if (!escaped(name)) return name.split('.').map((t) => Buffer.from(t, 'latin1'));
  const out: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === DOT) {
      out.push(Uint8Array.from(cur));
      cur = [];
    } else if (c !== BACKSLASH) {
      cur.push(c);
    } else if (isDigit(name.charCodeAt(i + 1))) {
      cur.push(decimalEscape(name, i + 1));
      i += 3;
    } else {
      cur.push(name.charCodeAt(++i));
    }
  }
  out.push(Uint8Array.from(cur));
  return out;
}

/**
 * The uncompressed wire form of a name string (RFC 1035 §3.1): each label's
 * length and octets, then a zero octet; the root is the zero octet alone.
 * `_mail` is accepted for callers that tell mailbox names (SOA RNAME, RP
 * mbox) apart; the name string is the same for them, so it changes nothing.
 */
export function nameToWire(name: string, _mail = false): Buffer {
  if (name === '.') return Buffer.from([0]);
  if (escaped(name)) return labelsToWire(nameLabels(name));
  const n = name.length;
  const buf = Buffer.allocUnsafe(n + 2);
  let lengthAt = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === DOT) {
      buf[lengthAt] = i - lengthAt;
      lengthAt = i + 1;
    } else {
      buf[i + 1] = c;
    }
  }
  buf[lengthAt] = n - lengthAt;
  buf[n + 1] = 0;
  return buf;
}

/**
 * Writes the uncompressed wire form of a name string (as nameToWire gives
 * it) into `out` at `at`, which must have wireLength(name) octets of room;
 * returns that length. Plain names (no escapes) are written without an
 * intermediate buffer.
 */
export function writeNameWire(name: string, out: Uint8Array, at: number): number {
  if (name === '.') {
    out[at] = 0;
    return 1;
  }
  if (escaped(name)) {
    const wire = nameToWire(name);
    out.set(wire, at);
    return wire.length;
  }
  const n = name.length;
  let lengthAt = at;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === DOT) {
      out[lengthAt] = at + i - lengthAt;
      lengthAt = at + i + 1;
    } else {
      out[at + i + 1] = c;
    }
  }
  out[lengthAt] = at + n - lengthAt;
  out[at + n + 1] = 0;
  return n + 2;
}

/**
 * The name string of the uncompressed wire name at `wire[at]`, trusted to
 * be well formed (the zone code's own octets; for octets from outside use
 * {@link nameFromWire}, which checks). Names of plain labels (printable
 * ASCII, no `.` or `\\`) are made in one copy, without an array of labels.
 */
export function nameOfOwnWire(wire: Uint8Array, at: number): string {
  let i = at;
  let plain = true;
  for (let len = wire[i]!; len !== 0; len = wire[i]!) {
    for (let k = i + 1; k <= i + len; k++) {
      const c = wire[k]!;
      if (c < 0x21 || c > 0x7e || c === DOT || c === BACKSLASH) plain = false;
    }
    i += len + 1;
  }
  if (i === at) return '.';
  if (!plain) {
    const labels: Uint8Array[] = [];
    for (let p = at; wire[p] !== 0; p += wire[p]! + 1) labels.push(wire.subarray(p + 1, p + 1 + wire[p]!));
    return labelsToName(labels);
  }
  // The octets after the first length, each later length octet read as a dot.
  const n = i - at - 1;
  const out = n <= NAME_SCRATCH.length ? NAME_SCRATCH : Buffer.allocUnsafe(n);
  for (let p = at, o = 0; wire[p] !== 0; p += wire[p]! + 1) {
    if (o > 0) out[o++] = DOT;
    for (let k = p + 1; k <= p + wire[p]!; k++) out[o++] = wire[k]!;
  }
  return out.toString('latin1', 0, n);
}

/** Room for any name's text (at most 254 octets). */
const NAME_SCRATCH = Buffer.alloc(256);

function labelsToWire(labels: Uint8Array[]): Buffer {
  let size = 1;
  for (const l of labels) size += l.length + 1;
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const l of labels) {
    buf[at++] = l.length;
    buf.set(l, at);
    at += l.length;
  }
  buf[at] = 0;
  return buf;
}

/** The lookup key of a name: ASCII letters folded to lower case (RFC 4343 §3), nothing else. */
export function nameKey(name: string): string {
  // Name strings are ASCII. Other text (a query name as dns-packet decodes it) may hold
  // non-ASCII letters, which toLowerCase would fold too: those take the slow way.
  // A name without capitals (most) is its own key: no call, no new string.
  let upper = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x80) return name.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  return upper ? name.toLowerCase() : name;
}

/** True when the `.` at index `i` is escaped: an odd run of backslashes stands right before it. */
function escapedDot(name: string, i: number): boolean {
  let k = i - 1;
  while (k >= 0 && name.charCodeAt(k) === BACKSLASH) k--;
  return (i - 1 - k) % 2 === 1;
}

/** True when `key` equals or is below `originKey` (both lookup keys). */
export function isAtOrBelow(key: string, originKey: string): boolean {
  if (originKey === '.') return true;
  if (key.length === originKey.length) return key === originKey;
  const dot = key.length - originKey.length - 1;
  return key.length > originKey.length && key.charCodeAt(dot) === DOT && key.endsWith(originKey) && !escapedDot(key, dot);
}

/** The parent of a name string (the root's parent is the root). */
export function parentName(name: string): string {
  let dot = name.indexOf('.');
  while (dot > 0 && name.charCodeAt(dot - 1) === BACKSLASH && escapedDot(name, dot)) dot = name.indexOf('.', dot + 1);
  return dot < 0 || name === '.' ? '.' : name.slice(dot + 1);
}

/** Number of labels, not counting the root. */
export function labelCount(name: string): number {
  if (name === '.') return 0;
  let n = 1;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === DOT) n++;
    else if (c === BACKSLASH) i++; // the escaped octet (or first digit) is not a separator
  }
  return n;
}

/** Characters BIND escapes with a backslash in master-file names: " ( ) . ; \ @ $ */
const SPECIAL_IN_NAME = new Set([0x22, 0x28, 0x29, 0x2e, 0x3b, 0x5c, 0x40, 0x24]);

/** A label (octets) in presentation form, escaped as BIND prints it. */
export function escapeLabel(l: ArrayLike<number>): string {
  let out = '';
  for (let k = 0; k < l.length; k++) {
    const b = l[k]!;
    if (SPECIAL_IN_NAME.has(b)) out += '\\' + String.fromCharCode(b);
    else if (b < 0x21 || b > 0x7e) out += '\\' + String(b).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Labels in presentation form, absolute (trailing dot). */
export function presentLabels(labels: ArrayLike<number>[]): string {
  if (labels.length === 0) return '.';
  return labels.map(escapeLabel).join('.') + '.';
}

/**
 * A name string printed as BIND prints it (RFC 1035 §5.1): absolute, with
 * `"();@$` escaped by a backslash as well; the name string's own escapes are
 * already BIND's.
 */
export function presentName(name: string): string {
  if (name === '.') return '.';
  let i = 0;
  for (; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c !== DOT && SPECIAL_IN_NAME.has(c)) break;
  }
  if (i === name.length) return name + '.';
  let out = name.slice(0, i);
  for (; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === BACKSLASH) {
      const len = isDigit(name.charCodeAt(i + 1)) ? 4 : 2;
      out += name.slice(i, i + len);
      i += len - 1;
    } else {
      out += c !== DOT && SPECIAL_IN_NAME.has(c) ? '\\' + name[i] : name[i];
    }
  }
  return out + '.';
}

/**
 * A string whose plain comparison orders names canonically (RFC 4034 §6.1):
 * labels from the root down, each compared as lower-cased octets, joined by
 * character 0 so that an ancestor or a shorter label sorts first. Octets 0
 * and 1 become two characters (1,1 and 1,2) to stay above the separator;
 * every other octet is its own character, so names without escapes need no
 * rewriting.
 */
export function canonicalSortKey(name: string): string {
  if (name === '.') return '';
  if (!escaped(name)) return name.toLowerCase().split('.').reverse().join('\u0000');
  const labels = nameLabels(name);
  const parts: string[] = [];
  for (let j = labels.length - 1; j >= 0; j--) {
    const l = labels[j]!;
    let key = '';
    for (let k = 0; k < l.length; k++) {
      let b = l[k]!;
      if (b >= 0x41 && b <= 0x5a) b += 0x20;
      key += b === 0 ? '\u0001\u0001' : b === 1 ? '\u0001\u0002' : String.fromCharCode(b);
    }
    parts.push(key);
  }
  return parts.join('\u0000');
}
