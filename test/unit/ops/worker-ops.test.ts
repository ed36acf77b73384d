import { expect } from 'chai';
import { RCODE, headerOnlyReply } from '../../../src/dns/header.js';
import type { Resolver } from '../../../src/dns/pipeline.js';
import type { Resolution } from '../../../src/forward/forwarder.js';
import type { OpenSocket } from '../../../src/net/reuseport.js';
import type { TcpMessageHandler } from '../../../src/net/tcp.js';
import type { InPlaceHandler, MessageHandler } from '../../../src/net/udp.js';
import type { ReplyStream } from '../../../src/xfr/stream.js';
import { decodeDnstap, DnstapEncoder, MESSAGE_TYPE } from '../../../src/ops/dnstap.js';
import { FrameReader, type Frame } from '../../../src/ops/frame-streams.js';
import { WorkerOps, type LogBatch, type WorkerOpsOptions } from '../../../src/ops/worker-ops.js';
import { buildQuery } from '../../helpers/dns-client.js';

const udpSock: OpenSocket = { fd: -1, family: 4, spec: { address: '127.0.0.1', port: 5353, transport: 'udp' } };
const off = { dnstap: null, queryLog: null, queryLogSample: 1, metrics: null };
const query = buildQuery('www.example.com', 'A', 'IN', { id: 77 });
const answer: MessageHandler = (msg) => headerOnlyReply(msg, RCODE.NOERROR);

function ops(config: Partial<WorkerOpsOptions['config']>, sent: LogBatch[], ack = true): WorkerOps {
  const identity = { identity: 'host', version: 'shardns test' };
  return new WorkerOps({
    id: 2,
    config: { ...off, ...config },
    identity,
    ...(config.dnstap ? { dnstap: new DnstapEncoder(identity) } : {}),
    send: (b, done) => {
      sent.push(b);
      if (ack) setImmediate(done);
    },
    now: () => 1_700_000_000_000,
  });
}

function drained(o: WorkerOps): Promise<void> {
  return new Promise((resolve) => o.drain(resolve));
}

function frames(batches: LogBatch[]): Frame[] {
  return batches.flatMap((b) => new FrameReader().push(b.bytes) as Frame[]);
}

