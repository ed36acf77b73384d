/** The record store: records kept as wire octets read back as exactly the data the RDATA reader made, for every type; canonical comparison as rdataKey compares; the lists' mechanics. */

import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Entry, Lexer } from '../../../src/zone/parse/lexer.js';
import { NONE, RecordStore } from '../../../src/zone/parse/record-store.js';
import { parseName, parseZoneName, originOf } from '../../../src/zone/names.js';
import { canonicalRdataKey, dataFromWire, rdataKey, readRdata, readRdataWire, recordRdata, sameCanonicalRdata } from '../../../src/zone/rdata/rdata.js';
import { RdataText, type RdataSink } from '../../../src/zone/rdata/rdata-io.js';
import { SPECS } from '../../../src/zone/rdata/rdata-types.js';
import { packetType, T, typeFromText } from '../../../src/zone/rdata/rrtypes.js';
import { ROOT } from '../../helpers/server.js';
import { at, HEAD, loadBody, ok } from './helpers.js';

const ORIGIN = originOf(parseZoneName('example.com.') as string);

/** What the RDATA reader makes of `TYPE RDATA…` (one entry of tokens), relative to example.com. */
function read(line: string): { code: number; data: unknown } | null {
  const e = new Entry();
  const lexer = new Lexer(line, () => undefined);
  if (!lexer.next(e) || e.broken || e.count < 1) return null;
  const code = typeFromText(e.texts[0]!);
  if (code < 0) return null;
  try {
    return { code, data: readRdata(code, new RdataText(e, 1, (t) => parseName(t, ORIGIN))) };
  } catch {
    return null;
  }
}

/** `TYPE RDATA…` of every record line of the zone files the tests and the fuzzer use (owner, TTL and class dropped). */
function recordLines(): string[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  for (const d of ['test/fixtures', 'fuzz/corpus/zone-parser', 'fuzz/zones', 'config/zones']) walk(join(ROOT, d));
  const out: string[] = [];
  for (const f of files) {
    const e = new Entry();
    const lexer = new Lexer(readFileSync(f).toString('latin1'), () => undefined);
    while (lexer.next(e)) {
      if (e.broken) continue;
      // The type is the first token that reads as one after the owner, TTL and class.
      for (let k = 0; k < Math.min(e.count, 4); k++) {
        const code = typeFromText(e.texts[k]!);
        if (code < 0 || e.quoted[k]) continue;
        const toks: string[] = [];
        for (let j = k; j < e.count; j++) toks.push(e.quoted[j] ? `"${e.texts[j]}"` : e.texts[j]!);
        out.push(toks.join(' '));
        break;
      }
    }
  }
  return out;
}

const KEY = 'mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==';
const DIGEST = '1F987CC6583E92DF0890718C42A6C2A8A5B7F94C9D56E6F4A5D3A2C1B0A99887';

/** One record of every type read in presentation form (the files above miss some), and RFC 3597 forms. */
const EVERY_TYPE = [
  'A 192.0.2.1', 'NS ns.example.net.', 'MD host', 'MF host', 'CNAME www', 'MB mbox', 'MG mbox', 'MR mbox', 'PTR host.example.net.', 'DNAME example.net.',
  'SOA ns1 john\\.doe 2024010101 2h 1h 2w 5m', 'HINFO "PC" Linux', 'MINFO rmail email', 'MX 10 mail', 'TXT "v=spf1 -all" "two" "\\000\\255"',
  'RP john\\.doe.example.com. txt', 'AFSDB 1 afs', 'X25 "311061700956"', 'ISDN "150862028003217" "004"', 'RT 10 relay', `SIG A 13 3 3600 20300101000000 20231201000000 2371 example.com. ${KEY}`,
  `KEY 256 3 13 ${KEY}`, 'PX 10 map822 mapx400', 'AAAA 2001:DB8::1', 'AAAA ::ffff:192.0.2.1', 'LOC 52 22 23 N 4 53 32 E -2m', 'SRV 10 60 5060 sip',
  'NAPTR 100 10 "S" "SIP+D2U" "!^.*$!sip:x@example.com!" _sip._udp', 'KX 10 kx', 'CERT PKIX 1 RSASHA256 AAAA', `DS 2371 13 2 ${DIGEST}`, `CDS 2371 13 2 ${DIGEST}`,
  `TA 2371 13 2 ${DIGEST}`, `DLV 2371 13 2 ${DIGEST}`, 'SSHFP 1 1 0123456789abcdef0123456789abcdef01234567', 'RRSIG A 13 3 3600 20300101000000 20231201000000 2371 example.com. c2lnbmF0dXJl',
  'NSEC next.example.com. A NS TYPE1234 RRSIG', `DNSKEY 257 3 ECDSAP256SHA256 ${KEY}`, `CDNSKEY 257 3 13 ${KEY}`, 'DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=',
  'NSEC3 1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG', 'NSEC3PARAM 1 0 10 -', 'TLSA 3 1 1 0C72AC70', 'SMIMEA 3 0 0 3082', 'TALINK prev next',
  'OPENPGPKEY AAAA', 'CSYNC 66 3 A NS AAAA', `ZONEMD 1 1 1 ${'00'.repeat(48)}`, 'SVCB 1 . alpn=h2,h3 port=8443', 'HTTPS 1 . ipv6hint=2001:db8::1 ech=AAAA',
  'SPF "v=spf1 -all"', 'NID 10 0014:4fff:ff20:ee64', 'L32 10 10.1.2.0', 'L64 10 2001:0db8:1140:1000', 'LP 10 l64-subnet1', 'EUI48 00-00-5E-00-53-2A',
  'EUI64 00-00-5E-EF-10-00-00-2A', 'URI 10 1 "https://example.com/"', 'CAA 0 issue "letsencrypt.org"', 'CAA 128 tbs "x"',
  'TYPE1234 \\# 3 010203', 'A \\# 4 C0000201', 'MX \\# 8 000A046D61696C00', 'NULL \\# 2 ABCD', 'TYPE65280 \\# 0',
];

