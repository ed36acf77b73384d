/**
 * DNS cookies (RFC 7873, RFC 9018) in the real server, with real clients and a
 * real peer: dig and kdig see a good cookie, a bad server cookie gets
 * BADCOOKIE, every worker accepts every worker's cookies, cached replies carry
 * each asker's own cookie, and NSD given the same secret makes the same
 * cookies and accepts ours (and we accept its).
 */

import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { udpExchange } from '../helpers/dns-client.js';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { ROOT, freePort, startServer, type RunningServer } from '../helpers/server.js';
import { digUnavailable, kdigUnavailable } from '../helpers/transfer-checks.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const SECRET = 'e5e973e5a6b2a43f48e7dc849e37bfcf';
const OTHER = '445536bcd2513298075a5d379663c962';

/** dig's output for www.example.com A at the port, with these options. */
function dig(port: number, ...options: string[]): string {
  const r = spawnSync('dig', ['@127.0.0.1', '-p', String(port), 'www.example.com', 'A', '+tries=3', '+time=2', ...options], { encoding: 'utf8' });
  return r.stdout;
}

/** The `; COOKIE: …` dig prints (lower-case hex), and whether it says good. */
function digCookie(out: string): { cookie: string; good: boolean } | null {
  const m = /^; COOKIE: ([0-9a-f]+)( \(good\))?/m.exec(out);
  return m ? { cookie: m[1]!, good: m[2] !== undefined } : null;
}

/** digCookie's cookie, or a failure that shows dig's output. */
function cookieIn(out: string): string {
  const c = digCookie(out);
  if (c === null) throw new Error(`no COOKIE in dig's output:\n${out}`);
  return c.cookie;
}

const status = (out: string): string | undefined => /status: ([A-Z]+)/.exec(out)?.[1];

/** Sends www.example.com A with a COOKIE option of these octets (hex) over UDP (`response`: with QR=1); the reply, or null after `timeoutMs`. */
async function rawCookieQuery(port: number, cookieHex: string, response = false, timeoutMs = 2000): Promise<Buffer | null> {
  const q = dnsPacket.encode({
    type: response ? 'response' : 'query',
    id: 3,
    flags: response ? 0x8000 : 0,
    questions: [{ name: 'www.example.com', type: 'A', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 10, data: Buffer.from(cookieHex, 'hex') }] } as never],
  });
  return udpExchange(q, port, '127.0.0.1', timeoutMs);
}

/** Per-worker counters from the supervisor's SIGUSR1 lines. */
async function workerCounters(server: RunningServer, workers: number): Promise<Record<string, number>[]> {
  const since = server.mark();
  process.kill(server.proc.pid!, 'SIGUSR1');
  const m = await server.waitFor(new RegExp(`(worker \\d+ \\(pid \\d+\\) counters[^\\n]*\\n[\\s\\S]*?){${workers}}`), 5000, since);
  return [...m[0].matchAll(/worker \d+ \(pid \d+\) counters[^\n]*/g)].map((line) => Object.fromEntries([...line[0].matchAll(/([\w.]+)=(\d+)/g)].map(([, k, v]) => [k!, Number(v)])));
}

