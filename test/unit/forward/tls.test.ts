/** DotPool against a scripted DNS-over-TLS server on loopback (certificate from a CA made with openssl): pipelining, replies out of order, reuse, resumption, stray and late replies. */

import { expect } from 'chai';
import dnsPacket, { type Packet } from 'dns-packet';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { Exchange, UpstreamQuestion } from '../../../src/forward/transport.js';
import { DotPool, loadTrustAnchors } from '../../../src/forward/tls.js';
import type { Upstream } from '../../../src/forward/upstreams.js';
import { freePort } from '../../helpers/server.js';
import { issueServerCert, makeCa, opensslUnavailable } from '../../helpers/test-ca.js';

/** A scripted DoT server: collects queries and lets the test decide when and how to answer. */
interface ScriptedDot {
  port: number;
  connections: number;
  queries: Packet[];
  /** Called per query with a function that sends a reply for it (or the test keeps it for later). */
  onQuery: (q: Packet, reply: (p?: Partial<Packet>) => void, sock: tls.TLSSocket) => void;
  closeClients(): void;
  close(): Promise<void>;
}

async function startScriptedDot(cert: { certFile: string; keyFile: string }): Promise<ScriptedDot> {
  const sockets = new Set<tls.TLSSocket>();
  const state: ScriptedDot = {
    port: await freePort(),
    connections: 0,
    queries: [],
    onQuery: (_q, reply) => reply(),
    closeClients: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = tls.createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (sock) => {
    state.connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        state.queries.push(q);
        const name = q.questions![0]!.name;
        const reply = (p: Partial<Packet> = {}): void => {
          const octet = Number(/^n(\d+)\./.exec(name)?.[1] ?? 1);
          const bytes = dnsPacket.encode({ type: 'response', id: q.id, flags: 0x8180, questions: q.questions, answers: [{ name, type: 'A', class: 'IN', ttl: 60, data: `192.0.2.${octet}` }], ...p } as Packet);
          const frame = Buffer.alloc(2 + bytes.length);
          frame.writeUInt16BE(bytes.length);
          bytes.copy(frame, 2);
          sock.write(frame);
        };
        state.onQuery(q, reply, sock);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(state.port, '127.0.0.1', () => resolve()));
  return state;
}

const question = (name: string): UpstreamQuestion => ({ name, type: 'A', klass: 'IN', dnssecOk: false, checkingDisabled: false });
const address = (e: Exchange): string => (e.kind === 'reply' ? String((e.packet.answers![0] as { data: string }).data) : e.kind);

describe('DotPool: DNS over TLS to a scripted server', function () {
  this.timeout(20_000);
  let server: ScriptedDot;
  let pool: DotPool;
  let upstream: Upstream;
  const told: string[] = [];

  before(function () {
    const why = opensslUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
  });
  beforeEach(async () => {
    const ca = makeCa();
    server = await startScriptedDot(issueServerCert(ca, 'dot.test'));
    const trust = loadTrustAnchors(ca.certFile);
    if (typeof trust === 'string') throw new Error(trust);
    pool = new DotPool({ trust, idleMs: 5000, retryMs: 500, onEvent: (m) => told.push(m) });
    upstream = { address: '127.0.0.1', port: server.port, tlsName: 'dot.test' };
  });
  afterEach(async () => {
    pool?.close();
    server?.closeClients();
    await server?.close();
  });

  it('pipelines questions on one connection and matches replies that come back in reverse order by ID', async () => {
    const held: (() => void)[] = [];
    server.onQuery = (_q, reply) => {
      held.push(() => reply());
      if (held.length === 5) for (const send of held.reverse()) send();
    };
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => pool.exchange(upstream, question(`n${i}.dot.test`), 3000)));
    expect(results.map(address)).to.deep.equal(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5']);
    expect(server.connections).to.equal(1);
    expect(new Set(server.queries.map((q) => q.id)).size, 'each pending question has its own ID').to.equal(5);
    // Later questions reuse the connection.
    server.onQuery = (_q, reply) => reply();
    for (let i = 6; i < 20; i++) expect(address(await pool.exchange(upstream, question(`n${i}.dot.test`), 3000))).to.equal(`192.0.2.${i}`);
    expect([server.connections, pool.stats.tlsHandshakes, pool.openConnections]).to.deep.equal([1, 1, 1]);
  });

  it('a stray reply (unknown ID) and one for another question are ignored; a late reply after the timeout is dropped; the connection goes on', async () => {
    let late: (() => void) | null = null;
    server.onQuery = (q, reply) => {
      const name = q.questions![0]!.name;
      if (name === 'n1.dot.test') {
        reply({ id: (q.id! + 1) % 65536 });
        reply({ questions: [{ name: 'other.dot.test', type: 'A', class: 'IN' }] });
        setTimeout(() => reply(), 50);
      } else if (name === 'n2.dot.test') {
        late = () => reply();
      } else reply();
    };
    expect(address(await pool.exchange(upstream, question('n1.dot.test'), 2000))).to.equal('192.0.2.1');
    expect(address(await pool.exchange(upstream, question('n2.dot.test'), 300))).to.equal('timeout');
    late!();
    expect(address(await pool.exchange(upstream, question('n3.dot.test'), 2000))).to.equal('192.0.2.3');
    expect(server.connections).to.equal(1);
  });

  it('the upstream closes the connection: its pending questions fail (the forwarder fails over); the next one opens a new connection, resuming the TLS session', async () => {
    server.onQuery = (_q, reply) => reply();
    expect(address(await pool.exchange(upstream, question('n1.dot.test'), 2000))).to.equal('192.0.2.1');
    server.onQuery = (_q, _reply, sock) => sock.destroy();
    const failed = await pool.exchange(upstream, question('n2.dot.test'), 2000);
    expect(failed.kind).to.equal('error');
    server.onQuery = (_q, reply) => reply();
    expect(address(await pool.exchange(upstream, question('n3.dot.test'), 2000))).to.equal('192.0.2.3');
    expect(server.connections).to.equal(2);
    expect([pool.stats.tlsHandshakes, pool.stats.tlsResumed]).to.deep.equal([2, 1]);
  });

  it('a wrong name fails the handshake, tells why once, and is not retried for the retry time', async () => {
    const wrong: Upstream = { ...upstream, tlsName: 'other.test' };
    const first = await pool.exchange(wrong, question('n1.dot.test'), 2000);
    expect(first.kind).to.equal('error');
    const second = await pool.exchange(wrong, question('n2.dot.test'), 2000);
    expect(second.kind === 'error' && second.message).to.match(/the certificate does not carry the name asked for .*\(not retried for 1 s\)/);
    expect(server.queries, 'nothing sent').to.deep.equal([]);
    expect(told.filter((m) => m.includes('other.test'))).to.have.length(1);
    expect(told.at(-1)).to.match(/^upstream tls:\/\/127\.0\.0\.1:\d+#other\.test: TLS connection failed: the certificate does not carry the name asked for/);
  });
});
