import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { ReplyCache, queryShape, ttlOffsets } from '../../../src/dns/answer-cache.js';
import type { AnswerContext } from '../../../src/dns/answer.js';
import { ZoneSet } from '../../../src/dns/zoneset.js';
import { loadZones } from '../../../src/zones.js';
import { authoritativeOnly } from '../../helpers/answer.js';
import { ROOT } from '../../helpers/server.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const loaded = loadZones([
  { name: 'example.com.', file: `${FIX}example.com.zone` },
  { name: 'other.test.', file: `${FIX}other.test.zone` },
]);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const ctx: AnswerContext = { identity: { server: 'w', version: 'v' }, zones: loaded.zones, ednsUdpSize: 1232, nsid: Buffer.from('w'), recursion: null };
const full = authoritativeOnly(ctx);

function q(name: string, type: string, opts: { id?: number; rd?: boolean; edns?: boolean; size?: number; do?: boolean; nsid?: boolean; cd?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 1,
    flags: (opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) | (opts.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type: type as 'A', class: 'IN' }],
    additionals: opts.edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: opts.size ?? 1232, flags: opts.do ? dnsPacket.DNSSEC_OK : 0, options: opts.nsid ? [{ code: 3, data: Buffer.alloc(0) }] : [{ code: 10, data: Buffer.alloc(8, 7) }] } as never]
      : [],
  });
}

/** The reply through the cache: a miss fills it with the full path's reply; a hit is patched. */
function cached(cache: ReplyCache, query: Buffer, zones: ZoneSet = ctx.zones): { reply: Buffer; hit: boolean } {
  const shape = queryShape(query, 1232, false, false);
  if (!shape) throw new Error('not cacheable');
  const hit = cache.get(query, shape, zones);
  if (hit) return { reply: hit, hit: true };
  const reply = full(query)!;
  cache.put(shape, reply, zones);
  return { reply, hit: false };
}

/** A shape as one comparable string. */
const key = (s: ReturnType<typeof queryShape>): string => (s ? `${s.question}/${s.variant}` : 'null');

describe('queryShape', () => {
  const same: [string, Buffer, Buffer][] = [
    ['case of the name', q('WWW.example.com', 'A'), q('www.EXAMPLE.com', 'A')],
    ['ID', q('www.example.com', 'A', { id: 1 }), q('www.example.com', 'A', { id: 2 })],
    ['CD bit', q('www.example.com', 'A', { cd: true }), q('www.example.com', 'A')],
    ['unknown EDNS options (a cookie)', q('a.example.com', 'A', { edns: true }), q('a.example.com', 'A', { edns: true })],
  ];
  for (const [what, a, b] of same) it(`ignores the ${what}`, () => expect(key(queryShape(a, 1232, false, false))).to.equal(key(queryShape(b, 1232, false, false))));
  const differ: [string, Buffer, Buffer][] = [
    ['type', q('www.example.com', 'A'), q('www.example.com', 'AAAA')],
    ['EDNS or not', q('www.example.com', 'A', { edns: true }), q('www.example.com', 'A')],
    ['UDP size (the truncation limit)', q('www.example.com', 'A', { edns: true, size: 512 }), q('www.example.com', 'A', { edns: true, size: 4096 })],
    ['DO bit', q('www.example.com', 'A', { edns: true, do: true }), q('www.example.com', 'A', { edns: true })],
    ['NSID asked', q('www.example.com', 'A', { edns: true, nsid: true }), q('www.example.com', 'A', { edns: true })],
    ['RD bit', q('www.example.com', 'A', { rd: false }), q('www.example.com', 'A')],
  ];
  for (const [what, a, b] of differ) it(`tells apart the ${what}`, () => expect(key(queryShape(a, 1232, false, false))).to.not.equal(key(queryShape(b, 1232, false, false))));
  it('tells apart UDP and TCP, and clients allowed to recurse or not', () => {
    const m = q('www.example.com', 'A');
    expect(key(queryShape(m, 1232, true, false))).to.not.equal(key(queryShape(m, 1232, false, false)));
    expect(key(queryShape(m, 1232, false, true))).to.not.equal(key(queryShape(m, 1232, false, false)));
  });
  const slow: [string, Buffer][] = [
    ['a response', (() => { const m = q('a.example.com', 'A'); m[2] = m[2]! | 0x80; return m; })()],
    ['opcode NOTIFY', (() => { const m = q('a.example.com', 'A'); m[2] = (m[2]! & 0x87) | (4 << 3); return m; })()],
    ['EDNS version 1', dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'a.example.com', type: 'A', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 1, flags: 0, options: [] } as never] })],
    ['trailing garbage', Buffer.concat([q('a.example.com', 'A'), Buffer.from([0])])],
    ['a cut-short question', q('a.example.com', 'A').subarray(0, 20)],
    ['two questions', (() => { const m = q('a.example.com', 'A'); m[5] = 2; return m; })()],
  ];
  for (const [what, m] of slow) it(`leaves ${what} to the full path`, () => expect(queryShape(m, 1232, false, false)).to.equal(null));
});

