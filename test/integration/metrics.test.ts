import { expect } from 'chai';
import dgram from 'node:dgram';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildQuery, decodeReply, frame, tcpExchange, udpExchange } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { httpGet, kernelUdpDrops, scrape, sharedDir, writeSharedZone } from '../helpers/ops.js';
import type { Exposition } from '../helpers/prometheus.js';
import { childPids, freePort, spawnServer, startServer, until, type RunningServer, workerPids } from '../helpers/server.js';

const ZONE = (serial: number, extra = ''): string => `$ORIGIN metrics.test.\n$TTL 60\n@ SOA ns1 host ${serial} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.10\n${extra}`;

/** Sends `n` UDP queries, each from a fresh source port (so both workers get some), and returns the rcodes seen. */
async function ask(port: number, n: number, name: string, type = 'A'): Promise<string[]> {
  const rcodes: string[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => udpExchange(buildQuery(name, type), port)));
    for (const r of batch) rcodes.push(r === null ? 'none' : decodeReply(r).rcode);
  }
  return rcodes;
}

/** Every counter series of `before`, with its value in `after` (absent: -1). */
function counterSeries(before: Exposition, after: Exposition): { series: string; before: number; after: number }[] {
  const out: { series: string; before: number; after: number }[] = [];
  for (const [series, value] of before.samples) {
    const name = series.split('{')[0]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    const type = before.types.get(name) ?? before.types.get(family);
    if (type !== 'counter' && type !== 'histogram') continue;
    out.push({ series, before: value, after: after.samples.get(series) ?? -1 });
  }
  return out;
}

