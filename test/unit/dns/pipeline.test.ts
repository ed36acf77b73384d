/** The query pipeline driven in process, as Knot's test_process_query.c drives its query processing: messages in, replies and counters out. */

import { expect } from 'chai';
import dnsPacket, { type Answer } from 'dns-packet';
import { ZoneSet } from '../../../src/auth/zone-set.js';
import { ReplyCache } from '../../../src/dns/answer-cache.js';
import type { AnswerContext } from '../../../src/dns/answer.js';
import { Counters } from '../../../src/dns/counters.js';
import { QueryPipeline, type PipelineOptions, type Resolver } from '../../../src/dns/pipeline.js';
import { compileAcl, type Acl } from '../../../src/forward/acl.js';
import type { CacheLimits } from '../../../src/forward/cache.js';
import { Forwarder, type Resolution } from '../../../src/forward/forwarder.js';
import type { UpstreamQuestion } from '../../../src/forward/transport.js';
import { loadZones } from '../../../src/zones.js';
import { decodeReply } from '../../helpers/dns-client.js';
import { a as aRecord, startFakeUpstream } from '../../helpers/fake-upstream.js';
import { ROOT, freePort } from '../../helpers/server.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const loaded = loadZones([
  { name: 'example.com.', file: `${FIX}example.com.zone` },
  { name: 'other.test.', file: `${FIX}other.test.zone` },
]);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const LIMITS: CacheLimits = { maxEntries: 100, maxBytes: 1 << 20, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 10_800, servfailTtl: 5 };

/**
 * A resolver that answers every question with one A record (or fails as
 * told), and remembers what it was asked. Asked with CD=1 it gives another
 * address, as a validating upstream gives data it would refuse with CD=0.
 */
class FakeResolver implements Resolver {
  asked: UpstreamQuestion[] = [];
  fail: 'reject' | 'throw' | null = null;
  resolve(q: UpstreamQuestion): Resolution {
    this.asked.push(q);
    if (this.fail === 'throw') throw new Error('resolver broke');
    if (this.fail === 'reject') return { kind: 'asked', answer: Promise.reject(new Error('resolver rejected')) };
    const a = { name: q.name, type: 'A', class: 'IN', ttl: 300, data: q.checkingDisabled ? '198.51.100.66' : '198.51.100.7' } as Answer;
    return { kind: 'asked', answer: Promise.resolve({ rcode: 'NOERROR', ad: false, answers: [a], authorities: [], additionals: [] }) };
  }
}

interface Rig {
  pipeline: QueryPipeline;
  ctx: AnswerContext;
  counters: Counters;
  replies: ReplyCache;
  resolver: FakeResolver;
  told: string[];
  clock: { now: number };
}

function rig(over: Partial<PipelineOptions> = {}): Rig {
  const ctx: AnswerContext = { identity: { server: 'w', version: 'v' }, zones: loaded.ok ? loaded.zones : new ZoneSet([]), recursion: compileAcl(['127.0.0.0/8']) as Acl, ednsUdpSize: 1232, nsid: Buffer.from('w') };
  const counters = new Counters();
  const replies = new ReplyCache({ entries: 100, bytes: 1 << 20 });
  const resolver = new FakeResolver();
  const told: string[] = [];
  const clock = { now: 1_000_000 };
  const pipeline = new QueryPipeline({ ctx, counters, replies, forwarder: resolver, forwardLimits: LIMITS, onInternalError: (m) => told.push(m), now: () => clock.now, ...over });
  return { pipeline, ctx, counters, replies, resolver, told, clock };
}

function query(name: string, type = 'A', opts: { id?: number; rd?: boolean; qr?: boolean; cd?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: opts.qr ? 'response' : 'query',
    id: opts.id ?? 1,
    flags: (opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) | (opts.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type: type as 'A', class: 'IN' }],
  });
}

/** A sockaddr_in for 127.0.0.1 (family in host order, address in network order). */
function loopbackSockaddr(): Buffer {
  const s = Buffer.alloc(16);
  s.writeUInt16LE(2, 0);
  s.writeUInt16BE(5353, 2);
  s.set([127, 0, 0, 1], 4);
  return s;
}

