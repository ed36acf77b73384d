/** RDATA field kinds: how each kind of field is read from text, written to and read from wire, and printed. */

import { formatIPv6, ipv4Bytes, parseIPv4, parseIPv6 } from './address.js';
import { chunk56, decodeBase32Hex, decodeBase64, decodeHex, encodeBase32Hex, encodeBase64, encodeHex } from './encoding.js';
import { decimalEscape, presentName } from '../names.js';
import { RdataError, type RdataText, type WireReader, type WireWriter } from './rdata-io.js';
import { isMetaType, typeFromText, typeMnemonic } from './rrtypes.js';
import { parseTtl } from '../parse/ttl.js';

/**
 * One kind of RDATA field. `parse` reads presentation tokens, `write` and
 * `read` convert to and from wire octets, `print` gives BIND's presentation.
 */
export interface Field<V> {
  parse(t: RdataText): V;
  write(w: WireWriter, v: V): void;
  read(r: WireReader): V;
  print(v: V): string;
  /** Set on domain-name fields, which canonical form lower-cases. */
  readonly isName?: boolean;
}

/** Any field, for tables of fields. */
export type AnyField = Field<any>;

// ---------- numbers ----------

function parseUint(t: RdataText, what: string, max: number): number {
  const s = t.take(what);
  if (!/^[0-9]+$/.test(s)) return t.fail(`bad ${what} "${s}": not a number`);
  const v = Number(s);
  if (v > max) return t.fail(`${what} ${s} is out of range (0..${max})`);
  return v;
}

/** An unsigned integer of 8, 16 or 32 bits, in decimal. */
export function uint(bits: 8 | 16 | 32, what: string): Field<number> {
  const max = bits === 8 ? 0xff : bits === 16 ? 0xffff : 0xffffffff;
  return {
    parse: (t) => parseUint(t, what, max),
    write: (w, v) => (bits === 8 ? w.u8(v) : bits === 16 ? w.u16(v) : w.u32(v)),
    read: (r) => (bits === 8 ? r.u8() : bits === 16 ? r.u16() : r.u32()),
    print: (v) => String(v),
  };
}

/** A 32-bit time interval that may use TTL units, as SOA timers do in BIND (`1h`, `2w`). */
export function period(what: string): Field<number> {
  return {
    parse(t) {
      const s = t.take(what);
      const v = parseTtl(s);
      if (v < 0) return t.fail(`bad ${what} "${s}"`);
      return v;
    },
    write: (w, v) => w.u32(v),
    read: (r) => r.u32(),
    print: (v) => String(v),
  };
}

/** A number or a mnemonic from a table, printed as a number or (printMnemonic) as the mnemonic. */
function mnemonicNumber(bits: 8 | 16, what: string, table: ReadonlyMap<string, number>, printMnemonic: boolean): Field<number> {
  const max = bits === 8 ? 0xff : 0xffff;
  const byValue = new Map<number, string>();
  for (const [k, v] of table) if (!byValue.has(v)) byValue.set(v, k);
  return {
    parse(t) {
      const s = t.take(what);
      if (/^[0-9]+$/.test(s)) {
        const v = Number(s);
        if (v > max) return t.fail(`${what} ${s} is out of range (0..${max})`);
        return v;
      }
      const v = table.get(s.toUpperCase());
      if (v === undefined) return t.fail(`unknown ${what} "${s}"`);
      return v;
    },
    write: (w, v) => (bits === 8 ? w.u8(v) : w.u16(v)),
    read: (r) => (bits === 8 ? r.u8() : r.u16()),
    print: (v) => (printMnemonic ? (byValue.get(v) ?? String(v)) : String(v)),
  };
}

/** DNSSEC algorithm mnemonics (IANA "DNS Security Algorithm Numbers"). */
const SEC_ALGS = new Map<string, number>([
  ['RSAMD5', 1], ['DH', 2], ['DSA', 3], ['RSASHA1', 5], ['DSA-NSEC3-SHA1', 6], ['NSEC3DSA', 6],
  ['RSASHA1-NSEC3-SHA1', 7], ['NSEC3RSASHA1', 7], ['RSASHA256', 8], ['RSASHA512', 10], ['ECC-GOST', 12],
  ['ECDSAP256SHA256', 13], ['ECDSAP384SHA384', 14], ['ED25519', 15], ['ED448', 16],
  ['INDIRECT', 252], ['PRIVATEDNS', 253], ['PRIVATEOID', 254],
]);