describe('--metrics: Prometheus metrics, /health and /ready', function () {
  this.timeout(90_000);
  let server: RunningServer;
  let metricsPort: number;
  let zone: string;

  before(async () => {
    const dir = sharedDir('shardns-metrics-');
    zone = writeSharedZone(dir, 'metrics.test.zone', ZONE(7));
    metricsPort = await freePort();
    // A long worker timeout: one test stops a worker for a while, and the supervisor must not replace it meanwhile.
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--worker-timeout', '60', '--zone', `metrics.test.=${zone}`, '--metrics', `127.0.0.1:${metricsPort}`]);
  });
  after(() => server?.kill());

  it('says where the metrics are, serves Prometheus text, and answers /health and /ready', async () => {
    expect(server.stdout()).to.include(`metrics on http://127.0.0.1:${metricsPort}/metrics (also /health and /ready)`);
    const m = await httpGet(metricsPort, '/metrics');
    expect(m.status).to.equal(200);
    expect(m.type).to.equal('text/plain; version=0.0.4; charset=utf-8');
    expect(m.body).to.match(/^# HELP shardns_queries_total Messages received, by transport\.\n# TYPE shardns_queries_total counter\n/m);
    expect(await httpGet(metricsPort, '/health')).to.deep.include({ status: 200, body: 'ok\n' });
    expect(await httpGet(metricsPort, '/ready')).to.deep.include({ status: 200, body: 'ready\n' });
  });

  it('counts what the workers answered by transport and rcode, and per worker', async () => {
    const before = await scrape(metricsPort);
    expect(await ask(server.port, 30, 'www.metrics.test')).to.satisfy((r: string[]) => r.every((c) => c === 'NOERROR'));
    expect(await ask(server.port, 10, 'nope.metrics.test')).to.satisfy((r: string[]) => r.every((c) => c === 'NXDOMAIN'));
    expect(await ask(server.port, 5, 'elsewhere.example')).to.satisfy((r: string[]) => r.every((c) => c === 'REFUSED'));
    for (let i = 0; i < 4; i++) expect((await tcpExchange(frame(buildQuery('www.metrics.test', 'A')), server.port, 1)).replies).to.have.length(1);
    const after = await scrape(metricsPort);
    const delta = (name: string, labels: Record<string, string> = {}): number => (after.get(name, labels) ?? 0) - (before.get(name, labels) ?? 0);
    expect(delta('shardns_queries_total', { transport: 'udp' })).to.equal(45);
    expect(delta('shardns_queries_total', { transport: 'tcp' })).to.equal(4);
    expect(delta('shardns_replies_total', { transport: 'udp', rcode: 'NOERROR' })).to.equal(30);
    expect(delta('shardns_replies_total', { transport: 'udp', rcode: 'NXDOMAIN' })).to.equal(10);
    expect(delta('shardns_replies_total', { transport: 'udp', rcode: 'REFUSED' })).to.equal(5);
    expect(delta('shardns_replies_total', { transport: 'tcp', rcode: 'NOERROR' })).to.equal(4);
    expect(delta('shardns_query_opcodes_total', { transport: 'udp', opcode: 'QUERY' })).to.equal(45);
    expect(after.sum('shardns_worker_received_total') - before.sum('shardns_worker_received_total')).to.equal(49);
    expect(after.sum('shardns_worker_answered_total') - before.sum('shardns_worker_answered_total')).to.equal(49);
    // 30 questions alike: the reply cache answers most of them.
    expect(delta('shardns_reply_cache_hits_total')).to.be.at.least(20);
    expect(after.get('shardns_worker_up', { worker: '0' })).to.equal(1);
    expect(after.get('shardns_worker_up', { worker: '1' })).to.equal(1);
    expect(after.get('shardns_build_info', { version: (/shardns (\d+\.\d+\.\d+)/.exec(server.stdout()) ?? [])[1]! })).to.equal(1);
  });

  it('counts zone transfers asked, by type and the rcode they got', async () => {
    const before = await scrape(metricsPort);
    const refused = (await tcpExchange(frame(buildQuery('metrics.test', 'AXFR')), server.port, 1)).replies[0]!;
    expect(decodeReply(refused).rcode).to.equal('REFUSED'); // no allow-transfer
    const notOurs = (await tcpExchange(frame(buildQuery('elsewhere.example', 'AXFR')), server.port, 1)).replies[0]!;
    expect(decodeReply(notOurs).rcode).to.equal('NOTAUTH');
    const after = await scrape(metricsPort);
    const delta = (labels: Record<string, string>): number => (after.get('shardns_transfers_total', labels) ?? 0) - (before.get('shardns_transfers_total', labels) ?? 0);
    expect(delta({ type: 'AXFR', rcode: 'REFUSED' })).to.equal(1);
    expect(delta({ type: 'AXFR', rcode: 'NOTAUTH' })).to.equal(1);
  });

  it('tells the zone\'s serial and records, and each reload\'s outcome', async () => {
    let m = await scrape(metricsPort);
    expect(m.get('shardns_zone_serial', { zone: 'metrics.test.' })).to.equal(7);
    expect(m.get('shardns_zone_records', { zone: 'metrics.test.' })).to.equal(4);
    expect(m.get('shardns_zone_image_build_seconds', { zone: 'metrics.test.' })).to.be.above(0);
    const loadedAt = m.get('shardns_reload_last_success_timestamp_seconds')!;
    expect(loadedAt).to.be.within(Date.now() / 1000 - 120, Date.now() / 1000);

    writeFileSync(zone, ZONE(8, 'new A 192.0.2.30\n'));
    let since = server.mark();
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reloaded 1 zone\(s\)/, 10_000, since);
    m = await scrape(metricsPort);
    expect(m.get('shardns_zone_serial', { zone: 'metrics.test.' })).to.equal(8);
    expect(m.get('shardns_zone_records', { zone: 'metrics.test.' })).to.equal(5);
    expect(m.get('shardns_reloads_total', { outcome: 'ok' })).to.equal(1);
    expect(m.get('shardns_reload_last_success_timestamp_seconds')).to.be.above(loadedAt);

    writeFileSync(zone, ZONE(9, 'bad A 300.1.1.1\n'));
    since = server.mark();
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reload failed; still serving the previous zones/, 10_000, since);
    m = await scrape(metricsPort);
    expect(m.get('shardns_reloads_total', { outcome: 'failed' })).to.equal(1);
    expect(m.get('shardns_reloads_total', { outcome: 'ok' })).to.equal(1);
    expect(m.get('shardns_zone_serial', { zone: 'metrics.test.' })).to.equal(8);
    // Every worker still serves the zone version being served: ready.
    expect((await httpGet(metricsPort, '/ready')).status).to.equal(200);
  });

  it('/ready is 503 naming a worker that does not answer, while /health stays 200', async () => {
    const workers = workerPids(server.proc.pid!);
    expect(workers).to.have.length(2);
    process.kill(workers[1]!, 'SIGSTOP');
    try {
      const r = await httpGet(metricsPort, '/ready');
      expect(r.status).to.equal(503);
      expect(r.body).to.match(/^not ready:\nworker [01]: not serving \(starting, restarting, or not answering\)\n$/);
      expect((await httpGet(metricsPort, '/health')).status).to.equal(200);
      const m = await scrape(metricsPort);
      expect(m.sum('shardns_worker_up')).to.equal(1);
    } finally {
      process.kill(workers[1]!, 'SIGCONT');
    }
    expect(await until(async () => (await httpGet(metricsPort, '/ready')).status === 200, 5000, 100)).to.equal(true);
  });

  it('never lets a counter go backwards when a worker is killed and replaced', async () => {
    await ask(server.port, 40, 'www.metrics.test');
    const before = await scrape(metricsPort);
    const victim = workerPids(server.proc.pid!)[0]!;
    const since = server.mark();
    process.kill(victim, 'SIGKILL');
    const m = await server.waitFor(/worker (\d) \(pid \d+\) ready again/, 10_000, since);
    const slot = m[1]!;
    const after = await scrape(metricsPort);
    const series = counterSeries(before, after);
    expect(series.length).to.be.above(30);
    for (const s of series) expect(s.after, s.series).to.be.at.least(s.before);
    expect(after.get('shardns_worker_restarts_total', { worker: slot })).to.equal((before.get('shardns_worker_restarts_total', { worker: slot }) ?? 0) + 1);
    // The killed worker's answers are still in the totals, and the replacement's add to them.
    expect(after.get('shardns_worker_received_total', { worker: slot })).to.equal(before.get('shardns_worker_received_total', { worker: slot }));
    await ask(server.port, 20, 'www.metrics.test');
    const later = await scrape(metricsPort);
    expect(later.get('shardns_queries_total', { transport: 'udp' })).to.equal(after.get('shardns_queries_total', { transport: 'udp' })! + 20);
    expect((await httpGet(metricsPort, '/ready')).status).to.equal(200);
  });
});

