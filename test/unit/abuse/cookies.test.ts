/** Server cookies (RFC 7873, RFC 9018): RFC 9018 Appendix A's vectors, verification windows, rotation, and the option read from a query. */

import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { ClientAddress } from '../../../src/abuse/client-address.js';
import { parseSecret } from '../../../src/abuse/cookie-secret.js';
import { COOKIE_BAD, COOKIE_CLIENT_ONLY, COOKIE_VALID, rotatingSecret, ServerCookies, type CookieVerdict } from '../../../src/abuse/cookies.js';
import { cookieDataAt, cookieDataLength, findCookie, MALFORMED_COOKIE, NO_COOKIE, OPT_BAD_COOKIE, OPT_COOKIE, readOpt } from '../../../src/dns/query.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const secret = (s: string): Uint8Array => parseSecret(s) as Uint8Array;
const address = (text: string): ClientAddress => {
  const a = new ClientAddress();
  if (!a.fromText(text)) throw new Error(text);
  return a;
};

/** Judges `option` (hex) from `client` at `now` with these secrets (the first makes cookies); the verdict and the reply's option data. */
function judge(secrets: string[], option: string, client: string, now: number): { verdict: CookieVerdict; reply: string } {
  const cookies = new ServerCookies({ kind: 'fixed', secrets: secrets.map(secret) });
  const q = hex(option);
  const verdict = cookies.judge(q, 0, q.length, address(client), now);
  return { verdict, reply: Buffer.from(cookies.reply).toString('hex') };
}

const A1_SECRET = 'e5e973e5a6b2a43f48e7dc849e37bfcf';
const A4_OLD = 'dd3bdf9344b678b185a6f5cb60fca715';
const A4_NEW = '445536bcd2513298075a5d379663c962';

describe('server cookies: RFC 9018 Appendix A', () => {
  // Each row: what the query carried, from whom, when, with which secrets; what the server says and sends back.
  const cases: { name: string; secrets: string[]; query: string; client: string; now: number; verdict: CookieVerdict; reply: string }[] = [
    {
      name: 'A.1: a client cookie alone learns a new server cookie',
      secrets: [A1_SECRET],
      query: '2464c4abcf10c957',
      client: '198.51.100.100',
      now: 1559731985,
      verdict: COOKIE_CLIENT_ONLY,
      reply: '2464c4abcf10c957010000005cf79f111f8130c3eee29480',
    },
    {
      name: 'A.2: that cookie, 40 minutes later, is valid and renewed (older than half an hour)',
      secrets: [A1_SECRET],
      query: '2464c4abcf10c957010000005cf79f111f8130c3eee29480',
      client: '198.51.100.100',
      now: 1559734385,
      verdict: COOKIE_VALID,
      reply: '2464c4abcf10c957010000005cf7a871d4a564a1442aca77',
    },
    {
      // The RFC's query comes 1h52m after its cookie was made; our cookies live an hour
      // (RFC 9018 §4.3), so the reserved-octets cookie is checked ten minutes after it was made.
      name: 'A.3: a cookie with reserved octets set is valid (they are hashed as they came), and replaced by one without',
      secrets: [A1_SECRET],
      query: 'fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5',
      client: '203.0.113.203',
      now: 1559727985 + 600,
      verdict: COOKIE_VALID,
      // Client cookie, version 1, reserved zeros, our time (the hash is checked below at the RFC's time).
      reply: 'fc93fc62807ddb8601000000' + (1559727985 + 600).toString(16),
    },
    {
      name: 'A.4: an IPv6 client\'s cookie made with the previous secret is valid, and a new one made with the current',
      secrets: [A4_NEW, A4_OLD],
      query: '22681ab97d52c298010000005cf7c57926556bd0934c72f8',
      client: '2001:db8:220:1:59de:d0f4:8769:82b8',
      now: 1559741961,
      verdict: COOKIE_VALID,
      reply: '22681ab97d52c298010000005cf7c609a6bb79d16625507a',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = judge(c.secrets, c.query, c.client, c.now);
      expect(got.verdict).to.equal(c.verdict);
      // A.3's reply is made at our `now`, not the RFC's: its hash is checked by the next case.
      if (c.reply.length === 48) expect(got.reply).to.equal(c.reply);
      else expect(got.reply.slice(0, c.reply.length)).to.equal(c.reply);
    });
  }
  it('A.3: the reply the RFC shows, made at its time (1559734700)', () => {
    expect(judge([A1_SECRET], 'fc93fc62807ddb86', '203.0.113.203', 1559734700).reply).to.equal('fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e');
  });
  it('A.4: the cookie the client had, made with the old secret at 1559741817', () => {
    expect(judge([A4_OLD], '22681ab97d52c298', '2001:db8:220:1:59de:d0f4:8769:82b8', 1559741817).reply).to.equal('22681ab97d52c298010000005cf7c57926556bd0934c72f8');
  });
});

