/** The query pipeline with DNS cookies and RRL, driven in process: both the reply cache's in-place path and the full path, UDP and TCP. */

import { expect } from 'chai';
import dnsPacket, { type Answer } from 'dns-packet';
import { ClientAddress } from '../../../src/abuse/client-address.js';
import { COOKIE_VALID, ServerCookies } from '../../../src/abuse/cookies.js';
import { PrefixList } from '../../../src/abuse/prefix-list.js';
import { ResponseRateLimiter } from '../../../src/abuse/rrl.js';
import { ReplyCache } from '../../../src/dns/answer-cache.js';
import type { AnswerContext } from '../../../src/dns/answer.js';
import { Counters } from '../../../src/dns/counters.js';
import { QueryPipeline, type Resolver } from '../../../src/dns/pipeline.js';
import { compileAcl, type Acl } from '../../../src/forward/acl.js';
import type { Resolution } from '../../../src/forward/forwarder.js';
import { loadZones } from '../../../src/zones.js';
import { ROOT } from '../../helpers/server.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const loaded = loadZones([{ name: 'example.com.', file: `${FIX}example.com.zone` }]);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const SECRET = Uint8Array.from(Buffer.from('e5e973e5a6b2a43f48e7dc849e37bfcf', 'hex'));
const T = 1_700_000_000;

/** Answers every forwarded question with one A record. */
class OneAddress implements Resolver {
  resolve(): Resolution {
    const a = { name: 'www.example.net', type: 'A', class: 'IN', ttl: 300, data: '198.51.100.7' } as Answer;
    return { kind: 'asked', answer: Promise.resolve({ rcode: 'NOERROR', ad: false, answers: [a], authorities: [], additionals: [] }) };
  }
}

interface Rig {
  pipeline: QueryPipeline;
  counters: Counters;
  replies: ReplyCache | null;
  clock: { now: number };
}

function rig(o: { cookies?: boolean; rrl?: number; slip?: number; cache?: boolean; exempt?: string[]; missesInPlace?: boolean } = {}): Rig {
  const cookiesOn = o.cookies ?? true;
  const ctx: AnswerContext = { identity: { server: 'w', version: 'v' }, zones: loaded.ok ? loaded.zones : (null as never), recursion: compileAcl(['198.51.100.0/24']) as Acl, ednsUdpSize: 1232, nsid: Buffer.from('w') };
  const counters = new Counters();
  const replies = o.cache === false ? null : new ReplyCache({ entries: 100, bytes: 1 << 20, cookies: cookiesOn });
  const clock = { now: T * 1000 };
  const rrl = o.rrl ? new ResponseRateLimiter({ rate: o.rrl, slip: o.slip ?? 2, ipv4Prefix: 24, ipv6Prefix: 56, buckets: 1024, exempt: PrefixList.compile(o.exempt ?? ['none']) as PrefixList }, 99) : null;
  const cookies = cookiesOn ? new ServerCookies({ kind: 'fixed', secrets: [SECRET] }) : null;
  const pipeline = new QueryPipeline({
    ctx,
    counters,
    replies,
    forwarder: new OneAddress(),
    forwardLimits: { maxEntries: 100, maxBytes: 1 << 20, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 10_800, servfailTtl: 5 },
    onInternalError: () => undefined,
    now: () => clock.now,
    rrl,
    cookies,
    ...(o.missesInPlace !== undefined ? { missesInPlace: o.missesInPlace } : {}),
  });
  return { pipeline, counters, replies, clock };
}

/** A query with EDNS and, when given, a COOKIE option (hex). */
function query(name: string, cookie?: string, id = 1): Buffer {
  const options = cookie === undefined ? [] : [{ code: 10, data: Buffer.from(cookie, 'hex') }];
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: 'A', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as never],
  });
}

/** A query with no question and only an OPT, with a COOKIE option when given (hex): `dig +cookie +header-only`. RD set. */
function cookieOnly(cookie: string | undefined, id = 1): Buffer {
  const options = cookie === undefined ? [] : [{ code: 10, data: Buffer.from(cookie, 'hex') }];
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as never] });
}

