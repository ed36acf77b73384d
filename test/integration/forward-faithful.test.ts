/** Upstream answers passed on faithfully by the real server: AD as the upstream set it to DO clients, AD asked for upstream, no client subnet (or any other client option) sent upstream. */

import { expect } from 'chai';
import dnsPacket, { type Packet } from 'dns-packet';
import { decodeReply, udpExchange, type Reply } from '../helpers/dns-client.js';
import { a, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort, startServer, type RunningServer } from '../helpers/server.js';

const ECS = 8;

/** A query with the given header bits and EDNS options. */
function query(name: string, opts: { do?: boolean; ad?: boolean; options?: { code: number; data: Buffer }[] }): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: Math.floor(Math.random() * 65536),
    flags: dnsPacket.RECURSION_DESIRED | (opts.ad ? dnsPacket.AUTHENTIC_DATA : 0),
    questions: [{ name, type: 'A', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: opts.do ? dnsPacket.DNSSEC_OK : 0, options: opts.options ?? [] } as never],
  });
}

async function ask(port: number, bytes: Buffer): Promise<Reply & { flag_ad?: boolean }> {
  const r = await udpExchange(bytes, port, '127.0.0.1', 6000);
  if (!r) throw new Error('no reply');
  return decodeReply(r);
}

describe('forwarding: upstream answers passed on faithfully', function () {
  this.timeout(30_000);
  let upstream: FakeUpstream;
  let server: RunningServer;
  const seen: Packet[] = [];

  before(async () => {
    // A validating upstream's reply: AD=1 (scripted, with the question and ID of each query).
    upstream = await startFakeUpstream('127.0.0.2', await freePort(), (q) => {
      seen.push(q);
      const name = q.questions![0]!.name;
      const bytes = dnsPacket.encode({
        type: 'response',
        id: 0,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHENTIC_DATA,
        questions: q.questions,
        answers: [a(name, '192.0.2.1', 300)],
      });
      return { kind: 'raw', bytes };
    });
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.2:${upstream.port}`, '--etc-hosts', 'off']);
  });
  after(async () => {
    server?.kill();
    await upstream?.close();
  });

  it('a DO client gets AD as the upstream set it, from the upstream and then from the caches; a plain client does not', async () => {
    for (let i = 0; i < 3; i++) expect((await ask(server.port, query('signed.remote.test', { do: true }))).flag_ad, `DO round ${i}`).to.equal(true);
    for (let i = 0; i < 3; i++) expect((await ask(server.port, query('signed.remote.test', {}))).flag_ad, `plain round ${i}`).to.equal(false);
  });

  it('upstream queries ask for AD (RFC 6840 §5.7) and carry no EDNS option, a client subnet least of all (RFC 7871 §7.1.2)', async () => {
    const subnet = Buffer.from([0, 1, 24, 0, 198, 51, 100]);
    const r = await ask(server.port, query('ecs.remote.test', { options: [{ code: ECS, data: subnet }, { code: 10, data: Buffer.alloc(8, 1) }] }));
    expect(r.rcode).to.equal('NOERROR');
    const q = seen.find((p) => p.questions?.[0]?.name === 'ecs.remote.test');
    expect(q, 'the upstream was asked').to.not.equal(undefined);
    expect((q!.flags ?? 0) & dnsPacket.AUTHENTIC_DATA).to.equal(dnsPacket.AUTHENTIC_DATA);
    const opt = q!.additionals?.find((x) => x.type === 'OPT') as unknown as { options: { code: number }[] };
    expect(opt.options.map((o) => o.code)).to.deep.equal([]);
    // Nor does our reply echo the client's subnet as if it had been used (RFC 7871 §7.2.2 allows leaving it out).
    const replyOpt = r.additionals?.find((x) => x.type === 'OPT') as unknown as { options: { code: number }[] };
    expect(replyOpt.options.map((o) => o.code)).to.not.include(ECS);
  });
});