describe('server cookies: what is valid', () => {
  const made = '2464c4abcf10c957010000005cf79f111f8130c3eee29480'; // A.1's, made at 1559731985 for 198.51.100.100
  const T = 1559731985;
  const cases: { name: string; query?: string; client?: string; now: number; secrets?: string[]; verdict: CookieVerdict; echoed?: boolean }[] = [
    { name: 'a second later: valid, and sent back as it came (younger than half an hour)', now: T + 1, verdict: COOKIE_VALID, echoed: true },
    { name: '29 minutes later: still sent back as it came', now: T + 1799, verdict: COOKIE_VALID, echoed: true },
    { name: 'half an hour later: valid, a new one made', now: T + 1800, verdict: COOKIE_VALID, echoed: false },
    { name: 'an hour later: still valid', now: T + 3600, verdict: COOKIE_VALID, echoed: false },
    { name: 'an hour and a second later: too old (RFC 9018 §4.3)', now: T + 3601, verdict: COOKIE_BAD },
    { name: 'five minutes before it was made (a server with a clock ahead made it): valid', now: T - 300, verdict: COOKIE_VALID, echoed: false },
    { name: 'more than five minutes before: from the future, bad', now: T - 301, verdict: COOKIE_BAD },
    { name: 'from another client address: bad', client: '198.51.100.101', now: T + 1, verdict: COOKIE_BAD },
    { name: 'with another client cookie: bad', query: '2464c4abcf10c958' + made.slice(16), now: T + 1, verdict: COOKIE_BAD },
    { name: 'one hash bit flipped: bad', query: made.slice(0, 46) + '81', now: T + 1, verdict: COOKIE_BAD },
    { name: 'version 2: not ours, bad', query: made.slice(0, 16) + '02' + made.slice(18), now: T + 1, verdict: COOKIE_BAD },
    { name: 'a 16-octet server cookie of another kind (40 octets in all): bad', query: made + '00'.repeat(16), now: T + 1, verdict: COOKIE_BAD },
    { name: 'an 8-octet server cookie (16 in all): bad', query: made.slice(0, 32), now: T + 1, verdict: COOKIE_BAD },
    { name: 'made with a secret since dropped: bad', secrets: [A4_NEW], now: T + 1, verdict: COOKIE_BAD },
    { name: 'made with the secret now second (rolled over): valid, a new one made with the first', secrets: [A4_NEW, A1_SECRET], now: T + 1, verdict: COOKIE_VALID, echoed: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = judge(c.secrets ?? [A1_SECRET], c.query ?? made, c.client ?? '198.51.100.100', c.now);
      expect(got.verdict).to.equal(c.verdict);
      const query = c.query ?? made;
      // Whatever the verdict, the reply carries the client's cookie and a server cookie valid now.
      expect(got.reply.slice(0, 16)).to.equal(query.slice(0, 16));
      if (c.echoed === true) expect(got.reply).to.equal(query);
      else expect(got.reply.slice(24, 32), 'stamped now').to.equal(c.now.toString(16).padStart(8, '0'));
      const again = judge(c.secrets ?? [A1_SECRET], got.reply, c.client ?? '198.51.100.100', c.now);
      expect(again.verdict, 'the reply\'s cookie is valid').to.equal(COOKIE_VALID);
    });
  }
  it('an IPv4-mapped IPv6 client is the IPv4 client (the same cookie)', () => {
    expect(judge([A1_SECRET], made, '::ffff:198.51.100.100', T + 1).verdict).to.equal(COOKIE_VALID);
  });
});