/** A sockaddr_in for an IPv4 address, or a sockaddr_in6. */
function sockaddr(address: string): Buffer {
  const a = new ClientAddress();
  a.fromText(address);
  const out = Buffer.alloc(a.family === 4 ? 16 : 28);
  out.writeUInt16LE(a.family === 4 ? 2 : 10, 0);
  a.writeOctets(out, a.family === 4 ? 4 : 8);
  return out;
}

/** What the engine does with one datagram: the in-place path, then (on -1) the full one. The reply sent, or null. */
function datagram(r: Rig, q: Buffer, from: string): Buffer | null {
  if (r.pipeline.inPlace === null) {
    const reply = r.pipeline.handle(q, 'udp', from);
    if (reply instanceof Promise) throw new Error('a forwarded reply in a datagram test');
    return reply;
  }
  const out = Buffer.alloc(4096);
  const inbox = Buffer.concat([Buffer.alloc(16), q]);
  const n = r.pipeline.inPlace!(inbox, 16, q.length, sockaddr(from), 0, out, 64, 2048);
  if (n >= 0) return Buffer.from(out.subarray(64, 64 + n));
  const reply = r.pipeline.handler('udp', true)(inbox.subarray(16, 16 + q.length), from, 40000);
  if (reply instanceof Promise) throw new Error('a forwarded reply in a datagram test');
  return reply;
}

/** The COOKIE option data of a reply (hex), or null. */
function cookieOf(reply: Buffer): string | null {
  const opt = (dnsPacket.decode(reply).additionals ?? []).find((a) => a.type === 'OPT') as { options?: { code: number; data: Buffer }[] } | undefined;
  const c = opt?.options?.find((o) => o.code === 10);
  return c ? c.data.toString('hex') : null;
}

/** Whether a server cookie (hex, 24 octets in all) is ours for this client now. */
function valid(cookie: string, from: string, now = T): boolean {
  const c = new ServerCookies({ kind: 'fixed', secrets: [SECRET] });
  const a = new ClientAddress();
  a.fromText(from);
  return c.judge(Buffer.from(cookie, 'hex'), 0, 24, a, now) === COOKIE_VALID;
}

const extendedRcode = (reply: Buffer): number => {
  const p = dnsPacket.decode(reply) as unknown as { rcode: string; additionals: { type: string; extendedRcode: number }[] };
  const opt = p.additionals.find((a) => a.type === 'OPT');
  return ((opt?.extendedRcode ?? 0) << 4) | (reply[3]! & 0x0f);
};