/** A DNSSEC algorithm: number or mnemonic, printed as a number (DS, DNSKEY, RRSIG). */
export const secAlg = mnemonicNumber(8, 'algorithm', SEC_ALGS, false);
/** A DNSSEC algorithm printed as its mnemonic, as BIND prints CERT. */
export const certAlg = mnemonicNumber(8, 'algorithm', SEC_ALGS, true);
/** A DS digest type (RFC 4509, RFC 6605). */
export const digestType = mnemonicNumber(8, 'digest type', new Map([['SHA-1', 1], ['SHA-256', 2], ['GOST', 3], ['SHA-384', 4]]), false);
/** A CERT certificate type (RFC 4398 §2.1). */
export const certType = mnemonicNumber(16, 'certificate type', new Map([
  ['PKIX', 1], ['SPKI', 2], ['PGP', 3], ['IPKIX', 4], ['ISPKI', 5], ['IPGP', 6], ['ACPKIX', 7], ['IACPKIX', 8], ['URI', 253], ['OID', 254],
]), true);

// ---------- names and addresses ----------

/** A domain name (relative names complete with the origin), kept as a name string (names.ts). */
export function name(what: string): Field<string> {
  return {
    parse(t) {
      const s = t.take(what);
      const r = t.readName(s);
      if (typeof r !== 'string') return t.fail(r.message);
      return r;
    },
    write: (w, v) => w.name(v),
    read: (r) => r.name(),
    print: presentName,
    isName: true,
  };
}

/** An IPv4 address, kept as its dotted text. */
export const ipv4: Field<string> = {
  parse(t) {
    const s = t.take('IPv4 address');
    const v = parseIPv4(s);
    if (v === null) return t.fail(`bad IPv4 address "${s}"`);
    return v;
  },
  write(w, v) {
    const b = new Uint8Array(4);
    ipv4Bytes(v, b, 0);
    w.bytes(b);
  },
  read: (r) => {
    const b = r.bytes(4);
    return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  },
  print: (v) => v,
};

/** An IPv6 address, kept as its 16 octets. */
export const ipv6: Field<Uint8Array> = {
  parse(t) {
    const s = t.take('IPv6 address');
    const v = parseIPv6(s);
    if (v === null) return t.fail(`bad IPv6 address "${s}"`);
    return v;
  },
  write: (w, v) => w.bytes(v),
  read: (r) => r.bytes(16),
  print: (v) => formatIPv6(v, true),
};

// ---------- character strings ----------

/** Decodes a token's escapes (`\X`, `\DDD`) into octets; the text is latin1, one octet per character. */
export function unescapeText(t: RdataText, s: string): Buffer {
  if (s.indexOf('\\') < 0) return Buffer.from(s, 'latin1');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const d = s.charCodeAt(i + 1);
    if (d >= 0x30 && d <= 0x39) {
      const v = decimalEscape(s, i + 1);
      if (v < 0) return t.fail(`bad escape in "${s}": \\DDD needs three digits, at most 255`);
      out.push(v);
      i += 3;
    } else {
      out.push(d);
      i += 1;
    }
  }
  return Buffer.from(out);
}

function takeString(t: RdataText, what: string): Buffer {
  const b = unescapeText(t, t.take(what));
  if (b.length > 255) return t.fail(`${what} is ${b.length} octets long; a character-string holds at most 255`);
  return b;
}

/** A character-string quoted as BIND prints it. */
export function quote(b: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c < 0x20 || c > 0x7e) out += '\\' + String(c).padStart(3, '0');
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

/** One character-string (RFC 1035 §3.3), quoted or not. */
export function charString(what: string): Field<Buffer> {
  return {
    parse: (t) => takeString(t, what),
    write(w, v) {
      w.u8(v.length);
      w.bytes(v);
    },
    read: (r) => r.bytes(r.u8()),
    print: quote,
  };
}

/** An optional last character-string (ISDN subaddress). */
export function optionalCharString(what: string): Field<Buffer | null> {
  return {
    parse: (t) => (t.more() ? takeString(t, what) : null),
    write(w, v) {
      if (v === null) return;
      w.u8(v.length);
      w.bytes(v);
    },
    read: (r) => (r.left() > 0 ? r.bytes(r.u8()) : null),
    print: (v) => (v === null ? '' : quote(v)),
  };
}

/** One or more character-strings to the end of the RDATA (TXT, SPF). */
export const charStrings: Field<Buffer[]> = {
  parse(t) {
    const out = [takeString(t, 'text')];
    while (t.more()) out.push(takeString(t, 'text'));
    return out;
  },
  write(w, v) {
    for (const b of v) {
      w.u8(b.length);
      w.bytes(b);
    }
  },
  read(r) {
    const out: Buffer[] = [];
    do out.push(r.bytes(r.u8()));
    while (r.left() > 0);
    return out;
  },
  print: (v) => v.map(quote).join(' '),
};

/** Octets to the end of the RDATA given as one token, quoted or not (CAA value). */
export const textRest: Field<Buffer> = {
  parse: (t) => unescapeText(t, t.take('value')),
  write: (w, v) => w.bytes(v),
  read: (r) => r.rest(),
  print: quote,
};

