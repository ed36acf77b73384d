import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { ReplyCache, queryShape, ttlOffsets, type QueryShape, type ReplyCacheMirror } from '../../../src/dns/answer-cache.js';
import type { AnswerContext } from '../../../src/dns/answer.js';
import { ZoneSet } from '../../../src/auth/zone-set.js';
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
const key = (s: ReturnType<typeof queryShape>): string => (s ? `${s.question.toString('hex')}/${s.variant}` : 'null');

describe('queryShape', () => {
  const same: [string, Buffer, Buffer][] = [
    ['case of the name', q('WWW.example.com', 'A'), q('www.EXAMPLE.com', 'A')],
    ['ID', q('www.example.com', 'A', { id: 1 }), q('www.example.com', 'A', { id: 2 })],
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
    // A CD=1 answer (validation off upstream) must not reach a CD=0 asker, and CD is echoed (RFC 4035 §3.2.2).
    ['CD bit', q('www.example.com', 'A', { cd: true }), q('www.example.com', 'A')],
    ['CD bit with EDNS and DO', q('www.example.com', 'A', { edns: true, do: true, cd: true }), q('www.example.com', 'A', { edns: true, do: true })],
  ];
  for (const [what, a, b] of differ) it(`tells apart the ${what}`, () => expect(key(queryShape(a, 1232, false, false))).to.not.equal(key(queryShape(b, 1232, false, false))));
  it('tells apart UDP and TCP, and clients allowed to recurse or not', () => {
    const m = q('www.example.com', 'A');
    expect(key(queryShape(m, 1232, true, false))).to.not.equal(key(queryShape(m, 1232, false, false)));
    expect(key(queryShape(m, 1232, false, true))).to.not.equal(key(queryShape(m, 1232, false, false)));
    // An IPv6 asker gets NS targets' AAAA before A and a 1220-octet minimal response (as NSD): not an IPv4 asker's reply.
    expect(key(queryShape(m, 1232, false, false, true))).to.not.equal(key(queryShape(m, 1232, false, false, false)));
    // AD asked: a forwarded reply keeps the upstream's AD for this asker only (RFC 6840 §5.7).
    const ad = Buffer.from(m);
    ad[3] = ad[3]! | 0x20;
    expect(key(queryShape(ad, 1232, false, false))).to.not.equal(key(queryShape(m, 1232, false, false)));
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
  it('folds the case of the name only: type HTTPS (65, "A") and type 97 ("a") stay apart', () => {
    const https = q('www.example.com', 'HTTPS');
    const t97 = Buffer.from(https);
    t97[https.length - 3] = 97; // QTYPE low octet: 65 → 97
    expect(key(queryShape(https, 1232, false, false))).to.not.equal(key(queryShape(t97, 1232, false, false)));
  });
  it('folds ASCII letters only: Latin-1 octets in a label are kept (RFC 4343 §3)', () => {
    const upper = q('www.example.com', 'A');
    const lower = Buffer.from(upper);
    upper[13] = 0xc0; // À
    lower[13] = 0xe0; // à
    expect(key(queryShape(upper, 1232, false, false))).to.not.equal(key(queryShape(lower, 1232, false, false)));
  });
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
  it('answerInto: a hit at 4-aligned offsets (word compares and copies of the name) and at odd ones is the full path\'s reply, the asker\'s case in every octet of the name', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 1 << 20 });
    // Names of 1, 2 and 3 octets past a whole number of words, stored in lower case; asked in other cases from the first word, a later word or the last octet only.
    const stored = ['www.example.com', 'mail.example.com', 'www.other.test', 'nx.example.com', 'a.example.com'];
    const asked = ['www.example.com', 'WWW.example.com', 'www.exaMple.com', 'www.example.coM', 'MAIL.EXAMPLE.COM', 'mail.example.cOm', 'www.other.tesT', 'Nx.example.com', 'nx.example.com', 'a.Example.com'];
    for (const name of stored) cached(cache, q(name, 'A'));
    const recv = Buffer.alloc(3 * 4096);
    const send = Buffer.alloc(3 * 4096);
    for (const name of asked) {
      const m = q(name, 'A', { id: 0x1234 });
      for (const [qOff, outOff] of [[0, 0], [4096, 8192], [4099, 4096], [4096, 4097], [8195, 4098]] as const) {
        m.copy(recv, qOff);
        const n = cache.answerInto(recv, qOff, m.length, 1232, false, false, ctx.zones, send, outOff, 4096);
        expect(n, `${name} at ${qOff} → ${outOff}`).to.be.greaterThan(0);
        expect(send.subarray(outOff, outOff + n).equals(full(m)!), `${name} at ${qOff} → ${outOff}`).to.equal(true);
      }
    }
    // A name of the same length as one stored but another in its last word is not that one's.
    const other = q('www.example.org', 'A');
    other.copy(recv, 0);
    expect(cache.answerInto(recv, 0, other.length, 1232, false, false, ctx.zones, send, 0, 4096)).to.equal(-1);
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
    const reloaded = new ZoneSet(ctx.zones.images());
    expect(cached(cache, m, reloaded).hit).to.equal(false);
    expect(cache.size).to.equal(1);
  });
  it('stays within its entry bound', () => {
    const cache = new ReplyCache({ entries: 5, bytes: 1 << 20 });
    for (let i = 0; i < 20; i++) cached(cache, q(`n${i}.example.com`, 'A'));
    expect(cache.size).to.equal(5);
  });
  it('answerInto writes a hit at an offset of the caller\'s buffer, the same bytes get() gives, and refuses a reply over the room given', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 1 << 20 });
    const again = q('www.EXAMPLE.com', 'A', { id: 12, edns: true, rd: false });
    const first = q('WWW.example.com', 'A', { id: 11, edns: true, rd: false });
    const inbox = Buffer.alloc(600, 0xee);
    again.copy(inbox, 100);
    const out = Buffer.alloc(4096, 0xee);
    expect(cache.answerInto(inbox, 100, again.length, 1232, false, false, ctx.zones, out, 512, 512)).to.equal(-1);
    cached(cache, first);
    const n = cache.answerInto(inbox, 100, again.length, 1232, false, false, ctx.zones, out, 512, 512);
    expect(n).to.be.greaterThan(0);
    expect(out.subarray(512, 512 + n).equals(full(again)!)).to.equal(true);
    expect(out[511]).to.equal(0xee);
    expect(out[512 + n]).to.equal(0xee);
    expect(cache.answerInto(inbox, 100, again.length, 1232, false, false, ctx.zones, out, 0, n - 1)).to.equal(-1);
    // The RD and CD bits, recursion allowed and the address family are part of the key.
    expect(cache.answerInto(inbox, 100, again.length, 1232, false, true, ctx.zones, out, 0, 4096)).to.equal(-1);
    expect(cache.answerInto(inbox, 100, again.length, 1232, true, false, ctx.zones, out, 0, 4096)).to.equal(-1);
    inbox[100 + 2] = inbox[100 + 2]! | 0x01;
    expect(cache.answerInto(inbox, 100, again.length, 1232, false, false, ctx.zones, out, 0, 4096)).to.equal(-1);
    inbox[100 + 2] = inbox[100 + 2]! & ~0x01;
    inbox[100 + 3] = inbox[100 + 3]! | 0x10;
    expect(cache.answerInto(inbox, 100, again.length, 1232, false, false, ctx.zones, out, 0, 4096)).to.equal(-1);
  });
  it('malformed and mutated queries: answerInto never throws, and answers only what get() answers (bad input loses nothing)', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 1 << 20 });
    const seeds = [q('www.example.com', 'A'), q('www.example.com', 'A', { edns: true, nsid: true }), q('nx.example.com', 'TXT', { edns: true, size: 4096 })];
    for (const m of seeds) cached(cache, m);
    let seed = 3;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const out = Buffer.alloc(8192);
    const area = Buffer.alloc(4096);
    let answered = 0;
    for (let k = 0; k < 5000; k++) {
      const m = Buffer.from(seeds[rnd(seeds.length)]!);
      for (let flips = rnd(4); flips > 0; flips--) m[rnd(m.length)] = rnd(256);
      const len = rnd(5) === 0 ? rnd(m.length + 1) : m.length; // sometimes cut short
      area.fill(0xaa);
      m.copy(area, 64, 0, len);
      const n = cache.answerInto(area, 64, len, 1232, false, false, ctx.zones, out, 4096, 4096);
      const shape = queryShape(m.subarray(0, len), 1232, false, false);
      const viaGet = shape ? cache.get(m.subarray(0, len), shape, ctx.zones) : undefined;
      if (n < 0) {
        expect(viaGet, `step ${k}`).to.equal(undefined);
      } else {
        answered++;
        expect(out.subarray(4096, 4096 + n).equals(viaGet!), `step ${k}`).to.equal(true);
      }
    }
    expect(answered).to.be.greaterThan(100); // unharmed copies (no flips) still hit
  });
  it('under churn: every hit is the reply stored for that question, recent ones are all found, and the bounds hold (a model check)', () => {
    // Random questions, sizes and limits small enough that the ring, the arena wrap
    // and backward-shift deletion are all exercised many times.
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const biggest = 2 * 22 + 12 + 119; // question (≤ 22 octets here) twice, header, padding
    for (const [entries, bytes, names] of [[8, 600, 12], [64, 4000, 80], [200, 1 << 20, 300], [50, 3000, 60]] as const) {
      const cache = new ReplyCache({ entries, bytes });
      const stored = new Map<string, Buffer>();
      // FIFO keeps at least the newest `recent` puts: fewer than the entry bound, and
      // their bytes plus the room an arena wrap may waste fit the arena.
      const recent = Math.min(entries, Math.floor((bytes - biggest) / biggest));
      const puts: { m: Buffer; k: string }[] = [];
      const expectHit = (m: Buffer, k: string, step: number, what: string): void => {
        const shape = queryShape(m, 1232, false, false)!;
        const hit = cache.get(m, shape, ctx.zones);
        expect(hit, `${what} at step ${step}: ${k}`).to.not.equal(undefined);
        const want = Buffer.from(stored.get(k)!);
        m.copy(want, 0, 0, 2);
        want[2] = (want[2]! & 0xfe) | (m[2]! & 0x01);
        want[3] = (want[3]! & 0xef) | (m[3]! & 0x10);
        m.copy(want, 12, 12, shape.nameEnd);
        expect(hit!.equals(want), `${what} at step ${step}: ${k}`).to.equal(true);
      };
      for (let step = 0; step < 4000; step++) {
        const name = `n${rnd(names)}.example.com`;
        const m = q(rnd(2) === 0 ? name.toUpperCase() : name, rnd(3) === 0 ? 'AAAA' : 'A', { id: step & 0xffff, edns: rnd(2) === 0, rd: rnd(4) !== 0 });
        const shape = queryShape(m, 1232, false, false)!;
        const k = key(shape);
        if (cache.get(m, shape, ctx.zones)) {
          expectHit(m, k, step, 'hit');
        } else {
          // A stand-in reply of random length whose bytes name the step, so a wrong hit shows.
          const reply = Buffer.alloc(12 + shape.question.length + rnd(120), step & 0xff);
          m.copy(reply, 0, 0, 12 + shape.question.length);
          reply[2] = 0x84;
          cache.put(shape, reply, ctx.zones);
          stored.set(k, reply);
          puts.push({ m, k });
        }
        if (step % (recent > 50 ? 10 : 1) === 0) for (const p of puts.slice(-recent)) expectHit(p.m, p.k, step, 'recent put');
        // Whatever else is still held must be right too (an overwritten arena byte shows here).
        if (step % Math.ceil(names / 12) === 0) {
          for (const p of new Map(puts.map((x) => [x.k, x])).values()) {
            const shape = queryShape(p.m, 1232, false, false)!;
            if (cache.get(p.m, shape, ctx.zones)) expectHit(p.m, p.k, step, 'held');
          }
        }
        expect(cache.size).to.be.at.most(entries);
      }
      expect(cache.hits).to.be.greaterThan(1000);
    }
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
  it('counts down second by second: hits within a second alike, each new second one less, from answerInto and get', () => {
    let now = 2_000_000;
    const cache = new ReplyCache({ entries: 10, bytes: 1 << 20 }, () => now);
    const query = q('www.remote.test', 'A', { id: 9 });
    const shape = queryShape(query, 1232, false, true)!;
    expect(cache.get(query, shape, ctx.zones)).to.equal(undefined);
    cache.put(shape, forwarded(5, 60), ctx.zones, 60);
    const out = Buffer.alloc(4096);
    const ttls = (m: Buffer): number[] => dnsPacket.decode(m).answers!.map((r) => (r as { ttl: number }).ttl);
    const viaInPlace = (): number[] => {
      const n = cache.answerInto(query, 0, query.length, 1232, true, false, ctx.zones, out, 0, out.length);
      expect(n).to.be.greaterThan(0);
      return ttls(out.subarray(0, n));
    };
    const seen: [number, number[], number[]][] = [];
    for (const ms of [0, 400, 999, 1000, 1001, 1999, 2000, 7250, 7999, 59_999]) {
      now = 2_000_000 + ms;
      seen.push([ms, viaInPlace(), ttls(cache.get(query, shape, ctx.zones)!)]);
    }
    const expected = (ms: number): number[] => [60 - Math.floor(ms / 1000), 160 - Math.floor(ms / 1000)];
    expect(seen).to.deep.equal(seen.map(([ms]) => [ms, expected(ms), expected(ms)]));
    now = 2_000_000 + 60_000;
    expect(cache.answerInto(query, 0, query.length, 1232, true, false, ctx.zones, out, 0, out.length)).to.equal(-1);
  });
  it('a clock set back never raises a TTL above what the upstream gave', () => {
    let now = 3_000_000;
    const cache = new ReplyCache({ entries: 10, bytes: 1 << 20 }, () => now);
    const query = q('www.remote.test', 'A');
    const shape = queryShape(query, 1232, false, true)!;
    expect(cache.get(query, shape, ctx.zones)).to.equal(undefined);
    cache.put(shape, forwarded(5, 60), ctx.zones, 60);
    now -= 5_000;
    expect(dnsPacket.decode(cache.get(query, shape, ctx.zones)!).answers!.map((r) => (r as { ttl: number }).ttl)).to.deep.equal([60, 160]);
    now += 8_000;
    expect(dnsPacket.decode(cache.get(query, shape, ctx.zones)!).answers!.map((r) => (r as { ttl: number }).ttl)).to.deep.equal([57, 157]);
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

describe('reply cache admission (admitOnSecondMiss)', () => {
  it('keeps an authoritative reply from its second miss on: miss, miss, hit', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 100 * 2048, admitOnSecondMiss: true });
    const query = q('www.example.com', 'A');
    expect([cached(cache, query).hit, cached(cache, query).hit, cached(cache, query).hit]).to.deep.equal([false, false, true]);
    expect({ size: cache.size, notAdmitted: cache.notAdmitted }).to.deep.equal({ size: 1, notAdmitted: 1 });
  });

  it('a flood of names asked once stores nothing and leaves a name asked again in place', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 100 * 2048, admitOnSecondMiss: true });
    const real = q('www.example.com', 'A');
    cached(cache, real);
    cached(cache, real);
    for (let i = 0; i < 5000; i++) cached(cache, q(`r${i}x${(i * 7919) % 1000}.example.com`, 'A'));
    expect(cache.size).to.equal(1);
    expect(cache.notAdmitted).to.equal(1 + 5000);
    expect(cached(cache, real).hit).to.equal(true);
  });

  it('two questions whose hashes share a doorkeeper slot are both kept, asked in turn (they pushed each other out for good)', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 100 * 2048, admitOnSecondMiss: true });
    // 100 entries: a doorkeeper of 1,024 slots, the slot a hash's low 10 bits. Two names of one slot:
    const slot = (name: string): number => queryShape(q(name, 'A'), 1232, false, false)!.hash & 1023;
    const first = 'h0.example.com';
    let second = '';
    for (let i = 1; second === ''; i++) if (slot(`h${i}.example.com`) === slot(first)) second = `h${i}.example.com`;
    const a = q(first, 'A');
    const b = q(second, 'A');
    const turns: boolean[] = [];
    for (let i = 0; i < 4; i++) turns.push(cached(cache, a).hit, cached(cache, b).hit);
    // Each kept at its second miss, then hit.
    expect(turns).to.deep.equal([false, false, false, false, true, true, true, true]);
    expect(cache.size).to.equal(2);
  });

  it('keeps a forwarded reply (one with a TTL) at once', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 100 * 2048, admitOnSecondMiss: true });
    const query = q('www.example.com', 'A');
    const shape = queryShape(query, 1232, false, false)!;
    expect(cache.get(query, shape, ctx.zones)).to.equal(undefined);
    cache.put(shape, full(query)!, ctx.zones, 60);
    expect(cache.get(query, shape, ctx.zones)).to.not.equal(undefined);
    expect(cache.notAdmitted).to.equal(0);
  });

  it('off by default: the first miss is kept', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 100 * 2048 });
    const query = q('www.example.com', 'A');
    expect([cached(cache, query).hit, cached(cache, query).hit]).to.deep.equal([false, true]);
  });
});

