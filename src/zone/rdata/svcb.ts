/** SvcParams of SVCB and HTTPS records (RFC 9460): reading `key=value` lists, wire form, BIND 9.18's printing. */

import { formatIPv6, ipv4Bytes, parseIPv4, parseIPv6 } from './address.js';
import { decodeBase64, encodeBase64 } from './encoding.js';
import type { Field } from './rdata-fields.js';
import { quote, unescapeText } from './rdata-fields.js';
import { RdataError, type RdataText } from './rdata-io.js';

/** One SvcParam: its key number and its wire value. */
export interface SvcParam {
  readonly key: number;
  readonly value: Buffer;
}

const KEY_NAMES = ['mandatory', 'alpn', 'no-default-alpn', 'port', 'ipv4hint', 'ech', 'ipv6hint', 'dohpath', 'ohttp'];
/** Keys BIND 9.18 prints by name; later ones it prints as keyNNNNN. */
const PRINTED_BY_NAME = 7;

function keyFromText(s: string): number {
  const known = KEY_NAMES.indexOf(s);
  if (known >= 0) return known;
  const m = /^key([0-9]{1,5})$/.exec(s);
  if (m !== null && Number(m[1]) <= 0xffff) return Number(m[1]);
  return -1;
}

function keyText(k: number): string {
  return k < PRINTED_BY_NAME ? KEY_NAMES[k]! : `key${k}`;
}

/** RFC 9460 Appendix A.1: splits a value list at commas not escaped by a backslash. */
function splitList(b: Buffer): Buffer[] {
  const items: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x5c && i + 1 < b.length) {
      cur.push(b[++i]!);
    } else if (c === 0x2c) {
      items.push(Buffer.from(cur));
      cur = [];
    } else {
      cur.push(c);
    }
  }
  items.push(Buffer.from(cur));
  return items;
}

/** Turns one param's presentation value into wire octets (RFC 9460 §7). */
function valueToWire(key: number, text: Buffer | null, fail: (m: string) => never): Buffer {
  const name = keyText(key);
  const need = (): Buffer => (text === null || text.length === 0 ? fail(`SvcParam ${name} needs a value`) : text);
  switch (key) {
    case 0: {
      const keys = splitList(need()).map((k) => {
        const v = keyFromText(k.toString('latin1'));
        if (v < 0) fail(`unknown SvcParam key "${k.toString('latin1')}" in mandatory`);
        if (v === 0) fail('mandatory cannot list itself (RFC 9460 §8)');
        return v;
      });
      keys.sort((a, b) => a - b);
      if (keys.some((k, i) => i > 0 && k === keys[i - 1])) fail('mandatory lists a key twice');
      const out = Buffer.alloc(keys.length * 2);
      keys.forEach((k, i) => out.writeUInt16BE(k, i * 2));
      return out;
    }
    case 1: {
      const ids = splitList(need());
      if (ids.some((id) => id.length === 0 || id.length > 255)) fail('alpn ids must be 1 to 255 octets');
      return Buffer.concat(ids.flatMap((id) => [Buffer.from([id.length]), id]));
    }
    case 2:
    case 8:
      if (text !== null && text.length > 0) fail(`SvcParam ${KEY_NAMES[key]} takes no value`);
      return Buffer.alloc(0);
    case 3: {
      const s = need().toString('latin1');
      if (!/^[0-9]{1,5}$/.test(s) || Number(s) > 0xffff) fail(`bad port "${s}"`);
      const out = Buffer.alloc(2);
      out.writeUInt16BE(Number(s));
      return out;
    }
    case 4: {
      const addrs = need().toString('latin1').split(',');
      const out = Buffer.alloc(addrs.length * 4);
      addrs.forEach((a, i) => {
        const v = parseIPv4(a);
        if (v === null) fail(`bad IPv4 address "${a}" in ipv4hint`);
        ipv4Bytes(v, out, i * 4);
      });
      return out;
    }
    case 5: {
      if (text === null || text.length === 0) return Buffer.alloc(0);
      const v = decodeBase64(text.toString('latin1'));
      return v === null ? fail('bad base64 in ech') : v;
    }
    case 6: {
      const addrs = need().toString('latin1').split(',');
      return Buffer.concat(
        addrs.map((a) => {
          const v = parseIPv6(a);
          return v === null ? fail(`bad IPv6 address "${a}" in ipv6hint`) : Buffer.from(v);
        }),
      );
    }
    case 7:
      return need();
    default:
      return text ?? Buffer.alloc(0);
  }
}

/** Checks a known key's wire value (values given as keyNNNNN arrive as raw octets). */
function checkWire(key: number, v: Buffer): string | null {
  switch (key) {
    case 0:
      return v.length === 0 || v.length % 2 !== 0 ? 'bad mandatory value' : null;
    case 1: {
      if (v.length === 0) return 'empty alpn value';
      for (let i = 0; i < v.length; i += 1 + v[i]!) if (v[i] === 0 || i + 1 + v[i]! > v.length) return 'bad alpn value';
      return null;
    }
    case 2:
    case 8:
      return v.length !== 0 ? `SvcParam ${KEY_NAMES[key]} takes no value` : null;
    case 3:
      return v.length !== 2 ? 'bad port value' : null;
    case 4:
      return v.length === 0 || v.length % 4 !== 0 ? 'bad ipv4hint value' : null;
    case 6:
      return v.length === 0 || v.length % 16 !== 0 ? 'bad ipv6hint value' : null;
    case 7:
      return v.length === 0 ? 'empty dohpath value' : null;
    default:
      return null;
  }
}

