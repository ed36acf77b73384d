/** Domain names: reading them from master files, their dns-packet form, ordering and printing. */

import { packetNameWire } from './packet.js';

/*
 * Inside the zone code a name is kept in dns-packet's form, so records can be
 * handed to dnsPacket.encode unchanged: labels joined by dots, no trailing
 * dot, the root written ".". Labels are text: a label's octets are read as
 * UTF-8 (ASCII in practice). dns-packet cannot write a label that contains a
 * dot or octets that are not UTF-8, so such names are refused with an error
 * (BIND accepts them; this is a deliberate difference). Mailbox names (SOA
 * RNAME, RP mbox) follow dns-packet's mail convention: dots inside the first
 * label are written `\.`.
 */

/** The origin relative names are completed with, and its wire length. */
export interface Origin {
  /** dns-packet form: `example.com`, or `.` for the root. */
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

/** Builds an origin from a name in dns-packet form. */
export function originOf(name: string): Origin {
  if (name === '.') return ROOT_ORIGIN;
  return { name, wire: wireLength(name) };
}

/** Octets of the wire form of a name in dns-packet form (UTF-8 labels). */
export function wireLength(name: string): number {
  if (name === '.') return 1;
  return Buffer.byteLength(name, 'utf8') + 2;
}

/**
 * Reads a name token (RFC 1035 §5.1): `@` is the origin, a name ending in a
 * dot is absolute, any other is relative to the origin. Escapes `\X` and
 * `\DDD` stand for one octet. `mail` selects dns-packet's mailbox form.
 */
export function parseName(text: string, origin: Origin, mail = false): NameResult {
  if (text === '@') return origin.name;
  const n = text.length;
  let labelLen = 0;
  let wire = 1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (labelLen === 0) {
        if (n === 1) return '.';
        return new NameError(`empty label in name "${text}"`);
      }
      wire += labelLen + 1;
      labelLen = 0;
    } else if (c === 0x5c || c >= 0x80) {
      return parseSlow(text, origin, mail);
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

function tooLong(text: string): NameError {
  return new NameError(`name "${text}" is longer than ${MAX_NAME} octets`);
}

/** The general path: escapes and non-ASCII octets. */
function parseSlow(text: string, origin: Origin, mail: boolean): NameResult {
  const labels: number[][] = [];
  let cur: number[] = [];
  let absolute = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (cur.length === 0) return new NameError(`empty label in name "${text}"`);
      labels.push(cur);
      cur = [];
      i++;
      if (i === n) absolute = true;
      continue;
    }
    if (c === 0x5c) {
      if (i + 1 >= n) return new NameError(`bad escape at the end of name "${text}"`);
      const d = text.charCodeAt(i + 1);
      if (d >= 0x30 && d <= 0x39) {
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
    cur.push(c);
    if (cur.length > MAX_LABEL) return new NameError(`label longer than ${MAX_LABEL} octets in name "${text}"`);
  }
  if (!absolute) labels.push(cur);
  let wire = 1;
  for (const l of labels) wire += l.length + 1;
  if (!absolute && origin.name !== '.') wire += origin.wire - 1;
  if (wire > MAX_NAME) return tooLong(text);
  const own = labelsToName(labels, mail);
  if (typeof own !== 'string') return own.message.includes('has octets') ? new NameError(`name "${text}" has octets dns-packet cannot represent (labels must be UTF-8 text)`) : own;
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

/**
 * Turns labels (octets) into a name in dns-packet form, or explains why
 * dns-packet could not write it back as the same octets.
 */
export function labelsToName(labels: ArrayLike<number>[], mail: boolean): NameResult {
  if (labels.length === 0) return '.';
  // Printable ASCII without dots (nor backslashes, for mailboxes) always survives dns-packet.
  let simple = true;
  for (let j = 0; j < labels.length && simple; j++) {
    const l = labels[j]!;
    for (let k = 0; k < l.length; k++) {
      const b = l[k]!;
      if (b < 0x21 || b > 0x7e || b === 0x2e || (mail && b === 0x5c)) {
        simple = false;
        break;
      }
    }
  }
  if (simple) {
    let name = '';
    for (let j = 0; j < labels.length; j++) {
      if (j > 0) name += '.';
      name += String.fromCharCode(...Array.from(labels[j]!));
    }
    return name;
  }
  const parts: string[] = [];
  const expected: number[] = [];
  for (let j = 0; j < labels.length; j++) {
    const l = labels[j]!;
    let ascii = true;
    for (let k = 0; k < l.length; k++) if (l[k]! >= 0x80) ascii = false;
    let s = ascii ? String.fromCharCode(...Array.from(l)) : Buffer.from(Array.from(l)).toString('utf8');
    if (l.length > 0 && s.indexOf('.') >= 0) {
      if (!mail || j > 0) return new NameError(`label "${escapeLabel(l)}" contains a dot, which dns-packet cannot represent`);
      s = s.replace(/\./g, '\\.');
    }
    parts.push(s);
    expected.push(l.length, ...Array.from(l));
  }
  expected.push(0);
  const name = parts.join('.');
  // The last word: does dns-packet write this string back as these octets?
  const wire = packetNameWire(name, mail);
  if (wire.length !== expected.length || wire.some((b, k) => b !== expected[k])) {
    return new NameError(`name "${presentLabels(labels)}" has octets dns-packet cannot represent`);
  }
  return name;
}

/** Splits a name in dns-packet form into its labels' octets. */
export function nameLabels(name: string, mail = false): Uint8Array[] {
  if (name === '.') return [];
  const texts = mail ? splitMail(name) : name.split('.');
  return texts.map((t) => Buffer.from(t, 'utf8'));
}

/** Splits a mailbox name: `\.` inside the first label is a dot, not a separator. */
function splitMail(name: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '\\' && name[i + 1] === '.' && out.length === 0) {
      cur += '.';
      i++;
    } else if (c === '.') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/** The lookup key of a name: ASCII letters folded to lower case (RFC 4343), nothing else. */
export function nameKey(name: string): string {
  // toLowerCase folds non-ASCII letters too; labels with such octets take the slow way.
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) >= 0x80) return name.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  return name.toLowerCase();
}

/** True when `key` equals or is below `originKey` (both lookup keys). */
export function isAtOrBelow(key: string, originKey: string): boolean {
  if (originKey === '.') return true;
  if (key.length === originKey.length) return key === originKey;
  return key.length > originKey.length && key.charCodeAt(key.length - originKey.length - 1) === 0x2e && key.endsWith(originKey);
}

/** The parent of a name in dns-packet form (the root's parent is the root). */
export function parentName(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 || name === '.' ? '.' : name.slice(dot + 1);
}

/** Number of labels, not counting the root. */
export function labelCount(name: string): number {
  if (name === '.') return 0;
  let n = 1;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 0x2e) n++;
  return n;
}