describe('QueryPipeline: one message in, its reply and counters out', () => {
  it('answers from the zones, then from the reply cache (ID and case patched)', () => {
    const r = rig();
    const first = r.pipeline.handle(query('www.example.com', 'A', { id: 5 }), 'udp', '127.0.0.1') as Buffer;
    const again = r.pipeline.handle(query('WWW.example.com', 'A', { id: 6 }), 'udp', '127.0.0.1') as Buffer;
    expect(dnsPacket.decode(first).answers).to.have.length(2);
    expect(again.readUInt16BE(0)).to.equal(6);
    expect(again.subarray(12).toString('hex')).to.not.equal(first.subarray(12).toString('hex')); // the asker's case
    expect(dnsPacket.decode(again).questions![0]!.name).to.equal('WWW.example.com');
    expect({ hits: r.replies.hits, queries: r.counters.snapshot().queries, rcodes: r.counters.snapshot().rcodes }).to.deep.equal({ hits: 1, queries: 2, rcodes: { NOERROR: 2 } });
  });
  it('drops a response (QR=1) and counts the drop', () => {
    const r = rig();
    expect(r.pipeline.handle(query('www.example.com', 'A', { qr: true }), 'udp', '127.0.0.1')).to.equal(null);
    expect(r.counters.snapshot()).to.include({ queries: 1, dropped: 1 });
  });
  it('a query whose handling throws gets SERVFAIL, is counted, and is told once a second', () => {
    const r = rig();
    r.ctx.zones = { forQuestion: () => { throw new Error('boom'); } } as unknown as ZoneSet;
    for (let i = 0; i < 3; i++) {
      const reply = r.pipeline.handle(query(`n${i}.example.com`), 'tcp', '127.0.0.1') as Buffer;
      expect(reply[3]! & 0xf, 'SERVFAIL').to.equal(2);
      expect(reply.readUInt16BE(4), 'question echoed').to.equal(1);
    }
    r.clock.now += 1001;
    r.pipeline.handle(query('n9.example.com'), 'udp', '127.0.0.1');
    expect(r.counters.snapshot()).to.include({ internalErrors: 4, queries: 4 });
    expect(r.told).to.have.length(2);
    expect(r.told[0]).to.match(/^internal error answering a query \(answered SERVFAIL\): Error: boom/);
  });
  it('forwards a name outside our zones, builds the reply, and keeps it for the next asker', async () => {
    const r = rig();
    const reply = await r.pipeline.handle(query('www.example.net', 'A', { id: 9 }), 'udp', '127.0.0.1');
    const p = dnsPacket.decode(reply!);
    expect(p.id).to.equal(9);
    expect(p.flag_ra).to.equal(true);
    expect(p.answers!.map((a) => (a as { data: string }).data)).to.deep.equal(['198.51.100.7']);
    expect(r.resolver.asked.map((q) => [q.name, q.type, q.klass])).to.deep.equal([['www.example.net', 'A', 'IN']]);
    const hit = r.pipeline.handle(query('www.example.net', 'A', { id: 10 }), 'udp', '127.0.0.1');
    expect(Buffer.isBuffer(hit), 'a cached reply, no promise').to.equal(true);
    expect(r.resolver.asked).to.have.length(1);
  });
  it('follows our CNAME chain out of our zones through the resolver: our chain, then the upstream\'s answer', async () => {
    const r = rig();
    const reply = await r.pipeline.handle(query('external.example.com'), 'udp', '127.0.0.1');
    const p = dnsPacket.decode(reply!);
    expect(r.resolver.asked.map((q) => q.name)).to.deep.equal(['www.elsewhere.invalid']);
    expect(p.answers!.map((a) => `${a.name} ${a.type}`)).to.deep.equal(['external.example.com CNAME', 'www.elsewhere.invalid A']);
  });
  it('without RD, the chain is answered as it stands (not chased)', () => {
    const r = rig();
    const reply = r.pipeline.handle(query('external.example.com', 'A', { rd: false }), 'udp', '127.0.0.1') as Buffer;
    expect(dnsPacket.decode(reply).answers!.map((a) => a.type)).to.deep.equal(['CNAME']);
    expect(r.resolver.asked).to.have.length(0);
  });
  for (const fail of ['reject', 'throw'] as const) {
    it(`a resolver that ${fail}s gives SERVFAIL, counted`, async () => {
      const r = rig();
      r.resolver.fail = fail;
      const reply = await r.pipeline.handle(query('www.example.net'), 'udp', '127.0.0.1');
      expect(reply![3]! & 0xf).to.equal(2);
      expect(r.counters.snapshot()).to.include({ internalErrors: 1, queries: 1 });
      expect(r.counters.snapshot().rcodes).to.deep.equal({ SERVFAIL: 1 });
    });
  }
  it('a forwarded reply asked with CD=1 is not given to a CD=0 asker from the reply cache, and each echoes its asker\'s CD (RFC 4035 §3.2.2)', async () => {
    const r = rig();
    const data = (m: Buffer): string[] => dnsPacket.decode(m).answers!.map((x) => (x as { data: string }).data);
    const unchecked = (await r.pipeline.handle(query('www.example.net', 'A', { cd: true }), 'udp', '127.0.0.1'))!;
    expect(data(unchecked)).to.deep.equal(['198.51.100.66']);
    expect(dnsPacket.decode(unchecked).flag_cd).to.equal(true);
    const checked = (await r.pipeline.handle(query('www.example.net', 'A'), 'udp', '127.0.0.1'))!;
    expect(data(checked), 'the CD=0 asker gets the CD=0 answer').to.deep.equal(['198.51.100.7']);
    expect(dnsPacket.decode(checked).flag_cd).to.equal(false);
    expect(r.resolver.asked.map((q) => q.checkingDisabled)).to.deep.equal([true, false]);
    // Each is now a reply-cache hit of its own.
    for (const cd of [true, false]) {
      const hit = r.pipeline.handle(query('www.example.net', 'A', { cd }), 'udp', '127.0.0.1');
      expect(Buffer.isBuffer(hit)).to.equal(true);
      expect(data(hit as Buffer)).to.deep.equal([cd ? '198.51.100.66' : '198.51.100.7']);
      expect(dnsPacket.decode(hit as Buffer).flag_cd).to.equal(cd);
    }
    expect(r.resolver.asked).to.have.length(2);
  });
  it('an authoritative reply cached for CD=0 is not the hit of a CD=1 asker (each kept and echoed on its own)', () => {
    const r = rig();
    r.pipeline.handle(query('www.example.com'), 'udp', '127.0.0.1');
    const first = r.pipeline.handle(query('www.example.com', 'A', { cd: true }), 'udp', '127.0.0.1') as Buffer;
    expect(r.replies.hits).to.equal(0);
    expect(dnsPacket.decode(first).flag_cd).to.equal(true);
    const again = r.pipeline.handle(query('www.example.com', 'A', { cd: true }), 'udp', '127.0.0.1') as Buffer;
    expect(r.replies.hits).to.equal(1);
    expect(again.equals(first)).to.equal(true);
  });
  it('keeps no forwarded reply when the forward cache is off', async () => {
    const r = rig({ forwardLimits: { ...LIMITS, maxEntries: 0 } });
    await r.pipeline.handle(query('www.example.net'), 'udp', '127.0.0.1');
    await r.pipeline.handle(query('www.example.net'), 'udp', '127.0.0.1');
    expect(r.resolver.asked).to.have.length(2);
  });
  it('a client outside allow-recursion is refused, not forwarded', () => {
    const r = rig();
    const reply = r.pipeline.handle(query('www.example.net'), 'udp', '192.0.2.9') as Buffer;
    expect(reply[3]! & 0xf).to.equal(5);
    expect(r.resolver.asked).to.have.length(0);
  });
  it('a reload (new zones) empties what the reply cache held', () => {
    const r = rig();
    r.pipeline.handle(query('www.example.com'), 'udp', '127.0.0.1');
    r.ctx.zones = new ZoneSet(r.ctx.zones.images());
    r.pipeline.handle(query('www.example.com'), 'udp', '127.0.0.1');
    expect(r.replies.hits).to.equal(0);
  });
  it('a forwarded reply that comes back after a reload is not kept for the new zones (a name the reload made ours must not get it)', async () => {
    const r = rig();
    const pending = r.pipeline.handle(query('www.example.net'), 'udp', '127.0.0.1');
    r.ctx.zones = new ZoneSet(r.ctx.zones.images());
    // A query under the new zones: the reply cache now holds the new set's replies only.
    r.pipeline.handle(query('www.example.com'), 'udp', '127.0.0.1');
    await pending;
    await r.pipeline.handle(query('www.example.net'), 'udp', '127.0.0.1');
    expect(r.resolver.asked).to.have.length(2);
  });
  it('inPlace writes a cached reply into the send area and counts it; a question to forward says -1 and is forwarded once', async () => {
    const r = rig();
    const q = query('www.example.com', 'A', { id: 3 });
    const stored = r.pipeline.handle(q, 'udp', '127.0.0.1') as Buffer;
    const inbox = Buffer.concat([Buffer.alloc(7), q]);
    const out = Buffer.alloc(2000);
    const n = r.pipeline.inPlace!(inbox, 7, q.length, loopbackSockaddr(), 0, out, 100, 1900);
    expect(out.subarray(100, 100 + n).toString('hex')).to.equal(stored.toString('hex'));
    expect(r.counters.snapshot().queries).to.equal(2);
    // Not ours, and this client may recurse: the full path forwards it.
    const away = query('www.example.net', 'A', { id: 9 });
    expect(r.pipeline.inPlace!(away, 0, away.length, loopbackSockaddr(), 0, out, 0, 2000)).to.equal(-1);
    // The engine then calls the full path, telling it the cache was tried; the question inPlace found goes upstream once.
    const reply = await r.pipeline.handler('udp', true)(away, '127.0.0.1', 40000);
    expect(decodeReply(reply!).answers?.map((a) => a.data)).to.deep.equal(['198.51.100.7']);
    expect(r.resolver.asked.map((a) => a.name)).to.deep.equal(['www.example.net']);
    // Misses: the first query's, and the in-place one; the full path after it does not look again.
    expect(r.replies.misses).to.equal(2);
    expect(r.counters.snapshot().queries).to.equal(3);
  });
  it('inPlace answers a miss of a name of ours from a client that may recurse, as the full path does', () => {
    const r = rig();
    const full = rig({ replies: null });
    const q = query('mail.example.com', 'A', { id: 5 });
    const want = full.pipeline.handle(q, 'udp', '127.0.0.1') as Buffer;
    const out = Buffer.alloc(2000);
    const n = r.pipeline.inPlace!(q, 0, q.length, loopbackSockaddr(), 0, out, 0, 2000);
    expect(out.subarray(0, n).toString('hex')).to.equal(want.toString('hex'));
    expect(r.resolver.asked).to.deep.equal([]);
  });
  it('inPlace answers a miss from a client that may not recurse: the full path\'s octets, in the send area; kept from the second miss on', () => {
    const replies = new ReplyCache({ entries: 100, bytes: 1 << 20, admitOnSecondMiss: true });
    const r = rig({ replies });
    r.ctx.recursion = null;
    const full = rig({ replies: null });
    full.ctx.recursion = null;
    const asked: [string, string][] = [
      ['nothere.example.com', 'A'], // NXDOMAIN with the SOA
      ['www.example.com', 'A'],
      ['WwW.ExAmPlE.cOm', 'MX'], // NODATA, the asker's case
      ['www.example.net', 'A'], // not ours: REFUSED
    ];
    const out = Buffer.alloc(4096);
    const inPlaceRound = (): void => {
      for (const [name, type] of asked) {
        const q = query(name, type, { id: 77 });
        const want = full.pipeline.handle(q, 'udp', '127.0.0.1') as Buffer;
        const inbox = Buffer.concat([Buffer.alloc(5), q]);
        out.fill(0xee);
        const n = r.pipeline.inPlace!(inbox, 5, q.length, loopbackSockaddr(), 0, out, 64, 2048);
        expect(n, `${name} ${type}`).to.equal(want.length);
        expect(out.subarray(64, 64 + n).toString('hex'), `${name} ${type}`).to.equal(want.toString('hex'));
        expect(out[64 + n]).to.equal(0xee);
      }
    };
    inPlaceRound();
    expect(r.counters.snapshot().queries).to.equal(asked.length);
    expect(r.counters.snapshot().rcodes).to.deep.equal({ NOERROR: 2, NXDOMAIN: 1, REFUSED: 1 });
    expect(replies.size, 'kept after one miss').to.equal(0);
    inPlaceRound();
    expect(replies.size, 'kept after the second miss').to.equal(asked.length);
    expect(replies.hits).to.equal(0);
    inPlaceRound();
    expect(replies.hits).to.equal(asked.length);
    expect(replies.misses).to.equal(2 * asked.length);
    // A question the full path must answer (a zone transfer asked over UDP) is still left to it.
    const axfr = query('example.com', 'AXFR');
    expect(r.pipeline.inPlace!(axfr, 0, axfr.length, loopbackSockaddr(), 0, out, 0, 2048)).to.equal(-1);
  });
  it('has no in-place path without a reply cache, and answers all the same', () => {
    const r = rig({ replies: null });
    expect(r.pipeline.inPlace).to.equal(null);
    expect(Buffer.isBuffer(r.pipeline.handle(query('www.example.com'), 'udp', '127.0.0.1'))).to.equal(true);
  });
});

