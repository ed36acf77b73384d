import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { buildQuery, decodeReply, frame, udpExchange } from '../helpers/dns-client.js';
import { sharedDir, startCollector, type Collector } from '../helpers/ops.js';
import { alive, childPids, ROOT, startServer, until, type RunningServer } from '../helpers/server.js';
import { CONTROL, FrameReader, type Frame } from '../../src/ops/frame-streams.js';
import { decodeDnstap, DNSTAP_CONTENT_TYPE, MESSAGE_TYPE } from '../../src/ops/dnstap.js';

/** One query we sent and the reply we got, and the port we sent it from. */
interface Sent {
  query: Buffer;
  reply: Buffer;
  transport: 'UDP' | 'TCP';
  host: string;
  clientPort: number;
}

/** One datagram exchange from a socket bound first, so its port is known. */
function udpFrom(query: Buffer, port: number, host: string): Promise<{ reply: Buffer; clientPort: number }> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => (sock.close(), reject(new Error(`no reply from ${host}:${port}`))), 2000);
    sock.on('message', (reply) => {
      clearTimeout(timer);
      const clientPort = sock.address().port;
      sock.close();
      resolve({ reply, clientPort });
    });
    sock.bind(0, host, () => sock.send(query, port, host));
  });
}

/** One TCP exchange, and the connection's own port. */
function tcpFrom(query: Buffer, port: number, host: string): Promise<{ reply: Buffer; clientPort: number }> {
  return new Promise((resolve, reject) => {
    const conn = net.connect({ port, host });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => (conn.destroy(), reject(new Error(`no reply from ${host}:${port} over TCP`))), 3000);
    conn.on('connect', () => conn.write(frame(query)));
    conn.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        const clientPort = conn.localPort!;
        conn.destroy();
        resolve({ reply: buf.subarray(2, 2 + buf.readUInt16BE(0)), clientPort });
      }
    });
    conn.on('error', reject);
  });
}

/** Queries over UDP and TCP, IPv4 and IPv6, authoritative and NXDOMAIN: what was sent and received. */
async function exchanges(port: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  const udp = async (name: string, type: string, host: string): Promise<void> => {
    const query = buildQuery(name, type);
    const { reply, clientPort } = await udpFrom(query, port, host);
    sent.push({ query, reply, transport: 'UDP', host, clientPort });
  };
  for (let i = 0; i < 4; i++) await udp('www.example.com', 'A', '127.0.0.1');
  await udp('nope.example.com', 'MX', '127.0.0.1');
  await udp('www.example.com', 'AAAA', '::1');
  const query = buildQuery('example.com', 'NS');
  const { reply, clientPort } = await tcpFrom(query, port, '::1');
  sent.push({ query, reply, transport: 'TCP', host: '::1', clientPort });
  return sent;
}

/** Why dnstap-read cannot be run here, or null. */
function dnstapReadUnavailable(): string | null {
  return spawnSync('dnstap-read', ['/dev/null'], { encoding: 'utf8' }).error ? 'dnstap-read not installed — apt-get install bind9-utils' : null;
}