describe('record store: wire octets back to data', () => {
  it('every record of the test and fuzz zone files, and one of every type, reads back from its wire form as the data the reader made', () => {
    const store = new RecordStore();
    const types = new Set<string>();
    let n = 0;
    for (const line of [...EVERY_TYPE, ...recordLines()]) {
      const got = read(line);
      if (got === null) {
        expect(EVERY_TYPE.includes(line), `${line} does not read`).to.equal(false);
        continue;
      }
      const record = { type: packetType(got.code), data: got.data };
      const i = store.append(got.code, 60, record);
      expect(store.rdata(i), line).to.deep.equal(new Uint8Array(recordRdata(record)));
      expect(dataFromWire(got.code, store.rdata(i)), line).to.deep.equal(got.data);
      types.add(record.type);
      n++;
    }
    expect(n).to.be.greaterThan(1000);
    const missing = [...SPECS.keys()].map(packetType).filter((t) => !types.has(t));
    expect(missing, 'types without a record here').to.deep.equal([]);
    for (const t of ['UNKNOWN_1234', 'NULL', 'UNKNOWN_65280']) expect(types.has(t), t).to.equal(true);
  });
});

/** An arena that moves to a new, bigger array at every reserve: a writer that holds on to `bytes` across a reserve writes into the old one. */
class MovingSink implements RdataSink {
  bytes = new Uint8Array(0);
  used = 0;

  reserve(n: number): number {
    const b = new Uint8Array(this.used + n);
    b.set(this.bytes.subarray(0, this.used));
    this.bytes = b;
    const at = this.used;
    this.used += n;
    return at;
  }
}

describe('record store: the reader writes RDATA into the arena', () => {
  it('for every type, readRdataWire writes what recordRdata gives for readRdata\'s data, into the arena as it is after growing', () => {
    for (const line of EVERY_TYPE) {
      const want = read(line)!;
      const e = new Entry();
      new Lexer(line, () => undefined).next(e);
      const sink = new MovingSink();
      sink.reserve(3); // something before it
      const n = readRdataWire(want.code, new RdataText(e, 1, (t) => parseName(t, ORIGIN)), sink);
      expect(sink.used, line).to.equal(3 + n);
      expect(Buffer.from(sink.bytes.subarray(3, 3 + n)).toString('hex'), line).to.equal(recordRdata({ type: packetType(want.code), data: want.data }).toString('hex'));
    }
  });
});