/** Octets to the end of the RDATA given as one quoted token (URI target, RFC 7553 §4.4). */
export const quotedRest: Field<Buffer> = {
  parse(t) {
    const s = t.take('target');
    if (!t.lastQuoted()) return t.fail(`the URI target must be a quoted string, not ${s}`);
    return unescapeText(t, s);
  },
  write: (w, v) => w.bytes(v),
  read: (r) => r.rest(),
  print: quote,
};

/** A CAA property tag (RFC 8659 §4.1): letters and digits, kept as written. */
export const caaTag: Field<string> = {
  parse(t) {
    const s = t.take('tag');
    if (!/^[A-Za-z0-9]{1,255}$/.test(s)) return t.fail(`bad CAA tag "${s}": letters and digits only`);
    return s;
  },
  write(w, v) {
    w.u8(v.length);
    w.bytes(Buffer.from(v, 'latin1'));
  },
  read(r) {
    const b = r.bytes(r.u8());
    const s = b.toString('latin1');
    if (!/^[A-Za-z0-9]{1,255}$/.test(s)) throw new RdataError('bad CAA tag in record data', -1);
    return s;
  },
  print: (v) => v,
};

// ---------- binary data ----------

/** Hex to the end of the RDATA, which may be split by blanks (DS digest, TLSA data). */
export const hexRest: Field<Buffer> = {
  parse(t) {
    const s = t.takeRest('hex data');
    const v = decodeHex(s);
    if (v === null) return t.fail(`bad hex "${s}"`);
    return v;
  },
  write: (w, v) => w.bytes(v),
  read: (r) => r.rest(),
  print: (v) => chunk56(encodeHex(v)),
};

/** Base64 to the end of the RDATA, which may be split by blanks (keys, signatures). */
export const base64Rest: Field<Buffer> = {
  parse(t) {
    const s = t.takeRest('base64 data');
    const v = decodeBase64(s);
    if (v === null) return t.fail(`bad base64 "${s.length > 40 ? s.slice(0, 37) + '...' : s}"`);
    return v;
  },
  write: (w, v) => w.bytes(v),
  read: (r) => r.rest(),
  print: (v) => chunk56(encodeBase64(v)),
};

/** An NSEC3 salt (RFC 5155 §3.3): hex in one token, `-` when empty; length-prefixed on the wire. */
export const salt: Field<Buffer> = {
  parse(t) {
    const s = t.take('salt');
    if (s === '-') return Buffer.alloc(0);
    const v = decodeHex(s);
    if (v === null || v.length === 0) return t.fail(`bad salt "${s}": hex, or - for none`);
    if (v.length > 255) return t.fail('salt longer than 255 octets');
    return v;
  },
  write(w, v) {
    w.u8(v.length);
    w.bytes(v);
  },
  read: (r) => r.bytes(r.u8()),
  print: (v) => (v.length === 0 ? '-' : encodeHex(v)),
};

/** An NSEC3 next hashed owner name (RFC 5155 §3.3): base32hex, length-prefixed on the wire. */
export const hash32: Field<Buffer> = {
  parse(t) {
    const s = t.take('next hashed owner name');
    const v = decodeBase32Hex(s);
    if (v === null || v.length === 0) return t.fail(`bad base32hex "${s}"`);
    if (v.length > 255) return t.fail('next hashed owner name longer than 255 octets');
    return v;
  },
  write(w, v) {
    w.u8(v.length);
    w.bytes(v);
  },
  read(r) {
    const v = r.bytes(r.u8());
    if (v.length === 0) throw new RdataError('empty next hashed owner name', -1);
    return v;
  },
  print: encodeBase32Hex,
};

function hexGroups(what: string, groups: number, groupLen: number, sep: string): Field<Buffer> {
  const size = (groups * groupLen) / 2;
  return {
    parse(t) {
      const s = t.take(what);
      const parts = s.split(sep);
      if (parts.length !== groups || parts.some((p) => p.length !== groupLen || !/^[0-9a-fA-F]+$/.test(p))) {
        t.fail(`bad ${what} "${s}"`);
      }
      return Buffer.from(parts.join(''), 'hex');
    },
    write: (w, v) => w.bytes(v),
    read: (r) => r.bytes(size),
    print(v) {
      const hex = v.toString('hex');
      const out: string[] = [];
      for (let i = 0; i < hex.length; i += groupLen) out.push(hex.slice(i, i + groupLen));
      return out.join(sep);
    },
  };
}

/** EUI-48 address (RFC 7043 §3.2): six hex pairs joined by `-`. */
export const eui48 = hexGroups('EUI-48 address', 6, 2, '-');
/** EUI-64 address (RFC 7043 §4.2): eight hex pairs joined by `-`. */
export const eui64 = hexGroups('EUI-64 address', 8, 2, '-');