describe('QueryPipeline with DNS cookies (RFC 7873, RFC 9018)', () => {
  it('a client cookie alone: answered, with the client cookie and a server cookie valid for this client', () => {
    const r = rig();
    const reply = datagram(r, query('www.example.com', '0102030405060708'), '192.0.2.1')!;
    expect(dnsPacket.decode(reply).answers).to.have.length(2);
    const c = cookieOf(reply)!;
    expect(c.slice(0, 16)).to.equal('0102030405060708');
    expect(valid(c, '192.0.2.1')).to.equal(true);
    expect(valid(c, '192.0.2.2')).to.equal(false);
    expect(r.counters.snapshot().cookies).to.deep.equal({ clientOnly: 1, valid: 0, bad: 0, malformed: 0 });
  });
  for (const path of ['in place (mmsg)', 'full path (get: dgram, TCP)'] as const) {
    it(`a reply from the cache carries each asker's own cookie, ${path}`, () => {
      // (The dgram engine's full path looks the cache up itself: cacheTried false.)
      const r = rig();
      const first = datagram(r, query('www.example.com', '1111111111111111', 5), '192.0.2.1')!;
      const other = query('www.example.com', '2222222222222222', 6);
      const second = path === 'in place (mmsg)' ? datagram(r, other, '192.0.2.9')! : (r.pipeline.handle(other, 'udp', '192.0.2.9') as Buffer);
      expect(r.replies!.hits, 'answered from the cache').to.equal(1);
      const c = cookieOf(second)!;
      expect(c.slice(0, 16)).to.equal('2222222222222222');
      expect(valid(c, '192.0.2.9')).to.equal(true);
      // Nothing else differs from the first reply but the ID and the cookie.
      expect(second.length).to.equal(first.length);
      expect(second.subarray(2, second.length - 24).equals(first.subarray(2, first.length - 24))).to.equal(true);
    });
  }
  it('a query without a cookie is not answered with another asker\'s cached cookie', () => {
    const r = rig();
    datagram(r, query('www.example.com', '1111111111111111'), '192.0.2.1');
    datagram(r, query('www.example.com', '1111111111111111'), '192.0.2.1');
    expect(cookieOf(datagram(r, query('www.example.com'), '192.0.2.1')!)).to.equal(null);
  });
  it('the server cookie is the same whether made from the sockaddr (in place) or the address text (full path), IPv6 too', () => {
    for (const from of ['192.0.2.1', '2001:db8::5']) {
      const r = rig({ cache: true });
      const q = query('www.example.com', '0102030405060708');
      datagram(r, q, from); // stored
      const inPlace = cookieOf(datagram(r, q, from)!)!;
      const full = cookieOf(r.pipeline.handle(q, 'tcp', from) as Buffer)!;
      expect(inPlace).to.equal(full);
      expect(valid(inPlace, from)).to.equal(true);
    }
  });
  it('our valid server cookie, younger than half an hour: answered, the cookie sent back as it came', () => {
    const r = rig();
    const learned = cookieOf(datagram(r, query('www.example.com', '0102030405060708'), '192.0.2.1')!)!;
    r.clock.now += 60_000;
    for (let i = 0; i < 3; i++) {
      const reply = datagram(r, query('www.example.com', learned), '192.0.2.1')!;
      expect(cookieOf(reply)).to.equal(learned);
    }
    expect(r.counters.snapshot().cookies.valid).to.equal(3);
  });
  it('a server cookie not ours, over UDP: BADCOOKIE with the question and a fresh cookie to retry with (RFC 7873 §5.2.3)', () => {
    const r = rig();
    const bad = '0102030405060708' + '01000000' + T.toString(16) + '0000000000000000';
    const reply = datagram(r, query('www.example.com', bad, 77), '192.0.2.1')!;
    const p = dnsPacket.decode(reply);
    expect(extendedRcode(reply)).to.equal(23);
    expect(p.id).to.equal(77);
    expect(p.questions).to.deep.equal([{ name: 'www.example.com', type: 'A', class: 'IN' }]);
    expect(p.answers).to.have.length(0);
    const fresh = cookieOf(reply)!;
    expect(valid(fresh, '192.0.2.1')).to.equal(true);
    // Retried with it: answered.
    const retried = datagram(r, query('www.example.com', fresh), '192.0.2.1')!;
    expect(dnsPacket.decode(retried).answers).to.have.length(2);
    expect(r.counters.snapshot().cookies).to.deep.equal({ clientOnly: 0, valid: 1, bad: 1, malformed: 0 });
  });
  it('a server cookie not ours, over TCP: answered normally, with a fresh cookie', () => {
    const r = rig();
    const bad = '0102030405060708' + '01000000' + T.toString(16) + '0000000000000000';
    const reply = r.pipeline.handle(query('www.example.com', bad), 'tcp', '192.0.2.1') as Buffer;
    expect(extendedRcode(reply)).to.equal(0);
    expect(dnsPacket.decode(reply).answers).to.have.length(2);
    expect(valid(cookieOf(reply)!, '192.0.2.1')).to.equal(true);
  });
  it('a malformed COOKIE option: FORMERR, on both paths (RFC 7873 §5.2.2)', () => {
    const r = rig();
    for (const len of [7, 9, 41]) {
      const reply = datagram(r, query('www.example.com', 'ab'.repeat(len)), '192.0.2.1')!;
      expect(reply[3]! & 0x0f).to.equal(1);
    }
    expect((r.pipeline.handle(query('www.example.com', 'ab'.repeat(12)), 'tcp', '192.0.2.1') as Buffer)[3]! & 0x0f).to.equal(1);
    expect(r.counters.snapshot().cookies.malformed).to.equal(4);
  });
  it('a query with only a COOKIE option (no question, RFC 7873 §5.4): NOERROR with a valid cookie, or BADCOOKIE for a server cookie not ours, on both transports and both paths', () => {
    const r = rig();
    const bad = '0102030405060708' + '01000000' + T.toString(16) + '0000000000000000';
    for (const via of ['udp', 'tcp'] as const) {
      const send = (q: Buffer): Buffer => (via === 'udp' ? datagram(r, q, '192.0.2.1')! : (r.pipeline.handle(q, 'tcp', '192.0.2.1') as Buffer));
      const first = send(cookieOnly('0102030405060708', 41));
      const p = dnsPacket.decode(first);
      expect([p.id, p.flag_qr, p.flag_rd, extendedRcode(first), p.questions?.length, p.answers?.length], via).to.deep.equal([41, true, true, 0, 0, 0]);
      const learned = cookieOf(first)!;
      expect(learned.slice(0, 16)).to.equal('0102030405060708');
      expect(valid(learned, '192.0.2.1'), 'the cookie given is ours for this client').to.equal(true);
      const again = send(cookieOnly(learned));
      expect([extendedRcode(again), cookieOf(again)], `${via}: a valid cookie is NOERROR, sent back as it came`).to.deep.equal([0, learned]);
      const refused = send(cookieOnly(bad));
      expect(extendedRcode(refused), `${via}: BADCOOKIE`).to.equal(23);
      expect(valid(cookieOf(refused)!, '192.0.2.1'), 'with a fresh cookie to retry with').to.equal(true);
    }
    expect(r.counters.snapshot().cookies).to.deep.equal({ clientOnly: 2, valid: 2, bad: 2, malformed: 0 });
    // With no cookie, or cookies off: FORMERR, as before (a query needs a question).
    expect(datagram(r, cookieOnly(undefined), '192.0.2.1')![3]! & 0x0f).to.equal(1);
    expect(datagram(rig({ cookies: false }), cookieOnly('0102030405060708'), '192.0.2.1')![3]! & 0x0f).to.equal(1);
  });
  it('a response (QR=1) is never answered, whatever its COOKIE option: not with BADCOOKIE, not with FORMERR (a reply to it could bounce between servers)', () => {
    const r = rig();
    const bad = '0102030405060708' + '01000000' + T.toString(16) + '0000000000000000';
    for (const cookie of [bad, 'ab'.repeat(7), '0102030405060708']) {
      for (const q of [query('www.example.com', cookie), cookieOnly(cookie)]) {
        q[2] = q[2]! | 0x80;
        expect(datagram(r, q, '192.0.2.1'), `UDP, cookie ${cookie}`).to.equal(null);
        expect(r.pipeline.handle(q, 'tcp', '192.0.2.1'), `TCP, cookie ${cookie}`).to.equal(null);
      }
    }
  });
  it('a forwarded reply carries the cookie too', async () => {
    const r = rig();
    const reply = (await r.pipeline.handle(query('www.example.net', '0102030405060708'), 'udp', '198.51.100.7'))!;
    expect(dnsPacket.decode(reply).answers).to.have.length(1);
    expect(valid(cookieOf(reply)!, '198.51.100.7')).to.equal(true);
  });
  it('with cookies off, a COOKIE option is ignored: no cookie in the reply, even a malformed one answered', () => {
    const r = rig({ cookies: false });
    expect(cookieOf(datagram(r, query('www.example.com', '0102030405060708'), '192.0.2.1')!)).to.equal(null);
    expect(dnsPacket.decode(datagram(r, query('www.example.com', 'ab'.repeat(9)), '192.0.2.1')!).answers).to.have.length(2);
  });
  it('a reply cache made without cookies is refused beside cookies (a hit would carry another asker\'s cookie)', () => {
    const ctx = { identity: { server: 'w', version: 'v' }, zones: loaded.ok ? loaded.zones : (null as never), recursion: null, ednsUdpSize: 1232, nsid: Buffer.alloc(0) };
    const make = (): QueryPipeline =>
      new QueryPipeline({ ctx, counters: new Counters(), replies: new ReplyCache({ entries: 10, bytes: 1 << 16 }), forwarder: null, forwardLimits: { maxEntries: 0, maxBytes: 0, minTtl: 0, maxTtl: 0, maxNegativeTtl: 0, servfailTtl: 0 }, onInternalError: () => undefined, cookies: new ServerCookies({ kind: 'fixed', secrets: [SECRET] }) });
    expect(make).to.throw(/made without cookies.*make them alike/);
  });
});

