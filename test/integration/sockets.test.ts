/**
 * Sockets that outlive workers: the supervisor binds every worker slot's
 * UDP and TCP sockets and holds them for the server's life, so what the
 * kernel queued for a worker that is killed or stalls is answered by its
 * replacement, and a client keeps its slot across the restart.
 */

import { expect } from 'chai';
import dgram from 'node:dgram';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { buildQuery, decodeReply, frame, txtOf } from '../helpers/dns-client.js';
import { alive, startServer, until, type RunningServer, workerPids } from '../helpers/server.js';

/** `worker-1 pid 4242 host …` → slot 1, pid 4242. */
function whoFrom(reply: Buffer): { slot: number; pid: number } {
  const text = txtOf(decodeReply(reply) as never) ?? '';
  const m = /^worker-(\d+) pid (\d+) host /.exec(text);
  if (!m) throw new Error(`unexpected id.server answer "${text}"`);
  return { slot: Number(m[1]), pid: Number(m[2]) };
}

/** A UDP client on one fixed source port (so the kernel's hash sends it to one slot), matching replies by ID. */
class PinnedClient {
  private readonly waiting = new Map<number, (b: Buffer) => void>();
  private nextId = 1;
  private constructor(
    private readonly sock: dgram.Socket,
    private readonly serverPort: number,
  ) {
    sock.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      this.waiting.get(id)?.(msg);
      this.waiting.delete(id);
    });
  }

  static open(serverPort: number): Promise<PinnedClient> {
    const sock = dgram.createSocket('udp4');
    return new Promise((resolve) => sock.bind(0, '127.0.0.1', () => resolve(new PinnedClient(sock, serverPort))));
  }

  /** Sends CH TXT id.server now; the promise is the reply, or null after `timeoutMs`. */
  ask(timeoutMs: number): Promise<Buffer | null> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(id, (b) => {
        clearTimeout(timer);
        resolve(b);
      });
      this.sock.send(buildQuery('id.server', 'TXT', 'CH', { id }), this.serverPort, '127.0.0.1');
    });
  }

  close(): void {
    this.sock.close();
  }
}

/** Opens `n` pinned clients and learns which slot each one's source port hashes to. */
async function pinnedClients(port: number, n: number): Promise<{ client: PinnedClient; slot: number }[]> {
  const out: { client: PinnedClient; slot: number }[] = [];
  for (let i = 0; i < n; i++) {
    const client = await PinnedClient.open(port);
    const reply = await client.ask(2000);
    if (reply === null) throw new Error('no answer to id.server');
    out.push({ client, slot: whoFrom(reply).slot });
  }
  return out;
}

