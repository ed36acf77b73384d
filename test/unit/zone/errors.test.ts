/** Every error message, with the line and column it points at. */

import { expect } from 'chai';
import { parseZone } from '../../../src/zone/index.js';
import { errors, HEAD, load, loadBody } from './helpers.js';

/** [what, the lines after HEAD (which starts them at line 5), the errors in full]. */
const cases: [string, string, string[]][] = [
  // lexical
  ['unbalanced ")"', 'x TXT ) "a"\n', ['zone.db:5:7: unbalanced parentheses: ")" without "("']],
  ['"(" never closed', 'x TXT ( "a"\ny A 192.0.2.1\n', ['zone.db:5:7: unbalanced parentheses: "(" is never closed']],
  ['string not closed', 'x TXT "a\ny A 192.0.2.1\n', ['zone.db:5:7: unbalanced quotes: string is not closed on its line']],
  ['backslash at the end of a line', 'x TXT a\\\n', ['zone.db:5:8: backslash at the end of a line escapes nothing']],
  // owner, TTL, class, type
  ['blank owner on the first record', '', []],
  ['empty label', 'a..b A 192.0.2.1\n', ['zone.db:5:1: empty label in name "a..b"']],
  ['label too long', `${'a'.repeat(64)} A 192.0.2.1\n`, [`zone.db:5:1: label longer than 63 octets in name "${'a'.repeat(64)}"`]],
  ['name too long', `${'abcdefghi.'.repeat(25)}xyz A 192.0.2.1\n`, [`zone.db:5:1: name "${'abcdefghi.'.repeat(25)}xyz" is longer than 255 octets`]],
  ['bad escape in a name', 'a\\1x A 192.0.2.1\n', ['zone.db:5:1: bad escape in name "a\\1x": \\DDD needs three digits, at most 255']],
  ['label too long, escapes counted as octets', `${'\\000'.repeat(64)} A 192.0.2.1\n`, [`zone.db:5:1: label longer than 63 octets in name "${'\\000'.repeat(64)}"`]],
  ['name too long, escapes counted as octets', `${'\\..'.repeat(128)} A 192.0.2.1\n`, [`zone.db:5:1: name "${'\\..'.repeat(128)}" is longer than 255 octets`]],
  ['bad TTL', 'x 1x A 192.0.2.1\n', ['zone.db:5:3: bad TTL "1x": use seconds, or units like 1h30m (s, m, h, d, w)']],
  ['TTL with a unitless tail', 'x 1h30 A 192.0.2.1\n', ['zone.db:5:3: bad TTL "1h30": use seconds, or units like 1h30m (s, m, h, d, w)']],
  ['class other than IN', 'x CH A 192.0.2.1\n', ["zone.db:5:3: class CH does not match the zone's class IN"]],
  ['CLASSnnn other than 1', 'x CLASS3 A 192.0.2.1\n', ["zone.db:5:3: class CH does not match the zone's class IN"]],
  ['missing type', 'x 60 IN\n', ['zone.db:5:8: missing RR type']],
  ['unknown type', 'x IN BOGUS 1\n', ['zone.db:5:6: unknown RR type "BOGUS"']],
  ['TYPE beyond 65535', 'x TYPE65536 \\# 0\n', ['zone.db:5:3: unknown RR type "TYPE65536"']],
  ['second TTL', 'x 60 70 A 192.0.2.1\n', ['zone.db:5:6: unknown RR type "70"']],
  ['meta type', 'x OPT \\# 0\n', ['zone.db:5:3: type OPT cannot appear in zone data (RFC 6895 §3.1)']],
  ['meta type by number', 'x TYPE251 \\# 0\n', ['zone.db:5:3: type IXFR cannot appear in zone data (RFC 6895 §3.1)']],
  // RDATA
  ['bad IPv4', 'x A 10.0.0.256\n', ['zone.db:5:5: bad IPv4 address "10.0.0.256"']],
  ['bad IPv6', 'x AAAA 2001:db8::g\n', ['zone.db:5:8: bad IPv6 address "2001:db8::g"']],
  ['missing field', 'x MX 10\n', ['zone.db:5:8: missing mail exchanger']],
  ['not a number', 'x MX ten mail\n', ['zone.db:5:6: bad preference "ten": not a number']],
  ['out of range', 'x MX 65536 mail\n', ['zone.db:5:6: preference 65536 is out of range (0..65535)']],
  ['extra text', 'x A 192.0.2.1 192.0.2.2\n', ['zone.db:5:15: extra text "192.0.2.2" after the record data']],
  ['bad escape in a string', 'x TXT "\\300"\n', ['zone.db:5:7: bad escape in "\\300": \\DDD needs three digits, at most 255']],
  ['string over 255 octets', `x TXT ${'a'.repeat(256)}\n`, ['zone.db:5:7: text is 256 octets long; a character-string holds at most 255']],
  ['no text', 'x TXT\n', ['zone.db:5:6: missing text']],
  ['bad hex', 'x TLSA 3 1 1 abc\n', ['zone.db:5:14: bad hex "abc"']],
  ['bad base64', 'x DNSKEY 257 3 13 AAB=\n', ['zone.db:5:19: bad base64 "AAB="']],
  ['bad algorithm mnemonic', 'x DS 1 NOPE 2 00\n', ['zone.db:5:8: unknown algorithm "NOPE"']],
  ['bad salt', 'x NSEC3PARAM 1 0 10 xyz\n', ['zone.db:5:21: bad salt "xyz": hex, or - for none']],
  ['bad base32hex', 'x NSEC3 1 0 1 - 0 A\n', ['zone.db:5:17: bad base32hex "0"']],
  ['unknown type in a bitmap', 'x NSEC y A FOO\n', ['zone.db:5:12: unknown RR type "FOO"']],
  ['empty NSEC bitmap', 'x NSEC y\n', ['zone.db:5:9: missing type']],
  ['bad signature time', 'x RRSIG A 13 2 60 20240230000000 20240101000000 1 example.com. AAAA\n', ['zone.db:5:19: signature time "20240230000000" is not a valid date']],
  ['missing signature', 'x RRSIG A 13 2 60 20240201000000 20240101000000 1 example.com.\n', ['zone.db:5:63: missing base64 data']],
  ['URI target unquoted', 'x URI 10 1 ftp://x\n', ['zone.db:5:12: the URI target must be a quoted string, not ftp://x']],
  ['bad CAA tag', 'x CAA 0 is-sue "x"\n', ['zone.db:5:9: bad CAA tag "is-sue": letters and digits only']],
  ['DS digest length', 'x DS 1 13 2 0123\n', ['zone.db:5:13: digest type 2 needs a 32-octet digest, not 2']],
  ['SSHFP fingerprint length', 'x SSHFP 1 1 abcd\n', ['zone.db:5:13: fingerprint type 1 needs a 20-octet fingerprint, not 2']],
  ['SSHFP type dns-packet cannot write', 'x SSHFP 1 3 abcd\n', ['zone.db:5:11: SSHFP fingerprint type 3 cannot be represented by dns-packet (only 1, SHA-1, and 2, SHA-256)']],
  ['DNSKEY protocol dns-packet cannot write', 'x DNSKEY 257 4 13 AAAA\n', ['zone.db:5:14: DNSKEY protocol 4 cannot be represented by dns-packet (it writes 3, RFC 4034 §2.1.2)']],
  ['ZONEMD digest length', 'x ZONEMD 1 1 1 0102030405060708090a0b0c\n', ['zone.db:5:16: hash algorithm 1 needs a 48-octet digest, not 12']],
  ['LOC degrees', 'x LOC 91 N 4 E 0\n', ['zone.db:5:7: degrees 91 out of range (0..90)']],
  ['LOC hemisphere', 'x LOC 52 1 2 3 E 0\n', ['zone.db:5:14: expected N or S after the seconds of latitude, not "3"']],
  ['SVCB repeated key', 'x HTTPS 1 . alpn=h2 alpn=h3\n', ['zone.db:5:21: SvcParam alpn appears twice']],
  ['SVCB unknown key', 'x HTTPS 1 . color=red\n', ['zone.db:5:13: unknown SvcParam key "color"']],
  ['SVCB mandatory key absent', 'x SVCB 1 . mandatory=port\n', ['zone.db:5:12: mandatory lists port, which is not present']],
  ['non-UTF-8 text dns-packet must write as a string', 'x HINFO "\\255" os\n', ['zone.db:5:9: HINFO CPU contains octets that are not UTF-8, which dns-packet cannot represent']],
  ['meta type in a bitmap', 'x NSEC y A TYPE251\n', ['zone.db:5:10: type bitmap names the meta type 251']],
  ['SVCB value without a key', 'x HTTPS 1 . "h2"\n', ['zone.db:5:13: unexpected quoted string "h2": SvcParams are key=value']],
  ['SVCB no-default-alpn alone', 'x HTTPS 1 . no-default-alpn\n', ['zone.db:5:13: no-default-alpn needs an alpn param (RFC 9460 §7.1.1)']],
  ['SVCB port without value', 'x HTTPS 1 . port\n', ['zone.db:5:13: SvcParam port needs a value']],
  ['LOC altitude', 'x LOC 52 N 4 E 1.234m\n', ['zone.db:5:16: bad altitude "1.234m": metres with at most two decimals']],
  ['EUI48 without dashes', 'x EUI48 0a0b0c0d0e0f\n', ['zone.db:5:9: bad EUI-48 address "0a0b0c0d0e0f"']],
  ['type without a presentation reader here', 'x APL 1:192.0.2.0/24\n', ['zone.db:5:7: APL records can only be written here in RFC 3597 form: \\# length hex']],
  ['NULL in presentation form', 'x NULL abc\n', ['zone.db:5:8: NULL records can only be written in RFC 3597 form: \\# length hex']],
  // RFC 3597
  ['\\# length not a number', 'x TYPE1234 \\# x 01\n', ['zone.db:5:15: bad RDATA length "x" after \\#']],
  ['\\# length disagrees', 'x TYPE1234 \\# 4 0102\n', ['zone.db:5:15: \\# says 4 octets but the hex holds 2']],
  ['\\# bad hex', 'x TYPE1234 \\# 2 01020\n', ['zone.db:5:17: bad hex "01020" in RFC 3597 RDATA']],
  ['\\# too short for the type', 'x A \\# 3 010203\n', ['zone.db:5:8: bad A data in RFC 3597 form: record data ends too early']],
  ['\\# too long for the type', 'x A \\# 5 0102030405\n', ['zone.db:5:8: bad A data in RFC 3597 form: 1 octets left over']],
  ['\\# that dns-packet would write differently', 'x DNSKEY \\# 6 010104080000\n', ['zone.db:5:13: DNSKEY protocol 4 cannot be represented by dns-packet (it writes 3, RFC 4034 §2.1.2)']],
  // directives
  ['unknown directive', '$FOO bar\n', ['zone.db:5:1: unknown directive "$FOO" (known: $ORIGIN, $TTL, $INCLUDE, $GENERATE)']],
  ['$ORIGIN without name', '$ORIGIN\n', ['zone.db:5:8: $ORIGIN needs one domain name']],
  ['$ORIGIN with extra text', '$ORIGIN a b\n', ['zone.db:5:11: extra text "b": $ORIGIN needs one domain name']],
  ['$ORIGIN bad name', '$ORIGIN a..b\n', ['zone.db:5:9: empty label in name "a..b"']],
  ['$TTL without value', '$TTL\n', ['zone.db:5:5: $TTL needs one TTL']],
  ['$TTL bad value', '$TTL 1h30x\n', ['zone.db:5:6: bad TTL "1h30x": use seconds, or units like 1h30m (s, m, h, d, w)']],
  ['$INCLUDE missing file', '$INCLUDE nope.inc\n', ['zone.db:5:10: cannot read $INCLUDE file "nope.inc": no such file']],
  ['$INCLUDE too many arguments', '$INCLUDE a b c\n', ['zone.db:5:14: extra text "c": $INCLUDE needs a file name and optionally an origin']],
  ['$GENERATE too short', '$GENERATE 1-2 x$ A\n', ['zone.db:5:19: $GENERATE needs: range owner [TTL] [class] type rdata']],
  ['$GENERATE bad range', '$GENERATE 3-1 x$ A 192.0.2.$\n', ['zone.db:5:11: bad $GENERATE range "3-1": use start-stop or start-stop/step, start <= stop < 2^31']],
  ['$GENERATE too many records', '$GENERATE 0-2147483647 x$ A 192.0.2.1\n', ['zone.db:5:11: $GENERATE range "0-2147483647" makes more than 16777216 records']],
  ['$GENERATE RDATA split', '$GENERATE 1-2 x$ MX 10 mail$\n', ['zone.db:5:21: extra text "10" in $GENERATE: the RDATA template is one token; quote it to hold blanks']],
  ['$GENERATE bad modifier', '$GENERATE 1-2 x${0,2,q} A 192.0.2.1\n', ['zone.db:5:15: bad $GENERATE modifier "${0,2,q}": use ${offset}, ${offset,width} or ${offset,width,base} with base d, o, x, X, n or N']],
  ['$GENERATE modifier not closed', '$GENERATE 1-2 x A 192.0.2.${1,2,d\n', ['zone.db:5:19: bad $GENERATE modifier "${1,2,d": use ${offset}, ${offset,width} or ${offset,width,base} with base d, o, x, X, n or N']],
  ['$GENERATE empty modifier', '$GENERATE 1-2 x${} A 192.0.2.1\n', ['zone.db:5:15: bad $GENERATE modifier "${}": use ${offset}, ${offset,width} or ${offset,width,base} with base d, o, x, X, n or N']],
  ['$GENERATE negative width', '$GENERATE 1-2 x${0,-2} A 192.0.2.1\n', ['zone.db:5:15: bad $GENERATE modifier "${0,-2}": use ${offset}, ${offset,width} or ${offset,width,base} with base d, o, x, X, n or N']],
  ['$GENERATE value above 2^31-1', '$GENERATE 0-1 x${2147483647} A 192.0.2.1\n', ['zone.db:5:15: $GENERATE "${2147483647}" at 1 gives 2147483648, above 2147483647: lower the offset or the range']],
  ['$GENERATE offset beyond 32 bits', '$GENERATE 0-1 x${-2147483649} A 192.0.2.1\n', ['zone.db:5:15: $GENERATE offset -2147483649 is out of range (-2147483648..2147483647)']],
  ['$GENERATE substitution too wide', '$GENERATE 0-1 x A 192.0.2.${0,128}\n', ['zone.db:5:19: $GENERATE "${0,128}" makes 128 characters, BIND allows at most 127: use a smaller width']],
  ['$GENERATE owner with a label too long', '$GENERATE 0-1 x${0,64} A 192.0.2.1\n', [`zone.db:5:15: $GENERATE owner "x${'0'.repeat(64)}": label longer than 63 octets in name "x${'0'.repeat(64)}"`]],
  ['$GENERATE bad owner', '$GENERATE 1-2 x$.. A 192.0.2.1\n', ['zone.db:5:15: $GENERATE owner "x1..": empty label in name "x1.."']],
  ['$GENERATE RDATA that does not lex', '$GENERATE 1-2 x$ TXT "a ) $"\n', ['zone.db:5:22: $GENERATE RDATA "a ) 1": unbalanced parentheses: ")" without "("']],
  ['$GENERATE bad RDATA, once', '$GENERATE 250-260 x$ A 192.0.2.$\n', ['zone.db:5:24: bad IPv4 address "192.0.2.256"']],
  // rules of the zone
  ['SOA away from the apex', 'sub SOA ns1 h 1 2 3 4 5\n', ['zone.db:5:1: SOA record at sub.example.com. is not at the zone apex example.com.']],
  ['second SOA', '@ SOA ns1 h 2 2 3 4 5\n', ['zone.db:5:1: a second SOA record at example.com.; a name holds only one SOA record']],
  ['CNAME beside other data', 'x A 192.0.2.1\nx CNAME y\n', ['zone.db:6:1: CNAME and other data at x.example.com.: a name with a CNAME record holds no other records (RFC 1034 §3.6.2)']],
  ['other data beside a CNAME', 'x CNAME y\nx TXT "a"\n', ['zone.db:6:1: CNAME and other data at x.example.com.: a name with a CNAME record holds no other records (RFC 1034 §3.6.2)']],
  ['CNAME at the apex', '@ CNAME y\n', ['zone.db:5:1: CNAME and other data at example.com.: a name with a CNAME record holds no other records (RFC 1034 §3.6.2)']],
  ['second CNAME', 'x CNAME y\nx CNAME z\n', ['zone.db:6:1: a second CNAME record at x.example.com.; a name holds only one CNAME record']],
  ['second DNAME', 'x DNAME y\nx DNAME z\n', ['zone.db:6:1: a second DNAME record at x.example.com.; a name holds only one DNAME record']],
  ['DS at the apex', '@ DS 1 13 2 ' + 'ab'.repeat(32) + '\n', ['zone.db:5:1: DS record at the zone apex example.com.: a DS record belongs in the parent zone (RFC 4035 §2.4)']],
  ['NS at a wildcard', '*.x NS ns1\n', ['zone.db:5:1: NS records at the wildcard name *.x.example.com.: BIND refuses them (RFC 4592 §4.2)']],
  ['NAPTR regexp delimiter', 'x NAPTR 1 2 "" "" "1a1b1" .\n', ['zone.db:5:19: bad NAPTR regexp: the delimiter cannot be a digit, a backslash or i (RFC 3403 §4.1)']],
  ['NAPTR regexp flags', 'x NAPTR 1 2 "" "" "!a!b!x" .\n', ['zone.db:5:19: bad NAPTR regexp: the only flag is i (RFC 3403 §4.1)']],
  ['NAPTR regexp delimiters', 'x NAPTR 1 2 "" "" "!a!b" .\n', ['zone.db:5:19: bad NAPTR regexp: it needs three delimiters (RFC 3403 §4.1)']],
  ['NAPTR back-reference', 'x NAPTR 1 2 "" "" "!(a)!\\\\2!" .\n', ['zone.db:5:19: bad NAPTR regexp: back-reference \\2 has no group (RFC 3403 §4.1)']],
  ['NSEC3 owner not a hash', 'n3 NSEC3 1 1 10 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A\n', ['zone.db:5:1: NSEC3 owner n3.example.com. does not start with a base32hex hash label (RFC 5155 §3)']],
];