describe('server cookies: rotating secrets', () => {
  const seed = Uint8Array.from(hex('000102030405060708090a0b0c0d0e0f'));
  const lifetime = 1000;
  const client = address('192.0.2.7');
  /** A cookie made at `made`, judged at `now`, by two workers of the same seed (as every worker derives the same secrets). */
  function across(made: number, now: number): CookieVerdict {
    const maker = new ServerCookies({ kind: 'rotating', seed, lifetime });
    maker.judge(hex('0102030405060708'), 0, 8, client, made);
    const other = new ServerCookies({ kind: 'rotating', seed, lifetime });
    return other.judge(maker.reply, 0, 24, client, now);
  }
  it('a cookie made late in one period is valid early in the next (the previous secret is still accepted)', () => {
    expect(across(5999, 6001)).to.equal(COOKIE_VALID);
  });
  it('a cookie made in the period before last is not (its secret is gone), even within an hour', () => {
    const shortLife = (made: number, now: number): CookieVerdict => {
      const a = new ServerCookies({ kind: 'rotating', seed, lifetime: 100 });
      a.judge(hex('0102030405060708'), 0, 8, client, made);
      return new ServerCookies({ kind: 'rotating', seed, lifetime: 100 }).judge(a.reply, 0, 24, client, now);
    };
    expect(shortLife(199, 201)).to.equal(COOKIE_VALID);
    expect(shortLife(199, 301)).to.equal(COOKIE_BAD);
  });
  it('the secrets change each period and differ by seed', () => {
    expect(Buffer.from(rotatingSecret(seed, 1)).equals(Buffer.from(rotatingSecret(seed, 2)))).to.equal(false);
    expect(Buffer.from(rotatingSecret(seed, 1)).equals(Buffer.from(rotatingSecret(seed, 1)))).to.equal(true);
    expect(Buffer.from(rotatingSecret(seed, 1)).equals(Buffer.from(rotatingSecret(Uint8Array.from(hex('ff'.repeat(16))), 1)))).to.equal(false);
    expect(rotatingSecret(seed, 1)).to.have.length(16);
  });
  it('another seed (another server start) does not accept the cookie', () => {
    const a = new ServerCookies({ kind: 'rotating', seed, lifetime });
    a.judge(hex('0102030405060708'), 0, 8, client, 5000);
    const b = new ServerCookies({ kind: 'rotating', seed: Uint8Array.from(hex('ff'.repeat(16))), lifetime });
    expect(b.judge(a.reply, 0, 24, client, 5001)).to.equal(COOKIE_BAD);
  });
});

describe('parseSecret', () => {
  it('takes 32 hex digits', () => expect(Buffer.from(secret(A1_SECRET)).toString('hex')).to.equal(A1_SECRET));
  for (const bad of ['', 'e5e973e5a6b2a43f48e7dc849e37bfc', 'e5e973e5a6b2a43f48e7dc849e37bfcf00', 'x5e973e5a6b2a43f48e7dc849e37bfcf']) {
    it(`refuses ${JSON.stringify(bad)}, saying how to make one`, () => expect(parseSecret(bad)).to.be.a('string').and.match(/32 hexadecimal digits.*openssl rand -hex 16/));
  }
});