describe('--dnstap FILE: read by dnstap-read', function () {
  this.timeout(60_000);
  let server: RunningServer;

  before(function () {
    const why = dnstapReadUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
  });
  after(() => server?.kill());

  it('holds every query and reply verbatim, with transport, addresses and both ports, ending properly on SIGTERM', async () => {
    const file = join(sharedDir('shardns-dnstap-'), 'shardns.dnstap');
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--listen', '::1', '--forward', 'none', '--zone', `example.com.=${join(ROOT, 'config/zones/example.com.zone')}`, '--dnstap', file]);
    const sent = await exchanges(server.port);
    process.kill(server.proc.pid!, 'SIGTERM');
    expect((await server.exited).code).to.equal(0);

    // Frame Streams' file form: START with the content type, data frames, STOP.
    const frames = new FrameReader().push(readFileSync(file)) as Frame[];
    expect(frames[0]).to.deep.equal({ kind: 'control', type: CONTROL.START, contentTypes: [DNSTAP_CONTENT_TYPE] });
    expect(frames.at(-1)).to.deep.equal({ kind: 'control', type: CONTROL.STOP, contentTypes: [] });
    expect(frames.filter((f) => f.kind === 'data')).to.have.length(2 * sent.length);

    // -x: a summary line, then the message in hex.
    const r = spawnSync('dnstap-read', ['-x', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    const records: { summary: string; hex: string }[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) records.push({ summary: lines[i]!, hex: lines[i + 1]!.toLowerCase() });
    expect(records).to.have.length(2 * sent.length);
    for (const s of sent) {
      // Both ends with their ports: the client's, then ours.
      const where = `${s.host}:${s.clientPort} %s ${s.host}:${server.port}`;
      const q = records.find((x) => x.hex === s.query.toString('hex'));
      const a = records.find((x) => x.hex === s.reply.toString('hex'));
      const what = `${decodeReply(s.reply).questions?.[0]?.name} over ${s.transport} from ${s.host}`;
      expect(q, `the query for ${what}`).to.not.equal(undefined);
      expect(a, `the reply for ${what}`).to.not.equal(undefined);
      expect(q!.summary).to.include(` AQ ${where.replace('%s', '->')} ${s.transport} ${s.query.length}b `);
      expect(a!.summary).to.include(` AR ${where.replace('%s', '<-')} ${s.transport} ${s.reply.length}b `);
    }
    // YAML: the identity and version we wrote.
    const yaml = spawnSync('dnstap-read', ['-y', file], { encoding: 'utf8' }).stdout;
    expect(yaml).to.match(/^identity: \S+$/m);
    expect(yaml).to.match(/^version: shardns \d+\.\d+\.\d+$/m);
  });
});

describe('--dnstap FILE across an upgrade', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let successor = 0;
  after(() => {
    server?.kill();
    for (const pid of successor > 0 ? [...childPids(successor), successor] : []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  it('keeps the previous supervisor\'s file whole (renamed) and starts a new one', async () => {
    const dir = sharedDir('shardns-dnstap-up-');
    const file = join(dir, 'shardns.dnstap');
    // A state directory of our own: the helper would remove its own when the first supervisor exits, under the second.
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', join(dir, 'state'), '--dnstap', file]);
    const before = buildQuery('version.bind', 'TXT', 'CH');
    expect(await udpExchange(before, server.port)).to.not.equal(null);
    process.kill(server.proc.pid!, 'SIGUSR2');
    successor = Number((await server.waitFor(/the new supervisor \(pid (\d+)/, 20_000))[1]);
    const kept = (await server.waitFor(/dnstap: the previous supervisor's messages stay in (\S+); this one writes /, 20_000))[1]!;
    expect((await server.exited).code).to.equal(0);
    const after = buildQuery('id.server', 'TXT', 'CH');
    expect(await udpExchange(after, server.port)).to.not.equal(null);
    process.kill(successor, 'SIGTERM');
    expect(await until(() => !alive(successor), 10_000)).to.equal(true);

    const read = (path: string): { control: number[]; queries: Buffer[] } => {
      const frames = new FrameReader().push(readFileSync(path)) as Frame[];
      return {
        control: frames.filter((f) => f.kind === 'control').map((f) => (f as { type: number }).type),
        queries: frames.flatMap((f) => (f.kind === 'data' && decodeDnstap(f.payload).queryMessage !== null ? [Buffer.from(decodeDnstap(f.payload).queryMessage!)] : [])),
      };
    };
    expect(kept.startsWith(`${file}.`)).to.equal(true);
    expect(readdirSync(dir).filter((f) => f !== 'state').sort()).to.deep.equal(['shardns.dnstap', kept.slice(dir.length + 1)].sort());
    const old = read(kept);
    const now = read(file);
    expect(old.control).to.deep.equal([CONTROL.START, CONTROL.STOP]);
    expect(now.control).to.deep.equal([CONTROL.START, CONTROL.STOP]);
    expect(old.queries.map((q) => q.toString('hex'))).to.deep.equal([before.toString('hex')]);
    expect(now.queries.map((q) => q.toString('hex'))).to.deep.equal([after.toString('hex')]);
  });
});

describe('--dnstap unix:PATH: a collector speaking Frame Streams', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let collector: Collector | undefined;

  afterEach(async () => {
    server?.kill();
    await collector?.close();
    collector = undefined;
  });

  it('does the handshake, sends each query and reply, and ends with STOP on SIGTERM', async () => {
    const path = join(sharedDir('shardns-dnstap-sock-'), 'tap.sock');
    collector = await startCollector(path);
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--listen', '::1', '--forward', 'none', '--zone', `example.com.=${join(ROOT, 'config/zones/example.com.zone')}`, '--dnstap', `unix:${path}`]);
    const sent = await exchanges(server.port);
    process.kill(server.proc.pid!, 'SIGTERM');
    expect((await server.exited).code).to.equal(0);

    const frames = collector.frames;
    expect(collector.connections()).to.equal(1);
    expect(frames[0]).to.deep.equal({ kind: 'control', type: CONTROL.READY, contentTypes: [DNSTAP_CONTENT_TYPE] });
    expect(frames[1]).to.deep.equal({ kind: 'control', type: CONTROL.START, contentTypes: [DNSTAP_CONTENT_TYPE] });
    expect(frames.at(-1)).to.deep.equal({ kind: 'control', type: CONTROL.STOP, contentTypes: [] });
    const messages = frames.slice(2, -1).map((f) => {
      if (f.kind !== 'data') throw new Error('a control frame among the data');
      return decodeDnstap(f.payload);
    });
    expect(messages).to.have.length(2 * sent.length);
    for (const s of sent) {
      const q = messages.find((m) => m.queryMessage !== null && Buffer.from(m.queryMessage).equals(s.query));
      const a = messages.find((m) => m.responseMessage !== null && Buffer.from(m.responseMessage).equals(s.reply));
      expect(q?.type).to.equal(MESSAGE_TYPE.AUTH_QUERY);
      expect(a?.type).to.equal(MESSAGE_TYPE.AUTH_RESPONSE);
      expect(q!.socketFamily).to.equal(s.host === '::1' ? 2 : 1);
      expect(q!.socketProtocol).to.equal(s.transport === 'UDP' ? 1 : 2);
      expect(a!.responsePort).to.equal(server.port);
      expect(a!.responseTime).to.be.at.least(q!.queryTime);
    }
  });

  it('starts without its collector, says so, and writes to it once it listens', async () => {
    const path = join(sharedDir('shardns-dnstap-late-'), 'tap.sock');
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--dnstap', `unix:${path}`]);
    await server.waitFor(new RegExp(`dnstap: the collector at ${path} cannot be reached \\(ENOENT\\); dropping dnstap messages and trying again`));
    collector = await startCollector(path);
    await server.waitFor(new RegExp(`dnstap: writing to the collector at ${path}`), 10_000);
    const query = buildQuery('version.bind', 'TXT', 'CH');
    expect(await udpExchange(query, server.port)).to.not.equal(null);
    const c = collector;
    expect(await until(() => c.frames.some((f) => f.kind === 'data' && Buffer.from(decodeDnstap(f.payload).queryMessage ?? []).equals(query)), 5000)).to.equal(true);
  });
});