describe('DNS cookies in the real server (RFC 7873, RFC 9018)', function () {
  this.timeout(60_000);
  const running: { stop(): void }[] = [];
  const serve = async (args: string[]): Promise<RunningServer> => {
    const s = await startServer(['--listen', '127.0.0.1', '--forward', 'none', '--zone', `example.com.=${FIX}example.com.zone`, ...args]);
    running.push({ stop: () => s.kill() });
    return s;
  };
  afterEach(() => {
    for (const r of running.splice(0)) r.stop();
  });

  it('dig +cookie: answered, the cookie shown as good; the cookie learned is good on every worker (rotating secrets from one seed)', async function () {
    const why = digUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const s = await serve(['--workers', '2']);
    const first = dig(s.port, '+cookie');
    expect(status(first)).to.equal('NOERROR');
    const learned = digCookie(first);
    expect(learned, first).to.not.equal(null);
    expect(learned!.good).to.equal(true);
    expect(learned!.cookie).to.have.length(48);
    // Each dig has a new source port, so the kernel spreads them over both workers: each must
    // accept the cookie (sent back as it came: younger than half an hour), none says BADCOOKIE.
    for (let i = 0; i < 16; i++) {
      const out = dig(s.port, `+cookie=${learned!.cookie}`, '+nobadcookie');
      expect(status(out), out).to.equal('NOERROR');
      expect(digCookie(out)).to.deep.equal({ cookie: learned!.cookie, good: true });
    }
    const perWorker = await workerCounters(s, 2);
    expect(perWorker.map((c) => c['cookies.valid']! > 0), 'both workers judged a cookie valid').to.deep.equal([true, true]);
    expect(perWorker.reduce((n, c) => n + c['cookies.bad']!, 0)).to.equal(0);
  });

  it('a server cookie not ours: BADCOOKIE over UDP with a good one to retry with; dig retries and is answered; over TCP answered at once', async function () {
    const why = digUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const s = await serve(['--workers', '1']);
    const bogus = `0102030405060708010000005cf79f11${'00'.repeat(8)}`;
    const bad = dig(s.port, `+cookie=${bogus}`, '+nobadcookie');
    expect(status(bad), bad).to.equal('BADCOOKIE');
    expect(bad).to.match(/ANSWER: 0/);
    const fresh = digCookie(bad)!;
    expect(fresh?.good, bad).to.equal(true);
    expect(fresh.cookie.slice(0, 16)).to.equal('0102030405060708');
    expect(fresh.cookie).to.not.equal(bogus);
    expect(status(dig(s.port, `+cookie=${fresh.cookie}`, '+nobadcookie'))).to.equal('NOERROR');
    // dig's default: retry once with the cookie the BADCOOKIE brought.
    const retried = dig(s.port, `+cookie=${bogus}`);
    expect(retried).to.match(/BADCOOKIE, retrying/);
    expect(status(retried)).to.equal('NOERROR');
    const tcp = dig(s.port, `+cookie=${bogus}`, '+nobadcookie', '+tcp');
    expect(status(tcp), tcp).to.equal('NOERROR');
    expect(digCookie(tcp)?.good, tcp).to.equal(true);
  });

  it('a malformed COOKIE option gets FORMERR (RFC 7873 §5.2.2)', async () => {
    const s = await serve(['--workers', '1']);
    for (const len of [7, 9, 15, 41]) {
      const reply = await rawCookieQuery(s.port, 'ab'.repeat(len));
      expect(reply, `a reply to a ${len}-octet cookie`).to.not.equal(null);
      expect(reply![3]! & 0x0f, `FORMERR for ${len} octets`).to.equal(1);
    }
    expect((await rawCookieQuery(s.port, 'ab'.repeat(8)))![3]! & 0x0f).to.equal(0);
  });

  it('a response (QR=1) is never answered, whatever its COOKIE option (RFC 1035 §4.1.1): a reply to one could bounce between two servers for ever', async () => {
    const s = await serve(['--workers', '1']);
    // A bad server cookie (BADCOOKIE was sent back, itself a response with a server cookie the other side would find bad),
    // a malformed option (FORMERR was sent back), a client cookie alone.
    for (const cookie of [`0102030405060708010000005cf79f11${'00'.repeat(8)}`, 'ab'.repeat(7), 'ab'.repeat(8)]) {
      expect(await rawCookieQuery(s.port, cookie, true, 700), `a reply to a response with the cookie ${cookie}`).to.equal(null);
    }
    // The same as queries are answered.
    expect(await rawCookieQuery(s.port, 'ab'.repeat(8))).to.not.equal(null);
  });

  it('a query with only a COOKIE option (QDCOUNT 0, dig +header-only; RFC 7873 §5.4): NOERROR with our server cookie for a client cookie alone or with a valid server cookie, BADCOOKIE with a fresh one otherwise, over UDP and TCP', async function () {
    const why = digUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const s = await serve(['--workers', '1']);
    const first = dig(s.port, '+cookie', '+header-only');
    expect(status(first), first).to.equal('NOERROR');
    expect(first).to.match(/QUERY: 0, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1/);
    const learned = digCookie(first);
    expect(learned?.good, first).to.equal(true);
    // The server cookie it brought is ours: a later query sends it and gets it back as it was (valid, younger than half an hour).
    expect(digCookie(dig(s.port, `+cookie=${learned!.cookie}`, '+nobadcookie'))).to.deep.equal({ cookie: learned!.cookie, good: true });
    for (const tcp of [[], ['+tcp']]) {
      const valid = dig(s.port, `+cookie=${learned!.cookie}`, '+header-only', '+nobadcookie', ...tcp);
      expect(status(valid), valid).to.equal('NOERROR');
      expect(digCookie(valid)).to.deep.equal({ cookie: learned!.cookie, good: true });
      const clientOnly = dig(s.port, '+cookie=0102030405060708', '+header-only', ...tcp);
      expect(status(clientOnly), clientOnly).to.equal('NOERROR');
      expect(cookieIn(clientOnly).slice(0, 16)).to.equal('0102030405060708');
      const bogus = `0102030405060708010000005cf79f11${'00'.repeat(8)}`;
      const bad = dig(s.port, `+cookie=${bogus}`, '+header-only', '+nobadcookie', ...tcp);
      expect(status(bad), bad).to.equal('BADCOOKIE');
      const fresh = digCookie(bad);
      expect(fresh?.good, bad).to.equal(true);
      expect(fresh!.cookie.slice(0, 16)).to.equal('0102030405060708');
      expect(fresh!.cookie).to.not.equal(bogus);
    }
    const [c] = await workerCounters(s, 1);
    expect([c!['cookies.clientOnly'], c!['cookies.valid'], c!['cookies.bad']]).to.deep.equal([3, 3, 2]);
  });

  it('without cookies (--cookies off) a query with no question is FORMERR, as a server that does not know cookies answers it (RFC 7873 §5.4)', async function () {
    const why = digUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const s = await serve(['--workers', '1', '--cookies', 'off']);
    const out = dig(s.port, '+cookie', '+header-only');
    expect(status(out), out).to.equal('FORMERR');
    expect(digCookie(out)).to.equal(null);
  });

  it('kdig +cookie: a cookie; kdig with a bad server cookie: BADCOOKIE', async function () {
    const why = kdigUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const s = await serve(['--workers', '1']);
    const kdig = (...o: string[]): string => spawnSync('kdig', ['@127.0.0.1', '-p', String(s.port), 'www.example.com', 'A', '+retry=0', ...o], { encoding: 'utf8' }).stdout;
    const out = kdig('+cookie');
    expect(out).to.match(/status: NOERROR/);
    const m = /;; COOKIE: ([0-9A-F]{48})/.exec(out);
    expect(m, out).to.not.equal(null);
    // kdig's client cookie is the first 8 octets; sent back with the server cookie it was given: kept as it is.
    const again = kdig(`+cookie=${m![1]!}`, '+nobadcookie');
    expect(again).to.match(/status: NOERROR/);
    expect(again).to.include(`;; COOKIE: ${m![1]!}`);
    const bad = kdig(`+cookie=${m![1]!.slice(0, 16)}010000005CF79F11${'00'.repeat(8)}`, '+nobadcookie');
    expect(bad, bad).to.match(/status: BADCOOKIE/);
  });

  it('replies from the reply cache carry each asker\'s own cookie', async function () {
    const why = digUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const s = await serve(['--workers', '1']);
    const clients = ['1111111111111111', '2222222222222222', '3333333333333333', '4444444444444444'];
    const outs = clients.map((c) => dig(s.port, `+cookie=${c}`));
    const cookies = outs.map((o) => digCookie(o)!);
    for (let i = 0; i < clients.length; i++) {
      expect(cookies[i]?.good, outs[i]).to.equal(true);
      expect(cookies[i]!.cookie.slice(0, 16)).to.equal(clients[i]);
      // And each is valid for its client: sent back unchanged.
      expect(cookieIn(dig(s.port, `+cookie=${cookies[i]!.cookie}`, '+nobadcookie'))).to.equal(cookies[i]!.cookie);
    }
    const [c] = await workerCounters(s, 1);
    expect(c!['replyCache.hits'], 'later replies came from the reply cache').to.be.at.least(4);
  });

  describe('beside NSD with the same cookie-secret (answer-cookie: yes)', () => {
    let nsd: Nsd | null = null;
    afterEach(() => {
      nsd?.stop();
      nsd = null;
    });
    before(function () {
      const why = nsdUnavailable() ?? digUnavailable();
      if (why) {
        console.log(`      skip: ${why}`);
        this.skip();
      }
    });
    const withNsd = async (secret: string): Promise<Nsd> => {
      nsd = await startNsd([{ name: 'example.com', file: `${FIX}example.com.zone` }], await freePort(), ['answer-cookie: yes', `cookie-secret: "${secret}"`]);
      return nsd;
    };

    it('both make the same server cookie for the same client cookie, address and second', async () => {
      const n = await withNsd(SECRET);
      const s = await serve(['--workers', '2', '--cookie-secret', SECRET]);
      let compared = 0;
      for (let i = 0; i < 10 && compared < 3; i++) {
        const client = `${(i + 1).toString(16).padStart(2, '0')}23456789abcdef`;
        const ours = cookieIn(dig(s.port, `+cookie=${client}`));
        const theirs = cookieIn(dig(n.port, `+cookie=${client}`));
        // Made in the same second (the timestamp, octets 12–15): then the hashes must agree.
        if (ours.slice(24, 32) !== theirs.slice(24, 32)) continue;
        expect(ours).to.equal(theirs);
        compared++;
      }
      expect(compared, 'pairs made in the same second').to.be.at.least(1);
    });

    it('NSD\'s cookie is valid here and ours is valid at NSD (each sends the other\'s back unchanged a second later)', async () => {
      const n = await withNsd(SECRET);
      const s = await serve(['--workers', '1', '--cookie-secret', SECRET]);
      const fromNsd = cookieIn(dig(n.port, '+cookie=a1a2a3a4a5a6a7a8'));
      const fromUs = cookieIn(dig(s.port, '+cookie=b1b2b3b4b5b6b7b8'));
      // A second on, a cookie not valid would be replaced by one stamped now.
      await new Promise((r) => setTimeout(r, 1100));
      const here = dig(s.port, `+cookie=${fromNsd}`, '+nobadcookie');
      expect(status(here)).to.equal('NOERROR');
      expect(cookieIn(here)).to.equal(fromNsd);
      const there = dig(n.port, `+cookie=${fromUs}`);
      expect(cookieIn(there)).to.equal(fromUs);
    });

    it('a secret rolled over: a cookie of the old one is accepted while it is listed second, refused once it is gone', async () => {
      const n = await withNsd(SECRET);
      const old = cookieIn(dig(n.port, '+cookie=c1c2c3c4c5c6c7c8'));
      const rolled = await serve(['--workers', '1', '--cookie-secret', `${OTHER},${SECRET}`]);
      const accepted = dig(rolled.port, `+cookie=${old}`, '+nobadcookie');
      expect(status(accepted)).to.equal('NOERROR');
      // A new cookie, made with the new secret: NSD (old secret only) no longer agrees with it.
      const renewed = cookieIn(accepted);
      expect(renewed).to.not.equal(old);
      const onlyNew = await serve(['--workers', '1', '--cookie-secret', OTHER]);
      expect(status(dig(onlyNew.port, `+cookie=${old}`, '+nobadcookie'))).to.equal('BADCOOKIE');
      expect(status(dig(onlyNew.port, `+cookie=${renewed}`, '+nobadcookie'))).to.equal('NOERROR');
    });
  });
});