/** Rules across params (RFC 9460 §8): unique keys, mandatory keys present; BIND also wants alpn beside no-default-alpn. */
function checkSet(params: SvcParam[]): string | null {
  for (let i = 1; i < params.length; i++) if (params[i]!.key === params[i - 1]!.key) return `SvcParam ${keyText(params[i]!.key)} appears twice`;
  const keys = new Set(params.map((p) => p.key));
  const mandatory = params.find((p) => p.key === 0);
  if (mandatory !== undefined) {
    for (let i = 0; i < mandatory.value.length; i += 2) {
      const k = mandatory.value.readUInt16BE(i);
      if (k === 0) return 'mandatory cannot list itself (RFC 9460 §8)';
      if (!keys.has(k)) return `mandatory lists ${keyText(k)}, which is not present`;
    }
  }
  if (keys.has(2) && !keys.has(1)) return 'no-default-alpn needs an alpn param (RFC 9460 §7.1.1)';
  for (const p of params) {
    const problem = checkWire(p.key, p.value);
    if (problem !== null) return problem;
  }
  return null;
}

/** Prints one param as BIND 9.18 does. */
function printParam(p: SvcParam): string {
  const name = keyText(p.key);
  const v = p.value;
  switch (p.key) {
    case 0: {
      const keys: string[] = [];
      for (let i = 0; i < v.length; i += 2) keys.push(keyText(v.readUInt16BE(i)));
      return `mandatory=${keys.join(',')}`;
    }
    case 1: {
      const ids: number[] = [];
      for (let i = 0; i < v.length; i += 1 + v[i]!) {
        if (ids.length > 0) ids.push(0x2c);
        for (const c of v.subarray(i + 1, i + 1 + v[i]!)) {
          if (c === 0x2c || c === 0x5c) ids.push(0x5c);
          ids.push(c);
        }
      }
      return `alpn=${quote(Buffer.from(ids))}`;
    }
    case 2:
      return name;
    case 3:
      return `port=${v.readUInt16BE(0)}`;
    case 4: {
      const out: string[] = [];
      for (let i = 0; i < v.length; i += 4) out.push(`${v[i]}.${v[i + 1]}.${v[i + 2]}.${v[i + 3]}`);
      return `ipv4hint=${out.join(',')}`;
    }
    case 5:
      return v.length === 0 ? name : `ech=${encodeBase64(v)}`;
    case 6: {
      const out: string[] = [];
      for (let i = 0; i < v.length; i += 16) out.push(formatIPv6(v.subarray(i, i + 16), true));
      return `ipv6hint=${out.join(',')}`;
    }
    default:
      return v.length === 0 ? name : `${name}=${quote(v)}`;
  }
}

/** The SvcParams of SVCB and HTTPS: every remaining token, kept sorted by key on the wire. */
export const svcParams: Field<SvcParam[]> = {
  parse(t: RdataText): SvcParam[] {
    const e = t.entry;
    const params: SvcParam[] = [];
    while (t.more()) {
      const tok = t.take('SvcParam');
      const at = t.i - 1;
      const fail = (m: string): never => {
        throw new RdataError(m, at);
      };
      if (t.lastQuoted()) fail(`unexpected quoted string "${tok}": SvcParams are key=value`);
      const eq = tok.indexOf('=');
      const keyName = eq < 0 ? tok : tok.slice(0, eq);
      const key = keyFromText(keyName);
      if (key < 0) fail(`unknown SvcParam key "${keyName}"`);
      let value: Buffer | null = null;
      if (eq >= 0) {
        let raw = tok.slice(eq + 1);
        // key="quoted value": the lexer split it; the parts touch on the line.
        if (raw === '' && t.more() && e.quoted[t.i] && e.lines[t.i] === e.lines[at] && e.cols[t.i] === e.cols[at]! + tok.length) {
          raw = t.take('value');
        }
        value = unescapeText(t, raw);
      }
      params.push({ key, value: valueToWire(key, value, fail) });
    }
    params.sort((a, b) => a.key - b.key);
    const problem = checkSet(params);
    if (problem !== null) throw new RdataError(problem, t.i - 1);
    return params;
  },
  write(w, v) {
    for (const p of v) {
      w.u16(p.key);
      w.u16(p.value.length);
      w.bytes(p.value);
    }
  },
  read(r) {
    const params: SvcParam[] = [];
    let last = -1;
    while (r.left() > 0) {
      const key = r.u16();
      if (key <= last) throw new RdataError('SvcParams out of order', -1);
      last = key;
      params.push({ key, value: r.bytes(r.u16()) });
    }
    const problem = checkSet(params);
    if (problem !== null) throw new RdataError(problem, -1);
    return params;
  },
  print: (v) => v.map(printParam).join(' '),
};
