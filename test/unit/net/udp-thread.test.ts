/** serveUdpThread over real loopback sockets, in process: misses passed to the main thread, hits answered by the thread from what the mirror told it, a descriptor made non-blocking behind its back, and the stop. */

import { expect } from 'chai';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { ZoneSet } from '../../../src/auth/zone-set.js';
import { defaults } from '../../../src/config.js';
import { queryShape } from '../../../src/dns/answer-cache.js';
import { openReusePortSocket } from '../../../src/net/reuseport.js';
import { serveUdpThread, type UdpThreadEndpoint } from '../../../src/net/udp-thread.js';
import { libc } from '../../../src/sys/libc.js';
import { buildQuery, decodeReply, udpExchange } from '../../helpers/dns-client.js';
import { freePort, until } from '../../helpers/server.js';

/** A reply to `q`: its question, one A record, QR and RA set (what a worker's full path would send for a forwarded name). */
function replyTo(q: Buffer, address: string): Buffer {
  const p = dnsPacket.decode(q);
  return dnsPacket.encode({ type: 'response', id: p.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: p.questions, answers: [{ name: p.questions![0]!.name, type: 'A', class: 'IN', ttl: 300, data: address }] });
}

describe('serveUdpThread: the UDP thread engine', function () {
  this.timeout(20_000);
  const zones = {} as ZoneSet;
  let port: number;
  let engine: UdpThreadEndpoint;
  let fd: number;
  const handled: string[] = [];

  before(async () => {
    port = await freePort();
    const opened = openReusePortSocket({ address: '127.0.0.1', port, transport: 'udp' });
    if (!opened.ok) throw opened.error;
    fd = opened.socket.fd;
    const config = { ...defaults(1), rrl: 0 };
    // The main thread's side: every datagram passed on is answered with 192.0.2.1 and kept in the thread's copy (as the worker's reply cache does through the mirror).
    engine = await serveUdpThread(
      opened.socket,
      (msg, address) => {
        handled.push(address);
        const reply = replyTo(msg, '192.0.2.1');
        const shape = queryShape(msg, config.ednsUdpSize, false, true);
        if (shape) engine.mirror.stored(shape, reply, zones, 300, Date.now());
        return reply;
      },
      () => zones,
      (err) => handled.push(`error ${err.message}`),
      (err) => handled.push(`fatal ${err.message}`),
      { batch: 64, recvSize: 4096, sendSize: 4096, wakeMs: 100, cacheEntries: 100, cacheBytes: 100 * 2048, config, recursion: true },
    );
  });
  after(async () => {
    await engine?.close(100);
  });

  it('a miss is passed to the main thread and answered there; the same question again is answered by the thread, the ID patched', async () => {
    const a = await udpExchange(buildQuery('www.remote.test', 'A', 'IN', { id: 7 }), port);
    expect(decodeReply(a!).answers.map((r) => r.data)).to.deep.equal(['192.0.2.1']);
    expect(handled).to.deep.equal(['127.0.0.1']);
    const b = await udpExchange(buildQuery('WWW.remote.test', 'A', 'IN', { id: 8 }), port);
    const p = decodeReply(b!);
    expect([p.id, p.questions![0]!.name, p.answers[0]?.data]).to.deep.equal([8, 'WWW.remote.test', '192.0.2.1']);
    expect(handled, 'not passed on again').to.have.length(1);
    // The thread counts a batch after sending its replies: wait for the count.
    await until(() => engine.stats().sent === 2, 2000, 5);
    const s = engine.stats();
    expect({ received: s.received, passed: s.passed, cacheHits: s.cacheHits, sent: s.sent }).to.deep.equal({ received: 2, passed: 1, cacheHits: 1, sent: 2 });
    expect(engine.counters.snapshot().queries, 'the thread counts the queries it answers').to.equal(1);
  });

  it('a reset empties the copy: the next asker is passed on again', async () => {
    engine.reset();
    await udpExchange(buildQuery('www.remote.test', 'A', 'IN', { id: 9 }), port);
    expect(handled).to.have.length(2);
  });

  it('the descriptor made non-blocking behind the thread\'s back (a dgram worker adopting it): no spinning, still answering', async () => {
    expect(libc.setNonBlocking(fd, true).kind).to.equal('ok');
    const t0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const used = process.cpuUsage(t0);
    // Idle, it waits in poll: a spinning thread would use about a second of CPU here.
    expect((used.user + used.system) / 1000, 'ms of CPU while idle for 1 s').to.be.below(200);
    const r = await udpExchange(buildQuery('www.remote.test', 'A', 'IN', { id: 10 }), port);
    expect(decodeReply(r!).answers[0]?.data).to.equal('192.0.2.1');
    expect(handled.filter((h) => h.startsWith('fatal'))).to.deep.equal([]);
  });

  it('close() ends the thread, then resolves; nothing is reported as a failure', async () => {
    const t = Date.now();
    await engine.close(100);
    expect(Date.now() - t).to.be.below(2000);
    expect(handled.filter((h) => h.startsWith('fatal') || h.startsWith('error'))).to.deep.equal([]);
    expect(await udpExchange(buildQuery('www.remote.test', 'A', 'IN', { id: 11 }), port, '127.0.0.1', 300)).to.equal(null);
  });
});

