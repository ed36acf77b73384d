/**
 * `--io thread` (src/net/udp-thread.ts) with real peers: an upstream NSD,
 * dig and dnsperf. The thread answers repeats from its copy of the reply
 * cache with the bytes the mmsg engine gives, counts them where the metrics
 * read, follows reloads and hosts-file edits, applies the recursion ACL,
 * cookies and RRL, and lets the server stop.
 */

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { buildQuery, decodeReply, udpExchange, type Reply } from '../helpers/dns-client.js';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { ROOT, freePort, startServer, until, workerPids, type RunningServer } from '../helpers/server.js';
import { writeZone } from '../helpers/zone-text.js';
import { digUnavailable } from '../helpers/transfer-checks.js';

const FIX = `${ROOT}test/fixtures/answers/`;
/** Names the upstream NSD serves (TTL 300). */
const REMOTE = ['www.remote.test', 'mail.remote.test', 'nx.remote.test', 'remote.test'];
const TYPES = ['A', 'AAAA', 'MX', 'TXT'];

/** A new folder the server's unprivileged user may read (started as root, shardns runs as another user). */
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-thread-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** Every counter of the server's one worker, from its SIGUSR1 line (`udpThread.cacheHits=12 …`). */
async function counters(s: RunningServer): Promise<Record<string, number>> {
  const since = s.mark();
  process.kill(s.proc.pid!, 'SIGUSR1');
  const m = await s.waitFor(/worker 0 \(pid \d+\) counters.*\n/, 5000, since);
  return Object.fromEntries([...m[0].matchAll(/([\w.]+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
}

async function ask(port: number, name: string, type = 'A', host = '127.0.0.1'): Promise<Reply> {
  const bytes = await udpExchange(buildQuery(name, type, 'IN', { edns: true }), port, host, 4000);
  if (!bytes) throw new Error(`no reply for ${name} ${type}`);
  return decodeReply(bytes);
}

const brief = (r: Reply): string => [r.rcode, ...r.answers.map((x) => `${x.type} ${typeof x.data === 'string' ? x.data : JSON.stringify(x.data)}`)].join(' ');

/** A reply with its records' TTLs set to 0 (two servers' forwarded copies age apart by a second at most). */
function ttlsZeroed(m: Buffer): string {
  const p = dnsPacket.decode(m);
  for (const section of [p.answers, p.authorities, p.additionals]) for (const r of section ?? []) if (r.type !== 'OPT') (r as { ttl: number }).ttl = 0;
  return dnsPacket.encode(p).toString('hex');
}

describe('--io thread: reply-cache hits answered by a thread blocking in recvmmsg', function () {
  this.timeout(90_000);
  let nsd: Nsd;
  let dir: string;
  let ownZone: string;
  let thread: RunningServer;
  let mmsg: RunningServer;
  const args = (): string[] => ['--workers', '1', '--listen', '127.0.0.1', '--listen', '::1', '--forward', `127.0.0.1:${nsd.port}`, '--etc-hosts', 'off', '--zone', `example.com.=${FIX}example.com.zone`, '--zone', `own.test.=${ownZone}`];

  before(async function () {
    const why = nsdUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    nsd = await startNsd([{ name: 'remote.test', file: writeZone('remote.test', ['www 300 A 192.0.2.1', 'www 300 AAAA 2001:db8::1', '@ 300 MX 10 mail', 'mail 300 A 192.0.2.25', '@ 300 TXT "hello"']) }], await freePort());
    dir = folder();
    ownZone = join(dir, 'own.test.zone');
    writeFileSync(ownZone, '$TTL 60\n@ SOA ns1 host 1 2h 1h 2w 5m\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.101\n');
    [thread, mmsg] = await Promise.all([startServer([...args(), '--io', 'thread']), startServer([...args(), '--io', 'mmsg'])]);
  });
  after(() => {
    thread?.kill();
    mmsg?.kill();
    nsd?.stop();
  });

  for (const host of ['127.0.0.1', '::1']) {
    it(`forwarded and authoritative names over ${host.includes(':') ? 'IPv6' : 'IPv4'}: the same answers as the mmsg engine, three times (from the thread's copy from the third on)`, async () => {
      const queries: Buffer[] = [];
      let id = 100;
      for (const name of [...REMOTE, 'www.example.com', 'nx.example.com', 'www.own.test']) for (const type of TYPES) for (const edns of [false, true]) queries.push(buildQuery(name, type, 'IN', { id: id++, edns }));
      const before = await counters(thread);
      for (let round = 1; round <= 3; round++) {
        for (const q of queries) {
          const [a, b] = await Promise.all([udpExchange(q, thread.port, host), udpExchange(q, mmsg.port, host)]);
          const what = `${dnsPacket.decode(q).questions?.[0]?.name} ${dnsPacket.decode(q).questions?.[0]?.type} round ${round}`;
          expect(a, what).to.not.equal(null);
          expect(b, what).to.not.equal(null);
          // Authoritative replies byte for byte; forwarded ones but for the TTLs, which count down on each server's own clock.
          if (/remote\.test$/.test(dnsPacket.decode(q).questions![0]!.name)) expect(ttlsZeroed(a!), what).to.equal(ttlsZeroed(b!));
          else expect(a!.toString('hex'), what).to.equal(b!.toString('hex'));
        }
      }
      const after = await counters(thread);
      const n = queries.length;
      expect(after['udpThread.received']! - (before['udpThread.received'] ?? 0), 'every datagram read by the thread').to.equal(3 * n);
      expect(after['queries']! - before['queries']!, 'every query counted once').to.equal(3 * n);
      // Round 1 misses (passed on); authoritative replies are kept from their second miss; round 3 is all hits.
      expect(after['udpThread.cacheHits']! - (before['udpThread.cacheHits'] ?? 0), 'answered by the thread').to.be.at.least(n);
      expect(after['udpThread.passed']! - (before['udpThread.passed'] ?? 0), 'passed to the main thread').to.be.at.most(2 * n);
    });
  }

  it('dig: the second answer comes from the thread, with the upstream\'s TTL counted down, never above it', async function () {
    const why = digUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const dig = (): { status: string; ttl: number; address: string } => {
      const out = spawnSync('dig', ['@127.0.0.1', '-p', String(thread.port), 'www.remote.test', 'A', '+noall', '+answer', '+comments'], { encoding: 'utf8' }).stdout;
      const line = /^www\.remote\.test\.\s+(\d+)\s+IN\s+A\s+(\S+)$/m.exec(out);
      return { status: /status: (\w+)/.exec(out)?.[1] ?? out, ttl: Number(line?.[1]), address: line?.[2] ?? '' };
    };
    dig();
    const hits = (await counters(thread))['udpThread.cacheHits'] ?? 0;
    await new Promise((r) => setTimeout(r, 1100));
    const second = dig();
    expect(second).to.include({ status: 'NOERROR', address: '192.0.2.1' });
    expect(second.ttl).to.be.at.most(299).and.at.least(290);
    expect((await counters(thread))['udpThread.cacheHits']).to.equal(hits + 1);
  });

  it('a reload empties the thread\'s copy: a name of ours answered from it gets the new address', async () => {
    for (let i = 0; i < 3; i++) expect(brief(await ask(thread.port, 'www.own.test'))).to.equal('NOERROR A 192.0.2.101');
    const hits = (await counters(thread))['udpThread.cacheHits']!;
    expect(brief(await ask(thread.port, 'www.own.test'))).to.equal('NOERROR A 192.0.2.101');
    expect((await counters(thread))['udpThread.cacheHits'], 'the thread answered it before the reload').to.equal(hits + 1);
    writeFileSync(ownZone, '$TTL 60\n@ SOA ns1 host 2 2h 1h 2w 5m\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.102\n');
    const since = thread.mark();
    process.kill(thread.proc.pid!, 'SIGHUP');
    await thread.waitFor(/reloaded \d+ zone/, 20_000, since);
    for (let i = 0; i < 4; i++) expect(brief(await ask(thread.port, 'www.own.test')), `query ${i} after the reload`).to.equal('NOERROR A 192.0.2.102');
  });

  it('the recursion ACL holds in the thread: a client that may not recurse is REFUSED a name another filled the cache with', async () => {
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${nsd.port}`, '--etc-hosts', 'off', '--allow-recursion', '127.0.0.2/32', '--io', 'thread']);
    try {
      const q = buildQuery('www.remote.test', 'A', 'IN', { edns: true });
      for (let i = 0; i < 3; i++) expect(brief(decodeReply((await udpExchange(q, s.port, '127.0.0.1', 2000, '127.0.0.2'))!))).to.equal('NOERROR A 192.0.2.1');
      for (let i = 0; i < 3; i++) expect(decodeReply((await udpExchange(q, s.port, '127.0.0.1', 2000, '127.0.0.1'))!).rcode, `refused ${i}`).to.equal('REFUSED');
      const c = await counters(s);
      expect(c['udpThread.cacheHits'], 'both kinds answered by the thread once kept').to.be.at.least(3);
    } finally {
      s.kill();
    }
  });

  it('a hosts file edited: the thread\'s copy empties, the new answer is given without a reload', async () => {
    const hostsDir = folder();
    const hosts = join(hostsDir, 'hosts');
    writeFileSync(hosts, '192.0.2.200 other.home\n');
    chmodSync(hosts, 0o644);
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${nsd.port}`, '--etc-hosts', 'off', '--hosts', hosts, '--io', 'thread']);
    try {
      for (let i = 0; i < 3; i++) expect(brief(await ask(s.port, 'mail.remote.test'))).to.equal('NOERROR A 192.0.2.25');
      expect((await counters(s))['udpThread.cacheHits']).to.be.at.least(1);
      writeFileSync(hosts, '192.0.2.200 other.home\n203.0.113.25 mail.remote.test\n');
      expect(await until(async () => brief(await ask(s.port, 'mail.remote.test')) === 'NOERROR A 203.0.113.25', 10_000, 200), 'the hosts entry answers').to.equal(true);
      for (let i = 0; i < 3; i++) expect(brief(await ask(s.port, 'mail.remote.test'))).to.equal('NOERROR A 203.0.113.25');
    } finally {
      s.kill();
    }
  });

  it('cookies: a hit from the thread carries a server cookie the worker takes as valid; a server cookie not ours gets BADCOOKIE', async () => {
    const withCookie = (cookie: string, id: number): Buffer =>
      dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'www.remote.test', type: 'A', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 10, data: Buffer.from(cookie, 'hex') }] } as never] });
    const cookieOf = (m: Buffer): string => ((dnsPacket.decode(m).additionals ?? []).find((a) => a.type === 'OPT') as { options: { code: number; data: Buffer }[] }).options.find((o) => o.code === 10)!.data.toString('hex');
    const client = '0102030405060708';
    let server = '';
    for (let i = 0; i < 3; i++) {
      const r = (await udpExchange(withCookie(client, 10 + i), thread.port))!;
      expect(decodeReply(r).rcode).to.equal('NOERROR');
      server = cookieOf(r);
      expect(server.slice(0, 16)).to.equal(client);
    }
    const before = await counters(thread);
    // The server cookie the thread wrote, sent back: valid, answered by the thread again.
    for (let i = 0; i < 3; i++) expect(decodeReply((await udpExchange(withCookie(server, 20 + i), thread.port))!).rcode).to.equal('NOERROR');
    const after = await counters(thread);
    expect(after['cookies.valid']! - (before['cookies.valid'] ?? 0)).to.equal(3);
    expect(after['udpThread.cacheHits']! - before['udpThread.cacheHits']!).to.equal(3);
    const bad = `${client}${'01000000'}${'00000000'}${'ffffffffffffffff'}`;
    // BADCOOKIE is rcode 23: 7 in the header, 1 in the OPT's extended rcode (RFC 6891 §6.1.3, RFC 7873 §8).
    const refused = dnsPacket.decode((await udpExchange(withCookie(bad, 30), thread.port))!);
    const opt = (refused.additionals ?? []).find((a) => a.type === 'OPT') as { extendedRcode?: number } | undefined;
    expect(((opt?.extendedRcode ?? 0) << 4) | ((refused.flags ?? 0) & 0x0f)).to.equal(23);
  });

  it('RRL applies to the thread\'s answers: a flood of one name from a client not exempt is limited, counted', async () => {
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${nsd.port}`, '--etc-hosts', 'off', '--rrl', '20', '--rrl-exempt', 'none', '--io', 'thread']);
    try {
      // The flood's very question (no EDNS) first, until the thread's copy holds it: a burst that came before
      // would be passed to the worker whole (the copy learns of the reply only after the worker made it).
      const q = buildQuery('www.remote.test', 'A', 'IN', { id: 1 });
      expect(
        await until(async () => {
          await udpExchange(q, s.port);
          return ((await counters(s))['udpThread.cacheHits'] ?? 0) > 0;
        }, 5000, 100),
      ).to.equal(true);
      const start = await counters(s);
      const got = await new Promise<{ whole: number; tc: number }>((resolve) => {
        const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
        const seen = { whole: 0, tc: 0 };
        sock.on('message', (m) => {
          if ((m[2]! & 0x02) !== 0) seen.tc++;
          else seen.whole++;
        });
        sock.bind(0, '127.0.0.1', () => {
          for (let i = 0; i < 500; i++) sock.send(buildQuery('www.remote.test', 'A', 'IN', { id: i }), s.port, '127.0.0.1');
          setTimeout(() => {
            sock.close();
            resolve(seen);
          }, 1500);
        });
      });
      expect(got.whole, 'whole answers: about the rate').to.be.below(100);
      expect(got.tc, 'slipped (TC) answers').to.be.above(0);
      // Judged against what reached the server (on a loaded machine its socket may drop part of a 500-datagram burst).
      const c = await counters(s);
      const delta = (k: string): number => c[k]! - (start[k] ?? 0);
      const received = delta('udpThread.received');
      expect(received, 'datagrams of the flood the thread read').to.be.above(150);
      expect(delta('udpThread.cacheHits'), 'answered (or limited) by the thread').to.equal(received);
      expect(delta('rrl.limited'), 'limited: all but about the rate').to.be.at.least(received - 100);
      expect(delta('rrl.slipped')).to.be.at.least(got.tc);
    } finally {
      s.kill();
    }
  });

  it('dnsperf, cached forwarding: every query answered NOERROR, nearly all by the thread, and counted once', async function () {
    if (spawnSync('dnsperf', ['-h']).error) {
      console.log('      skip: dnsperf not installed — apt-get install dnsperf');
      this.skip();
    }
    const file = join(folder(), 'q.txt');
    writeFileSync(file, 'www.remote.test A\nmail.remote.test A\nremote.test MX\nnx.remote.test A\n');
    const before = await counters(thread);
    const run = spawnSync('dnsperf', ['-s', '127.0.0.1', '-p', String(thread.port), '-d', file, '-l', '3', '-c', '4', '-q', '100'], { encoding: 'utf8' });
    const completed = Number(/Queries completed:\s+(\d+)/.exec(run.stdout)?.[1]);
    const sent = Number(/Queries sent:\s+(\d+)/.exec(run.stdout)?.[1]);
    expect(completed, run.stdout).to.be.above(1000);
    expect(completed).to.equal(sent);
    expect(run.stdout).to.match(/NOERROR \d+ \(7\d\.\d\d%\)/);
    const after = await counters(thread);
    expect(after['queries']! - before['queries']!).to.equal(completed);
    // The first questions of each kind miss until the worker's reply reaches the thread (one window of outstanding queries at most).
    expect(after['udpThread.cacheHits']! - before['udpThread.cacheHits']!).to.be.at.least(completed * 0.99);
  });

  it('--udp-coalesce-us 200: the same bytes as without; lone queries never wait; dnsperf loses nothing and makes it wait; a killed worker comes back coalescing; SIGTERM stops it', async function () {
    if (spawnSync('dnsperf', ['-h']).error) {
      console.log('      skip: dnsperf not installed — apt-get install dnsperf');
      this.skip();
    }
    const s = await startServer([...args(), '--io', 'thread', '--udp-coalesce-us', '200']);
    try {
      const names = ['www.example.com', 'nx.example.com', 'www.own.test', 'www.remote.test', 'mail.remote.test'];
      const queries = names.flatMap((name, i) => TYPES.map((type, j) => buildQuery(name, type, 'IN', { id: 500 + 10 * i + j, edns: true })));
      // Three rounds, one query at a time: the third answered from the thread's copy.
      const before = await counters(s);
      for (let round = 1; round <= 3; round++) {
        for (const q of queries) {
          const [a, b] = await Promise.all([udpExchange(q, s.port), udpExchange(q, thread.port)]);
          const what = `${dnsPacket.decode(q).questions?.[0]?.name} ${dnsPacket.decode(q).questions?.[0]?.type} round ${round}`;
          expect(a, what).to.not.equal(null);
          if (/remote\.test$/.test(dnsPacket.decode(q).questions![0]!.name)) expect(ttlsZeroed(a!), what).to.equal(ttlsZeroed(b!));
          else expect(a!.toString('hex'), what).to.equal(b!.toString('hex'));
        }
      }
      const lone = await counters(s);
      const d = (after: Record<string, number>, from: Record<string, number>, k: string): number => (after[k] ?? 0) - (from[k] ?? 0);
      expect(d(lone, before, 'udpThread.received')).to.equal(3 * queries.length);
      expect(d(lone, before, 'udpThread.recvCalls'), 'one datagram per recvmmsg').to.equal(3 * queries.length);
      expect(d(lone, before, 'udpThread.cacheHits'), 'the third round from the copy').to.be.at.least(queries.length);
      expect(d(lone, before, 'udpThread.coalesceWaits'), 'waits after lone queries').to.equal(0);

      const file = join(folder(), 'q.txt');
      writeFileSync(file, 'www.remote.test A\nmail.remote.test A\nwww.example.com A\nnx.example.com A\n');
      const perf = (): { sent: number; completed: number; out: string } => {
        const run = spawnSync('dnsperf', ['-s', '127.0.0.1', '-p', String(s.port), '-d', file, '-l', '2', '-c', '4', '-q', '100'], { encoding: 'utf8' });
        return { sent: Number(/Queries sent:\s+(\d+)/.exec(run.stdout)?.[1]), completed: Number(/Queries completed:\s+(\d+)/.exec(run.stdout)?.[1]), out: run.stdout };
      };
      const r = perf();
      expect(r.completed, r.out).to.be.above(1000);
      expect(r.completed, 'every query answered').to.equal(r.sent);
      const loaded = await counters(s);
      expect(d(loaded, lone, 'queries')).to.equal(r.completed);
      expect(d(loaded, lone, 'udpThread.coalesceWaits'), 'waits under load').to.be.above(0);
      expect(d(loaded, lone, 'udpThread.received') / d(loaded, lone, 'udpThread.recvCalls'), 'datagrams per recvmmsg under load').to.be.above(1);

      const [worker] = workerPids(s.proc.pid!);
      const since = s.mark();
      process.kill(worker!, 'SIGKILL');
      await s.waitFor(/worker 0 \(pid \d+\) ready again/, 15_000, since);
      expect(brief(await ask(s.port, 'www.example.com')), 'the replacement worker').to.match(/^NOERROR A /);
      const again = perf();
      expect(again.completed, again.out).to.equal(again.sent);
      expect((await counters(s))['udpThread.coalesceWaits'], 'the new thread coalesces too').to.be.above(0);

      const t = Date.now();
      process.kill(s.proc.pid!, 'SIGTERM');
      const end = await s.exited;
      expect(end.code, s.output().slice(-1500)).to.equal(0);
      expect(Date.now() - t).to.be.below(3000);
    } finally {
      s.kill();
    }
  });

  it('stops on SIGTERM within the shutdown time while the thread blocks, exit 0', async () => {
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `example.com.=${FIX}example.com.zone`, '--io', 'thread']);
    expect(brief(await ask(s.port, 'www.example.com'))).to.match(/^NOERROR A /);
    const t = Date.now();
    process.kill(s.proc.pid!, 'SIGTERM');
    const end = await s.exited;
    expect(end.code, s.output().slice(-1500)).to.equal(0);
    expect(Date.now() - t).to.be.below(3000);
  });
});
