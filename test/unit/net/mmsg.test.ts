/** serveUdpMmsg over real loopback sockets: the in-place path, sends that stop short or are refused (a fake sendmmsg), late replies at shutdown. */

import { expect } from 'chai';
import dgram from 'node:dgram';
import { serveUdpMmsg, MMSG_DEFAULTS, type MmsgStats } from '../../../src/net/mmsg.js';
import { openReusePortSocket, type OpenSocket } from '../../../src/net/reuseport.js';
import { sockaddrText } from '../../../src/net/sockaddr.js';
import type { InPlaceHandler, MessageHandler, UdpEndpoint } from '../../../src/net/udp.js';
import { ERRNO } from '../../../src/sys/libc.js';
import { FakeLibc, type Refuse } from '../../helpers/fake-libc.js';
import { freePort, until } from '../../helpers/server.js';
import { udpExchange } from '../../helpers/dns-client.js';

describe('serveUdpMmsg: the in-place (reply cache) path', () => {
  it('writes in-place replies to the sender, hands -1 to the full handler, and survives an in-place handler that throws', async () => {
    const port = await freePort();
    const opened = openReusePortSocket({ address: '127.0.0.1', port, transport: 'udp' });
    if (!opened.ok) throw opened.error;
    const errors: string[] = [];
    const peers: string[] = [];
    // First octet of the datagram says what the in-place handler does: 1 answer, 2 decline, 3 throw.
    const inPlace: InPlaceHandler = (q, qOff, qLen, peer, peerOff, out, outOff, cap) => {
      peers.push(sockaddrText(peer, peerOff));
      if (q[qOff] === 3) throw new Error('bug in the hit path');
      if (q[qOff] !== 1 || cap < qLen + 1) return -1;
      out[outOff] = 0x49; // "I": answered in place, then the query echoed
      for (let i = 0; i < qLen; i++) out[outOff + 1 + i] = q[qOff + i]!;
      return qLen + 1;
    };
    const engine = await serveUdpMmsg(opened.socket, (msg) => Buffer.concat([Buffer.from('F'), msg]), (err) => errors.push(err.message), undefined, inPlace);
    try {
      const ask = async (first: number): Promise<string> => {
        const reply = await udpExchange(Buffer.from([first, 0x61, 0x62]), port);
        return reply === null ? 'none' : `${String.fromCharCode(reply[0]!)}${reply.subarray(1).toString('hex')}`;
      };
      expect(await ask(1)).to.equal('I016162');
      expect(await ask(2)).to.equal('F026162');
      expect(await ask(3)).to.equal('F036162');
      expect(errors).to.deep.equal(['bug in the hit path']);
      expect(await ask(1)).to.equal('I016162'); // and it answers on
      expect(peers.every((p) => p === '127.0.0.1')).to.equal(true);
      expect(engine.stats.sent).to.equal(4);
    } finally {
      await engine.close(100);
    }
  });
});

/** A client socket on loopback that keeps what arrives, in order. */
interface Client {
  name: string;
  sock: dgram.Socket;
  /** `127.0.0.1:40000`, as the fake names a destination. */
  endpoint: string;
  got: string[];
}

async function client(name: string, host: string): Promise<Client> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => sock.bind(0, host, resolve));
  const port = sock.address().port;
  const c: Client = { name, sock, endpoint: host.includes(':') ? `[0:0:0:0:0:0:0:1]:${port}` : `${host}:${port}`, got: [] };
  sock.on('message', (m) => c.got.push(m.toString()));
  return c;
}

/** Opens the engine's socket on a free port (the engine itself starts later). */
async function listen(host: string, fake: FakeLibc): Promise<{ sock: OpenSocket; port: number }> {
  const port = await freePort();
  const opened = openReusePortSocket({ address: host, port, transport: 'udp' }, fake);
  if (!opened.ok) throw opened.error;
  return { sock: opened.socket, port };
}

/** Echoes `q` as `r:q`. */
const echo: MessageHandler = (msg) => Buffer.from(`r:${msg.toString()}`);

/** One query: which client (index) asks what. */
type Ask = [number, string];

interface SendCase {
  name: string;
  host: string;
  /** Queries sent together, batch after batch (the first one queued before the engine starts reading). */
  batches: Ask[][];
  shortSends?: number[];
  refuse?: Refuse;
  /** The replies that go out, in order, to whom. */
  sent: Ask[];
  failures: number;
  lastErrno: number;
}

const A = 0;
const B = 1;
const C = 2;

