import { expect } from 'chai';
import net from 'node:net';
import { openReusePortSocket } from '../../../src/net/reuseport.js';
import { serveTcp, type TcpEndpoint, type TcpReply } from '../../../src/net/tcp.js';
import { MessageRing } from '../../../src/xfr/ring.js';
import { MAX_FRAME, streamOf, type ReplyStream } from '../../../src/xfr/stream.js';
import { buildQuery, frame } from '../../helpers/dns-client.js';
import { freePort, until } from '../../helpers/server.js';

/** A reply message: a header with this ID and QR, then `body` octets of padding. */
function message(id: number, body: number): Buffer {
  const m = Buffer.alloc(12 + body, 0x61);
  m.writeUInt16BE(id, 0);
  m.writeUInt16BE(0x8000, 2);
  m.fill(0, 4, 12);
  return m;
}

describe('TCP engine: a reply that is a stream of messages (a zone transfer)', function () {
  this.timeout(20_000);
  let endpoint: TcpEndpoint | null = null;
  let port: number;
  /** What the handler answers a query with the ID it is given. */
  let replyFor: (id: number) => TcpReply;

  beforeEach(async () => {
    port = await freePort();
    const opened = openReusePortSocket({ address: '127.0.0.1', port, transport: 'tcp' });
    if (!opened.ok) throw new Error(opened.error.describe());
    endpoint = await serveTcp(opened.socket, (msg) => replyFor(msg.readUInt16BE(0)), { idleTimeoutMs: 2000, messageTimeoutMs: 1000, maxConnections: 16, maxPerClient: 16 });
  });
  afterEach(async () => {
    await endpoint?.close(100);
    endpoint = null;
  });

  /** Sends `bytes` and collects the framed replies until `count` came (or the connection closed); `read: false` stops reading. */
  function exchange(bytes: Buffer, count: number): Promise<{ replies: Buffer[]; closed: boolean; conn: net.Socket }> {
    return new Promise((resolve) => {
      const replies: Buffer[] = [];
      let buf = Buffer.alloc(0);
      const conn = net.connect({ port, host: '127.0.0.1' }, () => conn.write(bytes));
      const done = (closed: boolean): void => resolve({ replies, closed, conn });
      conn.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (replies.length >= count) done(false);
      });
      conn.on('close', () => done(true));
      conn.on('error', () => undefined);
    });
  }

  it('sends every message in order; a query pipelined behind the transfer is answered after it, not in between', async () => {
    let closed = 0;
    replyFor = (id) => (id === 1 ? streamOf([message(1, 16000), message(1, 16000), message(1, 16000), message(1, 10)], () => closed++) : message(id, 5));
    const r = await exchange(Buffer.concat([frame(buildQuery('a.test', 'AXFR', 'IN', { id: 1 })), frame(buildQuery('b.test', 'A', 'IN', { id: 2 }))]), 5);
    r.conn.destroy();
    expect(r.replies.map((m) => [m.readUInt16BE(0), m.length])).to.deep.equal([[1, 16012], [1, 16012], [1, 16012], [1, 22], [2, 17]]);
    expect(closed).to.equal(1);
  });

  it('makes messages only as the client takes them (a client that stops reading does not make us buffer the zone)', async () => {
    let made = 0;
    const stream: ReplyStream = { next: () => (made++ < 100_000 ? message(1, 16000) : null), close: () => undefined };
    replyFor = () => stream;
    const conn = net.connect({ port, host: '127.0.0.1' }, () => conn.write(frame(buildQuery('a.test', 'AXFR', 'IN', { id: 1 }))));
    conn.pause();
    await new Promise((r) => setTimeout(r, 500));
    // The kernel's buffers and our 256 KiB hold a few hundred messages at most, not 100,000.
    expect(made).to.be.greaterThan(0).and.lessThan(2000);
    conn.destroy();
  });

  it('a connection closed in the middle lets the stream go (close() called: the image hold is released)', async () => {
    let closed = 0;
    const stream: ReplyStream = { next: () => message(1, 16000), close: () => closed++ };
    replyFor = () => stream;
    const r = await exchange(frame(buildQuery('a.test', 'AXFR', 'IN', { id: 1 })), 3);
    r.conn.destroy();
    expect(await until(() => closed === 1, 3000, 20)).to.equal(true);
  });

  it('a stream that throws cuts the transfer off: the connection is closed, the stream let go', async () => {
    let closed = 0;
    let n = 0;
    replyFor = () => ({
      next: () => {
        if (++n > 2) throw new Error('a bug');
        return message(1, 100);
      },
      close: () => closed++,
    });
    const r = await exchange(frame(buildQuery('a.test', 'AXFR', 'IN', { id: 1 })), 10);
    expect(r.closed).to.equal(true);
    expect(r.replies).to.have.length(2);
    expect(await until(() => closed === 1, 3000, 20)).to.equal(true);
  });

  it('messages made into a ring the stream reuses reach a client that stops reading and resumes intact: nothing unsent is written over', async () => {
    // A ring of four frames: the engine may keep less than two frames unsent (not its usual 256 KiB), or a message changes before it is sent.
    const ring = new MessageRing(4 * MAX_FRAME);
    const total = 2000;
    let made = 0;
    const stream: ReplyStream = {
      reuseAfter: ring.reuseAfter,
      next: () => {
        if (made >= total) return null;
        const i = made++;
        const length = 12 + 16000;
        const at = ring.place(length);
        const m = ring.bytes.subarray(at, at + length);
        // Each message says which it is, in its header and in every octet of its body.
        m.fill(i & 0xff);
        m.writeUInt16BE(1, 0);
        m.writeUInt16BE(0x8000, 2);
        m.writeUInt32BE(i, 4);
        m.writeUInt32BE(0, 8);
        return m;
      },
      close: () => undefined,
    };
    replyFor = () => stream;
    const got: Buffer[] = [];
    await new Promise<void>((resolve) => {
      let buf = Buffer.alloc(0);
      const conn = net.connect({ port, host: '127.0.0.1' }, () => conn.write(frame(buildQuery('a.test', 'AXFR', 'IN', { id: 1 }))));
      // 32 MB: more than the kernel's buffers hold, so the engine's own queue fills while the client is not reading.
      conn.pause();
      setTimeout(() => conn.resume(), 700);
      conn.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length >= total) {
          conn.destroy();
          resolve();
        }
      });
      conn.on('close', () => resolve());
      conn.on('error', () => undefined);
    });
    expect(got).to.have.length(total);
    const wrong = got.findIndex((m, i) => m.length !== 16012 || m.readUInt32BE(4) !== i || m.subarray(12).some((o) => o !== (i & 0xff)));
    expect(wrong, wrong < 0 ? '' : `message ${wrong} is not as it was made (its memory written over before it was sent)`).to.equal(-1);
  });

  it('a stream that says its messages are in a ring but gives one with no room for the length cuts its transfer off, and the engine serves on', async () => {
    let closed = 0;
    // Buffer.alloc: a buffer of its own, starting at offset 0 (no two octets before it).
    replyFor = (id) => (id === 1 ? { reuseAfter: 1 << 20, next: () => message(1, 100), close: () => closed++ } : message(id, 5));
    const r = await exchange(frame(buildQuery('a.test', 'AXFR', 'IN', { id: 1 })), 1);
    expect(r.closed).to.equal(true);
    expect(r.replies).to.have.length(0);
    expect(await until(() => closed === 1, 3000, 20)).to.equal(true);
    const next = await exchange(frame(buildQuery('b.test', 'A', 'IN', { id: 2 })), 1);
    next.conn.destroy();
    expect(next.replies.map((m) => m.readUInt16BE(0))).to.deep.equal([2]);
  });
});