const SPECIAL_IN_NAME = new Set([0x22, 0x28, 0x29, 0x2e, 0x3b, 0x5c, 0x40, 0x24]); // " ( ) . ; \ @ $

/** A label in presentation form, escaped as BIND prints it. */
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

/** A name in dns-packet form printed as BIND prints it: absolute, escaped. */
export function presentName(name: string, mail = false): string {
  if (name === '.') return '.';
  let plain = true;
  for (let i = 0; i < name.length && plain; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || (c !== 0x2e && SPECIAL_IN_NAME.has(c))) plain = false;
  }
  return plain ? name + '.' : presentLabels(nameLabels(name, mail));
}

/**
 * A string whose plain comparison orders names canonically (RFC 4034 §6.1):
 * labels from the root down, each compared as lower-cased octets, joined by
 * character 0 so that an ancestor or a shorter label sorts first. Octets 0
 * and 1 become two characters (1,1 and 1,2) to stay above the separator;
 * every other octet is its own character, so ASCII names need no rewriting.
 */
export function canonicalSortKey(name: string): string {
  if (name === '.') return '';
  let plain = true;
  for (let i = 0; i < name.length && plain; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x02 || c > 0x7f) plain = false;
  }
  if (plain) return name.toLowerCase().split('.').reverse().join('\u0000');
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
