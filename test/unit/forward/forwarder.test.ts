/** The Forwarder against scripted upstreams on loopback: cache keys, definitive failures, the forward-max bound. */

import { expect } from 'chai';
import type { Packet } from 'dns-packet';
import type { CachedAnswer, CacheLimits } from '../../../src/forward/cache.js';
import { Forwarder, type ForwarderOptions, type Resolution } from '../../../src/forward/forwarder.js';
import type { UpstreamQuestion } from '../../../src/forward/transport.js';
import { a, startFakeUpstream, type Behaviour, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { freePort } from '../../helpers/server.js';

const LIMITS: CacheLimits = { maxEntries: 100, maxBytes: 1 << 20, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 10_800, servfailTtl: 5 };

function question(name: string, opts: { cd?: boolean; do?: boolean } = {}): UpstreamQuestion {
  return { name, type: 'A', klass: 'IN', dnssecOk: opts.do ?? false, checkingDisabled: opts.cd ?? false };
}

/** The answer a resolution gives (waiting for it if it was asked); over-max fails the test. */
async function answerOf(r: Resolution): Promise<CachedAnswer> {
  if (r.kind === 'over-max') throw new Error('unexpected over-max');
  return r.answer;
}

const addresses = (x: CachedAnswer): string[] => x.answers.map((r) => (r as { data: string }).data);

describe('Forwarder, with scripted upstreams on loopback', function () {
  this.timeout(20_000);
  const running: FakeUpstream[] = [];
  const up = async (address: string, behave: (q: Packet) => Behaviour): Promise<FakeUpstream> => {
    const f = await startFakeUpstream(address, await freePort(), behave);
    running.push(f);
    return f;
  };
  const forwarder = (upstreams: FakeUpstream[], over: Partial<ForwarderOptions> = {}): Forwarder =>
    new Forwarder({ upstreams: upstreams.map((f) => ({ address: f.address, port: f.port })), attemptTimeoutMs: 1000, deadlineMs: 3000, maxInFlight: 150, cache: LIMITS, ...over });
  afterEach(async () => {
    for (const f of running.splice(0)) await f.close();
  });

  it('keeps CD=1 and CD=0 answers apart: a validating upstream\'s unchecked answer never reaches a CD=0 asker (RFC 4035 §3.2.2)', async () => {
    // As a validating resolver does with bogus data: given with CD=1, SERVFAIL with CD=0.
    const f = await up('127.0.0.2', (q) => ((q as { flag_cd?: boolean }).flag_cd ? { kind: 'answer', answers: [a('bogus.remote.test', '192.0.2.66')] } : { kind: 'answer', rcode: 2 }));
    const fw = forwarder([f]);
    const unchecked = await answerOf(fw.resolve(question('bogus.remote.test', { cd: true })));
    expect([unchecked.rcode, ...addresses(unchecked)]).to.deep.equal(['NOERROR', '192.0.2.66']);
    const checked = await answerOf(fw.resolve(question('bogus.remote.test')));
    expect(checked.rcode, 'the CD=0 asker gets the upstream\'s CD=0 verdict').to.equal('SERVFAIL');
    expect(f.udpQueries).to.equal(2);
    // Both are cached now, each under its own key.
    const again = [fw.resolve(question('bogus.remote.test', { cd: true })), fw.resolve(question('bogus.remote.test'))];
    expect(again.map((r) => r.kind)).to.deep.equal(['cached', 'cached']);
    expect((await answerOf(again[0]!)).rcode).to.equal('NOERROR');
    expect((await answerOf(again[1]!)).rcode).to.equal('SERVFAIL');
    expect(f.udpQueries).to.equal(2);
  });

  for (const [name, rcode] of [['SERVFAIL', 2], ['REFUSED', 5]] as const) {
    it(`${name} from every upstream: each is asked once, then SERVFAIL, kept for servfailTtl`, async () => {
      const one = await up('127.0.0.2', () => ({ kind: 'answer', rcode }));
      const two = await up('127.0.0.3', () => ({ kind: 'answer', rcode }));
      const fw = forwarder([one, two]);
      const answer = await answerOf(fw.resolve(question('fail.remote.test')));
      expect(answer.rcode).to.equal('SERVFAIL');
      expect([one.udpQueries, two.udpQueries], 'a definitive answer is not asked for again').to.deep.equal([1, 1]);
      const again = fw.resolve(question('fail.remote.test'));
      expect(again.kind).to.equal('cached');
      expect((await answerOf(again)).rcode).to.equal('SERVFAIL');
      expect([one.udpQueries, two.udpQueries]).to.deep.equal([1, 1]);
    });
  }

  it('SERVFAIL from the first upstream: the next one\'s answer is given, and the first is not asked again', async () => {
    const failing = await up('127.0.0.2', () => ({ kind: 'answer', rcode: 2 }));
    const good = await up('127.0.0.3', () => ({ kind: 'answer', answers: [a('www.remote.test', '192.0.2.33')] }));
    const fw = forwarder([failing, good]);
    const answer = await answerOf(fw.resolve(question('www.remote.test')));
    expect([answer.rcode, ...addresses(answer)]).to.deep.equal(['NOERROR', '192.0.2.33']);
    expect([failing.udpQueries, good.udpQueries]).to.deep.equal([1, 1]);
  });

  it('one upstream silent, the other SERVFAIL: each asked once, then SERVFAIL (no rounds until the deadline)', async () => {
    const silent = await up('127.0.0.2', () => ({ kind: 'silent' }));
    const failing = await up('127.0.0.3', () => ({ kind: 'answer', rcode: 2 }));
    const fw = forwarder([silent, failing], { attemptTimeoutMs: 300, deadlineMs: 3000 });
    const answer = await answerOf(fw.resolve(question('www.remote.test')));
    expect(answer.rcode).to.equal('SERVFAIL');
    expect([silent.udpQueries, failing.udpQueries]).to.deep.equal([1, 1]);
  });

  it('forward-max: a stream of unique names with a silent upstream holds at most maxInFlight questions; the rest are over-max at once, shared and cached ones still answered', async () => {
    const MAX = 4;
    const f = await up('127.0.0.2', (q) => (q.questions?.[0]?.name === 'cached.remote.test' ? { kind: 'answer', answers: [a('cached.remote.test', '192.0.2.80')] } : { kind: 'silent' }));
    const told: string[] = [];
    const fw = forwarder([f], { attemptTimeoutMs: 400, deadlineMs: 400, maxInFlight: MAX, onEvent: (m) => told.push(m) });
    expect(addresses(await answerOf(fw.resolve(question('cached.remote.test'))))).to.deep.equal(['192.0.2.80']);
    const kinds = new Map<string, number>();
    const pending: Promise<CachedAnswer>[] = [];
    for (let i = 0; i < 500; i++) {
      const r = fw.resolve(question(`n${i}.remote.test`));
      kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
      if (r.kind === 'asked') pending.push(r.answer);
      expect(fw.inFlightCount).to.be.at.most(MAX);
    }
    expect(Object.fromEntries(kinds)).to.deep.equal({ asked: MAX, 'over-max': 500 - MAX });
    expect(fw.resolve(question('n0.remote.test')).kind, 'the same question in flight is shared').to.equal('asked');
    expect(fw.resolve(question('cached.remote.test')).kind).to.equal('cached');
    expect(fw.stats).to.include({ cacheMisses: 1 + MAX, shared: 1, cacheHits: 1 });
    expect(told, 'told once, not per refusal').to.have.length(1);
    expect(told[0]).to.match(/^forward-max reached: 4 upstream questions in flight; new cache misses get SERVFAIL .*raise --forward-max/);
    for (const answer of await Promise.all(pending)) expect(answer.rcode).to.equal('SERVFAIL');
    expect(fw.inFlightCount).to.equal(0);
    // Room again.
    const next = fw.resolve(question('n499.remote.test'));
    expect(next.kind).to.equal('asked');
    await answerOf(next);
    expect(new Set(f.seen)).to.deep.equal(new Set(['cached.remote.test A', 'n0.remote.test A', 'n1.remote.test A', 'n2.remote.test A', 'n3.remote.test A', 'n499.remote.test A']));
  });
});