describe('serveUdpThread: batch coalescing (coalesceUs)', function () {
  this.timeout(30_000);
  const zones = {} as ZoneSet;
  /** The most a wait can be: any wait taken would show in the counters. */
  const COALESCE_US = 1000;
  let port: number;
  let engine: UdpThreadEndpoint;
  const problems: string[] = [];
  let passed = 0;

  before(async () => {
    port = await freePort();
    const opened = openReusePortSocket({ address: '127.0.0.1', port, transport: 'udp' });
    if (!opened.ok) throw opened.error;
    const config = { ...defaults(1), rrl: 0 };
    engine = await serveUdpThread(
      opened.socket,
      (msg) => {
        passed++;
        // Each name gets its own address, so a reply sent to the wrong query would show.
        const name = dnsPacket.decode(msg).questions![0]!.name;
        const reply = replyTo(msg, `192.0.2.${Number(/^q(\d+)\./.exec(name)?.[1] ?? 0) + 1}`);
        const shape = queryShape(msg, config.ednsUdpSize, false, true);
        if (shape) engine.mirror.stored(shape, reply, zones, 300, Date.now());
        return reply;
      },
      () => zones,
      (err) => problems.push(`error ${err.message}`),
      (err) => problems.push(`fatal ${err.message}`),
      { batch: 64, recvSize: 4096, sendSize: 4096, wakeMs: 100, coalesceUs: COALESCE_US, cacheEntries: 100, cacheBytes: 100 * 2048, config, recursion: true },
    );
    // Every name in the thread's copy before the cases: q0 … q31.
    for (let i = 0; i < 32; i++) await udpExchange(buildQuery(`q${i}.remote.test`, 'A', 'IN', { id: i }), port);
    await until(() => engine.stats().sent === 32, 2000, 5);
  });
  after(async () => {
    await engine?.close(100);
  });

  it('one query at a time: each recvmmsg returns one datagram and the thread never waits', async () => {
    const before = engine.stats();
    for (let i = 0; i < 200; i++) {
      const r = await udpExchange(buildQuery(`q${i % 32}.remote.test`, 'A', 'IN', { id: 1000 + i }), port);
      const p = decodeReply(r!);
      expect([p.id, p.answers[0]?.data]).to.deep.equal([1000 + i, `192.0.2.${(i % 32) + 1}`]);
    }
    await until(() => engine.stats().sent === before.sent + 200, 2000, 5);
    const s = engine.stats();
    expect({ received: s.received - before.received, recvCalls: s.recvCalls - before.recvCalls, cacheHits: s.cacheHits - before.cacheHits }).to.deep.equal({ received: 200, recvCalls: 200, cacheHits: 200 });
    // With a wait of 1 ms after any batch of two or more, a lone query that made the thread wait would be counted here.
    expect(s.coalesceWaits - before.coalesceWaits, 'coalescing waits').to.equal(0);
  });

  it('bursts: every query answered once, with its own answer, and the thread waits after the batches of two or more', async () => {
    const before = engine.stats();
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const answers = new Map<number, string>();
    sock.on('message', (m) => {
      const p = decodeReply(m);
      expect(answers.has(p.id!), `a second answer to ${p.id}`).to.equal(false);
      answers.set(p.id!, `${p.questions![0]!.name} ${String(p.answers[0]?.data)}`);
    });
    let sent = 0;
    try {
      // Bursts of 64 until the thread has found two or more datagrams queued at once (the first burst, nearly always).
      for (let burst = 0; burst < 20 && engine.stats().coalesceWaits === before.coalesceWaits; burst++) {
        for (let i = 0; i < 64; i++, sent++) sock.send(buildQuery(`q${sent % 32}.remote.test`, 'A', 'IN', { id: sent }), port, '127.0.0.1');
        expect(await until(() => answers.size === sent, 5000, 5), `answers to burst ${burst}: ${answers.size} of ${sent}`).to.equal(true);
      }
    } finally {
      sock.close();
    }
    for (let id = 0; id < sent; id++) expect(answers.get(id), `query ${id}`).to.equal(`q${id % 32}.remote.test 192.0.2.${(id % 32) + 1}`);
    await until(() => engine.stats().sent === before.sent + sent, 2000, 5);
    const s = engine.stats();
    expect(s.received - before.received, 'every datagram read by the thread').to.equal(sent);
    expect(s.cacheHits - before.cacheHits, 'and answered there').to.equal(sent);
    expect(s.coalesceWaits - before.coalesceWaits, 'waits').to.be.above(0);
    // A wait follows a batch of two or more only: never more waits than batches, each of which held at least two.
    expect(s.coalesceWaits - before.coalesceWaits).to.be.at.most(s.recvCalls - before.recvCalls);
    expect(2 * (s.coalesceWaits - before.coalesceWaits), 'datagrams in the batches that were followed by a wait').to.be.at.most(sent);
    expect(problems).to.deep.equal([]);
  });

  it('close() still ends a coalescing thread promptly', async () => {
    const t = Date.now();
    await engine.close(100);
    expect(Date.now() - t).to.be.below(2000);
    expect(problems).to.deep.equal([]);
    expect(await udpExchange(buildQuery('q1.remote.test', 'A', 'IN', { id: 1 }), port, '127.0.0.1', 300)).to.equal(null);
  });
});
