/** DeferredResolver: questions to forward asked while a worker's forwarding modules still load wait for them, driven through the query pipeline in process. */

import { expect } from 'chai';
import dnsPacket, { type Answer } from 'dns-packet';
import { ReplyCache } from '../../../src/dns/answer-cache.js';
import type { AnswerContext } from '../../../src/dns/answer.js';
import { Counters } from '../../../src/dns/counters.js';
import { QueryPipeline, type Resolver } from '../../../src/dns/pipeline.js';
import { compileAcl, type Acl } from '../../../src/forward/acl.js';
import type { CacheLimits } from '../../../src/forward/cache.js';
import { DeferredResolver } from '../../../src/forward/deferred-resolver.js';
import type { Resolution } from '../../../src/forward/forwarder.js';
import type { UpstreamQuestion } from '../../../src/forward/transport.js';
import { loadZones } from '../../../src/zones.js';
import { ROOT } from '../../helpers/server.js';

const loaded = loadZones([{ name: 'example.com.', file: `${ROOT}test/fixtures/answers/example.com.zone` }]);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const LIMITS: CacheLimits = { maxEntries: 100, maxBytes: 1 << 20, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 10_800, servfailTtl: 5 };

/** Answers every question with one A record whose address says who was asked; or says forward-max is reached. */
class Upstream implements Resolver {
  asked: string[] = [];
  full = false;
  resolve(q: UpstreamQuestion): Resolution {
    this.asked.push(q.name);
    if (this.full) return { kind: 'over-max' };
    const a = { name: q.name, type: 'A', class: 'IN', ttl: 300, data: '198.51.100.9' } as Answer;
    return { kind: 'asked', answer: Promise.resolve({ rcode: 'NOERROR', ad: false, answers: [a], authorities: [], additionals: [] }) };
  }
}

/** A load the test settles by hand. */
function gate(): { promise: Promise<Resolver>; open: (r: Resolver) => void; fail: (e: Error) => void } {
  let open!: (r: Resolver) => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<Resolver>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

function pipelineWith(forwarder: Resolver): QueryPipeline {
  const ctx: AnswerContext = { identity: { server: 'w', version: 'v' }, zones: loaded.ok ? loaded.zones : (null as never), recursion: compileAcl(['127.0.0.0/8']) as Acl, ednsUdpSize: 1232, nsid: Buffer.from('w') };
  return new QueryPipeline({ ctx, counters: new Counters(), replies: new ReplyCache({ entries: 100, bytes: 1 << 20 }), forwarder, forwardLimits: LIMITS, onInternalError: () => undefined });
}

/** The RCODE of a reply (the low four bits of octet 3). */
const rcode = (reply: Buffer | null): number => reply![3]! & 0xf;
const NOERROR = 0;
const SERVFAIL = 2;

function query(name: string, id = 1): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });
}

/** Whether a promise has settled by the time every pending callback ran. */
async function settledYet(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('DeferredResolver: forwarding while the forwarder still loads', () => {
  it('a question asked before the forwarder is loaded waits, then gets its answer', async () => {
    const g = gate();
    const deferred = new DeferredResolver(g.promise);
    const pipeline = pipelineWith(deferred);
    const pending = pipeline.handle(query('www.example.net', 7), 'udp', '127.0.0.1');
    expect(pending, 'answered later, not at once').to.be.instanceOf(Promise);
    expect(await settledYet(pending as Promise<unknown>), 'still waiting for the load').to.equal(false);
    expect(deferred.ready).to.equal(false);
    const upstream = new Upstream();
    g.open(upstream);
    const wire = (await pending)!;
    expect(rcode(wire)).to.equal(NOERROR);
    const reply = dnsPacket.decode(wire);
    expect(reply.id).to.equal(7);
    expect(reply.answers!.map((a) => (a as { data: string }).data)).to.deep.equal(['198.51.100.9']);
    expect(upstream.asked).to.deep.equal(['www.example.net']);
    expect(deferred.ready).to.equal(true);
  });
  it('once loaded, questions go straight to the forwarder (its own resolution, no wait)', async () => {
    const upstream = new Upstream();
    const deferred = new DeferredResolver(Promise.resolve(upstream));
    await new Promise((r) => setImmediate(r));
    upstream.full = true;
    expect(deferred.resolve({ name: 'a.example.net', type: 'A', klass: 'IN', dnssecOk: false, checkingDisabled: false })).to.deep.equal({ kind: 'over-max' });
  });
  it('names in our zones are answered at once while the forwarder loads', () => {
    const pipeline = pipelineWith(new DeferredResolver(gate().promise));
    const reply = pipeline.handle(query('www.example.com'), 'udp', '127.0.0.1');
    expect(Buffer.isBuffer(reply), 'a reply, not a promise').to.equal(true);
    expect(dnsPacket.decode(reply as Buffer).answers!.length).to.be.greaterThan(0);
  });
  it('a question that finds forward-max reached once the forwarder loads is answered SERVFAIL', async () => {
    const g = gate();
    const pending = pipelineWith(new DeferredResolver(g.promise)).handle(query('www.example.net'), 'udp', '127.0.0.1');
    const upstream = new Upstream();
    upstream.full = true;
    g.open(upstream);
    expect(rcode(await pending)).to.equal(SERVFAIL);
  });
  it('when the forwarder cannot load, waiting and later questions are answered SERVFAIL', async () => {
    const g = gate();
    const pipeline = pipelineWith(new DeferredResolver(g.promise));
    const waiting = pipeline.handle(query('www.example.net'), 'udp', '127.0.0.1');
    g.fail(new Error('cannot load the forwarding modules'));
    expect(rcode(await waiting)).to.equal(SERVFAIL);
    const later = await pipeline.handle(query('mail.example.net', 2), 'udp', '127.0.0.1');
    expect(rcode(later)).to.equal(SERVFAIL);
  });
});
