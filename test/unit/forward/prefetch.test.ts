/** Prefetch in the Forwarder: the last tenth of a TTL, once per entry, what the reply cache may keep, and a failed prefetch that leaves the entry alone. */

import { expect } from 'chai';
import type { Packet } from 'dns-packet';
import { ttlFor, type CachedAnswer, type CacheLimits } from '../../../src/forward/cache.js';
import { Forwarder, type ForwarderOptions, type Resolution } from '../../../src/forward/forwarder.js';
import type { UpstreamQuestion } from '../../../src/forward/transport.js';
import { a, startFakeUpstream, type Behaviour, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { freePort, until } from '../../helpers/server.js';

const LIMITS: CacheLimits = { maxEntries: 100, maxBytes: 1 << 20, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 10_800, servfailTtl: 5, staleMax: 0 };
const question: UpstreamQuestion = { name: 'x.remote.test', type: 'A', klass: 'IN', dnssecOk: false, checkingDisabled: false };
const addresses = (x: CachedAnswer): string[] => x.answers.map((r) => (r as { data: string }).data);

describe('Forwarder: prefetch', function () {
  this.timeout(10_000);
  let upstream: FakeUpstream;
  let behave: (q: Packet) => Behaviour;
  let now = 0;
  beforeEach(async () => {
    behave = () => ({ kind: 'answer', answers: [a('x.remote.test', '192.0.2.1', 100)] });
    upstream = await startFakeUpstream('127.0.0.2', await freePort(), (q) => behave(q));
    now = Date.now();
  });
  afterEach(() => upstream.close());
  const forwarder = (over: Partial<ForwarderOptions> = {}): Forwarder =>
    new Forwarder({ upstreams: [{ address: upstream.address, port: upstream.port }], attemptTimeoutMs: 300, deadlineMs: 600, maxInFlight: 150, cache: LIMITS, prefetch: true, ...over }, () => now);
  const answerOf = async (r: Resolution): Promise<CachedAnswer> => {
    if (r.kind === 'over-max') throw new Error('over-max');
    return r.answer;
  };

  it('the reply cache keeps a reply until the window opens; an asker inside it starts one refresh; its answer replaces the entry', async () => {
    const fw = forwarder();
    const first = await answerOf(fw.resolve(question));
    expect(ttlFor(first, LIMITS), 'a fresh answer: kept by the reply cache for 90 % of its TTL').to.equal(90);
    now += 50_000;
    const mid = fw.resolve(question);
    expect(mid.kind).to.equal('cached');
    expect(ttlFor(await answerOf(mid), LIMITS), 'until the window opens, 40 s on').to.equal(40);
    expect(fw.stats.prefetches).to.equal(0);
    now += 41_000;
    behave = () => ({ kind: 'answer', answers: [a('x.remote.test', '192.0.2.2', 100)] });
    const inWindow = await answerOf(fw.resolve(question));
    expect(addresses(inWindow), 'the cached answer, at once').to.deep.equal(['192.0.2.1']);
    expect(ttlFor(inWindow, LIMITS), 'not kept by the reply cache').to.equal(0);
    fw.resolve(question);
    expect([fw.stats.prefetches, fw.inFlightCount], 'one refresh, however many ask').to.deep.equal([1, 1]);
    expect(await until(() => fw.inFlightCount === 0, 2000, 10)).to.equal(true);
    const after = await answerOf(fw.resolve(question));
    expect([...addresses(after), (after.answers[0] as { ttl: number }).ttl]).to.deep.equal(['192.0.2.2', 100]);
    expect(upstream.udpQueries).to.equal(2);
  });

  it('a failed prefetch leaves the cached answer in place (no SERVFAIL in its stead)', async () => {
    const fw = forwarder();
    await answerOf(fw.resolve(question));
    behave = () => ({ kind: 'answer', rcode: 2 });
    now += 95_000;
    expect(addresses(await answerOf(fw.resolve(question)))).to.deep.equal(['192.0.2.1']);
    expect(await until(() => fw.inFlightCount === 0, 2000, 10)).to.equal(true);
    now += 1_000;
    const r = fw.resolve(question);
    expect(r.kind).to.equal('cached');
    expect(addresses(await answerOf(r))).to.deep.equal(['192.0.2.1']);
    // Still in the window: that asker started another try.
    expect(await until(() => fw.inFlightCount === 0, 2000, 10)).to.equal(true);
    expect(fw.stats.prefetches).to.equal(2);
  });

  it('off: no refresh before expiry, and the reply cache keeps a reply for its whole TTL', async () => {
    const fw = forwarder({ prefetch: false });
    expect(ttlFor(await answerOf(fw.resolve(question)), LIMITS)).to.equal(100);
    now += 95_000;
    await answerOf(fw.resolve(question));
    expect([fw.stats.prefetches, fw.inFlightCount, upstream.udpQueries]).to.deep.equal([0, 0, 1]);
  });
});