describe('zone errors', () => {
  for (const [name, body, want] of cases) {
    if (want.length === 0) continue;
    it(name, () => expect(errors(loadBody(body))).to.deep.equal(want));
  }

  const whole: [string, Record<string, string>, string[]][] = [
    ['no owner for the first record', { z: '$TTL 1\n  A 192.0.2.1\n' }, ['z:2:3: no owner name: the first record must name its owner (a line starting with a blank repeats the previous owner)', 'z: no SOA record at the zone apex example.com.', 'z: no NS records at the zone apex example.com.']],
    ['no TTL anywhere', { z: 'x A 192.0.2.1\n@ 60 SOA ns1 h 1 2 3 4 5\n NS ns1\nns1 A 192.0.2.1\n' }, ['z:1:3: no TTL: this record has none and no $TTL or earlier TTL applies (RFC 2308 §4)']],
    ['no SOA and no NS', { z: '$TTL 1\nx A 192.0.2.1\n' }, ['z: no SOA record at the zone apex example.com.', 'z: no NS records at the zone apex example.com.']],
    ['apex NS without address', { z: '$TTL 1\n@ SOA ns1 h 1 2 3 4 5\n NS ns1\n NS ns2.example.net.\n' }, ['z:3:2: NS target ns1.example.com. has no address records (A or AAAA) in the zone']],
    ['apex NS that is a CNAME', { z: '$TTL 1\n@ SOA ns1 h 1 2 3 4 5\n NS ns1\nns1 CNAME ns.example.net.\n' }, ['z:3:2: NS target ns1.example.com. is a CNAME, which RFC 2181 §10.3 forbids']],
    ['apex NS below a DNAME', { z: '$TTL 1\n@ SOA ns1 h 1 2 3 4 5\n NS ns.x\nx DNAME example.net.\nns.x A 192.0.2.1\n' }, ['z:3:2: NS target ns.x.example.com. is below the DNAME at x.example.com., so it cannot be reached (RFC 6672 §2.3)']],
    ['CDS without a DNSKEY of its algorithm', { z: HEAD + '@ CDS 1 13 2 ' + 'ab'.repeat(32) + '\n@ CDS 0 0 0 00\n' }, ['z: CDS at the apex names algorithm 13, but no apex DNSKEY has it (RFC 7344 §4.1)']],
    ['$INCLUDE nested too deep', Object.fromEntries([['a.zone', HEAD + '$INCLUDE i1.inc\n'], ...Array.from({ length: 21 }, (_, i) => [`i${i + 1}.inc`, `$INCLUDE i${i + 2}.inc\n`])]), ['i19.inc:1:10: $INCLUDE nested more than 20 deep']],
    ['RRset too big for a message (bounds found against named-checkzone)', { z: HEAD + '$GENERATE 1-3640 big AAAA 2001:db8::${0,0,x}\n' }, ['z: the AAAA records at big.example.com. hold 65520 octets of data; BIND refuses more than 65511 in one RRset, which must fit in one DNS message']],
    ['$INCLUDE loop', { 'a.zone': HEAD + '$INCLUDE b.inc\n', 'b.inc': '$INCLUDE a.zone\n' }, ['b.inc:1:10: $INCLUDE loop: a.zone includes b.inc includes a.zone']],
    ['errors in an included file name that file', { 'a.zone': HEAD + '$INCLUDE sub/b.inc\n', 'sub/b.inc': 'x A 1.2.3\n' }, ['sub/b.inc:1:5: bad IPv4 address "1.2.3"']],
  ];
  for (const [name, files, want] of whole) it(name, () => expect(errors(load(files))).to.deep.equal(want));

  // MX and SRV targets in the zone (warnings, as named-checkzone gives them): looked up by their wire octets (checks.ts).
  const targets: [string, string, string[]][] = [
    ['MX target that is a CNAME', 'm MX 10 c\nc CNAME x.example.net.\n', ['MX target c.example.com. of m.example.com. is a CNAME (RFC 2181 §10.3)']],
    ['SRV target without an address', '_s._tcp SRV 0 0 1 h\nh TXT "x"\n', ['SRV target h.example.com. of _s._tcp.example.com. has no address records (A or AAAA)']],
    ['MX target absent from the zone', 'm MX 10 gone\n', ['MX target gone.example.com. of m.example.com. has no address records (A or AAAA)']],
    ['MX target in capitals, found in any case, named as written', 'm MX 10 MAIL\nMail TXT "x"\n', ['MX target MAIL.example.com. of m.example.com. has no address records (A or AAAA)']],
    ['MX target with an address, in other capitals', 'M MX 10 MAIL\nmail A 192.0.2.9\n', []],
    ['MX target covered by a wildcard with an address', 'm MX 10 a.w\n*.w A 192.0.2.9\n', []],
    ['MX target covered by a wildcard without one', 'm MX 10 a.w\n*.w TXT "x"\n', ['MX target a.w.example.com. of m.example.com. has no address records (A or AAAA)']],
    ['MX target outside the zone', 'm MX 10 mail.example.net.\n', []],
    ['MX target a zone whose name ends like the apex', 'm MX 10 mail.notexample.com.\n', []],
    ['null MX and SRV "no service" targets (the root)', 'm MX 0 .\n_s._tcp SRV 0 0 0 .\n', []],
    ['MX target at the apex, which has an address', 'm MX 10 @\n@ A 192.0.2.9\n', []],
    ['target spelled by the owner of another case', 'M.example.com. MX 10 x\nx CNAME y.example.net.\n', ['MX target x.example.com. of M.example.com. is a CNAME (RFC 2181 §10.3)']],
  ];
  for (const [name, body, want] of targets) {
    it(name, () => {
      const r = loadBody(body);
      expect(r.ok, 'the zone loads').to.equal(true);
      expect(r.warnings.map((w) => w.message)).to.deep.equal(want);
    });
  }

  it('the zone file itself cannot be read', () => {
    const r = parseZone({ origin: 'example.com.', file: 'zones/missing.zone', readFile: () => { throw new Error('ENOENT: no such file or directory'); } });
    expect(errors(r)).to.deep.equal(['zones/missing.zone: cannot read zone file: ENOENT: no such file or directory']);
  });

  it('reports every error, not just the first, and goes on after each', () => {
    const body = 'a A 1.2.3\nb A 192.0.2.2\nc AAAA ::g\nd MX x y\ne A 192.0.2.5\n';
    const r = loadBody(body);
    expect(errors(r)).to.deep.equal(['zone.db:5:5: bad IPv4 address "1.2.3"', 'zone.db:7:8: bad IPv6 address "::g"', 'zone.db:8:6: bad preference "x": not a number']);
  });

  it('stops after the limit with "too many errors"', () => {
    const body = Array.from({ length: 150 }, (_, i) => `h${i} A 1.2.3\n`).join('');
    const r = parseZone({ origin: 'example.com.', file: 'z', readFile: () => HEAD + body, maxErrors: 100 });
    const e = errors(r);
    expect(e).to.have.length(101);
    expect(e[99]).to.equal('z:104:7: bad IPv4 address "1.2.3"');
    expect(e[100]).to.equal('z:105:8: too many errors (more than 100); stopped reading');
  });

  it('an RRset just small enough loads', () => {
    expect(load({ z: HEAD + '$GENERATE 1-3639 big AAAA 2001:db8::${0,0,x}\n' }).ok).to.equal(true);
  });

  it('a bad zone name', () => {
    expect(errors(parseZone({ origin: 'a..b', file: 'z', readFile: () => '' }))).to.deep.equal(['z: bad zone name "a..b": empty label in name "a..b"']);
  });
});
