import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { ZoneSet } from '../../../src/auth/zone-set.js';
import { ReplyCache } from '../../../src/dns/answer-cache.js';
import type { AnswerContext } from '../../../src/dns/answer.js';
import { Counters } from '../../../src/dns/counters.js';
import { QueryPipeline } from '../../../src/dns/pipeline.js';
import { compileXfrAcl, type AclEntry } from '../../../src/xfr/acl.js';
import { originKey } from '../../../src/xfr/policy.js';
import { TsigKeyring } from '../../../src/xfr/tsig.js';
import type { ReplyStream } from '../../../src/xfr/stream.js';
import { head, image } from './helpers.js';

describe('query pipeline: a zone transfer passes through as a stream (TCP only)', () => {
  const zone = image(head(1) + Array.from({ length: 1500 }, (_, i) => `h${i} TXT "a host with a long enough text ${i}"\n`).join(''));

  function rig(allow: AclEntry = { address: 'any', key: null }): { pipeline: QueryPipeline; counters: Counters; told: string[] } {
    const ctx: AnswerContext = {
      identity: { server: 'w', version: 'v' },
      zones: new ZoneSet([zone]),
      recursion: null,
      ednsUdpSize: 1232,
      nsid: Buffer.from('w'),
      transfer: {
        keys: new TsigKeyring([]),
        zones: new Map([[originKey('example.com.'), { origin: 'example.com.', type: 'primary', allowTransfer: compileXfrAcl([allow]), allowNotify: compileXfrAcl([]) }]]),
        journals: { journal: () => null },
        now: () => 1_800_000_000,
        log: () => undefined,
      },
    };
    const counters = new Counters();
    const told: string[] = [];
    const pipeline = new QueryPipeline({ ctx, counters, replies: new ReplyCache({ entries: 100, bytes: 1 << 20, admitOnSecondMiss: true }), forwarder: null, forwardLimits: { maxEntries: 0, maxBytes: 0, minTtl: 0, maxTtl: 0, maxNegativeTtl: 0, servfailTtl: 0 }, onInternalError: (m) => told.push(m) });
    return { pipeline, counters, told };
  }
  const axfr = dnsPacket.encode({ type: 'query', id: 5, questions: [{ name: 'example.com', type: 'AXFR', class: 'IN' }] });

  it('the TCP handler gives the stream; the query is counted once, with the first message\'s RCODE', () => {
    const { pipeline, counters } = rig();
    const out = pipeline.handler('tcp')(axfr, '127.0.0.1', 40000);
    expect(out !== null && !Buffer.isBuffer(out) && !(out instanceof Promise)).to.equal(true);
    const stream = out as ReplyStream;
    let n = 0;
    while (stream.next() !== null) n++;
    stream.close();
    expect(n).to.be.greaterThan(1);
    expect(counters.snapshot()).to.deep.include({ queries: 1, tcp: 1 });
    expect(counters.snapshot().rcodes).to.deep.equal({ NOERROR: 1 });
    expect(zone.held).to.equal(false);
  });

  it('handle(), which sends one message, never gets a stream: SERVFAIL, told as a bug, the image let go', () => {
    const { pipeline, told } = rig();
    const out = pipeline.handle(axfr, 'tcp', '127.0.0.1') as Buffer;
    expect((dnsPacket.decode(out) as unknown as { rcode: string }).rcode).to.equal('SERVFAIL');
    expect(told.join('\n')).to.match(/a zone transfer stream reached a handler that sends one message/);
    expect(zone.held).to.equal(false);
  });

  it('a refusal is not kept in the reply cache: an admitted client asking after refused ones gets the transfer', () => {
    const { pipeline } = rig({ address: '127.0.0.1', key: null });
    // Refused twice: the reply cache admits a reply on its question's second miss.
    for (let i = 0; i < 3; i++) {
      const refused = pipeline.handleTcp(axfr, '192.0.2.7') as Buffer;
      expect((dnsPacket.decode(refused) as unknown as { rcode: string }).rcode).to.equal('REFUSED');
    }
    const out = pipeline.handleTcp(axfr, '127.0.0.1');
    expect(Buffer.isBuffer(out), 'a stream, not a cached refusal').to.equal(false);
    (out as ReplyStream).close();
  });

  it('AXFR over UDP stays a single REFUSED reply', () => {
    const { pipeline } = rig();
    const out = pipeline.handle(axfr, 'udp', '127.0.0.1') as Buffer;
    expect((dnsPacket.decode(out) as unknown as { rcode: string }).rcode).to.equal('REFUSED');
  });
});
