import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildQuery, decodeReply, frame, tcpExchange, udpExchange } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { sharedDir } from '../helpers/ops.js';
import { freePort, ROOT, spawnServer, startServer, until, type RunningServer } from '../helpers/server.js';

const ZONE = ['--zone', `example.com.=${join(ROOT, 'config/zones/example.com.zone')}`];

/** The JSON lines of a text (other lines left out). */
function records(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{"time"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('--query-log: JSON lines', function () {
  this.timeout(60_000);
  let server: RunningServer | undefined;
  let upstream: FakeUpstream | undefined;

  afterEach(async () => {
    server?.kill();
    await upstream?.close();
    server = upstream = undefined;
  });

  it('writes a line per query, saying what was asked and answered, over UDP and TCP', async () => {
    const file = join(sharedDir('shardns-qlog-'), 'queries.jsonl');
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--listen', '::1', '--forward', 'none', ...ZONE, '--query-log', file]);
    const sent: { id: number; name: string; type: string; transport: string; client: string; reply: Buffer }[] = [];
    const names = ['www.example.com', 'nope.example.com', 'example.com', 'elsewhere.test'];
    for (let i = 0; i < 20; i++) {
      const name = names[i % names.length]!;
      const type = i % 3 === 0 ? 'AAAA' : 'A';
      const host = i % 2 === 0 ? '127.0.0.1' : '::1';
      const query = buildQuery(name, type, 'IN', { id: 1000 + i });
      const reply = await udpExchange(query, server.port, host);
      sent.push({ id: 1000 + i, name, type, transport: 'udp', client: host, reply: reply! });
    }
    for (let i = 0; i < 2; i++) {
      const query = buildQuery('mail.example.com', 'MX', 'IN', { id: 2000 + i });
      const { replies } = await tcpExchange(frame(query), server.port, 1);
      sent.push({ id: 2000 + i, name: 'mail.example.com', type: 'MX', transport: 'tcp', client: '127.0.0.1', reply: replies[0]! });
    }
    process.kill(server.proc.pid!, 'SIGTERM');
    expect((await server.exited).code).to.equal(0);

    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines).to.have.length(sent.length);
    const byId = new Map(lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((r) => [r['id'] as number, r]));
    for (const s of sent) {
      const r = byId.get(s.id);
      const reply = decodeReply(s.reply);
      expect(r, `query ${s.id}`).to.deep.include({ name: `${s.name}.`, type: s.type, class: 'IN', transport: s.transport, client: s.client, rcode: reply.rcode, size: s.reply.length, answers: reply.answers.length });
      expect(r!['worker']).to.be.oneOf([0, 1]);
      expect(Date.parse(r!['time'] as string)).to.be.within(Date.now() - 60_000, Date.now());
      expect(r!['flags']).to.match(/^qr( aa)? rd/);
    }
  });

  it('writes one query in N, counted per worker', async () => {
    const file = join(sharedDir('shardns-qlog-sample-'), 'queries.jsonl');
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', ...ZONE, '--query-log', file, '--query-log-sample', '10']);
    for (let i = 0; i < 100; i++) expect(await udpExchange(buildQuery('www.example.com', 'A', 'IN', { id: i }), server.port)).to.not.equal(null);
    process.kill(server.proc.pid!, 'SIGTERM');
    await server.exited;
    const ids = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).to.deep.equal([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it('writes to standard output with "-", whole lines beside the log\'s', async () => {
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', ...ZONE, '--query-log', '-']);
    for (let i = 0; i < 30; i++) await udpExchange(buildQuery('www.example.com', 'A', 'IN', { id: 500 + i }), server.port);
    const s = server;
    expect(await until(() => records(s.stdout()).length === 30, 5000)).to.equal(true);
    expect(records(server.stdout()).map((r) => r['id']).sort()).to.deep.equal(Array.from({ length: 30 }, (_, i) => 500 + i));
    expect(server.stdout()).to.match(/ INFO  supervisor\[\d+\]: listening on /);
  });

  it('tells how long a forwarded question waited on the upstream', async () => {
    upstream = await startFakeUpstream('127.0.0.1', await freePort(), (q) => ({ kind: 'answer', delayMs: 60, answers: [{ name: q.questions![0]!.name, type: 'A', ttl: 300, data: '198.51.100.9' }] }));
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${upstream.port}`, ...ZONE, '--query-log', '-']);
    await udpExchange(buildQuery('far.example.net', 'A', 'IN', { id: 77 }), server.port);
    await udpExchange(buildQuery('www.example.com', 'A', 'IN', { id: 78 }), server.port);
    const s = server;
    expect(await until(() => records(s.stdout()).length === 2, 5000)).to.equal(true);
    const [forwarded, local] = records(server.stdout());
    expect(forwarded).to.deep.include({ id: 77, name: 'far.example.net.', rcode: 'NOERROR', flags: 'qr rd ra', answers: 1 });
    expect(forwarded!['ms']).to.be.within(55, 2000);
    expect(local).to.deep.include({ id: 78, flags: 'qr aa rd ra' });
    expect(local).to.not.have.property('ms');
  });

  it('does not start when the file cannot be opened, and says why', async () => {
    const file = join(sharedDir('shardns-qlog-bad-'), 'missing', 'queries.jsonl');
    server = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--query-log', file], await freePort());
    expect((await server.exited).code).to.equal(1);
    expect(server.stderr()).to.include(`cannot start: cannot open ${file} for --query-log: ENOENT — create its folder first, or give another path code=E_LOG`);
  });
});
