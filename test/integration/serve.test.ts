import { expect } from 'chai';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, decodeReply, frame, tcpExchange, txtOf, udpExchange, udpQuery } from '../helpers/dns-client.js';
import { alive, spawnServer, startServer, freePort, until, type RunningServer, workerPids } from '../helpers/server.js';
import { bindAsOtherUser, otherUserUnavailable } from '../helpers/other-user.js';

/** Asks id.server over UDP from a fresh source port; returns the worker name ("worker-2") and pid. */
async function whoAnswers(port: number, host = '127.0.0.1'): Promise<{ worker: string; pid: number }> {
  const text = txtOf(await udpQuery('id.server', 'TXT', 'CH', port, host)) ?? '';
  const m = /^(worker-\d+) pid (\d+) host /.exec(text);
  if (!m) throw new Error(`unexpected id.server answer "${text}"`);
  return { worker: m[1]!, pid: Number(m[2]) };
}

/** Many id.server queries, a few at a time, each from its own source port. */
async function spread(port: number, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, n - i) }, () => whoAnswers(port)));
    for (const { worker } of batch) counts.set(worker, (counts.get(worker) ?? 0) + 1);
  }
  return counts;
}

describe('shardns serve: workers sharing one port', function () {
  this.timeout(60_000);
  let server: RunningServer;

  before(async () => {
    server = await startServer(['--workers', '4', '--listen', '127.0.0.1', '--listen', '::1', '--worker-timeout', '1', '--forward', 'none']);
  });
  after(() => server?.kill());

  it('prints the listening line once every worker is ready', () => {
    expect(server.stdout()).to.match(new RegExp(`listening on 127\\.0\\.0\\.1:${server.port}, \\[::1\\]:${server.port} \\(udp, tcp\\) with 4 workers`));
    expect(workerPids(server.proc.pid!)).to.have.length(4);
  });

  it('the kernel spreads 400 queries from distinct source ports over all 4 workers, none above twice its share', async () => {
    const counts = await spread(server.port, 400);
    expect([...counts.keys()].sort()).to.deep.equal(['worker-0', 'worker-1', 'worker-2', 'worker-3']);
    for (const [worker, n] of counts) expect(n, `${worker} answered ${n} of 400`).to.be.at.most(200);
  });

  it('answers over TCP and over IPv6', async () => {
    const { replies } = await tcpExchange(frame(buildQuery('version.bind', 'TXT', 'CH')), server.port, 1);
    expect(txtOf(decodeReply(replies[0]!) as never)).to.match(/^shardns \d+\.\d+\.\d+/);
    expect((await whoAnswers(server.port, '::1')).worker).to.match(/^worker-\d$/);
  });

  it('with forwarding off, answers other queries REFUSED with the question and ID kept', async () => {
    const reply = await udpExchange(buildQuery('WWW.Example.com', 'A', 'IN', { id: 4242 }), server.port);
    const p = decodeReply(reply!);
    expect(p.id).to.equal(4242);
    expect(p.rcode).to.equal('REFUSED');
    expect(p.questions?.[0]?.name).to.equal('WWW.Example.com');
  });

  it('malformed datagrams never kill a worker', async () => {
    const before = workerPids(server.proc.pid!).sort();
    const sock = dgram.createSocket('udp4');
    const junk = [Buffer.alloc(0), Buffer.alloc(3), Buffer.alloc(12, 0xff), Buffer.from('not dns at all, just text'), Buffer.alloc(600, 0x41)];
    // Paced: one source port hashes to one worker, whose receive queue holds ~256 datagrams.
    for (let i = 0; i < 50; i++) {
      await Promise.all(junk.map((j) => new Promise((resolve) => sock.send(j, server.port, '127.0.0.1', resolve))));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    // A header that reads but a question that does not: FORMERR.
    const formerr = await udpExchange(Buffer.concat([buildQuery('a.example', 'A').subarray(0, 12), Buffer.from([60, 1, 2])]), server.port);
    sock.close();
    expect(formerr && formerr[3]! & 0xf).to.equal(1);
    await whoAnswers(server.port);
    expect(workerPids(server.proc.pid!).sort()).to.deep.equal(before);
    expect(server.stdout() + server.stderr()).to.not.match(/exited unexpectedly/);
  });

  it('kill -9 of a worker: the supervisor says so, restarts it, and answers continue', async () => {
    const victim = await whoAnswers(server.port);
    const since = server.mark();
    process.kill(victim.pid, 'SIGKILL');
    await server.waitFor(new RegExp(`worker ${victim.worker.slice(7)} \\(pid ${victim.pid}\\) exited unexpectedly \\(SIGKILL\\); restarting`), 8000, since);
    await server.waitFor(new RegExp(`worker ${victim.worker.slice(7)} \\(pid \\d+\\) ready again`), 8000, since);
    const counts = await spread(server.port, 200);
    expect(counts.size).to.equal(4);
    expect(workerPids(server.proc.pid!)).to.have.length(4).and.not.include(victim.pid);
  });

  it('a stalled worker (SIGSTOP) misses heartbeats and is replaced', async () => {
    const victim = await whoAnswers(server.port);
    const since = server.mark();
    process.kill(victim.pid, 'SIGSTOP');
    await server.waitFor(new RegExp(`worker ${victim.worker.slice(7)} \\(pid ${victim.pid}\\) has not answered for [\\d.]+s; killing it`), 8000, since);
    await server.waitFor(new RegExp(`worker ${victim.worker.slice(7)} \\(pid \\d+\\) ready again`), 8000, since);
    expect(await until(() => !alive(victim.pid))).to.equal(true);
    expect((await spread(server.port, 100)).size).to.equal(4);
  });

  it('another user cannot bind the port while shardns runs', function () {
    const why = otherUserUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    expect(bindAsOtherUser('reuseaddr', '127.0.0.1', server.port)).to.equal('EADDRINUSE');
    expect(bindAsOtherUser('reuseport', '127.0.0.1', server.port)).to.equal('E_BIND_IN_USE');
  });

  it('a plain socket of our own uid (no SO_REUSEPORT) cannot bind it either', async () => {
    const s = dgram.createSocket('udp4');
    const code = await new Promise<string>((resolve) => {
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.bind(server.port, '127.0.0.1', () => resolve('bound'));
    });
    s.close();
    expect(code).to.equal('EADDRINUSE');
  });

  it('SIGUSR1 logs every worker\'s counters', async () => {
    process.kill(server.proc.pid!, 'SIGUSR1');
    const m = await server.waitFor(/(worker \d \(pid \d+\) counters queries=\d+[^\n]*\n[^\n]*){4}/);
    expect(m[0]).to.match(/udp=\d+ tcp=\d+ dropped=\d+/);
    expect(m[0]).to.match(/replyCache\.hits=\d+ replyCache\.misses=\d+ replyCache\.entries=\d+/);
  });

  it('SIGTERM: exit 0, and no process left behind', async () => {
    const workers = workerPids(server.proc.pid!);
    expect(workers).to.have.length(4);
    server.proc.kill('SIGTERM');
    const { code } = await server.exited;
    expect(code).to.equal(0);
    expect(server.stdout()).to.match(/SIGTERM: shutting down[\s\S]*stopped/);
    expect(await until(() => workers.every((p) => !alive(p)), 3000)).to.equal(true);
  });
});

describe('shardns serve: start-up and supervisor failures', function () {
  this.timeout(30_000);

  it('bind failure: non-zero exit with the reason and the hint on stderr', async () => {
    const port = await freePort();
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(port, '127.0.0.1', resolve));
    try {
      const server = spawnServer(['--workers', '2', '--listen', '127.0.0.1'], port);
      const { code } = await server.exited;
      expect(code).to.equal(1);
      expect(server.stderr()).to.include(`cannot start: cannot bind 127.0.0.1:${port}/udp: address already in use`);
      expect(server.stderr()).to.include('another program holds port');
      expect(server.stdout()).to.not.include('listening on');
    } finally {
      holder.close();
    }
  });

  it('port 53 as a non-root user: exits 1 with the CAP_NET_BIND_SERVICE hint', async function () {
    const why = otherUserUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const server = spawnServer(['--workers', '1', '--listen', '127.0.0.1'], 53, { uid: 65534, gid: 65534 });
    const { code } = await server.exited;
    expect(code).to.equal(1);
    expect(server.stderr()).to.match(/cannot bind 127\.0\.0\.1:53\/udp: permission denied/);
    expect(server.stderr()).to.include('grant CAP_NET_BIND_SERVICE');
    expect(server.stderr()).to.include('--port 5353');
  });

  it('an address this host does not have: exits 1 naming it', async () => {
    const server = spawnServer(['--workers', '1', '--listen', '192.0.2.1'], await freePort());
    expect((await server.exited).code).to.equal(1);
    expect(server.stderr()).to.include('192.0.2.1 is not an address of this host');
  });

  it('a broken zone file: exits 1 with every error as file:line:column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardns-zone-'));
    const file = join(dir, 'bad.zone');
    writeFileSync(file, '$TTL 60\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 10.0.0.256\nwww AAAA not-an-address\n');
    const server = spawnServer(['--workers', '2', '--listen', '127.0.0.1', '--zone', `bad.example.=${file}`], await freePort());
    expect((await server.exited).code).to.equal(1);
    expect(server.stderr()).to.include(`${file}:4:7: bad IPv4 address "10.0.0.256"`);
    expect(server.stderr()).to.match(new RegExp(`${file}:5:\\d+: .*not-an-address`));
    expect(server.stderr()).to.include('shardns check lists every problem');
    expect(server.stdout()).to.not.include('listening on');
  });

  it('supervisor killed with SIGKILL: the workers notice and exit (no orphans)', async () => {
    const server = await startServer(['--workers', '2', '--listen', '127.0.0.1']);
    const workers = workerPids(server.proc.pid!);
    expect(workers).to.have.length(2);
    server.proc.kill('SIGKILL');
    await server.exited;
    const gone = await until(() => workers.every((p) => !alive(p)), 5000);
    if (!gone) server.kill();
    expect(gone, 'workers still running after their supervisor died').to.equal(true);
  });

  it('SIGINT drains like SIGTERM', async () => {
    const server = await startServer(['--workers', '1', '--listen', '127.0.0.1']);
    server.proc.kill('SIGINT');
    expect((await server.exited).code).to.equal(0);
  });
});