describe('QueryPipeline with a Forwarder and a silent upstream: forward-max', function () {
  this.timeout(20_000);
  const MAX = 3;
  for (const caches of ['reply cache and forward cache', 'forward cache only'] as const) {
    it(`the (forward-max + 1)th miss gets SERVFAIL at once, counted; shared, cached and authoritative questions are still answered (${caches})`, async () => {
      // Answers one name, and never anything else.
      const upstream = await startFakeUpstream('127.0.0.2', await freePort(), (q) =>
        q.questions?.[0]?.name === 'cached.remote.test' ? { kind: 'answer', answers: [aRecord('cached.remote.test', '192.0.2.80')] } : { kind: 'silent' },
      );
      try {
        const forwarder = new Forwarder({ upstreams: [{ address: upstream.address, port: upstream.port }], attemptTimeoutMs: 400, deadlineMs: 400, maxInFlight: MAX, cache: LIMITS });
        const r = rig({ forwarder, ...(caches === 'forward cache only' ? { replies: null } : {}) });
        const rcode = (m: Buffer | null): number => m![3]! & 0xf;
        expect(rcode(await r.pipeline.handle(query('cached.remote.test'), 'udp', '127.0.0.1'))).to.equal(0);

        const settled: boolean[] = [];
        const pending = Array.from({ length: MAX }, (_, i) => {
          const p = r.pipeline.handle(query(`miss${i}.remote.test`), 'udp', '127.0.0.1');
          expect(p, `miss ${i} goes upstream`).to.be.instanceOf(Promise);
          return Promise.resolve(p).then((m) => ((settled[i] = true), m));
        });
        // Over the bound: SERVFAIL now, not a promise, while the others wait on the silent upstream.
        const over = r.pipeline.handle(query('miss-over.remote.test', 'A', { id: 77 }), 'udp', '127.0.0.1');
        expect(Buffer.isBuffer(over), 'answered at once').to.equal(true);
        const p = decodeReply(over as Buffer);
        expect({ id: p.id, rcode: p.rcode, ra: p.flag_ra, question: p.questions![0]!.name }).to.deep.equal({ id: 77, rcode: 'SERVFAIL', ra: true, question: 'miss-over.remote.test' });
        // A question already in flight is shared, not refused; a cached one and one of ours are answered.
        const shared = r.pipeline.handle(query('miss0.remote.test'), 'udp', '127.0.0.1');
        expect(shared).to.be.instanceOf(Promise);
        const cached = r.pipeline.handle(query('cached.remote.test'), 'udp', '127.0.0.1');
        expect(Buffer.isBuffer(cached), 'a cached name is answered at once').to.equal(true);
        expect(dnsPacket.decode(cached as Buffer).answers!.map((x) => (x as { data: string }).data)).to.deep.equal(['192.0.2.80']);
        const ours = r.pipeline.handle(query('www.example.com'), 'udp', '127.0.0.1') as Buffer;
        expect(dnsPacket.decode(ours).flag_aa).to.equal(true);
        expect(settled.filter(Boolean), 'the misses in flight still wait').to.have.length(0);
        expect(forwarder.inFlightCount).to.equal(MAX);
        expect(r.counters.snapshot().forwardOverMax).to.equal(1);

        for (const m of [...(await Promise.all(pending)), await shared]) expect(rcode(m), 'SERVFAIL at the deadline').to.equal(2);
        // Room again: the next miss goes upstream.
        const next = r.pipeline.handle(query('miss-next.remote.test'), 'udp', '127.0.0.1');
        expect(next).to.be.instanceOf(Promise);
        await next;
        expect([...new Set(upstream.seen.filter((s) => s.startsWith('miss')))].sort()).to.deep.equal(['miss-next.remote.test A', 'miss0.remote.test A', 'miss1.remote.test A', 'miss2.remote.test A']);
        expect(r.counters.snapshot().forwardOverMax).to.equal(1);
      } finally {
        await upstream.close();
      }
    });
  }
});
