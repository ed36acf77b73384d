/** The fast line reader (fast-line.ts): its pieces on their own, and a zone read with it is the zone read without it — records, spellings, TTLs, batches, warnings and errors with their places. */

import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compileZone } from '../../../src/zone/image/compile.js';
import { H } from '../../../src/zone/image/format.js';
import { fastType, ipv6At, LineTokens, nameWireAt, scanLine, txtAt } from '../../../src/zone/parse/fast-line.js';
import { parseZone } from '../../../src/zone/parse/parser.js';
import type { ZoneLoadResult } from '../../../src/zone/parse/zone.js';
import { nameToWire } from '../../../src/zone/names.js';
import { T } from '../../../src/zone/rdata/rrtypes.js';
import { ROOT } from '../../helpers/server.js';
import { HEAD } from './helpers.js';
import { ipv4At } from '../../../src/zone/rdata/address.js';

/** Loads in-memory files (the first is the zone file) with or without the fast path. */
function loadWith(files: Record<string, string | Uint8Array>, origin: string, fastLines: boolean): ZoneLoadResult {
  const [main] = Object.keys(files);
  return parseZone({
    origin,
    file: main!,
    fastLines,
    readFile: (f) => {
      const text = files[f];
      if (text === undefined) throw new Error('no such file');
      return text;
    },
  });
}

/** What a load gives, in a form deep equality compares: diagnostics, each name's records as read back, and the image's octets (meta aside). */
function outcome(r: ZoneLoadResult, origin: string): unknown {
  if (!r.ok) return { errors: r.errors, warnings: r.warnings };
  const image = compileZone(r.zone, { origin, source: '00'.repeat(32) });
  const metaOff = new DataView(image.buffer, image.byteOffset).getUint32(H.metaOff, true);
  const body = Buffer.from(image.subarray(0, metaOff));
  body.writeUInt32LE(0, H.checksum);
  return { warnings: r.warnings, size: r.zone.size, nodes: [...r.zone.nodes.entries()], image: body.toString('base64') };
}

/** Loads the files both ways and expects the same outcome; returns it. */
function same(files: Record<string, string | Uint8Array>, origin = 'example.com.'): unknown {
  const fast = outcome(loadWith(files, origin, true), origin);
  const general = outcome(loadWith(files, origin, false), origin);
  expect(fast).to.deep.equal(general);
  return fast;
}

const LONG_LABEL = 'a'.repeat(64);
const LONG_NAME = Array.from({ length: 9 }, () => 'b'.repeat(30)).join('.');