describe('record store: a zone big enough for the arena to grow many times', () => {
  it('every record loads with its own octets (the reader writes after the arena grew, not into the old one)', () => {
    const n = 12000;
    const lines = [HEAD];
    for (let i = 0; i < n; i++) {
      lines.push(`h${i} IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      lines.push(`h${i} IN AAAA 2001:db8::1:${i.toString(16)}`);
      lines.push(`h${i} IN NS ns${i}.example.net.`);
      lines.push(`h${i} IN MX ${i % 65536} mail${i}.example.net.`);
      lines.push(`h${i} IN SRV 1 2 ${i % 65536} srv${i}.example.net.`);
      lines.push(`h${i} IN TXT "text ${i}"`);
    }
    const zone = ok(loadBody(lines.join('\n') + '\n'));
    for (let i = 0; i < n; i++) {
      const got = at(zone, `h${i}.example.com`).map((r) => [r.type, r.data]);
      expect(got, `h${i}`).to.deep.equal([
        ['A', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
        ['AAAA', `2001:db8::1:${i.toString(16)}`],
        ['NS', `ns${i}.example.net`],
        ['MX', { preference: i % 65536, exchange: `mail${i}.example.net` }],
        ['SRV', { priority: 1, weight: 2, port: i % 65536, target: `srv${i}.example.net` }],
        ['TXT', [Buffer.from(`text ${i}`)]],
      ]);
    }
  });
});

describe('record store: canonical comparison (duplicates, RFC 2181 §5)', () => {
  const cases: [string, string, boolean][] = [
    ['A 192.0.2.1', 'A 192.0.2.1', true],
    ['A 192.0.2.1', 'A 192.0.2.2', false],
    ['AAAA 2001:db8::1', 'AAAA 2001:DB8:0::1', true],
    ['NS ns1.example.net.', 'NS NS1.Example.NET.', true],
    ['NS ns1.example.net.', 'NS ns2.example.net.', false],
    ['CNAME a\\065b', 'CNAME aab', true],
    ['CNAME a\\193b', 'CNAME a\\225b', false],
    ['MX 10 mail', 'MX 10 MAIL', true],
    // A preference whose octets are letters must not be folded: 65 is "A", 97 is "a".
    ['MX 65 mail', 'MX 97 mail', false],
    ['MX 16705 mail', 'MX 24929 mail', false],
    ['SRV 65 65 65 sip', 'SRV 97 97 97 SIP', false],
    ['SRV 10 60 5060 sip', 'SRV 10 60 5060 SIP', true],
    ['TXT "Ab"', 'TXT "ab"', false],
    ['TXT "ab" "c"', 'TXT "abc"', false],
    ['SOA ns1 hostmaster 1 2 3 4 5', 'SOA NS1 HostMaster 1 2 3 4 5', true],
    ['SOA ns1 hostmaster 1 2 3 4 5', 'SOA ns1 hostmaster 2 2 3 4 5', false],
    ['RP mbox txt', 'RP MBOX TXT', true],
    ['NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp', 'NAPTR 100 10 "S" "SIP+D2U" "" _SIP._UDP', true],
    ['NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp', 'NAPTR 100 10 "s" "SIP+D2U" "" _sip._udp', false],
    ['DNAME Example.NET.', 'DNAME example.net.', true],
    ['HINFO "PC" "Linux"', 'HINFO "pc" "Linux"', false],
  ];
  for (const [a, b, same] of cases) {
    it(`${a} ${same ? '=' : '≠'} ${b}, as rdataKey says`, () => {
      const x = read(a)!;
      const y = read(b)!;
      expect(x, a).to.not.equal(null);
      expect(y, b).to.not.equal(null);
      const type = packetType(x.code);
      const rx = recordRdata({ type, data: x.data });
      const ry = recordRdata({ type, data: y.data });
      expect(rdataKey(x.code, { name: 'x', type, data: x.data }) === rdataKey(y.code, { name: 'x', type, data: y.data }), 'rdataKey').to.equal(same);
      expect(sameCanonicalRdata(x.code, rx, ry), 'sameCanonicalRdata').to.equal(same);
      expect(canonicalRdataKey(x.code, rx) === canonicalRdataKey(y.code, ry), 'canonicalRdataKey').to.equal(same);
    });
  }
});

describe('record store: lists', () => {
  it('appends, links after a record, drops the last one and gives its room back', () => {
    const s = new RecordStore();
    const a = s.append(T.A, 60, { type: 'A', data: '192.0.2.1' });
    const b = s.append(T.A, 60, { type: 'A', data: '192.0.2.2' });
    expect(s.linkAfter(b, a)).to.equal(true);
    const c = s.append(T.TXT, 60, { type: 'TXT', data: [Buffer.from('x')] });
    expect(s.linkAfter(c, a)).to.equal(false);
    expect([s.next[a], s.next[c], s.next[b]]).to.deep.equal([c, b, NONE]);
    expect([s.prev[b], s.prev[c], s.prev[a]]).to.deep.equal([c, a, NONE]);
    const used = s.used;
    const d = s.append(T.A, 60, { type: 'A', data: '192.0.2.4' });
    s.dropLast(d, false);
    expect([s.count, s.used]).to.deep.equal([3, used]);
    const e = s.append(T.A, 60, { type: 'A', data: '192.0.2.5' });
    s.dropLast(e, true);
    expect([s.count, s.used]).to.deep.equal([3, used + 4]);
    expect(() => s.dropLast(a, false)).to.throw(/not the last/);
  });

  it('an RRSIG or SIG set key carries the type covered', () => {
    const s = new RecordStore();
    const sig = read('RRSIG TXT 13 3 60 20300101000000 20200101000000 1 example.com. AAAA')!;
    const i = s.append(T.RRSIG, 60, { type: 'RRSIG', data: sig.data });
    expect(s.setKey(i)).to.equal(T.RRSIG + 0x10000 * (1 + T.TXT));
    const j = s.append(T.MX, 60, { type: 'MX', data: { preference: 1, exchange: 'x' } });
    expect(s.setKey(j)).to.equal(T.MX);
  });

  it('grows past its first arrays and arena', () => {
    const s = new RecordStore();
    const txt = [Buffer.alloc(255, 0x61)];
    for (let k = 0; k < 5000; k++) s.append(T.TXT, k, { type: 'TXT', data: txt });
    expect(s.count).to.equal(5000);
    expect(s.ttl[4999]).to.equal(4999);
    expect(dataFromWire(T.TXT, s.rdata(4999))).to.deep.equal(txt);
  });
});
