/** forwardedReply: the flags a client sees on a forwarded (or local, or stale) answer: AD as the upstream set it for clients that asked with DO or AD, AA for local answers, the answer's Extended DNS Error. */

import { expect } from 'chai';
import dnsPacket, { type Answer } from 'dns-packet';
import type { AnswerContext, ForwardRequest } from '../../../src/dns/answer.js';
import type { EdnsRequest } from '../../../src/dns/edns.js';
import { forwardedReply } from '../../../src/dns/forwarded.js';
import { questionEnd } from '../../../src/dns/header.js';
import { readQuestion, type WireQuestion } from '../../../src/dns/question.js';
import type { CachedAnswer } from '../../../src/forward/cache.js';
import { nameToWire } from '../../../src/zone/names.js';
import { packetEncodeRecord } from '../../../src/zone/rdata/packet.js';

const CTX = { ednsUdpSize: 1232, nsid: Buffer.from('t') } as AnswerContext;
const RD = 0x0100;
const RA = 0x0080;
const AD = 0x0020;
const A: Answer = { name: 'www.remote.test', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.1' } as Answer;

/** The question of a query whose question section is these octets (hex). */
function questionOf(hex: string): WireQuestion {
  const query = Buffer.concat([Buffer.from('000701000001000000000000', 'hex'), Buffer.from(hex, 'hex')]);
  return readQuestion(query, questionEnd(query));
}

/** www.remote.test A IN. */
const WWW = questionOf('037777770672656d6f746504746573740000010001');

function request(opts: { ad?: boolean; edns?: Partial<EdnsRequest> | null; chain?: Answer[]; question?: WireQuestion; transport?: 'udp' | 'tcp' }): ForwardRequest {
  const edns = opts.edns === null ? null : ({ version: 0, udpSize: 1232, dnssecOk: false, nsid: false, ...opts.edns } as EdnsRequest);
  const question = opts.question ?? WWW;
  const chain = (opts.chain ?? []).map((r) => packetEncodeRecord(r));
  return { kind: 'forward', id: 7, flags: RD | RA | (opts.ad ? AD : 0), question, edns, transport: opts.transport ?? 'udp', target: question.name, chain };
}

function reply(req: ForwardRequest, a: Partial<CachedAnswer>): ReturnType<typeof dnsPacket.decode> & { flag_ad?: boolean; flag_aa?: boolean; rcode?: string } {
  const answer: CachedAnswer = { rcode: 'NOERROR', ad: false, answers: [A], authorities: [], additionals: [], ...a };
  return dnsPacket.decode(forwardedReply(req, answer, CTX));
}

describe('forwardedReply', () => {
  const cases: [string, ForwardRequest, boolean, boolean][] = [
    ['DO=1 client, upstream AD=1 → AD', request({ edns: { dnssecOk: true } }), true, true],
    ['AD=1 client without DO, upstream AD=1 → AD (RFC 6840 §5.7)', request({ ad: true }), true, true],
    ['AD=1 client without EDNS, upstream AD=1 → AD', request({ ad: true, edns: null }), true, true],
    ['plain client, upstream AD=1 → no AD (it may not understand it)', request({}), true, false],
    ['AD=1 client, upstream AD=0 → no AD (the query\'s bit is not copied)', request({ ad: true }), false, false],
    ['DO=1 client, our CNAME chain in front → no AD (our chain was not validated)', request({ edns: { dnssecOk: true }, chain: [{ name: 'www.remote.test', type: 'CNAME', class: 'IN', ttl: 60, data: 'x.test' } as Answer] }), true, false],
  ];
  for (const [name, req, upstreamAd, want] of cases) {
    it(name, () => expect(reply(req, { ad: upstreamAd }).flag_ad === true).to.equal(want));
  }

  it('AA only for a local answer (hosts, a domain sent nowhere), RA and RD kept', () => {
    const upstream = reply(request({}), {});
    const local = reply(request({}), { local: true });
    expect([upstream.flag_aa, local.flag_aa]).to.deep.equal([false, true]);
    expect(local.flags! & (RD | RA)).to.equal(RD | RA);
  });

  it('the answer\'s Extended DNS Error goes in our OPT (a stale answer: 3)', () => {
    const r = reply(request({}), { extendedError: 3 });
    const opt = r.additionals!.find((x) => x.type === 'OPT') as unknown as { options: { code: number; data: Buffer }[] };
    expect(opt.options.filter((o) => o.code === 15).map((o) => o.data.readUInt16BE(0))).to.deep.equal([3]);
  });
});

describe('forwardedReply: the question and our chain as octets (fuzz finding Q2)', () => {
  /** The reply's question section, from its octets (12 up to the end of the first question). */
  const questionSection = (bytes: Buffer): string => bytes.subarray(12, questionEnd(bytes)).toString('hex');
  const cases: [string, string][] = [
    ['a label holding a dot: a\\.b.remote.test', '03612e620672656d6f746504746573740000010001'],
    ['octets that are not UTF-8, mixed case: \\255\\200X.Remote.test', '03ffc8580652656d6f746504746573740000010001'],
    ['63 octets that are not UTF-8 (U+FFFD for each would make a 189-octet label)', `3f${'80'.repeat(63)}0672656d6f746504746573740000010001`],
    ['a type dns-packet has no name for, class ANY', '037777770672656d6f7465047465737400ff0000ff'],
  ];
  for (const [what, hex] of cases) {
    it(`echoes ${what} octet for octet, over UDP, TCP, and truncated`, () => {
      const q = questionOf(hex);
      const answer: CachedAnswer = { rcode: 'NOERROR', ad: false, answers: [A], authorities: [], additionals: [] };
      for (const transport of ['udp', 'tcp'] as const) expect(questionSection(forwardedReply(request({ question: q, transport }), answer, CTX)), transport).to.equal(hex);
      // 40 records of 200 octets do not fit 512: TC=1, the question still exact.
      const big = { ...answer, answers: Array.from({ length: 40 }, (_, i) => ({ name: 'x.test', type: 'TXT', class: 'IN', ttl: 1, data: `${i}`.padEnd(200, 'y') }) as Answer) };
      const tc = forwardedReply(request({ question: q, edns: null }), big, CTX);
      expect(tc[2]! & 0x02, 'TC').to.equal(0x02);
      expect(questionSection(tc)).to.equal(hex);
    });
  }

  it('writes our chain\'s records as their octets, before the upstream\'s answers (an owner with a dot inside a label stays one label)', () => {
    // soa2\.x.escaped.test CNAME \000. : dns-packet's string "soa2.x.escaped.test" would be three labels.
    const owner = nameToWire('soa2\\.x.escaped.test');
    const fixed = Buffer.from('0005000100000e100003', 'hex'); // CNAME IN 3600, RDLENGTH 3
    const record = Buffer.concat([owner, fixed, Buffer.from('010000', 'hex')]);
    const req: ForwardRequest = { ...request({ question: questionOf(Buffer.concat([owner, Buffer.from('00010001', 'hex')]).toString('hex')) }), chain: [record] };
    const bytes = forwardedReply(req, { rcode: 'NOERROR', ad: false, answers: [A], authorities: [], additionals: [] }, CTX);
    const decoded = dnsPacket.decode(bytes);
    expect(decoded.answers!.map((r) => r.type)).to.deep.equal(['CNAME', 'A']);
    // The CNAME's owner is the question's name: compressed to a pointer to it (offset 12), its RDATA as it was.
    const at = questionEnd(bytes);
    expect(bytes.subarray(at, at + 2).toString('hex')).to.equal('c00c');
    expect(bytes.subarray(at + 2, at + 15).toString('hex')).to.equal(record.subarray(owner.length).toString('hex'));
  });
});
