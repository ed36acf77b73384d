/** Each RR type: presentation form → dns-packet answer → wire → decode, recordRdata, printed as BIND prints it, and the same from RFC 3597 form. */

import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { printRecord, type ZoneRecord } from '../../../src/zone/index.js';
import { packetRdata } from '../../../src/zone/rdata/packet.js';
import { genericText, recordRdata } from '../../../src/zone/rdata/rdata.js';
import { typeFromText, typeMnemonic } from '../../../src/zone/rdata/rrtypes.js';
import { at, HEAD, load, ok } from './helpers.js';

const KEY = 'mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==';
const KEY_PRINTED = 'mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+ KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==';
const DIGEST = '1F987CC6583E92DF0890718C42A6C2A8A5B7F94C9D56E6F4A5D3A2C1B0A99887';
const DIGEST_PRINTED = '1F987CC6583E92DF0890718C42A6C2A8A5B7F94C9D56E6F4A5D3A2C1 B0A99887';

/** [type as written, RDATA as written, dns-packet type name, RDATA as BIND prints it, data dns-packet decodes (when structural)]. */
const cases: [string, string, string, string, unknown?][] = [
  ['A', '192.0.2.1', 'A', '192.0.2.1', '192.0.2.1'],
  ['AAAA', '2001:DB8:0:0:0:0:0:1', 'AAAA', '2001:db8::1', '2001:db8::1'],
  ['AAAA', '::ffff:192.0.2.1', 'AAAA', '::ffff:192.0.2.1'],
  ['NS', 'ns.example.net.', 'NS', 'ns.example.net.', 'ns.example.net'],
  ['CNAME', 'www', 'CNAME', 'www.example.com.', 'www.example.com'],
  ['DNAME', 'example.net.', 'DNAME', 'example.net.', 'example.net'],
  ['PTR', 'host.example.net.', 'PTR', 'host.example.net.', 'host.example.net'],
  ['SOA', 'ns1 john\\.doe 2024010101 2h 1h 2w 5m', 'SOA', 'ns1.example.com. john\\.doe.example.com. 2024010101 7200 3600 1209600 300', { mname: 'ns1.example.com', rname: 'john\\.doe.example.com', serial: 2024010101, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }],
  ['MX', '10 mail', 'MX', '10 mail.example.com.', { preference: 10, exchange: 'mail.example.com' }],
  ['MX', '0 .', 'MX', '0 .', { preference: 0, exchange: '.' }],
  ['TXT', '"v=spf1 -all" "two"', 'TXT', '"v=spf1 -all" "two"', [Buffer.from('v=spf1 -all'), Buffer.from('two')]],
  ['TXT', '"\\000\\255"', 'TXT', '"\\000\\255"', [Buffer.from([0, 255])]],
  ['SRV', '10 60 5060 sip', 'SRV', '10 60 5060 sip.example.com.', { priority: 10, weight: 60, port: 5060, target: 'sip.example.com' }],
  ['CAA', '0 issue "letsencrypt.org"', 'CAA', '0 issue "letsencrypt.org"', { flags: 0, tag: 'issue', value: 'letsencrypt.org', issuerCritical: false }],
  ['CAA', '128 tbs "x"', 'CAA', '128 tbs "x"', { flags: 128, tag: 'tbs', value: 'x', issuerCritical: true }],
  ['NAPTR', '100 10 "S" "SIP+D2U" "!^.*$!sip:x@example.com!" _sip._udp', 'NAPTR', '100 10 "S" "SIP+D2U" "!^.*$!sip:x@example.com!" _sip._udp.example.com.', { order: 100, preference: 10, flags: 'S', services: 'SIP+D2U', regexp: '!^.*$!sip:x@example.com!', replacement: '_sip._udp.example.com' }],
  ['HINFO', '"PC" Linux', 'HINFO', '"PC" "Linux"', { cpu: 'PC', os: 'Linux' }],
  ['RP', 'john\\.doe.example.com. txt', 'RP', 'john\\.doe.example.com. txt.example.com.', { mbox: 'john\\.doe.example.com', txt: 'txt.example.com' }],
  ['SSHFP', '1 1 0123456789abcdef0123456789abcdef01234567', 'SSHFP', '1 1 0123456789ABCDEF0123456789ABCDEF01234567', { algorithm: 1, hash: 1, fingerprint: '0123456789ABCDEF0123456789ABCDEF01234567' }],
  ['TLSA', '3 1 1 0C72AC70', 'TLSA', '3 1 1 0C72AC70', { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from('0C72AC70', 'hex') }],
  ['DS', `2371 13 2 ${DIGEST}`, 'DS', `2371 13 2 ${DIGEST_PRINTED}`, { keyTag: 2371, algorithm: 13, digestType: 2, digest: Buffer.from(DIGEST, 'hex') }],
  ['DNSKEY', `257 3 ECDSAP256SHA256 ${KEY}`, 'DNSKEY', `257 3 13 ${KEY_PRINTED}`, { flags: 257, algorithm: 13, key: Buffer.from(KEY, 'base64') }],
  ['RRSIG', 'A 13 3 3600 20300101000000 20231201000000 2371 example.com. c2lnbmF0dXJl', 'RRSIG', 'A 13 3 3600 20300101000000 20231201000000 2371 example.com. c2lnbmF0dXJl', { typeCovered: 'A', algorithm: 13, labels: 3, originalTTL: 3600, expiration: 1893456000, inception: 1701388800, keyTag: 2371, signersName: 'example.com', signature: Buffer.from('c2lnbmF0dXJl', 'base64') }],
  ['NSEC', 'next.example.com. A NS TYPE1234 RRSIG', 'NSEC', 'next.example.com. A NS RRSIG TYPE1234', { nextDomain: 'next.example.com', rrtypes: ['A', 'NS', 'RRSIG', 'UNKNOWN_1234'] }],
  ['NSEC3', '1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG', 'NSEC3', '1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG', { algorithm: 1, flags: 1, iterations: 10, salt: Buffer.from('aabbccdd', 'hex'), nextDomain: Buffer.from('174eb2409fe28bcb4887a1836f957f0a8425e27b', 'hex'), rrtypes: ['A', 'RRSIG'] }],
  ['NULL', '\\# 2 ABCD', 'NULL', '\\# 2 ABCD', Buffer.from('abcd', 'hex')],
  // carried as wire RDATA (dns-packet knows the number, or not)
  ['SPF', '"v=spf1 -all"', 'SPF', '"v=spf1 -all"'],
  ['NSEC3PARAM', '1 0 10 -', 'NSEC3PARAM', '1 0 10 -'],
  ['CDS', `2371 13 2 ${DIGEST}`, 'CDS', `2371 13 2 ${DIGEST_PRINTED}`],
  ['CDNSKEY', `257 3 13 ${KEY}`, 'CDNSKEY', `257 3 13 ${KEY_PRINTED}`],
  ['URI', '10 1 "https://example.com/"', 'UNKNOWN_256', '10 1 "https://example.com/"'],
  ['CERT', 'PKIX 1 RSASHA256 AAAA', 'CERT', 'PKIX 1 RSASHA256 AAAA'],
  ['LOC', '52 22 23 N 4 53 32 E -2m', 'LOC', '52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m'],
  ['SVCB', '1 . alpn=h2,h3 port=8443', 'UNKNOWN_64', '1 . alpn="h2,h3" port=8443'],
  ['HTTPS', '1 . ipv6hint=2001:db8::1 ech=AAAA', 'UNKNOWN_65', '1 . ech=AAAA ipv6hint=2001:db8::1'],
  ['AFSDB', '1 afs', 'AFSDB', '1 afs.example.com.'],
  ['KX', '10 kx', 'KX', '10 kx.example.com.'],
  ['SMIMEA', '3 0 0 3082', 'UNKNOWN_53', '3 0 0 3082'],
  ['OPENPGPKEY', 'AAAA', 'UNKNOWN_61', 'AAAA'],
  ['ZONEMD', `1 1 1 ${'00'.repeat(48)}`, 'UNKNOWN_63', `1 1 1 ${'0'.repeat(56)} ${'0'.repeat(40)}`],
  ['CSYNC', '66 3 A NS AAAA', 'UNKNOWN_62', '66 3 A NS AAAA'],
  ['EUI48', '00-00-5E-00-53-2A', 'UNKNOWN_108', '00-00-5e-00-53-2a'],
  ['TYPE1234', '\\# 3 010203', 'UNKNOWN_1234', '\\# 3 010203'],
];