/** Record lines after HEAD, one zone each: what the fast path reads, and everything next to it that it must leave to the general path. */
const BODIES: [string, string][] = [
  ['plain A', 'www IN A 192.0.2.1\n'],
  ['owner in capitals beside lower case', 'www IN A 192.0.2.1\nWWW 300 IN A 192.0.2.2\nWww IN AAAA 2001:db8::1\n'],
  ['class before TTL', 'www IN 300 A 192.0.2.3\n'],
  ['no class, no TTL', 'www A 192.0.2.3\n'],
  ['blank owner, tab and CR', 'www IN A 192.0.2.1\n  IN AAAA 2001:db8::1\r\n\tAAAA ::ffff:192.0.2.1\r\n'],
  ['TTL above 2^31-1', 'x 4294967295 IN A 192.0.2.9\ny IN A 192.0.2.10\n'],
  ['TTL above 2^32-1', 'x 4294967296 IN A 192.0.2.9\n'],
  ['TTL in units', 'x 1h30m IN A 192.0.2.9\n'],
  ['bad TTL', 'x 12x IN A 192.0.2.9\n'],
  ['bad IPv4 addresses', 'a IN A 192.0.2.01\nb IN A 192.0.2.256\nc IN A 192.0.2\nd IN A 1.2.3.4.5\ne IN A 1.2.3.4 5.6.7.8\nf IN A\n'],
  ['bad IPv6 addresses', 'a IN AAAA 2001:db8::g\nb IN AAAA 1:2:3:4:5:6:7:8:9\nc IN AAAA :1::\nd IN AAAA ::\ne IN AAAA ::1.2.3.4\n'],
  ['names', 'c IN CNAME @\nc2 IN CNAME .\nc3 IN CNAME other.net.\np IN PTR host.example.com.\nq IN PTR Host.Sub\n'],
  ['bad names', `c IN CNAME a..b\nd IN CNAME .x\ne IN CNAME ${LONG_LABEL}\nf IN CNAME ${LONG_NAME}\ng IN CNAME ${LONG_NAME}.\n`],
  ['a name just fits', `h IN CNAME ${'c'.repeat(63)}.${'c'.repeat(63)}.${'c'.repeat(63)}.${'c'.repeat(48)}\n`],
  ['MX', 'm IN MX 10 mail\nm IN MX 010 mail2\n@ IN MX 5 @\n'],
  ['bad MX', 'm IN MX 65536 mail\nn IN MX x mail\no IN MX 10\np IN MX 10 a b\n'],
  ['SRV', '_s._tcp IN SRV 0 5 5060 sip\n_t._tcp IN SRV 65535 0 1 .\n'],
  ['bad SRV', '_s._tcp IN SRV 0 5 sip\n_t._tcp IN SRV 0 5 70000 sip\n'],
  ['TXT', 't IN TXT "hello world" plain "" "a;b" "x"y\nt2 IN TXT "caf\u00e9"\n'],
  ['TXT with escapes or too long', `t IN TXT "esc\\"aped"\nu IN TXT "${'x'.repeat(256)}"\nv IN TXT ${'y'.repeat(255)}\n`],
  ['unterminated string', 't IN TXT "open\nu IN A 192.0.2.1\n'],
  ['comments and empty lines', 'www IN A 192.0.2.1 ; a comment\n; a line of comment\n\n   \n  IN AAAA 2001:db8::2 ;(\nx IN A 192.0.2.3;x\n'],
  ['lower-case type and class', 'www in a 192.0.2.77\nm in mx 1 www\nt in txt x\nc in cname www2\n'],
  ['quoted owner, TTL, type', '"www" IN A 192.0.2.1\nx "300" IN A 192.0.2.2\ny IN "A" 192.0.2.3\n'],
  ['no newline at the end', 'x IN A 192.0.2.1'],
  ['$ORIGIN and relative names', '$ORIGIN sub.example.com.\nwww IN A 192.0.2.1\nc IN CNAME www\n@ IN MX 5 @\n$ORIGIN example.com.\nwww IN A 192.0.2.2\n'],
  ['wildcards', '*.w IN A 192.0.2.1\na.*.w IN A 192.0.2.2\nz IN NS *\n* IN NS ns1\n'],
  ['another class', 'x CH A 1.2.3.4\ny CLASS1 A 1.2.3.4\n'],
  ['parentheses and escapes', 'x IN A ( 192.0.2.1 )\ny\\.z IN A 192.0.2.2\nw IN CNAME a\\.b\n'],
  ['octets that are not ASCII', 'caf\u00e9 IN A 192.0.2.1\nx IN CNAME caf\u00e9\n'],
  ['out-of-zone data', 'out.of.zone. IN A 192.0.2.1\n  IN A 192.0.2.2\nwww IN A 192.0.2.3\n'],
  ['duplicates and TTLs in and across batches', 'd IN A 192.0.2.1\nd 60 IN A 192.0.2.1\nd 70 IN A 192.0.2.2\ne IN A 192.0.2.9\nd 80 IN A 192.0.2.1\nD IN A 192.0.2.3\n'],
  ['delegation with glue (batches)', 'sub IN NS ns.sub\nns.sub IN A 192.0.2.5\nsub IN NS ns2.sub\nns2.sub IN AAAA 2001:db8::5\n  IN A 192.0.2.6\nsub IN DS 1 8 2 ' + 'ab'.repeat(32) + '\n'],
  ['CNAME and other data', 'www IN A 192.0.2.1\nwww IN CNAME x\nc IN CNAME a\nc IN CNAME b\n'],
  ['directives in between', 'a IN A 192.0.2.1\n$TTL 60\nb IN A 192.0.2.2\n$GENERATE 1-3 g$ A 192.0.2.$\nc A 192.0.2.3\n  $TTL 5\n'],
  ['more tokens than the fast path reads', 'x 300 IN SRV 1 2 3 a b c\n'],
  ['other types', 'x IN HINFO "a" "b"\ny IN CAA 0 issue "ca.example"\nz IN SSHFP 1 1 ' + 'ab'.repeat(20) + '\n'],
  ['SOA and NS at the apex', '@ IN NS ns2\n@ IN SOA ns1 h 2 1 1 1 1\n'],
  ['an owner read under another origin, then a blank owner', '$ORIGIN other.net.\nx IN A 999.1.1.1\n$ORIGIN example.com.\n  IN A 192.0.2.1\ny IN A 192.0.2.2\n$ORIGIN other.net.\n  IN A 192.0.2.3\n'],
  ['relative owners under an origin above the apex', '$ORIGIN com.\nexample IN A 192.0.2.1\nwww.example IN A 192.0.2.2\nother IN A 192.0.2.3\n$ORIGIN Example.COM.\nwww IN A 192.0.2.4\n  IN AAAA 2001:db8::4\n'],
];

