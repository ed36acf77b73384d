/** Master-file syntax: each form, what it loads as (printed, blanks collapsed), and the warnings it draws. */

import { expect } from 'chai';
import { HEAD, lines, load, loadBody, ok, warnings } from './helpers.js';

interface Case {
  name: string;
  body: string;
  want: string[];
  warn?: RegExp[];
  origin?: string;
}

const cases: Case[] = [
  // names
  { name: 'relative owner', body: 'www IN A 192.0.2.2\n', want: ['www.example.com. 3600 IN A 192.0.2.2'] },
  { name: 'absolute owner', body: 'www.example.com. IN A 192.0.2.2\n', want: ['www.example.com. 3600 IN A 192.0.2.2'] },
  { name: '@ is the origin', body: '@ IN TXT "apex"\n', want: ['example.com. 3600 IN TXT "apex"'] },
  { name: 'owner omitted repeats the previous owner', body: 'www IN A 192.0.2.2\n IN AAAA 2001:db8::2\n\tIN TXT "x"\n', want: ['www.example.com. 3600 IN A 192.0.2.2', 'www.example.com. 3600 IN TXT "x"', 'www.example.com. 3600 IN AAAA 2001:db8::2'] },
  { name: 'names keep their case', body: 'WwW IN CNAME Target.Example.NET.\n', want: ['WwW.example.com. 3600 IN CNAME Target.Example.NET.'] },
  { name: 'escaped octets in labels', body: '\\065b\\032c IN A 192.0.2.2\n', want: ['Ab\\032c.example.com. 3600 IN A 192.0.2.2'] },
  { name: 'escaped special characters in labels', body: 'a\\;b\\(c\\) IN A 192.0.2.2\n', want: ['a\\;b\\(c\\).example.com. 3600 IN A 192.0.2.2'] },
  { name: 'wildcard owner', body: '*.dev IN A 192.0.2.2\n', want: ['*.dev.example.com. 3600 IN A 192.0.2.2'] },
  // any octet in a label (RFC 4343 §2.1), in owners and in RDATA, printed as BIND prints it
  { name: 'a dot inside a label', body: 'first\\.last IN CNAME a\\.b.example.net.\n', want: ['first\\.last.example.com. 3600 IN CNAME a\\.b.example.net.'] },
  { name: 'a dot inside a label is not a separator for the zone', body: 'a\\.example\\.com. IN A 192.0.2.2\n', want: [], warn: [/ignoring out-of-zone data \(a\\\.example\\\.com\.\)/] },
  { name: 'octets 0, 0x80-0xff and backslash', body: 'a\\000\\128\\255\\\\ IN MX 1 \\\\.\\200.\n', want: ['a\\000\\128\\255\\\\.example.com. 3600 IN MX 1 \\\\.\\200.'] },
  { name: 'raw octets in a label', body: 'café IN A 192.0.2.2\n', want: ['caf\\195\\169.example.com. 3600 IN A 192.0.2.2'] },
  { name: 'one name however it is escaped: a duplicate collapses', body: 'a\\.b A 192.0.2.2\nA\\046B A 192.0.2.2\nx PTR \\065\\..\nx PTR a\\046.\n', want: ['a\\.b.example.com. 3600 IN A 192.0.2.2', 'x.example.com. 3600 IN PTR a\\..'] },
  { name: 'a mailbox with a dot in its local part', body: 'rp RP first\\.last.example.net. .\n', want: ['rp.example.com. 3600 IN RP first\\.last.example.net. .'] },
  {
    name: 'a "*" label that is not first loads, with a warning as in BIND',
    body: 'x.*.w IN A 192.0.2.2\n',
    want: ['x.*.w.example.com. 3600 IN A 192.0.2.2'],
    warn: [/zone.db:5:1: warning: x\.\*\.w\.example\.com\. has a "\*" label that is not its first/],
  },
  { name: 'relative names in RDATA', body: 'm IN MX 10 ns1\nc IN CNAME @\n', want: ['c.example.com. 3600 IN CNAME example.com.', 'm.example.com. 3600 IN MX 10 ns1.example.com.'] },
  // directives
  { name: '$ORIGIN, absolute', body: '$ORIGIN sub.example.com.\nx IN A 192.0.2.2\n', want: ['x.sub.example.com. 3600 IN A 192.0.2.2'] },
  { name: '$ORIGIN, relative to the current origin', body: '$ORIGIN sub\nx IN A 192.0.2.2\n$ORIGIN deeper\ny IN A 192.0.2.3\n', want: ['y.deeper.sub.example.com. 3600 IN A 192.0.2.3', 'x.sub.example.com. 3600 IN A 192.0.2.2'] },
  { name: 'directives in any case', body: '$origin sub.example.com.\n$ttl 5\nx a 192.0.2.2\n', want: ['x.sub.example.com. 5 IN A 192.0.2.2'] },
  { name: '$TTL sets the default (RFC 2308 §4)', body: '$TTL 1h30m\nx IN A 192.0.2.2\n', want: ['x.example.com. 5400 IN A 192.0.2.2'] },
  { name: 'directive arguments in parentheses', body: '$TTL ( 60 )\nx IN A 192.0.2.2\n', want: ['x.example.com. 60 IN A 192.0.2.2'] },
  // TTL and class
  { name: 'TTL then class', body: 'x 60 IN A 192.0.2.2\n', want: ['x.example.com. 60 IN A 192.0.2.2'] },
  { name: 'class then TTL', body: 'x IN 60 A 192.0.2.2\n', want: ['x.example.com. 60 IN A 192.0.2.2'] },
  { name: 'TTL only', body: 'x 60 A 192.0.2.2\n', want: ['x.example.com. 60 IN A 192.0.2.2'] },
  { name: 'neither', body: 'x A 192.0.2.2\n', want: ['x.example.com. 3600 IN A 192.0.2.2'] },
  { name: 'TTL units, any case', body: 'x 1W2d3H4m5S A 192.0.2.2\n', want: ['x.example.com. 788645 IN A 192.0.2.2'] },
  { name: 'CLASS1 and TYPE1 (RFC 3597 §5)', body: 'x CLASS1 TYPE1 192.0.2.2\n', want: ['x.example.com. 3600 IN A 192.0.2.2'] },
  { name: 'an owner that looks like a TTL, class or type is still the owner', body: '60 A 192.0.2.2\nIN A 192.0.2.3\nA A 192.0.2.4\n', want: ['60.example.com. 3600 IN A 192.0.2.2', 'A.example.com. 3600 IN A 192.0.2.4', 'IN.example.com. 3600 IN A 192.0.2.3'] },
  {
    name: 'TTL above 2^31-1 becomes 0 (RFC 2181 §8)',
    body: 'x 2147483648 A 192.0.2.2\n',
    want: ['x.example.com. 0 IN A 192.0.2.2'],
    warn: [/zone.db:5:3: warning: TTL 2147483648 is above 2147483647; using 0/],
  },
  {
    name: 'differing TTLs in one batch take the first',
    body: 'x 100 A 192.0.2.2\nx 200 A 192.0.2.3\n',
    want: ['x.example.com. 100 IN A 192.0.2.2', 'x.example.com. 100 IN A 192.0.2.3'],
    warn: [/zone.db:6:1: warning: TTL 200 differs from the TTL 100 .* TTL set to 100/],
  },
  {
    name: 'a later batch sets the RRset TTL, as BIND does',
    body: 'x 100 A 192.0.2.2\ny A 192.0.2.9\nx 200 A 192.0.2.3\n',
    want: ['x.example.com. 200 IN A 192.0.2.2', 'x.example.com. 200 IN A 192.0.2.3', 'y.example.com. 3600 IN A 192.0.2.9'],
    warn: [/zone.db:7:1: warning: TTL 200 differs .* the RRset takes the later TTL 200/],
  },
  {
    name: 'glue under an NS owner does not end its batch, as in BIND',
    body: 'sub 100 NS ns.sub\nns.sub A 192.0.2.2\nsub 200 NS ns2.example.net.\n',
    want: ['sub.example.com. 100 IN NS ns.sub.example.com.', 'sub.example.com. 100 IN NS ns2.example.net.', 'ns.sub.example.com. 3600 IN A 192.0.2.2'],
    warn: [/zone.db:7:1: warning: TTL 200 differs from the TTL 100 .* TTL set to 100/],
  },
  { name: 'RRSIGs keep a TTL per type covered', body: 'x 60 RRSIG A 13 3 60 20300101000000 20200101000000 1 example.com. AAAA\nx 70 RRSIG TXT 13 3 70 20300101000000 20200101000000 1 example.com. AAAA\n', want: ['x.example.com. 60 IN RRSIG A 13 3 60 20300101000000 20200101000000 1 example.com. AAAA', 'x.example.com. 70 IN RRSIG TXT 13 3 70 20300101000000 20200101000000 1 example.com. AAAA'] },
  // layout
  { name: 'parentheses across lines with comments', body: 'x IN SOA ( ns1 ; a\n h\n 1 2 3 4 5 )\n'.replace('x IN SOA', '@ IN TXT').replace(' ( ns1 ; a\n h\n 1 2 3 4 5 )', ' ( "a" ; one\n "b"\n )'), want: ['example.com. 3600 IN TXT "a" "b"'] },
  { name: 'comment at the end of any line', body: 'x A 192.0.2.2 ; comment ( "\n', want: ['x.example.com. 3600 IN A 192.0.2.2'] },
  { name: 'no newline at the end of the file', body: 'x A 192.0.2.2', want: ['x.example.com. 3600 IN A 192.0.2.2'] },
  // strings
  { name: 'quoted strings with \\" and \\DDD', body: 'x TXT "say \\"hi\\"" "\\065\\066" "tab\\009"\n', want: ['x.example.com. 3600 IN TXT "say \\"hi\\"" "AB" "tab\\009"'] },
  { name: 'unquoted strings and escaped blanks', body: 'x TXT one two\\ words\n', want: ['x.example.com. 3600 IN TXT "one" "two words"'] },
  { name: 'UTF-8 text stays octets', body: 'x TXT "café"\n', want: ['x.example.com. 3600 IN TXT "caf\\195\\169"'] },
  { name: '255-octet string', body: `x TXT "${'a'.repeat(255)}"\n`, want: [`x.example.com. 3600 IN TXT "${'a'.repeat(255)}"`] },
  // RFC 3597
  { name: '\\# for an unknown type', body: 'x TYPE1234 \\# 3 010203\n', want: ['x.example.com. 3600 IN TYPE1234 \\# 3 010203'] },
  { name: '\\# 0', body: 'x TYPE1234 \\# 0\n', want: ['x.example.com. 3600 IN TYPE1234 \\# 0'] },
  { name: '\\# for a known type reads as that type', body: 'x A \\# 4 C0 00 02 02\n', want: ['x.example.com. 3600 IN A 192.0.2.2'] },
  { name: '\\# for a type known only by number (HTTPS)', body: 'x HTTPS \\# 3 000100\n', want: ['x.example.com. 3600 IN HTTPS 1 .'] },
  // duplicates and data outside
  { name: 'exact duplicates collapse (RFC 2181 §5)', body: 'x A 192.0.2.2\nx A 192.0.2.2\nx TXT "a"\nx TXT a\n', want: ['x.example.com. 3600 IN A 192.0.2.2', 'x.example.com. 3600 IN TXT "a"'] },
  { name: 'names in RDATA compare without case; in one batch the later spelling stays, as in BIND', body: 'x MX 10 NS1\nx MX 10 ns1\n', want: ['x.example.com. 3600 IN MX 10 ns1.example.com.'] },
  {
    name: 'data outside the zone is ignored with a warning, as BIND does',
    body: 'foo.example.net. A 192.0.2.2\n',
    want: [],
    warn: [/zone.db:5:1: warning: ignoring out-of-zone data \(foo\.example\.net\.\)/],
  },
  // $GENERATE
  { name: '$GENERATE with $', body: '$GENERATE 1-3 host$ A 192.0.2.$\n', want: ['host1.example.com. 3600 IN A 192.0.2.1', 'host2.example.com. 3600 IN A 192.0.2.2', 'host3.example.com. 3600 IN A 192.0.2.3'] },
  { name: '$GENERATE with step, TTL and class', body: '$GENERATE 0-10/5 h${0,2,d} 60 IN A 192.0.2.$\n', want: ['h00.example.com. 60 IN A 192.0.2.0', 'h05.example.com. 60 IN A 192.0.2.5', 'h10.example.com. 60 IN A 192.0.2.10'] },
  { name: '$GENERATE with quoted RDATA', body: '$GENERATE 1-1 m$ MX "10 ns$"\n', want: ['m1.example.com. 3600 IN MX 10 ns1.example.com.'] },
  { name: '$GENERATE with explicit + offset', body: '$GENERATE 1-2 host$ A 192.0.2.${+100}\n', want: ['host1.example.com. 3600 IN A 192.0.2.101', 'host2.example.com. 3600 IN A 192.0.2.102'] },
  { name: '$GENERATE with negative offset, class then TTL', body: '$GENERATE 1-2 n${-1} IN 60 TXT "${-2,3}"\n', want: ['n0.example.com. 60 IN TXT "-01"', 'n1.example.com. 60 IN TXT "000"'] },
  { name: '$GENERATE with $$ and \\$', body: '$GENERATE 7-7 a$$\\$$ TXT "$$"\n', want: ['a\\$\\$7.example.com. 3600 IN TXT "$"'] },
  { name: '$GENERATE nibbles', body: '$GENERATE 26-26 ${0,3,n}.n PTR ${0,4,N}x.\n', want: ['a.1.n.example.com. 3600 IN PTR A.1.x.'] },
  { name: '$GENERATE with a dot inside a generated label', body: '$GENERATE 1-1 a\\.$ A 192.0.2.$\n', want: ['a\\.1.example.com. 3600 IN A 192.0.2.1'] },
  { name: '$GENERATE reverse names', body: '$GENERATE 1-2 $ PTR host$.example.com.\n', origin: '2.0.192.in-addr.arpa.', want: ['1.2.0.192.in-addr.arpa. 3600 IN PTR host1.example.com.', '2.2.0.192.in-addr.arpa. 3600 IN PTR host2.example.com.'] },
];