/** NSEC3 records need a hashed owner (RFC 5155 §3); others live at x. */
function ownerLabel(type: string): string {
  return type === 'NSEC3' ? '2t7b4g4vsa5smi47k61mv5bv1a22bojr' : 'x';
}

/** The one record `x 300 IN TYPE RDATA` loads as; an SOA replaces the apex SOA of HEAD instead. */
function only(type: string, rdata: string): ZoneRecord {
  if (type === 'SOA') {
    const text = HEAD.split('\n').filter((l) => !l.includes(' SOA ')).join('\n');
    return ok(load({ z: `@ 300 IN SOA ${rdata}\n${text}` })).soa;
  }
  const label = ownerLabel(type);
  const records = at(ok(load({ z: `${HEAD}${label} 300 IN ${type} ${rdata}\n` })), `${label}.example.com`);
  expect(records).to.have.length(1);
  return records[0]!;
}

describe('zone record types', () => {
  for (const [type, rdata, packetType, printed, decoded] of cases) {
    describe(`${type} ${rdata.length > 40 ? rdata.slice(0, 40) + '…' : rdata}`, () => {
      const owner = type === 'SOA' ? 'example.com' : `${ownerLabel(type)}.example.com`;

      it('is a dns-packet answer that encodes and decodes to the same wire', () => {
        const r = only(type, rdata);
        expect(r.type).to.equal(packetType);
        expect(r.class).to.equal('IN');
        expect(r.ttl).to.equal(300);
        const wire = dnsPacket.encode({ type: 'response', answers: [r as dnsPacket.Answer] });
        const back = dnsPacket.decode(wire).answers![0]! as ZoneRecord;
        expect(back.name).to.equal(owner);
        expect(back.type).to.equal(packetType);
        expect(back.ttl).to.equal(300);
        expect(dnsPacket.encode({ type: 'response', answers: [back as dnsPacket.Answer] }).equals(wire)).to.equal(true);
        if (decoded !== undefined) expect(back.data).to.deep.equal(decoded);
        if (packetType === 'AAAA' || Buffer.isBuffer(r.data) || decoded === undefined) return;
        expect(r.data).to.deep.equal(decoded);
      });

      it(`prints as BIND does: ${printed.length > 50 ? printed.slice(0, 50) + '…' : printed}`, () => {
        const line = printRecord(only(type, rdata));
        expect(line.split(/[\t ]+/).slice(0, 3).join(' ')).to.equal(`${owner}. 300 IN`);
        expect(line.slice(line.indexOf(' IN ') + 4).replace(/^\S+[\t ]+/, '')).to.equal(printed);
      });

      it('recordRdata gives the octets dns-packet writes (names without escapes)', () => {
        const r = only(type, rdata);
        expect(recordRdata(r).toString('hex')).to.equal(packetRdata(r).toString('hex'));
      });

      it('loads the same from RFC 3597 form (\\# length hex)', () => {
        const r = only(type, rdata);
        const generic = only(type, genericText(recordRdata(r)));
        expect(generic).to.deep.equal(r);
      });
    });
  }
});

describe('RR type tokens', () => {
  it('read every type number back from its mnemonic, in any case, and from TYPEnnn (RFC 3597 §5)', () => {
    // The common mnemonics are matched before the map: each must still give the map's number.
    let named = 0;
    for (let code = 1; code <= 0xffff; code++) {
      const m = typeMnemonic(code);
      expect(typeFromText(`TYPE${code}`), `TYPE${code}`).to.equal(code);
      if (m.startsWith('TYPE')) continue;
      named++;
      for (const t of [m, m.toLowerCase(), m[0] + m.slice(1).toLowerCase()]) expect(typeFromText(t), t).to.equal(code);
    }
    expect(named).to.be.greaterThan(80);
    for (const bad of ['', 'AA', 'AAAAA', 'CNAM', 'TXTX', 'TYPE', 'TYPE65536', 'TYPEx', 'IN']) expect(typeFromText(bad), bad).to.equal(-1);
  });
});
