/** Response rate limiting: NSD's accounting, slip, prefixes, response classes read from real replies, the exempt list, the truncated reply. */

import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { ClientAddress } from '../../../src/abuse/client-address.js';
import { DEFAULT_RRL_EXEMPT, PrefixList } from '../../../src/abuse/prefix-list.js';
import { classified, RESPONSE_CLASS, responseKey } from '../../../src/abuse/response-class.js';
import { ResponseRateLimiter, RRL_DROP, RRL_SEND, RRL_SLIP, slipReply, type RrlSettings } from '../../../src/abuse/rrl.js';
import { answer, type AnswerContext } from '../../../src/dns/answer.js';
import { headerOnlyReply, RCODE } from '../../../src/dns/header.js';
import { loadZones } from '../../../src/zones.js';
import { ROOT } from '../../helpers/server.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const loaded = loadZones([{ name: 'example.com.', file: `${FIX}example.com.zone` }]);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const ctx: AnswerContext = { identity: { server: 'w', version: 'v' }, zones: loaded.zones, recursion: null, ednsUdpSize: 1232, nsid: Buffer.from('w') };

/** Our reply to this question (answer(), as the server gives it). */
function reply(name: string, type = 'A'): Buffer {
  const q = dnsPacket.encode({ type: 'query', id: 1, flags: 0, questions: [{ name, type: type as 'A', class: 'IN' }] });
  const out = answer(q, ctx, { transport: 'udp', address: '192.0.2.1' });
  if (out.kind !== 'reply') throw new Error(`no reply for ${name} ${type}`);
  return out.bytes;
}

function client(text: string): ClientAddress {
  const a = new ClientAddress();
  if (!a.fromText(text)) throw new Error(text);
  return a;
}

const NONE = PrefixList.compile(['none']) as PrefixList;
function limiter(over: Partial<RrlSettings> = {}): ResponseRateLimiter {
  return new ResponseRateLimiter({ rate: 10, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, buckets: 4096, exempt: NONE, ...over }, 12345);
}

const WWW = reply('www.example.com');

/**
 * Sends `perSecond[i]` replies in second T0 + i (for one reply kind and one
 * client) and returns how many went out whole each second.
 */
function run(rrl: ResponseRateLimiter, perSecond: number[], who = client('192.0.2.1'), bytes = WWW): number[] {
  const T0 = 1_700_000_000;
  return perSecond.map((n, i) => {
    let sent = 0;
    for (let k = 0; k < n; k++) if (rrl.judge(bytes, 0, bytes.length, who, T0 + i) === RRL_SEND) sent++;
    return sent;
  });
}

