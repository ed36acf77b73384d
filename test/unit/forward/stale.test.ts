/** Serve-stale (RFC 8767): the cache's stale entries and the Forwarder's timers, against a scripted upstream on loopback, with a clock the test moves. */

import { expect } from 'chai';
import type { Answer, Packet } from 'dns-packet';
import { AnswerCache, EDE_STALE_ANSWER, STALE_TTL, type CachedAnswer, type CacheLimits } from '../../../src/forward/cache.js';
import { Forwarder, type ForwarderOptions, type Resolution } from '../../../src/forward/forwarder.js';
import type { UpstreamQuestion } from '../../../src/forward/transport.js';
import { a, soa, startFakeUpstream, type Behaviour, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { freePort } from '../../helpers/server.js';

const LIMITS: CacheLimits = { maxEntries: 100, maxBytes: 1 << 20, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 10_800, servfailTtl: 5, staleMax: 3600 };
const ans = (rcode: string, answers: Answer[], authorities: Answer[] = []): CachedAnswer => ({ rcode, ad: false, answers, authorities, additionals: [] });
const ttls = (x: CachedAnswer): number[] => [...x.answers, ...x.authorities].map((r) => (r as { ttl: number }).ttl);
const addresses = (x: CachedAnswer): string[] => x.answers.map((r) => (r as { data: string }).data);
const question = (name: string): UpstreamQuestion => ({ name, type: 'A', klass: 'IN', dnssecOk: false, checkingDisabled: false });

describe('AnswerCache: stale entries', () => {
  it('fresh until the TTL, then stale (TTL 30, Stale Answer EDE, kept by no reply cache) until stale-max, then gone', () => {
    let now = 1_000_000;
    const cache = new AnswerCache(LIMITS, () => now);
    cache.put('k', ans('NOERROR', [a('x.test', '192.0.2.1', 10)]));
    now += 9_999;
    const fresh = cache.lookup('k');
    expect(fresh.kind).to.equal('fresh');
    if (fresh.kind === 'fresh') expect([fresh.ttl, fresh.expiresInMs, ttls(fresh.answer)]).to.deep.equal([10, 1, [1]]);
    now += 1;
    const stale = cache.lookup('k');
    expect(stale.kind).to.equal('stale');
    if (stale.kind !== 'stale') return;
    expect(ttls(stale.answer)).to.deep.equal([STALE_TTL]);
    expect([stale.answer.extendedError, stale.answer.reuseTtl, stale.recentlyFailed]).to.deep.equal([EDE_STALE_ANSWER, 0, false]);
    expect(cache.get('k'), 'get() gives fresh answers only').to.equal(undefined);
    cache.refreshFailed('k', 5_000);
    expect(cache.lookup('k')).to.deep.include({ kind: 'stale', recentlyFailed: true });
    now += 5_000;
    expect(cache.lookup('k')).to.deep.include({ kind: 'stale', recentlyFailed: false });
    now = 1_000_000 + 10_000 + 3_600_000 - 1;
    expect(cache.lookup('k').kind).to.equal('stale');
    now += 1;
    expect(cache.lookup('k').kind, 'past stale-max').to.equal('miss');
    expect(cache.size).to.equal(0);
  });

  it('NXDOMAIN goes stale too; SERVFAIL never does; stale-max 0 drops at expiry', () => {
    let now = 0;
    const cache = new AnswerCache(LIMITS, () => now);
    cache.put('nx', ans('NXDOMAIN', [], [soa('test', 60, 60)]));
    cache.put('sf', ans('SERVFAIL', []));
    now = 61_000;
    expect(cache.lookup('nx').kind).to.equal('stale');
    expect(cache.lookup('sf').kind).to.equal('miss');
    const off = new AnswerCache({ ...LIMITS, staleMax: 0 }, () => now);
    off.put('k', ans('NOERROR', [a('x.test', '192.0.2.1', 10)]));
    now += 10_000;
    expect(off.lookup('k').kind).to.equal('miss');
  });
});

describe('Forwarder: serve-stale (RFC 8767)', function () {
  this.timeout(20_000);
  let upstream: FakeUpstream;
  let behave: (q: Packet) => Behaviour;
  let now = 0;
  beforeEach(async () => {
    behave = () => ({ kind: 'answer', answers: [a('x.remote.test', '192.0.2.1', 10)] });
    upstream = await startFakeUpstream('127.0.0.2', await freePort(), (q) => behave(q));
    now = Date.now();
  });
  afterEach(() => upstream.close());
  const forwarder = (over: Partial<ForwarderOptions> = {}): Forwarder =>
    new Forwarder({ upstreams: [{ address: upstream.address, port: upstream.port }], attemptTimeoutMs: 300, deadlineMs: 900, maxInFlight: 150, cache: LIMITS, staleAnswerTimeoutMs: 400, staleRefreshMs: 2000, ...over }, () => now);
  const answerOf = async (r: Resolution): Promise<{ kind: string; answer: CachedAnswer; ms: number }> => {
    const t0 = Date.now();
    if (r.kind === 'over-max') throw new Error('over-max');
    return { kind: r.kind, answer: await r.answer, ms: Date.now() - t0 };
  };

  it('a silent upstream: the stale answer after the stale answer timeout, the refresh goes on; then at once for the failure recheck time; fresh again once the upstream answers', async () => {
    const fw = forwarder();
    expect(addresses((await answerOf(fw.resolve(question('x.remote.test')))).answer)).to.deep.equal(['192.0.2.1']);
    behave = () => ({ kind: 'silent' });
    now += 11_000;
    const first = await answerOf(fw.resolve(question('x.remote.test')));
    expect([first.kind, first.answer.rcode, ...addresses(first.answer), ...ttls(first.answer)]).to.deep.equal(['asked', 'NOERROR', '192.0.2.1', 30]);
    expect(first.answer.extendedError).to.equal(EDE_STALE_ANSWER);
    expect(first.ms, 'the stale answer timeout, not the 900 ms deadline').to.be.within(350, 800);
    expect(fw.inFlightCount, 'the refresh goes on').to.equal(1);
    await new Promise((r) => setTimeout(r, 700));
    expect(fw.inFlightCount).to.equal(0);
    const asked = upstream.udpQueries;
    const second = await answerOf(fw.resolve(question('x.remote.test')));
    expect([second.kind, ...addresses(second.answer)], 'within the failure recheck time: at once, nothing asked').to.deep.equal(['cached', '192.0.2.1']);
    expect(upstream.udpQueries).to.equal(asked);
    behave = () => ({ kind: 'answer', answers: [a('x.remote.test', '192.0.2.2', 10)] });
    now += 2_000;
    const back = await answerOf(fw.resolve(question('x.remote.test')));
    expect([back.kind, ...addresses(back.answer), ...ttls(back.answer)]).to.deep.equal(['asked', '192.0.2.2', 10]);
    expect(back.answer.extendedError).to.equal(undefined);
    expect(fw.stats.staleAnswers).to.equal(2);
  });

  it('an upstream that fails at once (SERVFAIL): the stale answer at once, not after the timeout', async () => {
    const fw = forwarder({ staleAnswerTimeoutMs: 5000 });
    await answerOf(fw.resolve(question('x.remote.test')));
    behave = () => ({ kind: 'answer', rcode: 2 });
    now += 11_000;
    const r = await answerOf(fw.resolve(question('x.remote.test')));
    expect([r.answer.rcode, ...addresses(r.answer), ...ttls(r.answer)]).to.deep.equal(['NOERROR', '192.0.2.1', 30]);
    expect(r.ms).to.be.below(1000);
  });

  it('never stale when the upstream answered: its NXDOMAIN is the answer', async () => {
    const fw = forwarder();
    await answerOf(fw.resolve(question('x.remote.test')));
    behave = () => ({ kind: 'answer', rcode: 3, authorities: [soa('remote.test', 60, 60)] });
    now += 11_000;
    const r = await answerOf(fw.resolve(question('x.remote.test')));
    expect(r.answer.rcode).to.equal('NXDOMAIN');
    expect(fw.stats.staleAnswers).to.equal(0);
    expect((await answerOf(fw.resolve(question('x.remote.test')))).answer.rcode, 'and it replaced the stale entry').to.equal('NXDOMAIN');
  });

  it('a slow upstream that answers within the stale answer timeout: its fresh answer', async () => {
    const fw = forwarder({ staleAnswerTimeoutMs: 1500 });
    await answerOf(fw.resolve(question('x.remote.test')));
    behave = () => ({ kind: 'answer', answers: [a('x.remote.test', '192.0.2.3', 10)], delayMs: 200 });
    now += 11_000;
    const r = await answerOf(fw.resolve(question('x.remote.test')));
    expect([...addresses(r.answer), ...ttls(r.answer)]).to.deep.equal(['192.0.2.3', 10]);
  });

  it('with forward-max reached, a stale answer instead of SERVFAIL', async () => {
    const fw = forwarder({ maxInFlight: 1 });
    await answerOf(fw.resolve(question('x.remote.test')));
    behave = () => ({ kind: 'silent' });
    const blocking = fw.resolve(question('other.remote.test'));
    now += 11_000;
    const r = fw.resolve(question('x.remote.test'));
    expect(r.kind).to.equal('cached');
    expect(ttls((await answerOf(r)).answer)).to.deep.equal([30]);
    await answerOf(blocking);
  });
});