describe('QueryPipeline with RRL', () => {
  /** n datagrams for one name from hosts of one /24; how many were answered whole, truncated, or not at all. */
  function flood(r: Rig, n: number, q: (i: number) => Buffer = () => query('www.example.com'), from = (i: number) => `192.0.2.${1 + (i % 200)}`): { whole: number; tc: number; none: number } {
    const got = { whole: 0, tc: 0, none: 0 };
    for (let i = 0; i < n; i++) {
      const reply = datagram(r, q(i), from(i));
      if (reply === null) got.none++;
      else if ((reply[2]! & 0x02) !== 0) got.tc++;
      else got.whole++;
    }
    return got;
  }
  for (const cache of [true, false]) {
    it(`a flood from one /24 is answered at the rate, then every 2nd reply truncated, the rest dropped, counted (${cache ? 'reply cache: in place' : 'no reply cache: full path'})`, () => {
      const r = rig({ rrl: 10, cache });
      // The 20th reply of the first second reaches twice the rate (NSD's measure).
      expect(flood(r, 1000)).to.deep.equal({ whole: 19, tc: 490, none: 491 });
      const s = r.counters.snapshot();
      expect(s.rrl).to.deep.equal({ limited: 981, slipped: 490 });
      expect(s).to.include({ queries: 1000, dropped: 491, truncated: 490 });
    });
  }
  it('another prefix asking the same name meanwhile is answered in full', () => {
    const r = rig({ rrl: 10 });
    flood(r, 500);
    expect(flood(r, 9, () => query('www.example.com'), () => '192.0.3.1')).to.deep.equal({ whole: 9, tc: 0, none: 0 });
  });
  it('the next second, the flood is still limited; the same prefix asking another name is not', () => {
    const r = rig({ rrl: 10 });
    flood(r, 500);
    r.clock.now += 1000;
    expect(flood(r, 10).whole).to.equal(0);
    expect(flood(r, 9, () => query('mail.example.com')).whole).to.equal(9);
  });
  it('random names that do not exist count together (NXDOMAIN, under the zone)', () => {
    const r = rig({ rrl: 10 });
    expect(flood(r, 100, (i) => query(`n${i}.example.com`)).whole).to.equal(19);
  });
  it('a client with our valid server cookie is never limited (RFC 7873 §5.3: its address is proven)', () => {
    const r = rig({ rrl: 10 });
    const learned = cookieOf(datagram(r, query('www.example.com', '0102030405060708'), '192.0.2.1')!)!;
    expect(flood(r, 300, () => query('www.example.com', learned), () => '192.0.2.1')).to.deep.equal({ whole: 300, tc: 0, none: 0 });
    // A client cookie alone proves nothing: limited at the rate (the first query, which learned the cookie, counted too).
    expect(flood(r, 300, () => query('www.example.com', '0102030405060708'), () => '192.0.2.1').whole).to.equal(18);
  });
  it('TCP is never limited', () => {
    const r = rig({ rrl: 10 });
    let whole = 0;
    for (let i = 0; i < 200; i++) if (((r.pipeline.handle(query('www.example.com'), 'tcp', '192.0.2.1') as Buffer)[2]! & 0x02) === 0) whole++;
    expect(whole).to.equal(200);
  });
  it('an exempt client is never limited', () => {
    const r = rig({ rrl: 10, exempt: ['192.0.2.0/24'] });
    expect(flood(r, 300).whole).to.equal(300);
    expect(flood(r, 300, undefined, () => '198.51.100.1').whole).to.equal(19);
  });
  it('forwarded replies are limited too', async () => {
    const r = rig({ rrl: 10, cache: false });
    let whole = 0;
    for (let i = 0; i < 50; i++) {
      const reply = await r.pipeline.handle(query('www.example.net'), 'udp', '198.51.100.7');
      if (reply !== null && (reply[2]! & 0x02) === 0) whole++;
    }
    expect(whole).to.equal(19);
  });
  it('only the datagram limited in place is dropped by the full path after it, nothing else', () => {
    const r = rig({ rrl: 1, slip: 0 });
    flood(r, 5); // limited from the 2nd on
    const out = Buffer.alloc(4096);
    const q = query('www.example.com');
    const inbox = Buffer.concat([Buffer.alloc(16), q]);
    expect(r.pipeline.inPlace!(inbox, 16, q.length, sockaddr('192.0.2.1'), 0, out, 0, 2048)).to.equal(-1);
    // Another message reaches the full path first (the engine would not do this): it is answered.
    const other = Buffer.from(q);
    expect(r.pipeline.handle(other, 'tcp', '192.0.2.1')).to.be.instanceOf(Buffer);
    // And the limited one, handed over late, is no longer known: the full path judges it again (limited: null).
    expect(r.pipeline.handler('udp', true)(inbox.subarray(16, 16 + q.length), '192.0.2.1', 40000)).to.equal(null);
    expect(r.counters.snapshot().rrl.limited, '4 in the flood, once in place, once again on the full path').to.equal(6);
  });

  it('hits only (the UDP thread\'s pipeline): a miss is left to the full path, a hit limited to nothing is droppedInPlace and counted once', () => {
    const r = rig({ rrl: 1, slip: 0, missesInPlace: false });
    const out = Buffer.alloc(4096);
    const q = query('www.example.com');
    const inbox = Buffer.concat([Buffer.alloc(16), q]);
    // A miss: -1, nothing written or counted, and it was not dropped.
    expect(r.pipeline.inPlace!(inbox, 16, q.length, sockaddr('192.0.2.1'), 0, out, 0, 2048)).to.equal(-1);
    expect(r.pipeline.droppedInPlace(inbox, 16)).to.equal(false);
    expect(r.counters.snapshot().queries).to.equal(0);
    // The full path answers it (and keeps it); then it is a hit in place, until RRL limits it (rate 1).
    expect(r.pipeline.handler('udp', true)(inbox.subarray(16, 16 + q.length), '192.0.2.1', 40000)).to.be.instanceOf(Buffer);
    let dropped = 0;
    for (let i = 0; i < 5; i++) {
      const n = r.pipeline.inPlace!(inbox, 16, q.length, sockaddr('192.0.2.1'), 0, out, 0, 2048);
      if (n < 0) {
        expect(r.pipeline.droppedInPlace(inbox, 16), `datagram ${i}`).to.equal(true);
        // Asked again for the same datagram: already taken.
        expect(r.pipeline.droppedInPlace(inbox, 16)).to.equal(false);
        dropped++;
      }
    }
    expect(dropped).to.be.at.least(3);
    const s = r.counters.snapshot();
    expect(s).to.include({ queries: 6, dropped });
    expect(s.rrl.limited).to.equal(dropped);
  });
});