const sendCases: SendCase[] = [
  {
    name: 'a short sendmmsg: the rest goes next, and the next batch sends its own bytes and lengths',
    host: '127.0.0.1',
    batches: [
      [[A, 'q1'], [B, 'q2-longer'], [C, 'q3'], [A, 'q4-much-longer'], [B, 'q5']],
      [[C, 'q6-x'], [A, 'q7'], [B, 'q8-xyz'], [C, 'q9']],
    ],
    shortSends: [2],
    sent: [[A, 'q1'], [B, 'q2-longer'], [C, 'q3'], [A, 'q4-much-longer'], [B, 'q5'], [C, 'q6-x'], [A, 'q7'], [B, 'q8-xyz'], [C, 'q9']],
    failures: 0,
    lastErrno: 0,
  },
  {
    name: 'three short sends in a row, then a batch of two',
    host: '127.0.0.1',
    batches: [
      [[A, 'a'], [B, 'bb'], [C, 'ccc'], [A, 'dddd'], [B, 'eeeee']],
      [[B, 'ff'], [A, 'g']],
    ],
    shortSends: [1, 1, 1],
    sent: [[A, 'a'], [B, 'bb'], [C, 'ccc'], [A, 'dddd'], [B, 'eeeee'], [B, 'ff'], [A, 'g']],
    failures: 0,
    lastErrno: 0,
  },
  {
    name: 'one destination refused (ECONNREFUSED): its replies alone are dropped, the others go out in order',
    host: '127.0.0.1',
    batches: [
      [[A, 'q1'], [B, 'q2'], [C, 'q3'], [A, 'q4'], [B, 'q5'], [C, 'q6']],
      [[B, 'q7'], [A, 'q8']],
    ],
    refuse: (d) => (d.payload.toString().match(/^r:q[257]$/) ? ERRNO.ECONNREFUSED : null),
    sent: [[A, 'q1'], [C, 'q3'], [A, 'q4'], [C, 'q6'], [A, 'q8']],
    failures: 3,
    lastErrno: ERRNO.ECONNREFUSED,
  },
  {
    name: 'EAGAIN on the first entry of a call drops that entry only',
    host: '127.0.0.1',
    batches: [[[A, 'q1'], [B, 'q2'], [C, 'q3']], [[A, 'q4']]],
    refuse: (_d, call, position) => (call === 0 && position === 0 ? ERRNO.EAGAIN : null),
    sent: [[B, 'q2'], [C, 'q3'], [A, 'q4']],
    failures: 1,
    lastErrno: ERRNO.EAGAIN,
  },
  {
    name: 'EMSGSIZE for one reply after a short send, over IPv6',
    host: '::1',
    batches: [
      [[A, 'q1'], [B, 'q2'], [C, 'q3'], [A, 'q4'], [B, 'q5']],
      [[C, 'q6'], [A, 'q7']],
    ],
    shortSends: [2],
    refuse: (d) => (d.payload.toString() === 'r:q4' ? ERRNO.EMSGSIZE : null),
    sent: [[A, 'q1'], [B, 'q2'], [C, 'q3'], [B, 'q5'], [C, 'q6'], [A, 'q7']],
    failures: 1,
    lastErrno: ERRNO.EMSGSIZE,
  },
];