describe('ReplyCache', () => {
  it('a hit is byte for byte what the full path gives, with the asker\'s ID, RD, CD and name case', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 1 << 20 });
    const cases = [
      q('www.example.com', 'A', { id: 1 }),
      q('WwW.ExAmPlE.CoM', 'A', { id: 2, rd: false, cd: true }),
      q('www.example.com', 'A', { id: 3, edns: true }),
      q('nx.example.com', 'A', { id: 4 }),
      q('NX.example.com', 'A', { id: 5 }),
      q('big.example.com', 'TXT', { id: 6 }),
      q('BIG.example.com', 'TXT', { id: 7 }),
      q('big.example.com', 'TXT', { id: 8, edns: true, size: 4096 }),
      q('www.example.net', 'A', { id: 9 }),
      q('www.example.com', 'A', { id: 10, edns: true, nsid: true, do: true }),
    ];
    for (const m of cases) {
      cached(cache, m);
      const again = cached(cache, m);
      expect(again.hit).to.equal(true);
      expect(again.reply.equals(full(m)!), `hit for ${dnsPacket.decode(m).questions?.[0]?.name}`).to.equal(true);
    }
  });
  it('TC replies are kept per size: a 512 hit stays truncated, a 1232 one does not', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 1 << 20 });
    const small = q('big.example.com', 'TXT', { edns: true, size: 512 });
    const large = q('big.example.com', 'TXT', { edns: true, size: 1232 });
    cached(cache, small);
    cached(cache, large);
    expect(dnsPacket.decode(cached(cache, small).reply).flag_tc).to.equal(true);
    expect(dnsPacket.decode(cached(cache, large).reply).flag_tc).to.equal(false);
  });
  it('is emptied when the zones are swapped (reload)', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 1 << 20 });
    const m = q('www.example.com', 'A');
    cached(cache, m);
    expect(cached(cache, m).hit).to.equal(true);
    const reloaded = new ZoneSet([...ctx.zones.zones()]);
    expect(cached(cache, m, reloaded).hit).to.equal(false);
    expect(cache.size).to.equal(1);
  });
  it('stays within its entry bound', () => {
    const cache = new ReplyCache({ entries: 5, bytes: 1 << 20 });
    for (let i = 0; i < 20; i++) cached(cache, q(`n${i}.example.com`, 'A'));
    expect(cache.size).to.equal(5);
  });
  it('0 entries: off', () => {
    const cache = new ReplyCache({ entries: 0, bytes: 0 });
    const m = q('www.example.com', 'A');
    cached(cache, m);
    expect(cached(cache, m).hit).to.equal(false);
  });
});

describe('ReplyCache: forwarded replies age', () => {
  const forwarded = (id: number, ttl: number): Buffer =>
    dnsPacket.encode({
      type: 'response',
      id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ name: 'www.remote.test', type: 'A', class: 'IN' }],
      answers: [{ name: 'www.remote.test', type: 'A', class: 'IN', ttl, data: '192.0.2.1' }, { name: 'www.remote.test', type: 'A', class: 'IN', ttl: ttl + 100, data: '192.0.2.2' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never],
    });
  it('finds every TTL, not the OPT\'s', () => {
    const m = forwarded(1, 60);
    expect(ttlOffsets(m)!.map((o) => m.readUInt32BE(o))).to.deep.equal([60, 160]);
    expect(ttlOffsets(m.subarray(0, m.length - 3))).to.equal(null);
  });
  it('counts TTLs down by the age and forgets at expiry', () => {
    let now = 1_000_000;
    const cache = new ReplyCache({ entries: 10, bytes: 1 << 20 }, () => now);
    const query = q('www.remote.test', 'A', { id: 77 });
    const shape = queryShape(query, 1232, false, true)!;
    expect(cache.get(query, shape, ctx.zones)).to.equal(undefined);
    cache.put(shape, forwarded(5, 60), ctx.zones, 60);
    now += 10_500;
    const hit = dnsPacket.decode(cache.get(query, shape, ctx.zones)!);
    expect(hit.id).to.equal(77);
    expect(hit.answers!.map((r) => (r as { ttl: number }).ttl)).to.deep.equal([50, 150]);
    now += 50_000;
    expect(cache.get(query, shape, ctx.zones)).to.equal(undefined);
    expect(cache.size).to.equal(0);
  });
  it('keeps nothing with no time to live', () => {
    const cache = new ReplyCache({ entries: 10, bytes: 1 << 20 });
    const query = q('www.remote.test', 'A');
    const shape = queryShape(query, 1232, false, true)!;
    cache.get(query, shape, ctx.zones);
    cache.put(shape, forwarded(5, 0), ctx.zones, 0);
    expect(cache.size).to.equal(0);
  });
});