describe('--metrics: kernel receive-buffer drops', function () {
  this.timeout(60_000);
  let server: RunningServer;

  after(() => server?.kill());

  it('reports the drops the kernel counted for a stopped worker\'s socket, as /proc/net/udp has them', async () => {
    const metricsPort = await freePort();
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--worker-timeout', '60', '--metrics', `127.0.0.1:${metricsPort}`]);
    const endpoint = `127.0.0.1:${server.port}`;
    expect((await scrape(metricsPort)).get('shardns_udp_receive_drops_total', { worker: '0', endpoint })).to.equal(0);
    const [worker] = workerPids(server.proc.pid!);
    process.kill(worker!, 'SIGSTOP');
    try {
      // Far more datagrams than a receive buffer holds, while nothing reads them.
      const q = buildQuery('www.example.com', 'A');
      const socks = Array.from({ length: 4 }, () => dgram.createSocket('udp4'));
      for (let round = 0; round < 40 && kernelUdpDrops(server.port) === 0; round++) {
        await Promise.all(socks.map((s) => Promise.all(Array.from({ length: 500 }, () => new Promise<void>((resolve) => s.send(q, server.port, '127.0.0.1', () => resolve()))))));
      }
      for (const s of socks) s.close();
      expect(kernelUdpDrops(server.port)).to.be.above(0);
    } finally {
      process.kill(worker!, 'SIGCONT');
    }
    const m = await scrape(metricsPort);
    const kernel = kernelUdpDrops(server.port);
    expect(kernel).to.be.above(0);
    expect(m.get('shardns_udp_receive_drops_total', { worker: '0', endpoint })).to.equal(kernel);
  });
});

