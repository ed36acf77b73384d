import { expect } from 'chai';
import type { Answer } from 'dns-packet';
import { AnswerCache, cacheKey, ttlFor, type CacheLimits, type CachedAnswer } from '../../../src/forward/cache.js';

const limits: CacheLimits = { maxEntries: 3, maxBytes: 1_000_000, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 10800, servfailTtl: 5 };
const A = (ttl: number): Answer => ({ name: 'x.test', type: 'A', class: 'IN', ttl, data: '192.0.2.1' }) as Answer;
const SOA = (ttl: number, minimum: number): Answer =>
  ({ name: 'test', type: 'SOA', class: 'IN', ttl, data: { mname: 'ns.test', rname: 'h.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } }) as Answer;
const ans = (rcode: string, answers: Answer[], authorities: Answer[] = []): CachedAnswer => ({ rcode, ad: false, answers, authorities, additionals: [] });

describe('ttlFor', () => {
  const cases: [string, CachedAnswer, Partial<CacheLimits>, number][] = [
    ['positive: smallest TTL', ans('NOERROR', [A(300), A(60)]), {}, 60],
    ['positive: raised to the minimum', ans('NOERROR', [A(5)]), { minTtl: 30 }, 30],
    ['positive: cut to the maximum', ans('NOERROR', [A(999999)]), { maxTtl: 3600 }, 3600],
    ['NXDOMAIN: min(SOA TTL, MINIMUM)', ans('NXDOMAIN', [], [SOA(3600, 120)]), {}, 120],
    ['NODATA: the same rule', ans('NOERROR', [], [SOA(50, 600)]), {}, 50],
    ['negative without SOA: not kept', ans('NXDOMAIN', []), {}, 0],
    ['negative capped', ans('NXDOMAIN', [], [SOA(86400, 86400)]), { maxNegativeTtl: 900 }, 900],
    ['SERVFAIL: a few seconds', ans('SERVFAIL', []), {}, 5],
    ['REFUSED: not kept', ans('REFUSED', []), {}, 0],
  ];
  for (const [name, a, l, want] of cases) it(name, () => expect(ttlFor(a, { ...limits, ...l })).to.equal(want));
});

describe('AnswerCache', () => {
  it('counts TTLs down with age and forgets at expiry', () => {
    let now = 1_000_000;
    const cache = new AnswerCache(limits, () => now);
    cache.put('k', ans('NOERROR', [A(10)]));
    now += 4_500;
    expect((cache.get('k')!.answers[0] as { ttl: number }).ttl).to.equal(6);
    now += 6_000;
    expect(cache.get('k')).to.equal(undefined);
  });
  it('evicts the least recently used beyond its entry cap', () => {
    const cache = new AnswerCache(limits, () => 0);
    for (const k of ['a', 'b', 'c']) cache.put(k, ans('NOERROR', [A(60)]));
    cache.get('a');
    cache.put('d', ans('NOERROR', [A(60)]));
    expect(cache.get('b')).to.equal(undefined);
    expect(cache.get('a')).to.not.equal(undefined);
    expect(cache.size).to.equal(3);
  });
  it('respects the byte cap', () => {
    const cache = new AnswerCache({ ...limits, maxEntries: 1000, maxBytes: 1000 }, () => 0);
    for (let i = 0; i < 50; i++) cache.put(`k${i}`, ans('NOERROR', [A(60)]));
    expect(cache.size).to.be.below(50);
  });
  it('size 0 turns caching off', () => {
    const cache = new AnswerCache({ ...limits, maxEntries: 0 }, () => 0);
    expect(cache.put('k', ans('NOERROR', [A(60)]))).to.equal(0);
    expect(cache.get('k')).to.equal(undefined);
  });
  it('keys fold case and separate DNSSEC-OK askers and checking-disabled askers (RFC 4035 §3.2.2)', () => {
    expect(cacheKey('WWW.Example', 'A', 'IN', false, false)).to.equal(cacheKey('www.example', 'A', 'IN', false, false));
    const keys = [
      cacheKey('www.example', 'A', 'IN', false, false),
      cacheKey('www.example', 'A', 'IN', true, false),
      cacheKey('www.example', 'A', 'IN', false, true),
      cacheKey('www.example', 'A', 'IN', true, true),
    ];
    expect(new Set(keys).size).to.equal(4);
  });
});
