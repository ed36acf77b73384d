import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { buildQuery, decodeReply, frame, udpExchange, type Reply } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { ROOT, freePort, startServer, until, type RunningServer } from '../helpers/server.js';

/*
 * TCP under pressure (issue 17): one client (127.0.0.2) holds hundreds of idle
 * connections and trickles queries a byte a second on others; fresh clients
 * (127.0.0.3) must still be answered over TCP, and UDP must not notice.
 * Every address is on loopback; 127.0.0.0/8 is all local on Linux.
 */

const FIX = `${ROOT}test/fixtures/answers/`;
const HOG = '127.0.0.2';
const FRESH = '127.0.0.3';

/** Connects from `from`; resolves with the socket once connected, or null if the attempt failed. */
function connectFrom(port: number, from: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1', localAddress: from });
    c.once('connect', () => resolve(c));
    c.on('error', () => resolve(null));
  });
}

/** One query over a new TCP connection from `from`: the reply, or null when the connection closed or nothing came within timeoutMs. */
function tcpQueryFrom(port: number, from: string, query: Buffer, timeoutMs = 3000): Promise<Reply | null> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const c = net.connect({ port, host: '127.0.0.1', localAddress: from });
    const done = (r: Reply | null): void => {
      clearTimeout(timer);
      c.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    c.on('connect', () => c.write(frame(query)));
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(decodeReply(buf.subarray(2, 2 + buf.readUInt16BE(0))));
    });
    c.on('error', () => undefined);
    c.on('close', () => done(null));
  });
}

/**
 * One client holding many connections: `idle` that never send anything and
 * `slow` that send a query one octet a second. With `reconnectMs`, every
 * connection the server closes is opened again that much later, so the client
 * keeps trying to hold them all.
 */
class Hog {
  private readonly live = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  /** Connections the server closed on us. */
  closedByServer = 0;
  /** Each connection in the order it connected, with whether it is still open. */
  readonly history: { socket: net.Socket; open: boolean }[] = [];

  constructor(
    private readonly port: number,
    private readonly from: string,
    private readonly counts: { idle: number; slow: number },
    private readonly reconnectMs: number | null,
  ) {}

  /** Opens every connection (all at once) and resolves when every attempt has connected or failed. */
  async start(): Promise<void> {
    const attempts: Promise<void>[] = [];
    for (let i = 0; i < this.counts.idle; i++) attempts.push(this.open(false));
    for (let i = 0; i < this.counts.slow; i++) attempts.push(this.open(true));
    await Promise.all(attempts);
  }

  /** Connections open now, as this client sees them. */
  get openCount(): number {
    return this.live.size;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const c of this.live) c.destroy();
  }

  private async open(slow: boolean): Promise<void> {
    if (this.stopped) return;
    const c = await connectFrom(this.port, this.from);
    if (c === null) return this.again(slow);
    if (this.stopped) return void c.destroy();
    const entry = { socket: c, open: true };
    this.history.push(entry);
    this.live.add(c);
    let trickle: NodeJS.Timeout | null = null;
    if (slow) {
      const msg = frame(buildQuery('www.example.com', 'A'));
      let i = 0;
      const next = (): void => void (!c.destroyed && i < msg.length - 1 && c.write(msg.subarray(i, ++i)));
      next();
      trickle = setInterval(next, 1000);
      this.timers.add(trickle);
    }
    c.on('close', () => {
      entry.open = false;
      this.live.delete(c);
      if (trickle) {
        clearInterval(trickle);
        this.timers.delete(trickle);
      }
      if (this.stopped) return;
      this.closedByServer++;
      void this.again(slow);
    });
  }

  private async again(slow: boolean): Promise<void> {
    if (this.reconnectMs === null || this.stopped) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, this.reconnectMs!);
      this.timers.add(t);
    });
    void this.open(slow);
  }
}

/** Sends one query on an open connection and resolves with the reply's ID (null if none came). */
function askOn(c: net.Socket, id: number): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 3000);
    c.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.length >= 4 ? d.readUInt16BE(2) : null);
    });
    c.write(frame(buildQuery('www.example.com', 'A', 'IN', { id })));
  });
}

/** This process's open-file limit (Node raises the soft limit to the hard one at start). */
function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m === null || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** Every worker's counters, summed, from the supervisor's SIGUSR1 lines (`tcpConnections.closed.evictedWorkerFull` …). */
async function counters(server: RunningServer, workers: number): Promise<Record<string, number>> {
  const since = server.mark();
  process.kill(server.proc.pid!, 'SIGUSR1');
  const lines = new RegExp(`(worker \\d+ \\(pid \\d+\\) counters[^\\n]*\\n[\\s\\S]*?){${workers}}`);
  const m = await server.waitFor(lines, 5000, since);
  const sums: Record<string, number> = {};
  for (const [, k, v] of m[0].matchAll(/([\w.]+)=(\d+)/g)) sums[k!] = (sums[k!] ?? 0) + Number(v);
  return sums;
}