describe('the COOKIE option of a query (RFC 7873 §4, §5.2.2)', () => {
  const opt = (options: { code: number; data: Buffer }[]) => ({ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, options });
  const query = (additionals: unknown[], extra: Partial<dnsPacket.Packet> = {}): Buffer =>
    dnsPacket.encode({ type: 'query', id: 7, flags: 0, questions: [{ name: 'www.example.com', type: 'A', class: 'IN' }], additionals: additionals as never, ...extra });
  const cookie = (n: number): { code: number; data: Buffer } => ({ code: 10, data: Buffer.alloc(n, 0xab) });
  const cases: { name: string; q: Buffer; found: 'none' | 'malformed' | number }[] = [
    { name: 'no additional records', q: query([]), found: 'none' },
    { name: 'an OPT without options', q: query([opt([])]), found: 'none' },
    { name: 'a client cookie (8 octets)', q: query([opt([cookie(8)])]), found: 8 },
    { name: 'client and server cookie (24 octets)', q: query([opt([cookie(24)])]), found: 24 },
    { name: 'the shortest server cookie (16 in all)', q: query([opt([cookie(16)])]), found: 16 },
    { name: 'the longest (40 in all)', q: query([opt([cookie(40)])]), found: 40 },
    { name: 'after NSID', q: query([opt([{ code: 3, data: Buffer.alloc(0) }, cookie(8)])]), found: 8 },
    { name: 'the first of two', q: query([opt([cookie(8), cookie(3)])]), found: 8 },
    { name: 'in an OPT after another additional record (not a plain query)', q: query([{ name: 'a.test', type: 'A', ttl: 1, data: '192.0.2.1' }, opt([cookie(24)])]), found: 24 },
    { name: 'behind an answer record and a compressed name', q: query([opt([cookie(8)])], { answers: [{ name: 'www.example.com', type: 'A', ttl: 1, data: '192.0.2.1' }] }), found: 8 },
    { name: '7 octets: malformed', q: query([opt([cookie(7)])]), found: 'malformed' },
    { name: '9 octets (a 1-octet server cookie): malformed', q: query([opt([cookie(9)])]), found: 'malformed' },
    { name: '15 octets: malformed', q: query([opt([cookie(15)])]), found: 'malformed' },
    { name: '41 octets: malformed', q: query([opt([cookie(41)])]), found: 'malformed' },
    { name: 'empty: malformed', q: query([opt([cookie(0)])]), found: 'malformed' },
  ];
  for (const c of cases) {
    it(`findCookie: ${c.name}`, () => {
      // At an offset, as the engine's receive area holds it.
      const area = Buffer.concat([Buffer.alloc(5, 0xee), c.q, Buffer.alloc(3, 0xee)]);
      const found = findCookie(area, 5, c.q.length);
      if (c.found === 'none') expect(found).to.equal(NO_COOKIE);
      else if (c.found === 'malformed') expect(found).to.equal(MALFORMED_COOKIE);
      else {
        expect(cookieDataLength(found)).to.equal(c.found);
        const at = cookieDataAt(found);
        expect(area.subarray(at, at + c.found).equals(Buffer.alloc(c.found, 0xab))).to.equal(true);
      }
    });
  }
  it('readOpt reports a well-formed and a malformed cookie as bits of its facts', () => {
    const at = (q: Buffer): number => {
      // The OPT is last: find its start from its RDLENGTH.
      for (let i = q.length - 11; i >= 12; i--) if (q[i] === 0 && q[i + 1] === 0 && q[i + 2] === 41 && i + 11 + ((q[i + 9]! << 8) | q[i + 10]!) === q.length) return readOpt(q, i, q.length);
      return -2;
    };
    expect(at(query([opt([cookie(8)])])) & (OPT_COOKIE | OPT_BAD_COOKIE)).to.equal(OPT_COOKIE);
    expect(at(query([opt([cookie(9)])])) & (OPT_COOKIE | OPT_BAD_COOKIE)).to.equal(OPT_BAD_COOKIE);
    expect(at(query([opt([])])) & (OPT_COOKIE | OPT_BAD_COOKIE)).to.equal(0);
  });
});
