/** The small readers: TTLs, names, addresses, encodings and $GENERATE templates. */

import { expect } from 'chai';
import { formatIPv6, parseIPv4, parseIPv6 } from '../../../src/zone/rdata/address.js';
import { decodeBase32Hex, decodeBase64, decodeHex, encodeBase32Hex } from '../../../src/zone/rdata/encoding.js';
import { expandTemplate, parseRange, TemplateError } from '../../../src/zone/parse/generate.js';
import { canonicalSortKey, isAtOrBelow, nameKey, NameError, originOf, parseName, parseZoneName, presentName } from '../../../src/zone/names.js';
import { parseTtl } from '../../../src/zone/parse/ttl.js';

describe('zone values', () => {
  describe('TTL (RFC 2308 §4, BIND units)', () => {
    const cases: [string, number][] = [
      ['0', 0], ['3600', 3600], ['01', 1], ['1h', 3600], ['1h30m', 5400], ['2w', 1209600], ['1W2d3H4m5S', 788645],
      ['1h1h', 7200], ['1d1h', 90000], ['4294967295', 4294967295], ['2147483648', 2147483648],
      ['4294967296', -1], ['1h30', -1], ['1x', -1], ['h', -1], ['', -1], ['1.5', -1], ['-1', -1], ['3000000000w', -1],
    ];
    for (const [text, want] of cases) it(`${JSON.stringify(text)} → ${want}`, () => expect(parseTtl(text)).to.equal(want));
  });

  describe('names (RFC 1035 §5.1)', () => {
    const origin = originOf('example.com');
    // [text, name string]: one spelling per octet sequence (see names.ts).
    const cases: [string, string][] = [
      ['@', 'example.com'],
      ['www', 'www.example.com'],
      ['www.example.net.', 'www.example.net'],
      ['.', '.'],
      ['a.b.c', 'a.b.c.example.com'],
      ['WWW', 'WWW.example.com'],
      ['\\065bc', 'Abc.example.com'],
      ['a\\032b', 'a\\032b.example.com'],
      ['a\\ b', 'a\\032b.example.com'],
      ['a\\@b', 'a@b.example.com'],
      ['a.@', 'a.@.example.com'],
      ['*', '*.example.com'],
      ['\\195\\169t\\195\\169', '\\195\\169t\\195\\169.example.com'],
      ['\u00c3\u00a9t\u00c3\u00a9', '\\195\\169t\\195\\169.example.com'],
      ['john\\.doe', 'john\\.doe.example.com'],
      ['john\\046doe', 'john\\.doe.example.com'],
      ['a\\\\b', 'a\\\\b.example.com'],
      ['a\\092b', 'a\\\\b.example.com'],
      ['\\000\\127\\128\\255', '\\000\\127\\128\\255.example.com'],
      ['\\\\.', '\\\\'],
      ['\\..', '\\.'],
      ['a\\.', 'a\\..example.com'],
    ];
    for (const [text, want] of cases) it(`${text} → ${want}`, () => expect(parseName(text, origin)).to.equal(want));

    const bad: [string, RegExp][] = [
      ['a..b', /empty label/],
      ['.a', /empty label/],
      ['a'.repeat(64), /label longer than 63/],
      [`${'a'.repeat(63)}.`.repeat(4), /longer than 255/],
      ['a\\256', /bad escape/],
      ['a\\12', /bad escape/],
      ['a\\', /bad escape at the end/],
    ];
    for (const [text, want] of bad) {
      it(`${text.length > 20 ? text.slice(0, 20) + '…' : text} is refused`, () => {
        const r = parseName(text, origin);
        expect(r).to.be.instanceOf(NameError);
        expect((r as NameError).message).to.match(want);
      });
    }

    // Zone names as a configuration gives them: absolute with or without the final dot, UTF-8 for non-ASCII.
    const zoneNames: [string, string | RegExp][] = [
      ['.', '.'],
      ['', '.'],
      ['example.com', 'example.com'],
      ['example.com.', 'example.com'],
      ['Example.COM.', 'Example.COM'],
      ['a\\.', 'a\\.'],
      ['a\\..', 'a\\.'],
      ['a\\\\.', 'a\\\\'],
      ['bücher.example', 'b\\195\\188cher.example'],
      ['a..b', /empty label in name "a\.\.b"/],
      ['..', /empty label/],
      ['a\\', /bad escape at the end/],
    ];
    for (const [text, want] of zoneNames) {
      it(`zone name ${JSON.stringify(text)} ${typeof want === 'string' ? `is ${want}` : 'is refused'}`, () => {
        const r = parseZoneName(text);
        if (typeof want === 'string') expect(r).to.equal(want);
        else expect((r as NameError).message).to.match(want);
      });
    }

    it('a relative name may not push the whole past 255 octets', () => {
      const long = originOf(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example`);
      expect(parseName('x'.repeat(54), long)).to.be.instanceOf(NameError);
      expect(parseName('x'.repeat(53), long)).to.be.a('string');
    });

    const shown: [string, string][] = [
      ['example.com', 'example.com.'],
      ['.', '.'],
      ['a\\032b.example', 'a\\032b.example.'],
      ['a@b$c;d(e)f"g\\\\h.example', 'a\\@b\\$c\\;d\\(e\\)f\\"g\\\\h.example.'],
      ['\\195\\169t\\195\\169.example', '\\195\\169t\\195\\169.example.'],
      ['john\\.doe.example', 'john\\.doe.example.'],
      ['\\000\\.@.example', '\\000\\.\\@.example.'],
    ];
    for (const [name, want] of shown) it(`prints ${name} as ${want}`, () => expect(presentName(name)).to.equal(want));

    it('orders names canonically (RFC 4034 §6.1 example)', () => {
      const names = ['z.example', 'zABC.a.EXAMPLE', 'a.example', 'example', '*.z.example', 'yljkjljk.a.example', 'Z.a.example', '\\001.z.example', '\\200.z.example'];
      const want = ['example', 'a.example', 'yljkjljk.a.example', 'Z.a.example', 'zABC.a.EXAMPLE', 'z.example', '\\001.z.example', '*.z.example', '\\200.z.example'];
      expect([...names].sort((a, b) => (canonicalSortKey(a) < canonicalSortKey(b) ? -1 : 1))).to.deep.equal(want);
    });

    it('keys fold ASCII case only', () => {
      expect(nameKey('WwW.Example.COM')).to.equal('www.example.com');
      expect(nameKey('ÉTÉ.Example')).to.equal('ÉtÉ.example');
    });

    const below: [string, string, boolean][] = [
      ['example.com', 'example.com', true],
      ['www.example.com', 'example.com', true],
      ['wwwexample.com', 'example.com', false],
      ['example.net', 'example.com', false],
      ['anything', '.', true],
      ['a\\.example.com', 'example.com', false],
      ['a\\\\.example.com', 'example.com', true],
      ['a\\\\\\.example.com', 'example.com', false],
      ['a\\032.example.com', 'example.com', true],
    ];
    for (const [k, o, want] of below) it(`${k} ${want ? 'is' : 'is not'} at or below ${o}`, () => expect(isAtOrBelow(k, o)).to.equal(want));
  });

  describe('addresses', () => {
    const v4: [string, boolean][] = [
      ['192.0.2.1', true], ['0.0.0.0', true], ['255.255.255.255', true],
      ['10.0.0.256', false], ['1.2.3', false], ['1.2.3.4.5', false], ['01.2.3.4', false], ['1.2.3.04', false], ['0x1.2.3.4', false], ['1..3.4', false], ['', false],
    ];
    for (const [text, good] of v4) it(`IPv4 ${JSON.stringify(text)} ${good ? 'reads' : 'is refused'}`, () => expect(parseIPv4(text)).to.equal(good ? text : null));

    // [input, RFC 5952 text (what records carry), BIND's text (embedded IPv4)]
    const v6: [string, string, string][] = [
      ['2001:db8::1', '2001:db8::1', '2001:db8::1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', '2001:db8::1'],
      ['::', '::', '::'],
      ['::1', '::1', '::1'],
      ['1::', '1::', '1::'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1', '1:0:0:1::1'],
      ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4', '1::2:0:0:3:4'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:192.0.2.3', '::ffff:c000:203', '::ffff:192.0.2.3'],
      ['::192.0.2.4', '::c000:204', '::192.0.2.4'],
      ['::2', '::2', '::0.0.0.2'],
    ];
    for (const [text, plain, bind] of v6) {
      it(`IPv6 ${text} → ${plain} / ${bind}`, () => {
        const b = parseIPv6(text);
        expect(b).to.not.equal(null);
        expect(formatIPv6(b!)).to.equal(plain);
        expect(formatIPv6(b!, true)).to.equal(bind);
      });
    }
    for (const text of ['1::2::3', '1:2:3:4:5:6:7:8:9', '00001::', ':1::', '1:', '::g', '1:2:3:4:5:6:7', '::1.2.3', '1.2.3.4::', '']) {
      it(`IPv6 ${JSON.stringify(text)} is refused`, () => expect(parseIPv6(text)).to.equal(null));
    }
  });

  describe('encodings (RFC 4648)', () => {
    const b64: [string, string | null][] = [
      ['AAAA', '000000'], ['AA==', '00'], ['AAA=', '0000'], ['', ''],
      ['AAB=', null], ['AB==', null], ['AAA', null], ['AA==AA==', null], ['A*AA', null],
    ];
    for (const [text, hex] of b64) it(`base64 ${JSON.stringify(text)}`, () => expect(decodeBase64(text)?.toString('hex') ?? null).to.equal(hex));
    const hex: [string, string | null][] = [['00ff', '00ff'], ['ABcd', 'abcd'], ['abc', null], ['xy', null]];
    for (const [text, want] of hex) it(`hex ${JSON.stringify(text)}`, () => expect(decodeHex(text)?.toString('hex') ?? null).to.equal(want));
    const b32: [string, string | null][] = [
      ['2T7B4G4VSA5SMI47K61MV5BV1A22BOJR', '174eb2409fe28bcb4887a1836f957f0a8425e27b'],
      ['cpnmuoj1e8', '666f6f626172'], ['0', null], ['2T7B4G4VSA5SMI47K61MV5BV1A22BOJ', null], ['W0', null], ['n3', null],
    ];
    for (const [text, want] of b32) {
      it(`base32hex ${JSON.stringify(text)}`, () => {
        const v = decodeBase32Hex(text);
        expect(v?.toString('hex') ?? null).to.equal(want);
        if (v !== null) expect(encodeBase32Hex(v)).to.equal(text.toUpperCase());
      });
    }
  });

  describe('$GENERATE templates', () => {
    const ranges: [string, object | null][] = [
      ['1-10', { start: 1, stop: 10, step: 1 }],
      ['0-100/5', { start: 0, stop: 100, step: 5 }],
      ['3-3', { start: 3, stop: 3, step: 1 }],
      ['3-1', null], ['1-2/0', null], ['a-2', null], ['1-', null], ['0-4294967295', null], ['-1-2', null],
    ];
    for (const [text, want] of ranges) it(`range ${text}`, () => expect(parseRange(text)).to.deep.equal(want));

    const templates: [string, number, string][] = [
      ['host$', 7, 'host7'],
      ['$.$', 7, '7.7'],
      ['h${0,3,d}', 5, 'h005'],
      ['h${10,4,x}', 1, 'h000b'],
      ['h${-1,2,X}', 11, 'h0A'],
      ['h${0,0,o}', 250, 'h372'],
      ['${0,0,n}', 26, 'a.1'],
      ['${0,4,n}', 26, 'a.1.'],
      ['${0,5,N}', 26, 'A.1.0'],
      ['${-10}', 5, '-5'],
      ['a\\$b', 1, 'a\\$b'],
      ['a$$b', 1, 'a$b'],
      ['$${1}', 1, '${1}'],
      ['$$$', 4, '$4'],
      ['"10 mail$"', 3, '"10 mail3"'],
      // explicit signs, blanks before numbers (sscanf's %d and %u in BIND), every base
      ['192.0.2.${+100}', 1, '192.0.2.101'],
      ['${-1}', 0, '-1'],
      ['${ +1, 3}', 1, '002'],
      ['${0,+3}', 1, '001'],
      ['${-5,4}', 0, '-005'],
      ['${-1,0,x}', 0, 'ffffffff'],
      ['${-1,0,X}', 0, 'FFFFFFFF'],
      ['${-1,0,o}', 0, '37777777777'],
      ['${-1,0,n}', 0, 'f.f.f.f.f.f.f.f'],
      ['${0,1,N}', 255, 'F.F'],
      ['${0,6,n}', 1, '1.0.0.'],
      ['${0,127}', 1, '0'.repeat(126) + '1'],
      ['${2147483647}', 0, '2147483647'],
      ['${-2147483648}', 0, '-2147483648'],
      ['${-2147483648,0,x}', 0, '80000000'],
      ['${1}}{x}', 1, '2}{x}'],
      ['\\', 1, '\\'],
    ];
    for (const [t, v, want] of templates) it(`${t} with ${v} → ${want.length > 20 ? want.slice(0, 20) + '…' : want}`, () => expect(expandTemplate(t, v)).to.equal(want));
    for (const t of ['h${0,3,q}', 'h${0,3', 'h${x}', 'h${}', 'h${1,}', 'h${1,2,}', 'h${1,2,d', 'h${0,-1}', 'h${0,128}', 'h${1 }', 'h${2147483647}', 'h${2147483648}']) {
      it(`${t} is refused`, () => expect(expandTemplate(t, 1)).to.be.instanceOf(TemplateError));
    }
  });
});