/** The answers of a reply, comparable across transports. */
function answersOf(r: Reply | null): unknown {
  return r && { rcode: r.rcode, answers: r.answers.map((a) => ({ ...a, ttl: 0 })) };
}

describe('TCP under pressure: one client cannot lock the others out (RFC 7766 §6.2.2, §6.2.3)', function () {
  this.timeout(60_000);
  let server: RunningServer | null = null;
  let hog: Hog | null = null;
  let upstream: FakeUpstream | null = null;

  before(function () {
    // The hog's 650 connections and their replacements are descriptors in this process.
    const limit = openFileLimit();
    if (limit < 2000) {
      console.log(`skip: this process may open ${limit} files; these tests hold about 700 sockets at once (raise ulimit -n)`);
      this.skip();
    }
  });

  afterEach(async () => {
    hog?.stop();
    hog = null;
    server?.kill();
    server = null;
    await upstream?.close();
    upstream = null;
  });

  it('default configuration: with one client holding 600 idle and 50 slow connections, fresh TCP clients are answered 10 of 10, and UDP too', async () => {
    // The numbers, against the settings a server starts with (workers: this machine's CPUs).
    server = await startServer(['--listen', '127.0.0.1', '--forward', 'none', '--zone', `example.com.=${FIX}example.com.zone`]);
    const workers = Number(/with (\d+) workers?/.exec(server.stdout())![1]);
    const want = answersOf(decodeReply((await udpExchange(buildQuery('www.example.com', 'A'), server.port))!));
    expect(want).to.have.property('rcode', 'NOERROR');

    // It keeps reopening whatever the server closes, a second later.
    hog = new Hog(server.port, HOG, { idle: 600, slow: 50 }, 1000);
    await hog.start();
    expect(hog.history.length, 'connections the hog established').to.be.at.least(650);
    // Long enough for its slow senders to be cut and to come back: fresh clients arrive amid the churn.
    await new Promise((r) => setTimeout(r, 1500));

    const [tcp, udp] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, (_, i) => tcpQueryFrom(server!.port, FRESH, buildQuery('www.example.com', 'A', 'IN', { id: 100 + i })))),
      Promise.all(Array.from({ length: 10 }, async () => {
        const r = await udpExchange(buildQuery('www.example.com', 'A'), server!.port);
        return r && decodeReply(r);
      })),
    ]);
    expect(tcp.filter((r) => r !== null).length, 'fresh TCP clients answered').to.equal(10);
    expect(tcp.map((r) => r!.id).sort()).to.deep.equal(Array.from({ length: 10 }, (_, i) => 100 + i));
    for (const r of tcp) expect(answersOf(r)).to.deep.equal(want);
    expect(udp.filter((r) => r !== null).length, 'UDP queries answered').to.equal(10);
    for (const r of udp) expect(answersOf(r)).to.deep.equal(want);

    // The hog was held to its share: what the server closed, and why, is counted.
    const c = await counters(server, workers);
    expect(c['tcpConnections.closed.evictedClientFull'], 'closed for the per-client limit').to.be.above(0);
    // Each of the 50 slow senders is cut: at the message timeout, or earlier as the client's slowest when the
    // per-client limit makes room (which one is a race on a busy machine; CI once counted 49 + 1).
    expect(c['tcpConnections.closed.messageTimeout'], 'slow senders cut at the message timeout').to.be.above(0);
    expect(c['tcpConnections.closed.messageTimeout']! + c['tcpConnections.closed.evictedClientFull']!, 'slow senders cut, by the timeout or for the per-client limit').to.be.at.least(50);
    expect(c['tcpConnections.open']).to.be.at.most(32 * workers + 10);
    expect(hog.closedByServer).to.be.above(0);
  });

  it('worker at its limit: the longest idle connections are closed to admit new ones, and a fresh client is answered', async () => {
    server = await startServer([
      '--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `example.com.=${FIX}example.com.zone`,
      '--tcp-max-connections', '16', '--tcp-max-connections-per-client', '1000',
    ]);
    hog = new Hog(server.port, HOG, { idle: 600, slow: 0 }, null);
    await hog.start();
    // The server keeps exactly its limit; the rest, always the longest idle, were closed.
    expect(await until(() => hog!.openCount === 16, 5000), `the hog holds ${hog.openCount}`).to.equal(true);
    // The hog uses all its survivors but one, so that one is the longest idle.
    const survivors = hog.history.filter((h) => h.open);
    const unused = survivors[5]!;
    for (const [i, h] of survivors.entries()) if (h !== unused) expect(await askOn(h.socket, 1000 + i)).to.equal(1000 + i);
    const r = await tcpQueryFrom(server.port, FRESH, buildQuery('www.example.com', 'A', 'IN', { id: 7 }));
    expect(r?.id).to.equal(7);
    expect(r?.rcode).to.equal('NOERROR');
    // The fresh client's connection took the place of the longest idle one.
    expect(await until(() => !unused.open, 3000), 'the longest idle connection was closed').to.equal(true);
    expect(survivors.filter((h) => h !== unused).every((h) => h.open)).to.equal(true);
    const c = await counters(server, 1);
    expect(c['tcpConnections.closed.evictedWorkerFull']).to.equal(600 - 16 + 1);
    expect(c['tcpConnections.closed.refusedWorkerFull']).to.equal(0);
  });

  it('per-client limit: a client\'s new connection closes its own longest idle one; other clients are not touched', async () => {
    server = await startServer([
      '--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `example.com.=${FIX}example.com.zone`,
      '--tcp-max-connections-per-client', '8',
    ]);
    const other = await Promise.all(Array.from({ length: 3 }, () => connectFrom(server!.port, FRESH)));
    hog = new Hog(server.port, HOG, { idle: 600, slow: 0 }, null);
    await hog.start();
    expect(await until(() => hog!.openCount === 8, 5000), `the hog holds ${hog.openCount}`).to.equal(true);
    expect(other.every((c) => c !== null && !c.destroyed), 'the other client\'s idle connections').to.equal(true);
    const r = await tcpQueryFrom(server.port, FRESH, buildQuery('www.example.com', 'A', 'IN', { id: 8 }));
    expect(r?.id).to.equal(8);
    const c = await counters(server, 1);
    expect(c['tcpConnections.closed.evictedClientFull']).to.equal(600 - 8);
    expect(c['tcpConnections.closed.evictedWorkerFull']).to.equal(0);
    for (const o of other) o?.destroy();
  });

  it('slow senders (a byte a second) are cut at the default message timeout, long before the idle timeout', async () => {
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `example.com.=${FIX}example.com.zone`, '--tcp-max-connections-per-client', '100']);
    const start = Date.now();
    hog = new Hog(server.port, HOG, { idle: 0, slow: 50 }, null);
    await hog.start();
    // Each has sent one octet at connect; the default message timeout (0.5 s) cuts them before their third.
    expect(await until(() => hog!.openCount === 0, 5000), `${hog.openCount} slow senders still open`).to.equal(true);
    expect(Date.now() - start).to.be.below(2000);
    const c = await counters(server, 1);
    expect(c['tcpConnections.closed.messageTimeout']).to.equal(50);
  });

  it('worker at its limit with every connection owed answers: the new connection is refused, the others are answered', async () => {
    const upstreamPort = await freePort();
    // Never answers: forwarded questions stay owed until the forward deadline gives SERVFAIL.
    upstream = await startFakeUpstream('127.0.0.9', upstreamPort, () => ({ kind: 'silent' }));
    server = await startServer([
      '--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.9:${upstreamPort}`, '--forward-timeout', '0.5', '--forward-deadline', '2',
      '--tcp-max-connections', '4', '--zone', `example.com.=${FIX}example.com.zone`,
    ]);
    const owed = Array.from({ length: 4 }, (_, i) => tcpQueryFrom(server!.port, HOG, buildQuery(`name${i}.elsewhere.test`, 'A', 'IN', { id: 40 + i }), 5000));
    await until(() => upstream!.udpQueries >= 4, 3000);
    const refused = await tcpQueryFrom(server.port, FRESH, buildQuery('www.example.com', 'A'), 1000);
    expect(refused, 'the fifth connection').to.equal(null);
    const replies = await Promise.all(owed);
    expect(replies.map((r) => r && `${r.id} ${r.rcode}`)).to.deep.equal(['40 SERVFAIL', '41 SERVFAIL', '42 SERVFAIL', '43 SERVFAIL']);
    const c = await counters(server, 1);
    expect(c['tcpConnections.closed.refusedWorkerFull']).to.equal(1);
    expect(c['tcpConnections.closed.evictedWorkerFull']).to.equal(0);
  });
});