describe('WorkerOps', () => {
  it('hands back the engines\' handlers untouched when no log is on (nothing added to the answer path)', () => {
    const o = ops({ metrics: { address: '127.0.0.1', port: 9153 } }, []);
    const inPlace: InPlaceHandler = () => -1;
    expect(o.observing).to.equal(false);
    expect(o.handler(answer, udpSock)).to.equal(answer);
    expect(o.inPlace(inPlace, udpSock)).to.equal(inPlace);
    expect(o.inPlace(null, udpSock)).to.equal(null);
  });

  it('writes each exchange as dnstap data frames, batched to the supervisor', async () => {
    const sent: LogBatch[] = [];
    const o = ops({ dnstap: { kind: 'file', path: '/x' } }, sent);
    const h = o.handler(answer, udpSock);
    for (let i = 0; i < 3; i++) expect(h(query, '192.0.2.1', 40001 + i)).to.be.instanceOf(Buffer);
    expect(sent).to.have.length(0); // gathered, not yet sent
    await drained(o);
    expect(sent.map((b) => [b.log, b.records])).to.deep.equal([['dnstap', 6]]);
    const messages = frames(sent).map((f) => (f.kind === 'data' ? decodeDnstap(f.payload) : null));
    expect(messages.map((m) => m?.type)).to.deep.equal([1, 2, 1, 2, 1, 2].map((t) => (t === 1 ? MESSAGE_TYPE.AUTH_QUERY : MESSAGE_TYPE.AUTH_RESPONSE)));
    expect(messages.map((m) => m?.queryPort), "the client's port, in the query and in its response").to.deep.equal([40001, 40001, 40002, 40002, 40003, 40003]);
    expect(o.report([], []).logs.dnstap).to.deep.equal({ records: 6, dropped: 0 });
  });

  it('sees the in-place hit path too, reading the sender from its sockaddr', async () => {
    const sent: LogBatch[] = [];
    const o = ops({ dnstap: { kind: 'file', path: '/x' } }, sent);
    const reply = headerOnlyReply(query, RCODE.NXDOMAIN);
    const inner: InPlaceHandler = (_q, _qo, _ql, _p, _po, out, outOff) => {
      Buffer.from(reply).copy(out, outOff);
      return reply.length;
    };
    const peer = Buffer.alloc(40);
    peer.writeUInt16LE(2, 8); // AF_INET at offset 8
    peer.writeUInt16BE(53124, 10); // sin_port, network order
    peer.set([198, 51, 100, 4], 12);
    const q = Buffer.concat([Buffer.alloc(5), query]);
    const out = Buffer.alloc(600);
    expect(o.inPlace(inner, udpSock)!(q, 5, query.length, peer, 8, out, 100, 500)).to.equal(reply.length);
    expect(o.inPlace(() => -1, udpSock)!(q, 5, query.length, peer, 8, out, 100, 500)).to.equal(-1);
    await drained(o);
    const m = frames(sent).map((f) => decodeDnstap((f as { payload: Buffer }).payload));
    expect(m).to.have.length(2);
    expect([...m[0]!.queryAddress!]).to.deep.equal([198, 51, 100, 4]);
    expect(m.map((r) => r.queryPort)).to.deep.equal([53124, 53124]);
    expect(Buffer.from(m[0]!.queryMessage!).equals(query)).to.equal(true);
    expect(Buffer.from(m[1]!.responseMessage!).equals(reply)).to.equal(true);
  });

  it('writes one query in N to the query log, and tells how long a forwarded one waited', async () => {
    const sent: LogBatch[] = [];
    let clock = 1_700_000_000_000;
    const o = new WorkerOps({ id: 2, config: { ...off, queryLog: { kind: 'stdout' }, queryLogSample: 3 }, identity: { identity: 'h', version: 'v' }, send: (b, d) => (sent.push(b), d()), now: () => clock });
    const sync = o.handler(answer, udpSock);
    for (let i = 0; i < 7; i++) sync(query, '192.0.2.1', 40100 + i); // messages 1, 4, 7 are written
    let release: () => void = () => undefined;
    const late = o.handler((msg) => new Promise((resolve) => (release = () => resolve(headerOnlyReply(msg, RCODE.SERVFAIL)))), udpSock);
    sync(query, '192.0.2.1', 40107);
    sync(query, '192.0.2.1', 40108);
    const pending = late(query, '192.0.2.2', 40200) as Promise<Buffer | null>; // the 10th: written
    clock += 25;
    release();
    await pending;
    await drained(o);
    const records = Buffer.concat(sent.map((b) => b.bytes)).toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).to.have.length(4);
    expect(records[0]).to.deep.include({ worker: 2, client: '192.0.2.1', port: 40100, name: 'www.example.com.', rcode: 'NOERROR' });
    expect(records[0]).to.not.have.property('ms');
    expect(records[3]).to.deep.include({ client: '192.0.2.2', port: 40200, rcode: 'SERVFAIL', ms: 25 });
  });

  it('logs a zone transfer (a stream of messages) as its query alone', async () => {
    const sent: LogBatch[] = [];
    const o = ops({ dnstap: { kind: 'file', path: '/x' }, queryLog: { kind: 'stdout' } }, sent);
    const stream = { next: () => null, close: () => undefined } as unknown as ReplyStream;
    const tcpSock: OpenSocket = { ...udpSock, spec: { ...udpSock.spec, transport: 'tcp' } };
    const transfer: TcpMessageHandler = () => stream;
    expect(o.handler(transfer, tcpSock)(buildQuery('example.com', 'AXFR'), '192.0.2.1', 40300)).to.equal(stream);
    await drained(o);
    const dnstap = sent.filter((b) => b.log === 'dnstap');
    expect(frames(dnstap).map((f) => decodeDnstap((f as { payload: Buffer }).payload).type)).to.deep.equal([MESSAGE_TYPE.AUTH_QUERY]);
    const line = JSON.parse(Buffer.concat(sent.filter((b) => b.log === 'query-log').map((b) => b.bytes)).toString()) as Record<string, unknown>;
    expect(line).to.deep.include({ type: 'AXFR', transport: 'tcp', rcode: 'transfer', size: 0 });
  });

  it('drops batches (and counts their records) when the supervisor has not taken the earlier ones', async () => {
    const sent: LogBatch[] = [];
    const o = ops({ queryLog: { kind: 'stdout' } }, sent, false);
    const h = o.handler(answer, udpSock);
    for (let i = 0; i < 40; i++) {
      h(query, '192.0.2.1', 40001);
      o.drain(() => undefined); // one batch of one record each
    }
    expect(sent).to.have.length(32);
    expect(o.report([], []).logs['query-log']).to.deep.equal({ records: 40, dropped: 8 });
  });

  it('times questions that wait on the upstreams, with metrics on', async () => {
    let answerNow: () => void = () => undefined;
    const inner: Resolver = {
      resolve: (): Resolution => ({
        kind: 'asked',
        answer: new Promise((resolve) => (answerNow = () => resolve({ rcode: 'NOERROR', ad: false, answers: [], authorities: [], additionals: [] }))),
      }),
    };
    expect(ops({}, []).resolver(inner)).to.equal(inner);
    const o = ops({ metrics: { address: '127.0.0.1', port: 9153 } }, []);
    const r = o.resolver(inner)!.resolve({ name: 'a.', type: 'A', klass: 'IN', dnssecOk: false, checkingDisabled: false });
    expect(r.kind).to.equal('asked');
    await new Promise((resolve) => setTimeout(resolve, 20));
    answerNow();
    await (r as { answer: Promise<unknown> }).answer;
    await new Promise((resolve) => setImmediate(resolve));
    const h = o.report([], []).upstreamLatency;
    expect(h.count).to.equal(1);
    expect(h.sum).to.be.within(0.015, 1);
  });

  it('reports the images served and nothing for sockets it cannot stat', () => {
    expect(ops({}, []).report(['/state/a.img'], [udpSock])).to.deep.include({ images: ['/state/a.img'], udpSockets: [] });
  });
});