/**
 * A 64-bit locator or node id (RFC 6742 §2.1): four groups of up to four
 * hex digits joined by `:`, printed without leading zeros as BIND does.
 */
export const locator64: Field<Buffer> = {
  parse(t) {
    const s = t.take('locator');
    const parts = s.split(':');
    if (parts.length !== 4 || parts.some((p) => !/^[0-9a-fA-F]{1,4}$/.test(p))) return t.fail(`bad locator "${s}": four groups of hex digits joined by ":"`);
    const out = Buffer.alloc(8);
    parts.forEach((p, i) => out.writeUInt16BE(parseInt(p, 16), i * 2));
    return out;
  },
  write: (w, v) => w.bytes(v),
  read: (r) => r.bytes(8),
  print: (v) => [0, 2, 4, 6].map((i) => v.readUInt16BE(i).toString(16)).join(':'),
};

// ---------- types and times ----------

/** Reads a type mnemonic for RDATA (RRSIG type covered, NSEC bitmaps). */
function parseType(t: RdataText): number {
  const s = t.take('type');
  const v = typeFromText(s);
  if (v < 0) return t.fail(`unknown RR type "${s}"`);
  return v;
}

/** An RR type number written as a mnemonic (RRSIG type covered). */
export const typeCode: Field<number> = {
  parse: parseType,
  write: (w, v) => w.u16(v),
  read: (r) => r.u16(),
  print: typeMnemonic,
};

/** A set of types to the end of the RDATA, as a window bitmap on the wire (RFC 4034 §4.1.2). */
export function typeBitmap(allowEmpty: boolean): Field<number[]> {
  return {
    parse(t) {
      const set = new Set<number>();
      if (!allowEmpty && !t.more()) parseType(t);
      while (t.more()) set.add(parseType(t));
      return [...set].sort((a, b) => a - b);
    },
    write(w, v) {
      let i = 0;
      while (i < v.length) {
        const window = v[i]! >> 8;
        const bits = new Uint8Array(32);
        let len = 0;
        for (; i < v.length && v[i]! >> 8 === window; i++) {
          const low = v[i]! & 0xff;
          bits[low >> 3]! |= 0x80 >> (low & 7);
          len = (low >> 3) + 1;
        }
        w.u8(window);
        w.u8(len);
        w.bytes(bits.subarray(0, len));
      }
    },
    read(r) {
      const out: number[] = [];
      let last = -1;
      while (r.left() > 0) {
        const window = r.u8();
        const len = r.u8();
        if (window <= last || len < 1 || len > 32) throw new RdataError('bad type bitmap in record data', -1);
        last = window;
        const bits = r.bytes(len);
        if (bits[len - 1] === 0) throw new RdataError('bad type bitmap in record data (trailing zero octet)', -1);
        for (let k = 0; k < len * 8; k++) if (bits[k >> 3]! & (0x80 >> (k & 7))) out.push((window << 8) | k);
      }
      if (!allowEmpty && out.length === 0) throw new RdataError('empty type bitmap', -1);
      return out;
    },
    print: (v) => v.map(typeMnemonic).join(' '),
  };
}

/** True when a type list names a meta type, which no bitmap may hold except TYPE0 as BIND allows. */
export function hasMeta(types: number[]): number {
  for (const v of types) if (v !== 0 && isMetaType(v)) return v;
  return -1;
}

/** An RRSIG time (RFC 4034 §3.2): YYYYMMDDHHmmSS in UTC, or seconds since 1970. */
export const sigTime: Field<number> = {
  parse(t) {
    const s = t.take('signature time');
    if (/^[0-9]{14}$/.test(s)) {
      const y = Number(s.slice(0, 4));
      const mo = Number(s.slice(4, 6));
      const d = Number(s.slice(6, 8));
      const h = Number(s.slice(8, 10));
      const mi = Number(s.slice(10, 12));
      const se = Number(s.slice(12, 14));
      const ms = Date.UTC(y, mo - 1, d, h, mi, se);
      const back = new Date(ms);
      if (y < 1970 || mo < 1 || mo > 12 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
        t.fail(`signature time "${s}" is not a valid date`);
      }
      return (ms / 1000) % 0x100000000;
    }
    if (/^[0-9]{1,10}$/.test(s) && Number(s) <= 0xffffffff) return Number(s);
    return t.fail(`bad signature time "${s}": YYYYMMDDHHmmSS or seconds`);
  },
  write: (w, v) => w.u32(v),
  read: (r) => r.u32(),
  print(v) {
    const d = new Date(v * 1000);
    const p = (n: number, k = 2): string => String(n).padStart(k, '0');
    return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  },
};
