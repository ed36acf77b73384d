/**
 * Negative answers written from the zone's SOA template (src/auth/negative-soa.ts)
 * are the octets the general compressor gives: each reply is expanded to
 * uncompressed names (dns-packet) and compressed again by compressNames,
 * which knows nothing of templates, and must come back identical.
 */

import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { answer } from '../../../src/dns/answer.js';
import { compressNames } from '../../../src/dns/compress.js';
import { loadZones } from '../../../src/zones.js';
import { ROOT } from '../../helpers/server.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const loaded = loadZones([{ name: 'example.com.', file: `${FIX}example.com.zone` }]);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const ctx = { identity: { server: 'w', version: 'v' }, zones: loaded.zones, recursion: null, ednsUdpSize: 1232, nsid: Buffer.from('w') };

/** The reply to one UDP question, with EDNS or not. */
function reply(name: string, type: string, edns: boolean): Buffer {
  const q = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: 0,
    questions: [{ name, type: type as 'A', class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never] : [],
  });
  const out = answer(q, ctx, { transport: 'udp', address: '127.0.0.1' });
  if (out.kind !== 'reply') throw new Error(`${name} ${type}: ${out.kind}`);
  return out.bytes;
}

describe('negative answers from the SOA template equal general compression', () => {
  // The zone's SOA: MNAME ns1.example.com., RNAME hostmaster.example.com.
  const cases: [string, string, string][] = [
    ['the apex itself, NODATA', 'example.com', 'PTR'],
    ['one label, NXDOMAIN', 'x7f3k2q.example.com', 'A'],
    ['two labels, NXDOMAIN, mixed case', 'K2j9a.X7f3K2q.ExAmPlE.CoM', 'MX'],
    ['below MNAME: its suffix ns1.example.com is in the question', 'nothere.ns1.example.com', 'A'],
    ['MNAME itself, NODATA', 'ns1.example.com', 'TXT'],
    ['MNAME in other case', 'NS1.example.com', 'TXT'],
    ['below RNAME: hostmaster.example.com is in the question', 'a.hostmaster.example.com', 'A'],
    ['RNAME itself, NXDOMAIN', 'HostMaster.example.com', 'AAAA'],
    ['a label that starts like MNAME\'s', 'ns10.example.com', 'A'],
    ['a long name', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example.com`, 'A'],
  ];
  for (const [what, name, type] of cases) {
    for (const edns of [false, true]) {
      it(`${what}: ${name} ${type}${edns ? ' with EDNS' : ''}`, () => {
        const got = reply(name, type, edns);
        const decoded = dnsPacket.decode(got);
        expect((got[3]! & 0xf) === 3 || (decoded.answers ?? []).length === 0, 'a negative answer').to.equal(true);
        expect(decoded.authorities?.map((a) => a.type)).to.deep.equal(['SOA']);
        const expanded = dnsPacket.encode(decoded);
        expect(got.toString('hex')).to.equal(compressNames(expanded).toString('hex'));
      });
    }
  }
});