/** Socket inodes listening on `port` (UDP bound, TCP in LISTEN), from /proc/net. */
function listeningInodes(port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const [file, listenState] of [['udp', '07'], ['udp6', '07'], ['tcp', '0A'], ['tcp6', '0A']] as const) {
    for (const line of readFileSync(`/proc/net/${file}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (f[1]!.endsWith(`:${hexPort}`) && f[3] === listenState) inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** Socket inodes a process holds open. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Sends one query over a new TCP connection; resolves with the reply, or null when the connection failed or timed out. */
function tcpAsk(port: number, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const conn = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const done = (r: Buffer | null): void => {
      clearTimeout(timer);
      conn.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    conn.on('connect', () => conn.write(frame(buildQuery('id.server', 'TXT', 'CH'))));
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    conn.on('error', () => done(null));
    conn.on('close', () => done(null));
  });
}

describe('sockets that outlive workers', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let clients: { client: PinnedClient; slot: number }[] = [];

  before(async () => {
    // --worker-timeout 2: short, yet long enough for a worker's start on a loaded machine.
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--worker-timeout', '2', '--forward', 'none']);
    clients = await pinnedClients(server.port, 24);
    expect(new Set(clients.map((c) => c.slot)).size, 'both slots get clients').to.equal(2);
  });
  after(() => {
    for (const c of clients) c.client.close();
    server?.kill();
  });

  /** The worker process serving `slot` now. */
  async function pidOf(slot: number): Promise<number> {
    const c = clients.find((x) => x.slot === slot)!;
    const reply = await c.client.ask(3000);
    if (reply === null) throw new Error(`slot ${slot} does not answer`);
    return whoFrom(reply).pid;
  }

  it('the supervisor binds and holds every listening socket; each worker holds its own slot\'s pair', () => {
    const listening = listeningInodes(server.port);
    expect(listening.size, 'one UDP and one TCP socket per worker').to.equal(4);
    const supervisor = socketInodes(server.proc.pid!);
    expect([...listening].filter((i) => !supervisor.has(i)), 'listening sockets the supervisor does not hold').to.deep.equal([]);
    const workers = workerPids(server.proc.pid!);
    expect(workers).to.have.length(2);
    const held = workers.map((w) => [...socketInodes(w)].filter((i) => listening.has(i)));
    for (const h of held) expect(h, 'each worker holds a UDP and a TCP listening socket').to.have.length(2);
    expect(new Set(held.flat()).size, 'no two workers hold the same socket').to.equal(4);
  });

  it('kill -9 of a worker: the queries queued on its socket are answered by its replacement, and its clients keep the slot', async () => {
    const slot = clients[0]!.slot;
    const victim = await pidOf(slot);
    const mine = clients.filter((c) => c.slot === slot);
    const since = server.mark();
    // Stopped, it reads nothing: what is sent now waits in the slot's socket.
    process.kill(victim, 'SIGSTOP');
    const asked = mine.flatMap((c) => [c.client.ask(10_000), c.client.ask(10_000), c.client.ask(10_000)]);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(victim, 'SIGKILL');
    const replies = await Promise.all(asked);
    expect(replies.filter((r) => r === null).length, `queries lost of ${replies.length}; server said:\n${server.output().slice(since)}`).to.equal(0);
    const answeredBy = new Set(replies.map((r) => JSON.stringify(whoFrom(r!))));
    expect([...answeredBy].map((j) => JSON.parse(j) as { slot: number; pid: number })).to.satisfy((all: { slot: number; pid: number }[]) => all.every((w) => w.slot === slot && w.pid !== victim));
    expect(await until(() => !alive(victim))).to.equal(true);
    // The same source ports still hash to the same slot: its socket never left the group.
    for (const c of mine) {
      const again = await c.client.ask(3000);
      expect(again, 'a client of the slot is answered after the restart').to.not.equal(null);
      expect(whoFrom(again!).slot).to.equal(slot);
    }
  });

  it('a stalled worker (SIGSTOP, --worker-timeout 2): what queued while it hung is answered once it is replaced', async () => {
    const slot = clients.find((c) => c.slot !== clients[0]!.slot)!.slot;
    const victim = await pidOf(slot);
    const mine = clients.filter((c) => c.slot === slot);
    const since = server.mark();
    process.kill(victim, 'SIGSTOP');
    const asked = mine.flatMap((c) => [c.client.ask(10_000), c.client.ask(10_000)]);
    await server.waitFor(new RegExp(`worker ${slot} \\(pid ${victim}\\) has not answered for [\\d.]+s; killing it`), 8000, since);
    const replies = await Promise.all(asked);
    expect(replies.filter((r) => r === null).length, `queries lost of ${replies.length}`).to.equal(0);
    for (const r of replies) expect(whoFrom(r!)).to.satisfy((w: { slot: number; pid: number }) => w.slot === slot && w.pid !== victim);
  });

  it('TCP: connections waiting in a dead worker\'s accept queue are accepted and answered by its replacement', async () => {
    const victims = await Promise.all([0, 1].map((s) => pidOf(s)));
    // Both workers stopped: every connection now waits in some slot's accept queue.
    for (const v of victims) process.kill(v, 'SIGSTOP');
    const asked = Array.from({ length: 12 }, () => tcpAsk(server.port, 10_000));
    await new Promise((r) => setTimeout(r, 300));
    for (const v of victims) process.kill(v, 'SIGKILL');
    const replies = await Promise.all(asked);
    expect(replies.filter((r) => r === null).length, `connections lost of ${replies.length}`).to.equal(0);
    for (const r of replies) expect(victims).to.not.include(whoFrom(r!).pid);
  });
});

describe('heartbeats while a worker starts', function () {
  this.timeout(60_000);

  it('--worker-timeout 0.1: workers still start (Node loading one is no missed heartbeat); one that stalls once serving is replaced', async () => {
    const server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--worker-timeout', '0.1', '--forward', 'none']);
    try {
      expect(server.stdout() + server.stderr()).to.not.match(/has not answered/);
      const [victim] = workerPids(server.proc.pid!);
      const since = server.mark();
      process.kill(victim!, 'SIGSTOP');
      await server.waitFor(new RegExp(`\\(pid ${victim}\\) has not answered for [\\d.]+s; killing it`), 5000, since);
      await server.waitFor(/ready again/, 15_000, since);
    } finally {
      server.kill();
    }
  });
});