describe('RRL accounting (NSD rrl.c: r(t) = c(t) + r(t-1)/2, limited at twice the rate)', () => {
  // Derivations with rate 10 (limit 20 on the smoothed measure max(rate, count + rate/2)):
  const cases: { name: string; perSecond: number[]; sent: number[] }[] = [
    { name: 'below the rate: every reply goes', perSecond: [9, 9, 9, 9, 9, 9, 9, 9], sent: [9, 9, 9, 9, 9, 9, 9, 9] },
    // rate settles at 10 + 19/2 = 19 (integer halves): the measure peaks at 10 + 9 = 19.
    { name: 'at the rate, steadily: every reply goes', perSecond: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10], sent: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10] },
    // rates 11, 16, 19 (the 11th of second 3 measures 11 + 9 = 20), then 20 and more: all limited.
    { name: 'just over the rate: limited from the fourth second on', perSecond: [11, 11, 11, 11, 11, 11], sent: [11, 11, 11, 10, 0, 0] },
    // A sudden flood is caught within its first second: the 20th reply measures 20.
    { name: 'a flood: 19 replies, then nothing while it lasts', perSecond: [1000, 1000, 1000], sent: [19, 0, 0] },
    // After 1000 in second 0, a reply at second 6 measures 1000 >> 5 = 31, at second 7, 1000 >> 6 = 15.
    { name: 'after a flood, six quiet seconds are not enough', perSecond: [1000, 0, 0, 0, 0, 0, 1], sent: [19, 0, 0, 0, 0, 0, 0] },
    { name: 'after a flood, seven quiet seconds are', perSecond: [1000, 0, 0, 0, 0, 0, 0, 1], sent: [19, 0, 0, 0, 0, 0, 0, 1] },
    // Halving a second at a time: 20 → 10 + 20 = 30 … a client that slows to half the rate is answered again.
    { name: 'a client that slows down below the rate is answered again', perSecond: [30, 30, 5, 5, 5, 5], sent: [19, 0, 0, 0, 5, 5] },
  ];
  for (const c of cases) {
    it(c.name, () => expect(run(limiter(), c.perSecond)).to.deep.equal(c.sent));
  }
  it('a clock that steps back starts the bucket over (NSD: a stamp from the future)', () => {
    const rrl = limiter();
    const who = client('192.0.2.1');
    for (let k = 0; k < 100; k++) rrl.judge(WWW, 0, WWW.length, who, 2000);
    expect(rrl.judge(WWW, 0, WWW.length, who, 2000)).to.not.equal(RRL_SEND);
    expect(rrl.judge(WWW, 0, WWW.length, who, 1999)).to.equal(RRL_SEND);
  });
  it('more than 16 quiet seconds forget any rate', () => {
    const rrl = limiter();
    const who = client('192.0.2.1');
    for (let k = 0; k < 1_000_000; k++) rrl.judge(WWW, 0, WWW.length, who, 3000);
    expect(rrl.judge(WWW, 0, WWW.length, who, 3016)).to.not.equal(RRL_SEND); // 1e6 >> 15 = 30
    expect(rrl.judge(WWW, 0, WWW.length, who, 3033)).to.equal(RRL_SEND);
  });
  it('rate 0 limits nothing', () => expect(run(limiter({ rate: 0 }), [1000, 1000])).to.deep.equal([1000, 1000]));
});

describe('RRL slip: every Nth limited reply goes out truncated', () => {
  const cases: { slip: number; verdicts: string }[] = [
    { slip: 0, verdicts: 'DDDDDD' },
    { slip: 1, verdicts: 'TTTTTT' },
    { slip: 2, verdicts: 'DTDTDT' },
    { slip: 3, verdicts: 'DDTDDT' },
  ];
  for (const c of cases) {
    it(`slip ${c.slip}: ${c.verdicts} (D dropped, T truncated)`, () => {
      const rrl = limiter({ slip: c.slip });
      const who = client('192.0.2.1');
      for (let k = 0; k < 19; k++) expect(rrl.judge(WWW, 0, WWW.length, who, 100)).to.equal(RRL_SEND);
      let got = '';
      for (let k = 0; k < 6; k++) {
        const v = rrl.judge(WWW, 0, WWW.length, who, 100);
        got += v === RRL_DROP ? 'D' : v === RRL_SLIP ? 'T' : 'S';
      }
      expect(got).to.equal(c.verdicts);
    });
  }
});

