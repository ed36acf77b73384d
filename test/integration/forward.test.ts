import { expect } from 'chai';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { buildQuery, decodeReply, udpExchange, type Reply } from '../helpers/dns-client.js';
import { a, soa, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { ROOT, freePort, spawnServer, startServer, until, type RunningServer } from '../helpers/server.js';

const FIX = `${ROOT}test/fixtures/answers/`;

async function ask(port: number, name: string, type = 'A', host = '127.0.0.1', opts: { cd?: boolean } = {}): Promise<Reply & { ms: number }> {
  const query = buildQuery(name, type, 'IN', { edns: true });
  if (opts.cd) query[3] = query[3]! | 0x10;
  const started = Date.now();
  const bytes = await udpExchange(query, port, host, 6000);
  if (!bytes) throw new Error(`no reply for ${name}`);
  return Object.assign(decodeReply(bytes), { ms: Date.now() - started });
}

const addrs = (r: Reply): string[] => r.answers.filter((x) => x.type === 'A').map((x) => x.data as string);

describe('forwarding: names outside our zones go upstream, with a cache', function () {
  this.timeout(60_000);
  const started: { stop(): void }[] = [];
  const up = async (address: string, behave: Parameters<typeof startFakeUpstream>[2]): Promise<FakeUpstream> => {
    const f = await startFakeUpstream(address, await freePort(), behave);
    started.push({ stop: () => void f.close() });
    return f;
  };
  const serve = async (args: string[]): Promise<RunningServer> => {
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', ...args]);
    started.push({ stop: () => s.kill() });
    return s;
  };
  afterEach(() => {
    for (const s of started.splice(0)) s.stop();
  });

  it('answers a forwarded name with RA=1, then from the cache (the upstream is asked once), TTL counting down', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', answers: [a('www.remote.test', '203.0.113.7', 300)] }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`, '--zone', `example.com.=${FIX}example.com.zone`]);
    const first = await ask(s.port, 'www.remote.test');
    expect(first.rcode).to.equal('NOERROR');
    expect(first.flag_ra).to.equal(true);
    expect(first.flag_aa).to.equal(false);
    expect(addrs(first)).to.deep.equal(['203.0.113.7']);
    await new Promise((r) => setTimeout(r, 2100));
    const second = await ask(s.port, 'WWW.Remote.Test');
    expect(addrs(second)).to.deep.equal(['203.0.113.7']);
    expect(second.questions?.[0]?.name, 'question echoed as asked').to.equal('WWW.Remote.Test');
    expect(second.answers[0]!.ttl).to.be.within(296, 298);
    expect(f.udpQueries).to.equal(1);
    const since = s.mark();
    process.kill(s.proc.pid!, 'SIGUSR1');
    // The second answer came from the encoded reply cache, its TTLs counted down there.
    await s.waitFor(/replyCache\.hits=1 replyCache\.misses=1 .*forwarding\.cacheHits=0 forwarding\.cacheMisses=1 forwarding\.upstreamQueries=1 forwarding\.upstreamFailures=0/, 5000, since);
  });

  it('questions to forward that arrive while the server starts (its workers load the forwarder after serving) are answered from the upstream, none SERVFAIL', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', answers: [a('early.remote.test', '203.0.113.9', 300)] }));
    const port = await freePort();
    const s = spawnServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', `127.0.0.2:${f.port}`, '--zone', `example.com.=${FIX}example.com.zone`], port);
    started.push({ stop: () => s.kill() });
    // From the moment the server is spawned: the questions queue in the sockets the supervisor binds,
    // and the workers read them as soon as they serve, before the forwarding modules have loaded.
    const sock = dgram.createSocket('udp4');
    const replies: Reply[] = [];
    sock.on('message', (m) => replies.push(decodeReply(m)));
    let id = 0;
    const asking = setInterval(() => sock.send(buildQuery('early.remote.test', 'A', 'IN', { id: ++id & 0xffff }), port, '127.0.0.1'), 5);
    try {
      await until(() => replies.length > 0, 30_000);
      await s.waitFor(/listening on .* with 2 workers/, 30_000);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      clearInterval(asking);
      sock.close();
    }
    expect(replies.length).to.be.greaterThan(0);
    expect(replies.map((r) => r.rcode).filter((r) => r !== 'NOERROR'), 'no question answered otherwise').to.deep.equal([]);
    expect(replies.every((r) => addrs(r).join() === '203.0.113.9')).to.equal(true);
  });

  it('local zones are answered authoritatively and never forwarded; RA=1 for allowed clients', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', answers: [a('x', '6.6.6.6')] }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`, '--zone', `example.com.=${FIX}example.com.zone`]);
    const local = await ask(s.port, 'www.example.com');
    expect(local.flag_aa).to.equal(true);
    expect(local.flag_ra).to.equal(true);
    expect((await ask(s.port, 'nx.example.com')).rcode).to.equal('NXDOMAIN');
    expect(f.udpQueries).to.equal(0);
  });

  it('a CNAME of ours leading out of our zones is chased upstream', async () => {
    const f = await up('127.0.0.2', (q) => ({ kind: 'answer', answers: [a(q.questions![0]!.name, '198.51.100.80')] }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`, '--zone', `example.com.=${FIX}example.com.zone`]);
    const r = await ask(s.port, 'out.example.com');
    expect(r.answers.map((x) => `${x.name} ${x.type}`)).to.deep.equal(['out.example.com CNAME', 'www.other.test A']);
    expect(f.seen).to.deep.equal(['www.other.test A']);
  });

  it('with --cache-size 0 every question goes upstream (neither cache keeps forwarded answers)', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', answers: [a('www.remote.test', '203.0.113.7', 300)] }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`, '--cache-size', '0']);
    for (let i = 0; i < 3; i++) expect(addrs(await ask(s.port, 'www.remote.test'))).to.deep.equal(['203.0.113.7']);
    expect(f.udpQueries).to.equal(3);
  });

  it('negative answers are cached for min(SOA TTL, MINIMUM) (RFC 2308)', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', rcode: 3, authorities: [soa('remote.test', 3600, 60)] }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`]);
    const r1 = await ask(s.port, 'nope.remote.test');
    expect(r1.rcode).to.equal('NXDOMAIN');
    const r2 = await ask(s.port, 'nope.remote.test');
    expect(r2.rcode).to.equal('NXDOMAIN');
    expect((r2.authorities as Reply['answers'])[0]!.type).to.equal('SOA');
    expect(f.udpQueries).to.equal(1);
  });

  it('identical questions in flight share one upstream query', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', answers: [a('slow.remote.test', '192.0.2.9')], delayMs: 300 }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`]);
    const replies = await Promise.all(Array.from({ length: 8 }, () => ask(s.port, 'slow.remote.test')));
    for (const r of replies) expect(addrs(r)).to.deep.equal(['192.0.2.9']);
    expect(f.udpQueries).to.equal(1);
  });

  it('a silent upstream: failover to the next one', async () => {
    const dead = await up('127.0.0.2', () => ({ kind: 'silent' }));
    const live = await up('127.0.0.3', () => ({ kind: 'answer', answers: [a('www.remote.test', '192.0.2.33')] }));
    const s = await serve(['--forward', `127.0.0.2:${dead.port},127.0.0.3:${live.port}`, '--forward-timeout', '0.4']);
    const r = await ask(s.port, 'www.remote.test');
    expect(addrs(r)).to.deep.equal(['192.0.2.33']);
    expect(dead.udpQueries + live.udpQueries).to.be.at.least(1);
    expect(live.udpQueries).to.equal(1);
  });

  it('every upstream silent: SERVFAIL within the deadline', async () => {
    const dead = await up('127.0.0.2', () => ({ kind: 'silent' }));
    const s = await serve(['--forward', `127.0.0.2:${dead.port}`, '--forward-timeout', '0.3', '--forward-deadline', '1']);
    const r = await ask(s.port, 'www.remote.test');
    expect(r.rcode).to.equal('SERVFAIL');
    expect(r.ms).to.be.within(900, 2000);
    expect(dead.udpQueries).to.be.at.least(3);
  });

  it('CD=1 and CD=0 askers are kept apart: a validating upstream\'s unchecked answer never reaches a CD=0 client (RFC 4035 §3.2.2)', async () => {
    // As a validating resolver does with bogus data: given with CD=1, SERVFAIL with CD=0.
    const f = await up('127.0.0.2', (q) => ((q as { flag_cd?: boolean }).flag_cd ? { kind: 'answer', answers: [a('bogus.remote.test', '192.0.2.66')] } : { kind: 'answer', rcode: 2 }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`]);
    for (let round = 0; round < 2; round++) {
      const unchecked = await ask(s.port, 'bogus.remote.test', 'A', '127.0.0.1', { cd: true });
      expect([unchecked.rcode, ...addrs(unchecked)]).to.deep.equal(['NOERROR', '192.0.2.66']);
      expect(unchecked.flag_cd, 'CD echoed').to.equal(true);
      const checked = await ask(s.port, 'bogus.remote.test');
      expect(checked.rcode, 'the CD=0 client gets the upstream\'s CD=0 verdict').to.equal('SERVFAIL');
      expect(checked.flag_cd).to.equal(false);
    }
    // Once each; the second round came from the caches.
    expect(f.udpQueries).to.equal(2);
  });

  it('a definitive SERVFAIL from the upstream is not asked again until the deadline: SERVFAIL at once, then from the cache', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', rcode: 2 }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`, '--forward-timeout', '1', '--forward-deadline', '3']);
    const r = await ask(s.port, 'broken.remote.test');
    expect(r.rcode).to.equal('SERVFAIL');
    expect(r.ms, 'answered well before the 3 s deadline').to.be.below(2000);
    expect(f.udpQueries, 'asked once').to.equal(1);
    expect((await ask(s.port, 'broken.remote.test')).rcode).to.equal('SERVFAIL');
    expect(f.udpQueries, 'the SERVFAIL is kept a few seconds').to.equal(1);
  });

  it('--forward-max: a burst of unique names with a silent upstream: the excess get SERVFAIL at once, a cached name is still answered, the upstream sees at most forward-max questions', async () => {
    const MAX = 10;
    const BURST = 60;
    const f = await up('127.0.0.2', (q) => (q.questions?.[0]?.name === 'cached.remote.test' ? { kind: 'answer', answers: [a('cached.remote.test', '192.0.2.80')] } : { kind: 'silent' }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`, '--forward-max', String(MAX), '--forward-timeout', '3', '--forward-deadline', '3']);
    expect(addrs(await ask(s.port, 'cached.remote.test'))).to.deep.equal(['192.0.2.80']);
    const burst = Array.from({ length: BURST }, (_, i) => ask(s.port, `flood${i}.remote.test`));
    expect(await until(() => f.udpQueries >= 1 + MAX, 2000), `the upstream saw ${f.udpQueries - 1} of the burst`).to.equal(true);
    // With forward-max questions out, the cached name is answered all the same.
    const cached = await ask(s.port, 'cached.remote.test');
    expect([cached.rcode, ...addrs(cached)]).to.deep.equal(['NOERROR', '192.0.2.80']);
    const replies = await Promise.all(burst);
    expect(replies.map((r) => r.rcode)).to.deep.equal(replies.map(() => 'SERVFAIL'));
    // The excess were answered before any question in flight could time out; the rest at the deadline.
    expect(replies.filter((r) => r.ms < 1500)).to.have.length(BURST - MAX);
    expect(replies.filter((r) => r.ms >= 2900)).to.have.length(MAX);
    expect(new Set(f.seen.filter((q) => q.startsWith('flood'))).size, 'questions the upstream saw').to.equal(MAX);
    const since = s.mark();
    process.kill(s.proc.pid!, 'SIGUSR1');
    await s.waitFor(new RegExp(`forwardOverMax=${BURST - MAX}\\b`), 5000, since);
  });

  it('TC from the upstream: the question is asked again over TCP', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', answers: [a('big.remote.test', '192.0.2.44')], tcOverUdp: true }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`]);
    const r = await ask(s.port, 'big.remote.test');
    expect(addrs(r)).to.deep.equal(['192.0.2.44']);
    expect(f.udpQueries).to.equal(1);
    expect(f.tcpQueries).to.equal(1);
  });

  for (const forge of ['id', 'port'] as const) {
    it(`a reply with the wrong ${forge === 'id' ? 'ID' : 'source port'} is ignored (RFC 5452)`, async () => {
      const f = await up('127.0.0.2', () => ({ kind: 'forged-then-real', forge, forged: [a('www.remote.test', '6.6.6.6')], real: [a('www.remote.test', '192.0.2.55')], delayMs: 150 }));
      const s = await serve(['--forward', `127.0.0.2:${f.port}`]);
      expect(addrs(await ask(s.port, 'www.remote.test'))).to.deep.equal(['192.0.2.55']);
    });
  }

  it('an upstream reply we can decode but not re-encode: refused as malformed, SERVFAIL, and the worker lives on', async () => {
    // A normal reply whose answer record is retyped to OPT with a non-root owner:
    // dns-packet reads it, but refuses to write it back.
    const good = dnsPacket.encode({ type: 'response', id: 0, flags: 0x8180, questions: [{ name: 'odd.remote.test', type: 'A', class: 'IN' }], answers: [a('odd.remote.test', '192.0.2.1')] });
    const typeAt = 12 + 'odd.remote.test'.length + 2 + 4 + 'odd.remote.test'.length + 2;
    good.writeUInt16BE(41, typeAt);
    const f = await up('127.0.0.2', (q) => (q.questions?.[0]?.name === 'odd.remote.test' ? { kind: 'raw', bytes: good } : { kind: 'answer', answers: [a(q.questions![0]!.name, '192.0.2.2')] }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`]);
    expect((await ask(s.port, 'odd.remote.test')).rcode).to.equal('SERVFAIL');
    expect(addrs(await ask(s.port, 'fine.remote.test'))).to.deep.equal(['192.0.2.2']);
    expect(s.stdout() + s.stderr()).to.not.match(/exited unexpectedly/);
    // The transport refuses such a reply as malformed (an upstream failure), before anything tries to write it back.
    expect(s.stderr()).to.not.match(/internal error/);
    expect(s.stderr()).to.match(/malformed reply: an OPT record outside the additional section/);
  });

  /** The Extended DNS Error codes of a reply (RFC 8914). */
  const edeCodes = (r: Reply): number[] =>
    ((r.additionals?.find((x) => x.type === 'OPT') as unknown as { options?: { code: number; data: Buffer }[] })?.options ?? []).filter((o) => o.code === 15).map((o) => o.data.readUInt16BE(0));

  it('a client outside --allow-recursion gets REFUSED, RA clear, and EDE 18 Prohibited', async () => {
    const f = await up('127.0.0.2', () => ({ kind: 'answer', answers: [a('www.remote.test', '192.0.2.1')] }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`, '--allow-recursion', '10.0.0.0/8']);
    // Twice: the second time the refusal may come from the reply cache.
    for (let i = 0; i < 2; i++) {
      const r = await ask(s.port, 'www.remote.test');
      expect(r.rcode).to.equal('REFUSED');
      expect(r.flag_ra).to.equal(false);
      expect(edeCodes(r)).to.deep.equal([18]);
    }
    expect(f.udpQueries).to.equal(0);
  });

  it('--forward none: authoritative only, REFUSED outside our zones with EDE 20 Not Authoritative', async () => {
    const s = await serve(['--forward', 'none', '--zone', `example.com.=${FIX}example.com.zone`]);
    const refused = await ask(s.port, 'www.remote.test');
    expect(refused.rcode).to.equal('REFUSED');
    expect(edeCodes(refused)).to.deep.equal([20]);
    expect((await ask(s.port, 'www.example.com')).flag_ra).to.equal(false);
  });

  it('a second shardns instance as the upstream', async () => {
    const upstreamPort = await freePort();
    const u = spawnServer(['--workers', '1', '--listen', '127.0.0.4', '--forward', 'none', '--zone', `other.test.=${FIX}other.test.zone`], upstreamPort);
    started.push({ stop: () => u.kill() });
    await u.waitFor(/listening on/);
    const s = await serve(['--forward', `127.0.0.4:${upstreamPort}`]);
    const r = await ask(s.port, 'www.other.test');
    expect(addrs(r)).to.deep.equal(['198.51.100.80']);
    expect((await ask(s.port, 'nothing.other.test')).rcode).to.equal('NXDOMAIN');
  });
});
