/** forwardedReply: the flags a client sees on a forwarded (or local, or stale) answer: AD as the upstream set it for clients that asked with DO or AD, AA for local answers, the answer's Extended DNS Error. */

import { expect } from 'chai';
import dnsPacket, { type Answer } from 'dns-packet';
import type { AnswerContext, ForwardRequest } from '../../../src/dns/answer.js';
import type { EdnsRequest } from '../../../src/dns/edns.js';
import { forwardedReply } from '../../../src/dns/forwarded.js';
import type { CachedAnswer } from '../../../src/forward/cache.js';

const CTX = { ednsUdpSize: 1232, nsid: Buffer.from('t') } as AnswerContext;
const RD = 0x0100;
const RA = 0x0080;
const AD = 0x0020;
const A: Answer = { name: 'www.remote.test', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.1' } as Answer;

function request(opts: { ad?: boolean; edns?: Partial<EdnsRequest> | null; chain?: Answer[] }): ForwardRequest {
  const edns = opts.edns === null ? null : ({ version: 0, udpSize: 1232, dnssecOk: false, nsid: false, ...opts.edns } as EdnsRequest);
  return { kind: 'forward', id: 7, flags: RD | RA | (opts.ad ? AD : 0), question: { name: 'www.remote.test', type: 'A', class: 'IN' }, edns, transport: 'udp', target: 'www.remote.test', chain: opts.chain ?? [] };
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