describe('RRL prefixes: who shares a bucket', () => {
  const cases: { name: string; a: string; b: string; shared: boolean; over?: Partial<RrlSettings> }[] = [
    { name: 'two hosts of one /24', a: '192.0.2.1', b: '192.0.2.254', shared: true },
    { name: 'hosts of neighbouring /24s', a: '192.0.2.1', b: '192.0.3.1', shared: false },
    { name: 'neighbouring /24s with a /16 prefix', a: '192.0.2.1', b: '192.0.3.1', shared: true, over: { ipv4Prefix: 16 } },
    { name: 'one address with /32, another', a: '192.0.2.1', b: '192.0.2.2', shared: false, over: { ipv4Prefix: 32 } },
    { name: 'two IPv6 hosts of one /56', a: '2001:db8:0:ff00::1', b: '2001:db8:0:ffff:1:2:3:4', shared: true },
    { name: 'IPv6 hosts of neighbouring /56s', a: '2001:db8:0:ff00::1', b: '2001:db8:0:fe00::1', shared: false },
    { name: 'neighbouring /56s with a /48 prefix', a: '2001:db8:0:ff00::1', b: '2001:db8:0:fe00::1', shared: true, over: { ipv6Prefix: 48 } },
    { name: 'two /64s of one /56 with a /64 prefix (NSD\'s default)', a: '2001:db8:0:ff00::1', b: '2001:db8:0:ff01::1', shared: false, over: { ipv6Prefix: 64 } },
    { name: 'an IPv4 client and the IPv6 one that maps it (the same client)', a: '192.0.2.1', b: '::ffff:192.0.2.9', shared: true },
    { name: 'an IPv4 prefix and an IPv6 prefix of equal words', a: '0.0.0.1', b: '::1', shared: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.shared ? 'shared' : 'apart'}`, () => {
      const rrl = limiter(c.over);
      // a floods; b asks once: limited only if it counts in a's bucket.
      run(rrl, [1000], client(c.a));
      expect(rrl.judge(WWW, 0, WWW.length, client(c.b), 1_700_000_000) !== RRL_SEND).to.equal(c.shared);
    });
  }
});

describe('RRL response classes, read from our replies (NSD rrl_classify)', () => {
  const cases: { name: string; a: [string, string]; b: [string, string]; kind: keyof typeof RESPONSE_CLASS; shared: boolean }[] = [
    { name: 'an answer and the same question in other case', a: ['www.example.com', 'A'], b: ['WwW.ExAmPlE.cOm', 'A'], kind: 'positive', shared: true },
    { name: 'answers for two names', a: ['www.example.com', 'A'], b: ['mail.example.com', 'A'], kind: 'positive', shared: false },
    { name: 'answers for two types of one name', a: ['www.example.com', 'A'], b: ['www.example.com', 'AAAA'], kind: 'positive', shared: false },
    { name: 'NXDOMAIN for two names of one zone (counted under the zone)', a: ['nothere1.example.com', 'A'], b: ['x.y.nothere2.example.com', 'MX'], kind: 'nxdomain', shared: true },
    { name: 'NODATA for two names of one zone', a: ['www.example.com', 'MX'], b: ['mail.example.com', 'SRV'], kind: 'nodata', shared: true },
    { name: 'NODATA and NXDOMAIN', a: ['www.example.com', 'MX'], b: ['nothere.example.com', 'A'], kind: 'nodata', shared: false },
    { name: 'referrals for two names below one delegation (counted under it)', a: ['host.deleg.example.com', 'A'], b: ['other.deleg.example.com', 'AAAA'], kind: 'referral', shared: true },
    { name: 'referrals to two delegations', a: ['host.deleg.example.com', 'A'], b: ['host.child.example.com', 'A'], kind: 'referral', shared: false },
    { name: 'ANY, apart from the positive answer', a: ['www.example.com', 'ANY'], b: ['www.example.com', 'A'], kind: 'any', shared: false },
    { name: 'RRSIG asked of an unsigned name (NSD: rrsig before nodata)', a: ['www.example.com', 'RRSIG'], b: ['mail.example.com', 'RRSIG'], kind: 'rrsig', shared: false },
    { name: 'REFUSED for names outside our zones (an error with no zone: one bucket)', a: ['www.example.org', 'A'], b: ['elsewhere.test', 'TXT'], kind: 'error', shared: true },
    // NSD counts a wildcard's answers under the wildcard; a reply's bytes do not say it came from one.
    { name: 'wildcard answers for two names (counted under the names asked)', a: ['a.wild.example.com', 'A'], b: ['b.wild.example.com', 'A'], kind: 'positive', shared: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.kind}, ${c.shared ? 'one bucket' : 'apart'}`, () => {
      const first = reply(...c.a);
      responseKey(first, 0, first.length, 7);
      expect(classified.kind).to.equal(RESPONSE_CLASS[c.kind]);
      const second = reply(...c.b);
      const rrl = limiter();
      const who = client('198.51.100.7');
      run(rrl, [1000], who, first);
      expect(rrl.judge(second, 0, second.length, who, 1_700_000_000) !== RRL_SEND).to.equal(c.shared);
    });
  }
  it('a FORMERR without a question is an error; so is a message too short to be a reply', () => {
    const q = dnsPacket.encode({ type: 'query', id: 1, flags: 0, questions: [{ name: 'a.test', type: 'A', class: 'IN' }] });
    const formerr = headerOnlyReply(q, RCODE.FORMERR);
    responseKey(formerr, 0, formerr.length, 7);
    expect(classified.kind).to.equal(RESPONSE_CLASS.error);
    responseKey(Buffer.alloc(5), 0, 5, 7);
    expect(classified.kind).to.equal(RESPONSE_CLASS.error);
  });
  it('reads a reply where it lies in a larger buffer (the send area), and a different seed gives a different key', () => {
    const area = Buffer.concat([Buffer.alloc(100, 0xff), WWW, Buffer.alloc(50, 0xff)]);
    expect(responseKey(area, 100, WWW.length, 7)).to.equal(responseKey(WWW, 0, WWW.length, 7));
    expect(responseKey(WWW, 0, WWW.length, 8)).to.not.equal(responseKey(WWW, 0, WWW.length, 7));
  });
});

