import { expect } from 'chai';
import net from 'node:net';
import { buildQuery, decodeReply, frame, tcpExchange } from '../helpers/dns-client.js';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';

const FIX = `${ROOT}test/fixtures/answers/`;

/** Connects and resolves once connected. */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1' }, () => resolve(c));
    c.on('error', reject);
  });
}

/** Resolves with how many ms after `since` the server closed the connection (or null if it stays open until `waitMs`). */
function closedAfter(c: net.Socket, since: number, waitMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), waitMs);
    c.on('error', () => undefined);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - since);
    });
  });
}

describe('DNS over TCP (RFC 7766)', function () {
  this.timeout(30_000);
  let server: RunningServer;

  before(async () => {
    server = await startServer([
      '--workers', '1', '--listen', '127.0.0.1',
      '--zone', `example.com.=${FIX}example.com.zone`,
      '--tcp-idle-timeout', '1', '--tcp-message-timeout', '0.5', '--tcp-max-connections', '4',
    ]);
  });
  after(() => server?.kill());

  it('answers many pipelined queries on one connection, each with its ID', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => 1000 + i);
    const bytes = Buffer.concat(ids.map((id) => frame(buildQuery(id % 2 ? 'www.example.com' : 'huge.example.com', 'TXT', 'IN', { id }))));
    const { replies } = await tcpExchange(bytes, server.port, ids.length);
    expect(replies.map((r) => decodeReply(r).id).sort()).to.deep.equal(ids);
    const huge = decodeReply(replies.find((r) => decodeReply(r).id === 1000)!);
    expect(huge.flag_tc).to.equal(false);
    expect(huge.answers).to.have.length(7);
  });

  it('reassembles a frame split across reads, byte by byte', async () => {
    const c = await connect(server.port);
    const msg = frame(buildQuery('www.example.com', 'A', 'IN', { id: 77 }));
    const reply = new Promise<Buffer>((resolve) => c.once('data', resolve));
    for (const byte of msg) {
      c.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 5));
    }
    const data = await reply;
    c.destroy();
    expect(decodeReply(data.subarray(2)).id).to.equal(77);
  });

  it('a frame shorter than a header closes the connection', async () => {
    const { replies, closed } = await tcpExchange(Buffer.from([0, 5, 1, 2, 3, 4, 5]), server.port, 1);
    expect(replies).to.have.length(0);
    expect(closed).to.equal(true);
  });

  it('a response sent as a query closes the connection', async () => {
    const q = buildQuery('www.example.com', 'A', 'IN', { id: 5 });
    q[2] = q[2]! | 0x80;
    const { replies, closed } = await tcpExchange(frame(q), server.port, 1);
    expect(replies).to.have.length(0);
    expect(closed).to.equal(true);
  });

  it('an idle connection is closed after the idle timeout', async () => {
    const c = await connect(server.port);
    const ms = await closedAfter(c, Date.now(), 5000);
    expect(ms).to.be.a('number').within(800, 3000);
  });

  it('a message begun but not finished is cut off after the message timeout, even while bytes trickle', async () => {
    const c = await connect(server.port);
    const start = Date.now();
    const closed = closedAfter(c, start, 5000);
    const msg = frame(buildQuery('www.example.com', 'A'));
    let i = 0;
    const trickle = setInterval(() => !c.destroyed && i < msg.length - 1 && c.write(Buffer.from([msg[i++]!])), 100);
    const ms = await closed;
    clearInterval(trickle);
    expect(ms).to.be.a('number').within(300, 1500);
  });

  it('at the connection cap, the longest idle connection is closed to admit a new one (RFC 7766 §6.2.3)', async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < 4; i++) held.push(await connect(server.port));
    const firstClosed = closedAfter(held[0]!, Date.now(), 1500);
    const othersClosed = Promise.all(held.slice(1).map((c) => closedAfter(c, Date.now(), 300)));
    // A fifth client: at the cap of 4, the longest idle (the first) makes room, and the fifth is answered.
    const { replies, closed } = await tcpExchange(frame(buildQuery('www.example.com', 'A', 'IN', { id: 9 })), server.port, 1);
    expect(replies, 'replies to the fifth client').to.have.length(1);
    expect(decodeReply(replies[0]!).id).to.equal(9);
    expect(closed).to.equal(false);
    expect(await firstClosed, 'the longest idle connection').to.be.a('number');
    expect(await othersClosed, 'the other idle connections').to.deep.equal([null, null, null]);
    for (const c of held) c.destroy();
  });

  it('a client pipelining without pause, every read ending mid-message, is not cut by the message timeout', async () => {
    // Each write finishes one query and begins the next, for three message timeouts: the stream is never
    // between messages, yet every message arrives whole within 100 ms of its first octet.
    const ids = Array.from({ length: 16 }, (_, i) => 2000 + i);
    const stream = Buffer.concat(ids.map((id) => frame(buildQuery('www.example.com', 'A', 'IN', { id }))));
    const step = stream.length / ids.length;
    const c = await connect(server.port);
    const got: number[] = [];
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        got.push(decodeReply(buf.subarray(2, 2 + buf.readUInt16BE(0))).id!);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    const closed = closedAfter(c, Date.now(), 2500);
    const cuts = [0, ...ids.slice(1).map((_, k) => (k + 1) * step + 10), stream.length];
    for (let k = 0; k + 1 < cuts.length; k++) {
      c.write(stream.subarray(cuts[k], cuts[k + 1]));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await closed, 'closed by the server').to.equal(null);
    c.destroy();
    expect(got).to.deep.equal(ids);
  });

  it('a client that resets mid-conversation does not disturb the worker', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await connect(server.port);
      c.write(frame(buildQuery('huge.example.com', 'TXT')).subarray(0, 10));
      c.resetAndDestroy();
    }
    const { replies } = await tcpExchange(frame(buildQuery('www.example.com', 'A', 'IN', { id: 10 })), server.port, 1);
    expect(decodeReply(replies[0]!).id).to.equal(10);
    expect(server.stdout() + server.stderr()).to.not.match(/exited unexpectedly|internal error/);
  });
});
