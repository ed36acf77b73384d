/** The zone code's wire contract: name strings stand for exact octets (nameToWire) and recordRdata writes every record's exact RDATA. */

import { expect } from 'chai';
import {
  canonicalSortKey, isAtOrBelow, labelCount, labelsToName, nameFromWire, nameKey, nameLabels, nameToWire, parentName, parseName, presentLabels, presentName, ROOT_ORIGIN, wireLength, writeNameWire,
} from '../../../src/zone/names.js';
import { packetNameWire } from '../../../src/zone/rdata/packet.js';
import { genericText, recordRdata } from '../../../src/zone/rdata/rdata.js';
import type { ZoneRecord } from '../../../src/zone/index.js';
import { at, HEAD, load, ok } from './helpers.js';

/** Wire form of labels given as octet strings (one character per octet), leaf first. */
function wire(...labels: string[]): string {
  return labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]).toString('hex')).join('') + '00';
}

/** A small deterministic PRNG (xorshift32), so failures repeat. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** Random labels, biased towards the octets that need care: `.`, `\`, digits, letters, 0, 0x20, 0x7f-0xff. */
function randomLabels(rand: () => number): Uint8Array[] {
  const pool = [0x2e, 0x5c, 0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a, 0x00, 0x01, 0x20, 0x7f, 0x80, 0xff, 0x40, 0x24, 0x22, 0x3b, 0x28, 0x2a];
  const labels: Uint8Array[] = [];
  let left = 254;
  const count = Math.floor(rand() * 5);
  for (let j = 0; j < count && left > 2; j++) {
    const len = 1 + Math.floor(rand() * Math.min(63, left - 2));
    const l = new Uint8Array(len);
    for (let k = 0; k < len; k++) l[k] = rand() < 0.5 ? pool[Math.floor(rand() * pool.length)]! : Math.floor(rand() * 256);
    labels.push(l);
    left -= len + 1;
  }
  return labels;
}

/** Another spelling of the same labels: each octet escaped as \DDD, as \X, or left alone, at random. */
function respell(labels: Uint8Array[], rand: () => number): string {
  if (labels.length === 0) return '.';
  const spell = (b: number): string => {
    const r = rand();
    if (r < 0.3 || b < 0x21 || b > 0x7e) return '\\' + String(b).padStart(3, '0');
    if (r < 0.6 && (b < 0x30 || b > 0x39)) return '\\' + String.fromCharCode(b);
    if (b === 0x2e || b === 0x5c || b === 0x22 || b === 0x3b || b === 0x28 || b === 0x29) return '\\' + String.fromCharCode(b);
    return String.fromCharCode(b);
  };
  return labels.map((l) => Array.from(l, spell).join('')).join('.') + '.';
}

/** RFC 4034 §6.1 order, straight from the definition: labels from the root, lower-cased octets, absent label first. */
function canonicalCompare(a: Uint8Array[], b: Uint8Array[]): number {
  const low = (v: number): number => (v >= 0x41 && v <= 0x5a ? v + 0x20 : v);
  for (let i = 1; i <= Math.max(a.length, b.length); i++) {
    const x = a[a.length - i];
    const y = b[b.length - i];
    if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : -1) : 1;
    for (let k = 0; k < Math.min(x.length, y.length); k++) if (low(x[k]!) !== low(y[k]!)) return low(x[k]!) - low(y[k]!);
    if (x.length !== y.length) return x.length - y.length;
  }
  return 0;
}

const lower = (labels: Uint8Array[]): Uint8Array[] => labels.map((l) => l.map((v) => (v >= 0x41 && v <= 0x5a ? v + 0x20 : v)));