describe('RRL exempt list', () => {
  const cases: { list: string[]; address: string; exempt: boolean }[] = [
    { list: DEFAULT_RRL_EXEMPT, address: '127.0.0.1', exempt: true },
    { list: DEFAULT_RRL_EXEMPT, address: '127.77.1.9', exempt: true },
    { list: DEFAULT_RRL_EXEMPT, address: '::1', exempt: true },
    { list: DEFAULT_RRL_EXEMPT, address: '::2', exempt: false },
    { list: DEFAULT_RRL_EXEMPT, address: '192.0.2.1', exempt: false },
    { list: DEFAULT_RRL_EXEMPT, address: '::ffff:127.0.0.1', exempt: true },
    { list: ['none'], address: '127.0.0.1', exempt: false },
    { list: ['any'], address: '2001:db8::1', exempt: true },
    { list: ['192.0.2.0/25'], address: '192.0.2.127', exempt: true },
    { list: ['192.0.2.0/25'], address: '192.0.2.128', exempt: false },
    { list: ['2001:db8::/33'], address: '2001:db8:7fff::1', exempt: true },
    { list: ['2001:db8::/33'], address: '2001:db8:8000::1', exempt: false },
    { list: ['2001:db8:0:0:0:0:0:5'], address: '2001:db8::5', exempt: true },
    { list: ['::ffff:192.0.2.0/120'], address: '192.0.2.77', exempt: true },
    { list: ['0.0.0.0/0'], address: '2001:db8::1', exempt: false },
  ];
  for (const c of cases) {
    it(`${c.list.join(',')}: ${c.address} ${c.exempt ? 'exempt' : 'limited'}`, () => {
      const rrl = limiter({ exempt: PrefixList.compile(c.list) as PrefixList });
      expect(rrl.exempt(client(c.address))).to.equal(c.exempt);
    });
  }
  for (const bad of ['10.0.0.0/33', 'fe80::/129', 'localhost', '10.0.0.0/x', '::ffff:1.2.3.4/95']) {
    it(`refuses ${bad}, saying why`, () => expect(PrefixList.compile([bad])).to.be.a('string').and.match(/prefix length|not an address|96 or more/));
  }
});

describe('the truncated reply a slip sends', () => {
  it('is the header with TC and no records, and the question (NSD rrl_slip)', () => {
    const full = reply('www.example.com');
    const area = Buffer.concat([Buffer.alloc(9), full]);
    const len = slipReply(area, 9, full.length);
    const p = dnsPacket.decode(area.subarray(9, 9 + len));
    expect(p.flag_tc).to.equal(true);
    expect(p.flag_aa).to.equal(true);
    expect(p.id).to.equal(1);
    expect(p.questions).to.deep.equal([{ name: 'www.example.com', type: 'A', class: 'IN' }]);
    expect([p.answers?.length, p.authorities?.length, p.additionals?.length]).to.deep.equal([0, 0, 0]);
    expect(len).to.equal(12 + 17 + 4);
  });
});