describe('serveUdpMmsg: replies sendmmsg does not take at once (fake sendmmsg, real sockets)', () => {
  for (const t of sendCases) {
    it(t.name, async () => {
      const fake = new FakeLibc();
      fake.shortSends = [...(t.shortSends ?? [])];
      // The closing round-trip ("end") is never refused.
      const refuse = t.refuse;
      if (refuse) fake.refuse = (d, call, position) => (d.payload.toString() === 'r:end' ? null : refuse(d, call, position));
      const clients = await Promise.all(['A', 'B', 'C'].map((name) => client(name, t.host)));
      const { sock, port } = await listen(t.host, fake);
      let engine: (UdpEndpoint & { stats: MmsgStats }) | null = null;
      const errors: string[] = [];
      try {
        // Sent in one go (the datagrams reach the engine's socket before it reads), so a batch is one recvmmsg.
        const sendBatch = (batch: Ask[]): void => {
          for (const [who, text] of batch) clients[who]!.sock.send(text, port, t.host);
        };
        let asked = 0;
        for (const [i, batch] of t.batches.entries()) {
          if (i === 0) {
            await Promise.all(batch.map(([who, text]) => new Promise<void>((resolve) => clients[who]!.sock.send(text, port, t.host, () => resolve()))));
          } else {
            sendBatch(batch);
          }
          engine ??= await serveUdpMmsg(sock, echo, (err) => errors.push(err.message), { ...MMSG_DEFAULTS, libc: fake });
          asked += batch.length;
          const e = engine;
          expect(await until(() => e.stats.received === asked, 3000, 5), `batch ${i + 1} read`).to.equal(true);
        }
        // A last round-trip from each client: anything sent to it before has arrived by then.
        for (const c of clients) {
          c.sock.send('end', port, t.host);
          await until(() => c.got.at(-1) === 'r:end', 2000, 5);
        }

        const expected = (who: number): string[] => [...t.sent.filter(([w]) => w === who).map(([, text]) => `r:${text}`), 'r:end'];
        for (const [who, c] of clients.entries()) expect(c.got, `what client ${c.name} received`).to.deep.equal(expected(who));
        const names = new Map(clients.map((c) => [c.endpoint, c.name]));
        const order = fake.sent.filter((d) => d.payload.toString() !== 'r:end').map((d) => `${names.get(d.to) ?? d.to} ${d.payload.toString()}`);
        expect(order, 'what went out, to whom, in order').to.deep.equal(t.sent.map(([who, text]) => `${clients[who]!.name} r:${text}`));
        expect(engine!.stats.sendFailures, 'replies counted as refused').to.equal(t.failures);
        expect(engine!.stats.lastSendErrno).to.equal(t.lastErrno);
        expect(engine!.stats.sent).to.equal(t.sent.length + clients.length);
        expect(errors).to.deep.equal([]);
      } finally {
        await engine?.close(100);
        for (const c of clients) c.sock.close();
      }
      expect(fake.closed).to.deep.equal([sock.fd]);
      expect(fake.allocated, 'engine memory released').to.equal(0);
    });
  }
});

describe('serveUdpMmsg: shutdown', () => {
  /** An engine whose handler answers later (as a forwarded question is), when the test says. */
  async function lateEngine(fake: FakeLibc): Promise<{ port: number; fd: number; engine: UdpEndpoint & { stats: MmsgStats }; answer: (text: string) => void; errors: string[] }> {
    const { sock, port } = await listen('127.0.0.1', fake);
    const pending: ((b: Buffer) => void)[] = [];
    const errors: string[] = [];
    const engine = await serveUdpMmsg(sock, () => new Promise<Buffer | null>((resolve) => pending.push(resolve)), (err) => errors.push(err.message), { ...MMSG_DEFAULTS, libc: fake });
    return { port, fd: sock.fd, engine, answer: (text) => pending.shift()!(Buffer.from(text)), errors };
  }

  it('a reply handed over after shutdown began, before the socket closes, is sent (as the dgram engine does)', async () => {
    const fake = new FakeLibc();
    const { port, fd, engine, answer, errors } = await lateEngine(fake);
    const c = await client('A', '127.0.0.1');
    try {
      c.sock.send('slow', port, '127.0.0.1');
      expect(await until(() => engine.stats.received === 1, 3000, 5)).to.equal(true);
      let closed = false;
      const closing = engine.close(5000).then(() => (closed = true));
      await new Promise((r) => setImmediate(r));
      expect(closed, 'close waits for the reply still coming').to.equal(false);
      answer('r:slow');
      await closing;
      expect(await until(() => c.got.length === 1, 2000, 5)).to.equal(true);
      expect(c.got).to.deep.equal(['r:slow']);
      expect(engine.stats.sent).to.equal(1);
      expect(errors).to.deep.equal([]);
      expect(fake.closed).to.deep.equal([fd]);
      expect(fake.allocated).to.equal(0);
    } finally {
      c.sock.close();
    }
  });

  it('a reply that comes after the grace period is not sent; the descriptor is closed and the memory released once', async () => {
    const fake = new FakeLibc();
    const { port, fd, engine, answer } = await lateEngine(fake);
    const c = await client('A', '127.0.0.1');
    try {
      c.sock.send('too-slow', port, '127.0.0.1');
      expect(await until(() => engine.stats.received === 1, 3000, 5)).to.equal(true);
      await engine.close(20);
      expect(fake.closed).to.deep.equal([fd]);
      answer('r:too-slow');
      await new Promise((r) => setImmediate(r));
      expect(fake.sendCalls, 'nothing sent on a closed descriptor').to.deep.equal([]);
      expect(fake.closed, 'closed once').to.deep.equal([fd]);
      expect(fake.allocated).to.equal(0);
      await engine.close(20); // a second close does nothing
      expect(fake.closed).to.deep.equal([fd]);
    } finally {
      c.sock.close();
    }
  });
});
