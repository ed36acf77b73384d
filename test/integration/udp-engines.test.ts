import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { buildQuery, decodeReply, frame, tcpExchange, udpExchange } from '../helpers/dns-client.js';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const ZONE_ARGS = ['--zone', `example.com.=${FIX}example.com.zone`, '--zone', `other.test.=${FIX}other.test.zone`, '--forward', 'none', '--listen', '127.0.0.1', '--listen', '::1', '--workers', '1'];
const NAMES = ['example.com', 'www.example.com', 'nx.example.com', 'alias.example.com', 'x.wild.example.com', 'host.deleg.example.com', 'big.example.com', 'huge.example.com', 'a.b.dn.example.com', 'www.other.test', 'www.example.net', 'b.ent.example.com'];
const TYPES = ['A', 'AAAA', 'TXT', 'MX', 'NS', 'ANY'];

/** The fixed query set: every name × type, with and without EDNS, fixed IDs. */
function querySet(): Buffer[] {
  const out: Buffer[] = [];
  let id = 0;
  for (const name of NAMES) for (const type of TYPES) for (const edns of [false, true]) out.push(buildQuery(name, type, 'IN', { id: id++, edns }));
  out.push(buildQuery('id.server', 'TXT', 'CH', { id: id++ }).fill(0, 0, 0));
  return out;
}

/** Sends every query from one socket at once and collects the replies by ID. */
function burst(queries: Buffer[], port: number, host: string): Promise<Map<number, Buffer>> {
  return new Promise((resolve) => {
    const got = new Map<number, Buffer>();
    // A big receive queue on our side: 400 replies arrive faster than a test reads them.
    const sock = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
    const done = (): void => {
      clearTimeout(timer);
      sock.close();
      resolve(got);
    };
    const timer = setTimeout(done, 5000);
    sock.on('message', (m) => {
      got.set(m.readUInt16BE(0), m);
      if (got.size === queries.length) done();
    });
    for (const q of queries) sock.send(q, port, host);
  });
}

describe('UDP engines: mmsg (recvmmsg/sendmmsg) and dgram give the same bytes', function () {
  this.timeout(60_000);
  let mmsg: RunningServer;
  let dgramServer: RunningServer;
  let nocache: RunningServer;

  before(async () => {
    [mmsg, dgramServer, nocache] = await Promise.all([
      startServer([...ZONE_ARGS, '--io', 'mmsg']),
      startServer([...ZONE_ARGS, '--io', 'dgram']),
      startServer([...ZONE_ARGS, '--io', 'dgram', '--answer-cache', '0']),
    ]);
  });
  after(() => {
    for (const s of [mmsg, dgramServer, nocache]) s?.kill();
  });

  for (const host of ['127.0.0.1', '::1']) {
    it(`one query at a time over ${host.includes(':') ? 'IPv6' : 'IPv4'}: byte for byte equal, twice (the second time from the reply cache)`, async () => {
      const queries = querySet().filter((q) => q.readUInt16BE(0) !== 144);
      for (const round of [1, 2]) {
        for (const q of queries) {
          const [a, b, c] = await Promise.all([udpExchange(q, mmsg.port, host), udpExchange(q, dgramServer.port, host), udpExchange(q, nocache.port, host)]);
          const what = `${dnsPacket.decode(q).questions?.[0]?.name} ${dnsPacket.decode(q).questions?.[0]?.type} round ${round}`;
          expect(a, what).to.not.equal(null);
          expect(a!.equals(b!), `mmsg vs dgram: ${what}`).to.equal(true);
          expect(a!.equals(c!), `cached vs uncached: ${what}`).to.equal(true);
        }
      }
    });
  }

  it('a burst of full batches from one socket: every query answered, the same bytes as dgram', async () => {
    const queries = Array.from({ length: 400 }, (_, i) => buildQuery(NAMES[i % NAMES.length]!, TYPES[i % TYPES.length]!, 'IN', { id: i, edns: i % 2 === 0 }));
    const [a, b] = await Promise.all([burst(queries, mmsg.port, '127.0.0.1'), burst(queries, dgramServer.port, '127.0.0.1')]);
    expect(a.size).to.equal(400);
    for (const [id, reply] of a) expect(reply.equals(b.get(id)!), `id ${id}`).to.equal(true);
  });

  it('truncated answers: TC over UDP, the whole answer over TCP', async () => {
    const q = buildQuery('huge.example.com', 'TXT', 'IN', { id: 7 });
    const udp = decodeReply((await udpExchange(q, mmsg.port))!);
    expect(udp.flag_tc).to.equal(true);
    const { replies } = await tcpExchange(frame(q), mmsg.port, 1);
    expect(decodeReply(replies[0]!).answers).to.have.length(7);
  });

  it('an oversize datagram (over 4096 octets) is dropped by mmsg, which answers on', async () => {
    const big = Buffer.concat([buildQuery('www.example.com', 'A', 'IN', { id: 9 }), Buffer.alloc(5000)]);
    expect(await udpExchange(big, mmsg.port, '127.0.0.1', 500)).to.equal(null);
    expect(decodeReply((await udpExchange(buildQuery('www.example.com', 'A', 'IN', { id: 10 }), mmsg.port))!).id).to.equal(10);
  });

  it('under a UDP flood the worker still answers TCP and its heartbeats (no replacement)', async function () {
    const server = await startServer([...ZONE_ARGS, '--io', 'mmsg', '--worker-timeout', '1']);
    const hasDnsperf = !spawnSync('dnsperf', ['-h'], { encoding: 'utf8' }).error;
    let flood;
    if (hasDnsperf) {
      const file = join(mkdtempSync(join(tmpdir(), 'shardns-flood-')), 'q.txt');
      writeFileSync(file, 'www.example.com A\nnx.example.com A\nexample.com MX\n');
      flood = spawn('dnsperf', ['-s', '127.0.0.1', '-p', String(server.port), '-d', file, '-l', '4', '-c', '4', '-q', '400'], { stdio: 'ignore' });
    } else {
      console.log('      (dnsperf not installed: flooding from a Node child process instead)');
      const script = `const d=require('dgram');const s=[0,1,2,3].map(()=>d.createSocket('udp4'));const q=Buffer.from('${buildQuery('www.example.com', 'A').toString('hex')}','hex');const end=Date.now()+4000;(function f(){for(let i=0;i<200;i++)s[i%4].send(q,${server.port},'127.0.0.1');if(Date.now()<end)setImmediate(f);else process.exit(0)})()`;
      flood = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    }
    try {
      await new Promise((r) => setTimeout(r, 500));
      const latencies: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = Date.now();
        const { replies } = await tcpExchange(frame(buildQuery('www.example.com', 'A', 'IN', { id: 100 + i })), server.port, 1, '127.0.0.1', 3000);
        expect(replies, `TCP query ${i} during the flood`).to.have.length(1);
        latencies.push(Date.now() - t);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(Math.max(...latencies)).to.be.below(1000);
      expect(server.stdout() + server.stderr()).to.not.match(/has not answered|exited unexpectedly/);
    } finally {
      flood.kill('SIGKILL');
      server.kill();
    }
  });
});