describe('ReplyCache mirror (the UDP thread\'s copy follows the worker\'s cache)', () => {
  /** A mirror that keeps what it is told in a second cache, as the UDP thread does. */
  function follower(): { copy: ReplyCache; told: string[]; mirror: ReplyCacheMirror } {
    const copy = new ReplyCache({ entries: 100, bytes: 100 * 2048 });
    const told: string[] = [];
    const token = {} as ZoneSet;
    copy.use(token);
    return {
      copy,
      told,
      mirror: {
        stored: (shape, reply, _zones, ttl) => {
          told.push(`stored ${shape.question.toString('hex')} ttl ${ttl}`);
          copy.put(shape, reply, token, ttl);
        },
        reset: () => {
          told.push('reset');
          copy.clear();
          copy.use(token);
        },
      },
    };
  }

  it('every reply kept (on admission, forwarded at once) reaches the copy, which answers it with the same bytes', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 100 * 2048, admitOnSecondMiss: true });
    const f = follower();
    cache.mirror = f.mirror;
    const query = q('www.example.com', 'A', { id: 3 });
    cached(cache, query);
    expect(f.told.filter((t) => t.startsWith('stored'))).to.have.length(0); // first miss: not admitted, nothing kept
    cached(cache, query);
    const other = q('www.other.test', 'A', { id: 4 });
    const shape = queryShape(other, 1232, false, false)!;
    cache.get(other, shape, ctx.zones);
    cache.put(shape, full(other)!, ctx.zones, 60);
    expect(f.told.filter((t) => t.startsWith('stored')).map((t) => t.split(' ')[3])).to.deep.equal(['undefined', '60']);
    // Under the zones it was told to use: the same bytes the worker's cache gives.
    const token = (f.copy as unknown as { zones: ZoneSet }).zones;
    expect(f.copy.size).to.equal(2);
    for (const x of [query, other]) {
      const out = Buffer.alloc(4096);
      const n = f.copy.answerInto(x, 0, x.length, 1232, false, false, token, out, 0, 4096);
      const mine = cache.get(x, queryShape(x, 1232, false, false)!, ctx.zones)!;
      expect(n).to.equal(mine.length);
      expect(out.subarray(0, n).equals(mine)).to.equal(true);
    }
  });

  it('told to empty on clear() and when the zones change (a reload)', () => {
    const cache = new ReplyCache({ entries: 100, bytes: 100 * 2048 });
    const f = follower();
    cache.mirror = f.mirror;
    cached(cache, q('www.example.com', 'A'));
    expect(f.copy.size).to.equal(1);
    cache.clear();
    expect(f.copy.size).to.equal(0);
    cached(cache, q('www.example.com', 'A'));
    expect(f.copy.size).to.equal(1);
    const reloaded = loadZones([{ name: 'example.com.', file: `${FIX}example.com.zone` }]);
    if (!reloaded.ok) throw new Error(reloaded.errors.join('\n'));
    cached(cache, q('www.other.test', 'A'), reloaded.zones);
    expect(f.told.filter((t) => t === 'reset').length).to.be.at.least(2);
    expect(f.copy.size).to.equal(1); // only the reply kept under the new zones
  });

  it('a forwarded reply kept by the copy later ages from when the worker kept it (storedAt), not from when the copy got it', () => {
    let now = 5_000_000;
    const cache = new ReplyCache({ entries: 10, bytes: 1 << 20 }, () => now);
    const copy = new ReplyCache({ entries: 10, bytes: 1 << 20 }, () => now);
    const token = {} as ZoneSet;
    copy.use(token);
    const held: [QueryShape, Uint8Array, number | undefined, number][] = [];
    cache.mirror = { stored: (shape, reply, _z, ttl, storedAt) => void held.push([shape, new Uint8Array(reply), ttl, storedAt]), reset: () => undefined };
    const query = q('www.remote.test', 'A', { id: 8 });
    const shape = queryShape(query, 1232, false, true)!;
    const reply = dnsPacket.encode({ type: 'response', id: 1, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [{ name: 'www.remote.test', type: 'A', class: 'IN' }], answers: [{ name: 'www.remote.test', type: 'A', class: 'IN', ttl: 300, data: '192.0.2.1' }] });
    cache.get(query, shape, ctx.zones);
    cache.put(shape, reply, ctx.zones, 300);
    // The copy hears of it 1.5 s later (the thread was blocked in recvmmsg until the next datagram).
    now += 1500;
    for (const [s, r, ttl, storedAt] of held) copy.put(s, r, token, ttl, storedAt);
    const out = Buffer.alloc(4096);
    const n = copy.answerInto(query, 0, query.length, 1232, true, false, token, out, 0, 4096);
    expect((dnsPacket.decode(out.subarray(0, n)).answers![0] as { ttl: number }).ttl).to.equal(299);
    expect(out.subarray(0, n).equals(cache.get(query, shape, ctx.zones)!)).to.equal(true);
  });
});