describe('fast line reader', () => {
  describe('pieces', () => {
    it('splits a line into tokens as the lexer does', () => {
      const t = new LineTokens();
      const text = 'www 300\tIN TXT "a b" c"d";x ( \nnext';
      expect(scanLine(text, 0, t)).to.equal(true);
      const tokens = Array.from({ length: t.count }, (_, k) => text.slice(t.starts[k], t.ends[k]));
      expect(tokens).to.deep.equal(['www', '300', 'IN', 'TXT', 'a b', 'c', 'd']);
      expect(t.quoted).to.equal((1 << 4) | (1 << 6));
      expect(t.next).to.equal(text.indexOf('next'));
      expect(t.newline).to.equal(true);
      expect(t.blankStart).to.equal(false);
      expect(scanLine('  A 1.2.3.4', 0, t)).to.equal(true);
      expect([t.blankStart, t.count, t.next, t.newline]).to.deep.equal([true, 2, 11, false]);
    });

    it('declines parentheses, escapes, control and non-ASCII octets, open strings, too many tokens', () => {
      const t = new LineTokens();
      for (const line of ['x IN A ( 1.2.3.4 )', 'x\\.y IN A 1.2.3.4', 'x IN TXT "a\\"b"', 'x IN TXT "open', 'caf\u00e9 A 1.2.3.4', 'x\u0001 A 1.2.3.4', 'a b c d e f g h i']) {
        expect(scanLine(line + '\n', 0, t), line).to.equal(false);
      }
      expect(scanLine('; only a comment\n', 0, t)).to.equal(true);
      expect(t.count).to.equal(0);
    });

    it('knows its types in any case, and no others', () => {
      const cases: [string, number][] = [['A', T.A], ['aaaa', T.AAAA], ['Ns', T.NS], ['cname', T.CNAME], ['PTR', T.PTR], ['mx', T.MX], ['SRV', T.SRV], ['txt', T.TXT], ['SOA', -1], ['AA', -1], ['TYPE1', -1], ['DS', -1]];
      for (const [text, code] of cases) expect(fastType(text, 0, text.length), text).to.equal(code);
    });

    it('reads addresses strictly', () => {
      const out = new Uint8Array(16);
      expect(ipv4At('x 192.0.2.255', 2, 13, out, 0)).to.equal(true);
      expect([...out.subarray(0, 4)]).to.deep.equal([192, 0, 2, 255]);
      for (const bad of ['192.0.2.01', '192.0.2.256', '1.2.3', '1.2.3.4.5', '1.2.3.', '.1.2.3', '1..2.3']) expect(ipv4At(bad, 0, bad.length, out, 0), bad).to.equal(false);
      expect(ipv6At('x 2001:db8::1 y', 2, 13, out, 0)).to.equal(true);
      expect(Buffer.from(out).toString('hex')).to.equal('20010db8000000000000000000000001');
      expect(ipv6At('::1.2.3.4', 0, 9, out, 0)).to.equal(true);
      expect(Buffer.from(out).toString('hex')).to.equal('00000000000000000000000001020304');
      expect(ipv6At('x ::1', 0, 5, out, 0)).to.equal(false);
    });

    it('writes names in wire form, relative to the origin, and declines what parseName refuses', () => {
      const origin = nameToWire('example.com');
      const out = new Uint8Array(300);
      const wire = (s: string): string => {
        const n = nameWireAt(s, 0, s.length, origin, out, 0);
        return n < 0 ? 'declined' : Buffer.from(out.subarray(0, n)).toString('hex');
      };
      expect(wire('www')).to.equal(nameToWire('www.example.com').toString('hex'));
      expect(wire('Mail.Sub')).to.equal(nameToWire('Mail.Sub.example.com').toString('hex'));
      expect(wire('host.example.net.')).to.equal(nameToWire('host.example.net').toString('hex'));
      expect(wire('@')).to.equal(origin.toString('hex'));
      expect(wire('.')).to.equal('00');
      for (const bad of ['a..b', '.a', 'a'.repeat(64), LONG_NAME, `${LONG_NAME}.`]) expect(wire(bad), bad).to.equal('declined');
    });

    it('writes TXT character-strings', () => {
      const t = new LineTokens();
      const text = 't TXT "ab" c ""\n';
      scanLine(text, 0, t);
      const out = new Uint8Array(64);
      const n = txtAt(text, t, 2, out, 0);
      expect(Buffer.from(out.subarray(0, n)).toString('hex')).to.equal('026162016300');
    });
  });

  describe('reads a zone as the general path does', () => {
    for (const [what, body] of BODIES) {
      it(what, () => {
        same({ 'zone.db': HEAD + body });
      });
    }

    it('without $TTL (RFC 1035 semantics, the SOA MINIMUM, no TTL at all)', () => {
      same({ 'zone.db': '@ IN SOA ns1 h 1 2 3 4 300\n IN NS ns1\nns1 IN A 192.0.2.1\nx IN A 192.0.2.2\n' });
      same({ 'zone.db': '@ 600 IN SOA ns1 h 1 2 3 4 300\n IN NS ns1\nns1 IN A 192.0.2.1\nx 60 IN A 192.0.2.2\ny IN A 192.0.2.3\n' });
      same({ 'zone.db': 'x IN A 192.0.2.2\n@ IN SOA ns1 h 1 2 3 4 300\n IN NS ns1\nns1 IN A 192.0.2.1\n' });
    });

    it('with $INCLUDE, an origin for it, and the owner before it after it', () => {
      same({ 'zone.db': HEAD + 'www IN A 192.0.2.1\n$INCLUDE inc.db sub\n  IN AAAA 2001:db8::1\n', 'inc.db': 'x IN A 192.0.2.2\n  IN MX 1 x\n' });
    });

    it('given as octets, with bytes that are not UTF-8', () => {
      same({ 'zone.db': Buffer.concat([Buffer.from(HEAD + 'x IN TXT "'), Buffer.from([0xff, 0xfe]), Buffer.from('"\ny IN A 192.0.2.1\n')]) });
    });

    it('the root zone', () => {
      same({ 'root.zone': '$TTL 86400\n. IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400\n. IN NS a.root-servers.net.\ncom. 172800 IN NS a.gtld-servers.net.\na.gtld-servers.net. IN A 192.5.6.30\nx IN A 192.0.2.1\n' }, '.');
    });

    it('every zone file of the test fixtures', function () {
      this.timeout(60000);
      const files: string[] = [];
      const walk = (d: string): void => {
        for (const f of readdirSync(d)) {
          const p = join(d, f);
          if (statSync(p).isDirectory()) walk(p);
          else if (p.endsWith('.zone')) files.push(p);
        }
      };
      walk(join(ROOT, 'test', 'fixtures'));
      expect(files.length).to.be.greaterThan(20);
      for (const file of files) {
        const origin = /root\.zone$/.test(file) ? '.' : /([a-z0-9.-]+\.(com|test|net|org|arpa))\.zone$/.exec(file)?.[1] ?? 'example.com.';
        const read = (f: string): Uint8Array => readFileSync(f);
        const a = outcome(parseZone({ origin, file, readFile: read, fastLines: true }), origin);
        const b = outcome(parseZone({ origin, file, readFile: read, fastLines: false }), origin);
        expect(a, file).to.deep.equal(b);
      }
    });
  });
});