describe('zone names in wire form', () => {
  // [absolute name as a zone file writes it, its name string, its wire octets]
  const cases: [string, string, string][] = [
    ['.', '.', '00'],
    ['example.com.', 'example.com', wire('example', 'com')],
    ['Mixed.Case.', 'Mixed.Case', wire('Mixed', 'Case')],
    ['first\\.last.example.', 'first\\.last.example', wire('first.last', 'example')],
    ['\\046.', '\\.', wire('.')],
    ['\\..\\..', '\\..\\.', wire('.', '.')],
    ['a\\032b.', 'a\\032b', wire('a b')],
    ['a\\ b.', 'a\\032b', wire('a b')],
    ['\\000\\255.x.', '\\000\\255.x', wire('\x00\xff', 'x')],
    ['\\\\.', '\\\\', wire('\\')],
    ['\\\\\\..', '\\\\\\.', wire('\\.')],
    ['\\065\\097.', 'Aa', wire('Aa')],
    ['q\\"u\\(o\\)t\\;e\\@d\\$.', 'q"u(o)t;e@d$', wire('q"u(o)t;e@d$')],
    ['\\127\\128.', '\\127\\128', wire('\x7f\x80')],
    [`${'\\255'.repeat(63)}.`, '\\255'.repeat(63), wire('\xff'.repeat(63))],
  ];
  for (const [text, name, octets] of cases) {
    it(`${text.length > 30 ? text.slice(0, 30) + '…' : text} is the name string ${name.length > 30 ? name.slice(0, 30) + '…' : name}, on the wire ${octets.length > 30 ? octets.slice(0, 30) + '…' : octets}`, () => {
      expect(parseName(text, ROOT_ORIGIN)).to.equal(name);
      expect(nameToWire(name).toString('hex')).to.equal(octets);
      expect(nameToWire(name, true).toString('hex')).to.equal(octets);
      expect(wireLength(name)).to.equal(octets.length / 2);
    });
  }

  it('is what dns-packet writes for names without escapes', () => {
    for (const name of ['.', 'example.com', 'a.b.c.d.e', 'x-y_z.*.q', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`]) {
      expect(nameToWire(name).toString('hex'), name).to.equal(packetNameWire(name, false).toString('hex'));
    }
  });

  describe('every octet sequence has exactly one name string (2000 random names)', () => {
    const rand = prng(20240601);
    const names = Array.from({ length: 2000 }, () => randomLabels(rand));

    it('the name string is printable ASCII, gives the labels back, and is the same however the file spells it', () => {
      for (const labels of names) {
        const name = labelsToName(labels);
        expect(name).to.match(/^[\x21-\x7e]+$/);
        expect(nameLabels(name).map((l) => Buffer.from(l).toString('hex'))).to.deep.equal(labels.map((l) => Buffer.from(l).toString('hex')));
        expect(parseName(presentLabels(labels), ROOT_ORIGIN)).to.equal(name);
        expect(parseName(respell(labels, rand), ROOT_ORIGIN)).to.equal(name);
        expect(presentName(name)).to.equal(presentLabels(labels));
      }
    });

    it('distinct octet sequences have distinct name strings', () => {
      const seen = new Map<string, string>();
      for (const labels of names) {
        const octets = labels.map((l) => Buffer.from(l).toString('hex')).join('.');
        const name = labelsToName(labels);
        const before = seen.get(name);
        if (before !== undefined) expect(before).to.equal(octets);
        seen.set(name, octets);
      }
    });

    it('wire form, length, labels, parent and key agree with the labels', () => {
      for (const labels of names) {
        const name = labelsToName(labels);
        expect(nameToWire(name).toString('hex')).to.equal(wire(...labels.map((l) => Buffer.from(l).toString('latin1'))));
        expect(wireLength(name)).to.equal(nameToWire(name).length);
        expect(labelCount(name)).to.equal(labels.length);
        expect(parentName(name)).to.equal(labelsToName(labels.slice(1)));
        expect(nameKey(name)).to.equal(labelsToName(lower(labels)));
      }
    });

    it('nameFromWire and writeNameWire go between the wire form, anywhere in a buffer, and the name string', () => {
      const plain = [[...'www'].map((c) => c.charCodeAt(0)), [...'Example'].map((c) => c.charCodeAt(0))].map((l) => Uint8Array.from(l));
      for (const labels of [...names, plain, []]) {
        const name = labelsToName(labels);
        const w = nameToWire(name);
        const buf = Buffer.alloc(w.length + 5, 0xee);
        w.copy(buf, 3);
        expect(nameFromWire(buf, 3)).to.equal(name);
        const out = Buffer.alloc(w.length + 4, 0xee);
        expect(writeNameWire(name, out, 2)).to.equal(w.length);
        expect(out.subarray(2, 2 + w.length).toString('hex')).to.equal(w.toString('hex'));
        expect([out[1], out[2 + w.length]]).to.deep.equal([0xee, 0xee]);
      }
    });

    it('isAtOrBelow follows labels, not text', () => {
      for (let i = 0; i + 1 < names.length; i += 2) {
        const a = names[i]!;
        const b = names[i + 1]!;
        const below = labelsToName([...a, ...b]);
        expect(isAtOrBelow(nameKey(below), nameKey(labelsToName(b)))).to.equal(true);
        const suffixLabels = b.length === 0 ? [] : lower(b);
        const aKey = nameKey(labelsToName(a));
        const truth = a.length >= b.length && canonicalCompare(lower(a.slice(a.length - b.length)), suffixLabels) === 0;
        expect(isAtOrBelow(aKey, nameKey(labelsToName(b))), `${aKey} below ${labelsToName(b)}`).to.equal(truth);
      }
    });

    it('canonicalSortKey orders as RFC 4034 §6.1 defines', () => {
      for (let i = 0; i + 1 < names.length; i += 2) {
        const a = names[i]!;
        const b = names[i + 1]!;
        const ka = canonicalSortKey(nameKey(labelsToName(a)));
        const kb = canonicalSortKey(nameKey(labelsToName(b)));
        expect(Math.sign(ka < kb ? -1 : ka > kb ? 1 : 0)).to.equal(Math.sign(canonicalCompare(a, b)));
      }
    });
  });

  it('a dot after an even run of backslashes separates labels', () => {
    expect(parentName('a\\\\.b')).to.equal('b');
    expect(parentName('a\\\\\\.b.c')).to.equal('c');
    expect(labelCount('a\\\\.b')).to.equal(2);
    expect(labelCount('a\\\\\\.b')).to.equal(1);
    expect(labelCount('\\046\\.')).to.equal(1);
  });
});

/** The one record a line loads as (at x.example.com). */
function record(line: string): ZoneRecord {
  const records = at(ok(load({ z: `${HEAD}${line}\n` })), 'x.example.com');
  expect(records).to.have.length(1);
  return records[0]!;
}

describe('recordRdata: the exact RDATA of records whose names hold any octet', () => {
  const u16 = (v: number): string => v.toString(16).padStart(4, '0');
  const u32 = (v: number): string => v.toString(16).padStart(8, '0');
  // [type and RDATA as written, the RDATA's octets]
  const cases: [string, string][] = [
    ['NS a\\.b.example.', wire('a.b', 'example')],
    ['CNAME \\000\\255', wire('\x00\xff', 'example', 'com')],
    ['PTR back\\\\slash.', wire('back\\slash')],
    ['DNAME t\\032x.', wire('t x')],
    ['MX 10 mail\\.host', u16(10) + wire('mail.host', 'example', 'com')],
    ['SRV 1 2 53 \\128.', u16(1) + u16(2) + u16(53) + wire('\x80')],
    ['RP first\\.last.example. t\\.xt.', wire('first.last', 'example') + wire('t.xt')],
    ['NAPTR 1 2 "s" "x" "" r\\.e.', u16(1) + u16(2) + '0173' + '0178' + '00' + wire('r.e')],
    ['NSEC n\\.x. A', wire('n.x') + '000140'],
    ['RRSIG A 13 1 60 20300101000000 20200101000000 7 s\\.ig. AAAA', u16(1) + '0d' + '01' + u32(60) + u32(1893456000) + u32(1577836800) + u16(7) + wire('s.ig') + '000000'],
    ['AFSDB 1 a\\.b.', u16(1) + wire('a.b')],
    ['SVCB 1 t\\.x. alpn=h2', u16(1) + wire('t.x') + u16(1) + u16(3) + '026832'],
    ['NS \\# 5 03612e6200', wire('a.b')],
  ];
  for (const [rdata, octets] of cases) {
    it(`x ${rdata}`, () => {
      const r = record(`x ${rdata}`);
      expect(recordRdata(r).toString('hex')).to.equal(octets);
      // and the RDATA reads back (RFC 3597 form) as the same record
      const type = rdata.split(' ')[0]!;
      expect(record(`x ${type} ${genericText(recordRdata(r))}`)).to.deep.equal(r);
    });
  }

  it('the SOA, whose RNAME holds a dot in its first label', () => {
    const zone = ok(load({ z: `$TTL 1\n@ SOA ns\\032.example. first\\.last 1 2 3 4 5\n NS ns1\nns1 A 192.0.2.1\n` }));
    expect(recordRdata(zone.soa).toString('hex')).to.equal(wire('ns ', 'example') + wire('first.last', 'example', 'com') + u32(1) + u32(2) + u32(3) + u32(4) + u32(5));
    expect(nameToWire(zone.soa.name).toString('hex')).to.equal(wire('example', 'com'));
  });
});

describe('nameKey: the lookup key of a name string (RFC 4343 §3: ASCII letters fold, nothing else)', () => {
  const cases: [string, string][] = [
    ['www.example.com', 'www.example.com'],
    ['WWW.Example.COM', 'www.example.com'],
    ['a-b_c.d9', 'a-b_c.d9'],
    ['Z', 'z'],
    ['.', '.'],
    ['first\\.Last', 'first\\.last'],
    ['\\200X', '\\200x'],
    ['@[`{', '@[`{'], // the neighbours of A-Z and a-z stay
    ['Ünï.Cödé', 'Ünï.cödé'], // decoded query names may hold non-ASCII letters: only A-Z fold
  ];
  for (const [name, key] of cases) {
    it(`${name} → ${key}`, () => {
      expect(nameKey(name)).to.equal(key);
    });
  }
});