describe('--metrics: forwarding and start-up failures', function () {
  this.timeout(60_000);
  let server: RunningServer | undefined;
  let upstream: FakeUpstream | undefined;

  afterEach(async () => {
    server?.kill();
    await upstream?.close();
    server = undefined;
    upstream = undefined;
  });

  it('counts forward-cache misses and upstream queries, and their latency as a histogram', async () => {
    upstream = await startFakeUpstream('127.0.0.1', await freePort(), (q) => ({ kind: 'answer', delayMs: 40, answers: [{ name: q.questions![0]!.name, type: 'A', ttl: 300, data: '198.51.100.7' }] }));
    const metricsPort = await freePort();
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${upstream.port}`, '--metrics', `127.0.0.1:${metricsPort}`]);
    for (const name of ['a.example', 'b.example', 'c.example']) expect(await ask(server.port, 1, name)).to.deep.equal(['NOERROR']);
    const m = await scrape(metricsPort);
    expect(m.get('shardns_forward_cache_misses_total')).to.equal(3);
    expect(m.get('shardns_upstream_queries_total')).to.equal(3);
    expect(m.get('shardns_upstream_failures_total')).to.equal(0);
    expect(upstream.udpQueries).to.equal(3);
    expect(m.get('shardns_upstream_resolution_seconds_count')).to.equal(3);
    expect(m.get('shardns_upstream_resolution_seconds_bucket', { le: '0.025' })).to.equal(0);
    expect(m.get('shardns_upstream_resolution_seconds_bucket', { le: '+Inf' })).to.equal(3);
    expect(m.get('shardns_upstream_resolution_seconds_sum')).to.be.at.least(0.12);
  });

  it('after an upgrade (SIGUSR2) the new supervisor takes the metrics port over', async () => {
    const metricsPort = await freePort();
    // A state directory of our own: the helper would remove its own when the first supervisor exits, under the second.
    const state = join(sharedDir('shardns-metrics-up-'), 'state');
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', state, '--metrics', `127.0.0.1:${metricsPort}`]);
    await ask(server.port, 3, 'id.server', 'TXT');
    expect((await scrape(metricsPort)).get('shardns_queries_total', { transport: 'udp' })).to.equal(3);
    process.kill(server.proc.pid!, 'SIGUSR2');
    const successor = Number((await server.waitFor(/the new supervisor \(pid (\d+)/, 20_000))[1]);
    try {
      // The new supervisor binds the port once the old one has let go (it says so when it had to wait).
      expect((await server.exited).code).to.equal(0);
      expect(await until(() => new RegExp(`supervisor\\[${successor}\\]: metrics on http://127\\.0\\.0\\.1:${metricsPort}/metrics`).test(server!.stdout()), 10_000)).to.equal(true);
      expect(server.stdout()).to.not.include('E_METRICS');
      // The new supervisor's workers start from zero.
      await ask(server.port, 2, 'id.server', 'TXT');
      expect((await scrape(metricsPort)).get('shardns_queries_total', { transport: 'udp' })).to.equal(2);
      expect((await httpGet(metricsPort, '/ready')).status).to.equal(200);
    } finally {
      for (const pid of [...childPids(successor), successor]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });

  it('does not start when the metrics port is taken, and says what to do', async () => {
    const taken = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      server = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--metrics', `127.0.0.1:${port}`], await freePort());
      const exit = await server.exited;
      expect(exit.code).to.equal(1);
      expect(server.stderr()).to.include(`cannot start: cannot serve metrics on 127.0.0.1:${port}/tcp: the port is in use — another program listens there (ss -ltnp 'sport = :${port}'); give --metrics another port, e.g. 9153 code=E_METRICS`);
    } finally {
      taken.close();
    }
  });
});

describe('--metrics with --io thread: the UDP threads\' counters', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let metricsPort: number;

  before(async () => {
    const dir = sharedDir('shardns-metrics-thread-');
    const zone = writeSharedZone(dir, 'metrics.test.zone', ZONE(7));
    metricsPort = await freePort();
    server = await startServer(['--workers', '1', '--io', 'thread', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `metrics.test.=${zone}`, '--metrics', `127.0.0.1:${metricsPort}`]);
  });
  after(() => server?.kill());

  it('counts every datagram the thread read, and what it passed on or answered from its copy', async () => {
    const before = await scrape(metricsPort);
    const rcodes = await ask(server.port, 20, 'www.metrics.test');
    expect(rcodes.every((r) => r === 'NOERROR'), rcodes.join(' ')).to.equal(true);
    const after = await scrape(metricsPort);
    const d = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(d('shardns_udp_thread_received_total'), 'datagrams read by the thread').to.equal(20);
    expect(d('shardns_udp_thread_receive_calls_total')).to.be.within(1, 20);
    expect(d('shardns_udp_thread_passed_total') + d('shardns_udp_thread_cache_hits_total'), 'each passed on or answered by the thread').to.equal(20);
    expect(d('shardns_udp_thread_passed_total'), 'the first miss goes to the main thread').to.be.at.least(1);
    expect(after.types.get('shardns_udp_thread_received_total')).to.equal('counter');
  });
});