describe('zone syntax', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = c.origin ? load({ 'zone.db': HEAD.replace(/ns1/g, 'ns1.example.com.').replace('hostmaster', 'hostmaster.example.com.').replace('ns1.example.com. IN A 192.0.2.1', '') + c.body }, c.origin) : loadBody(c.body);
      const zone = ok(r);
      expect(lines(zone).filter((l) => !l.includes(' IN SOA ') && !/^\S+ \d+ IN NS ns1\.example\.com\.$/.test(l))).to.deep.equal(c.want);
      const w = warnings(r);
      for (const pattern of c.warn ?? []) expect(w.some((x) => pattern.test(x)), `no warning like ${pattern} in:\n${w.join('\n')}`).to.equal(true);
      if (!c.warn) expect(w).to.deep.equal([]);
    });
  }

  describe('the root zone (RFC 8806 local root)', () => {
    const root = [
      '$TTL 86400',
      '@ IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400',
      '  IN NS a.root-servers.net.',
      'a.root-servers.net IN A 198.41.0.4',
      'com 172800 IN NS a.gtld-servers.net.',
      'com IN DS 19718 13 2 ' + 'ab'.repeat(32),
      'a.gtld-servers.net. 172800 IN A 192.5.6.30',
      '$ORIGIN example.',
      '@ NS ns1',
      'ns1 A 192.0.2.53',
      '$ORIGIN .',
      'arpa NS a.root-servers.net.',
    ].join('\n') + '\n';
    for (const origin of ['.', '']) {
      it(`loads with the origin ${JSON.stringify(origin)}: @, names relative to the root, $ORIGIN .`, () => {
        const zone = ok(load({ 'root.zone': root }, origin));
        expect(zone.origin).to.equal('.');
        expect(zone.soa.name).to.equal('.');
        expect([...zone.nodes.keys()]).to.deep.equal(['.', 'a.root-servers.net', 'com', 'a.gtld-servers.net', 'example', 'ns1.example', 'arpa']);
        expect(lines(zone)).to.deep.equal([
          '. 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400',
          '. 86400 IN NS a.root-servers.net.',
          'arpa. 86400 IN NS a.root-servers.net.',
          'com. 172800 IN NS a.gtld-servers.net.',
          'com. 86400 IN DS 19718 13 2 ' + 'AB'.repeat(28) + ' ' + 'AB'.repeat(4),
          'example. 86400 IN NS ns1.example.',
          'ns1.example. 86400 IN A 192.0.2.53',
          'a.gtld-servers.net. 172800 IN A 192.5.6.30',
          'a.root-servers.net. 86400 IN A 198.41.0.4',
        ]);
        expect(warnings(load({ 'root.zone': root }, origin))).to.deep.equal([]);
      });
    }
  });

  describe('TTL defaults without $TTL (BIND rules)', () => {
    it('an SOA without TTL gives its MINIMUM as the default, with a warning', () => {
      const r = load({ z: '@ IN SOA ns1 h 1 2 3 4 321\n IN NS ns1\nns1 A 192.0.2.1\nx 77 A 192.0.2.2\ny A 192.0.2.3\n' });
      expect(lines(ok(r))).to.deep.equal([
        'example.com. 321 IN SOA ns1.example.com. h.example.com. 1 2 3 4 321',
        'example.com. 321 IN NS ns1.example.com.',
        'ns1.example.com. 321 IN A 192.0.2.1',
        'x.example.com. 77 IN A 192.0.2.2',
        'y.example.com. 321 IN A 192.0.2.3',
      ]);
      expect(warnings(r)).to.deep.equal(['z:1:6: warning: no TTL specified; using the SOA MINIMUM (321) instead, as BIND does; add a $TTL line']);
    });
    it('otherwise a record takes the previous TTL (RFC 1035 §5.1), with one warning', () => {
      const r = load({ z: '@ 99 IN SOA ns1 h 1 2 3 4 5\n IN NS ns1\nns1 A 192.0.2.1\nx 77 A 192.0.2.2\ny A 192.0.2.3\n' });
      const z = ok(r);
      expect(lines(z)).to.deep.equal(['example.com. 99 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5', 'example.com. 99 IN NS ns1.example.com.', 'ns1.example.com. 99 IN A 192.0.2.1', 'x.example.com. 77 IN A 192.0.2.2', 'y.example.com. 77 IN A 192.0.2.3']);
      expect(warnings(r)).to.deep.equal(["z:2:5: warning: no $TTL: records without a TTL take the previous record's TTL (99), as in RFC 1035; add a $TTL line"]);
    });
  });

  describe('$INCLUDE (RFC 1035 §5.1)', () => {
    it('reads the file relative to the including file, with its own origin; owner and origin come back, $TTL stays', () => {
      const r = load({
        'zones/main.zone': HEAD + 'host A 192.0.2.10\n$INCLUDE inc/part.inc sub\n AAAA 2001:db8::10\nafter A 192.0.2.11\n',
        'zones/inc/part.inc': '@ A 192.0.2.20\n$ORIGIN other.example.com.\nwww A 192.0.2.21\n$INCLUDE deeper.inc\n',
        'zones/inc/deeper.inc': '$TTL 60\nd A 192.0.2.22\n',
      });
      expect(lines(ok(r))).to.deep.equal([
        'after.example.com. 60 IN A 192.0.2.11',
        'host.example.com. 3600 IN A 192.0.2.10',
        'host.example.com. 60 IN AAAA 2001:db8::10',
        'd.other.example.com. 60 IN A 192.0.2.22',
        'www.other.example.com. 3600 IN A 192.0.2.21',
        'sub.example.com. 3600 IN A 192.0.2.20',
      ]);
    });
    it('an included file may start by continuing the includer\'s owner', () => {
      const r = load({ 'a.zone': HEAD + 'x A 192.0.2.2\n$INCLUDE b.inc\n', 'b.inc': ' TXT "more"\n' });
      expect(lines(ok(r))).to.deep.equal(['x.example.com. 3600 IN A 192.0.2.2', 'x.example.com. 3600 IN TXT "more"']);
    });
  });
});
