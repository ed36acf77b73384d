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

  it('connections beyond the cap are closed at once; the others keep working', async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => connect(server.port)));
    const extra = await connect(server.port);
    const ms = await closedAfter(extra, Date.now(), 800);
    for (const c of held) c.destroy();
    expect(ms).to.be.a('number').below(800);
    await new Promise((r) => setTimeout(r, 100));
    const { replies } = await tcpExchange(frame(buildQuery('www.example.com', 'A', 'IN', { id: 9 })), server.port, 1);
    expect(decodeReply(replies[0]!).id).to.equal(9);
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
