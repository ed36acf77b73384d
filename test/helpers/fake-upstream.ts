/** A scripted upstream resolver for forwarding tests: counts queries, answers as told, misbehaves on purpose. */

import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';

/** What to do with one query. */
export type Behaviour =
  | { kind: 'answer'; answers?: Answer[]; authorities?: Answer[]; rcode?: number; delayMs?: number; tcOverUdp?: boolean }
  | { kind: 'silent' }
  /** Reply with these bytes (the query's ID is written into them). */
  | { kind: 'raw'; bytes: Buffer }
  /** Send a forged reply (wrong ID, or from another port) first, then the real one after delayMs. */
  | { kind: 'forged-then-real'; forge: 'id' | 'port'; forged: Answer[]; real: Answer[]; delayMs: number };

/** A running fake upstream. */
export interface FakeUpstream {
  address: string;
  port: number;
  /** Queries received, by transport. */
  udpQueries: number;
  tcpQueries: number;
  /** Questions seen, `name TYPE`. */
  seen: string[];
  close(): Promise<void>;
}

function replyTo(q: Packet, b: { answers?: Answer[]; authorities?: Answer[]; rcode?: number }, opts: { id?: number; tc?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: opts.id ?? q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (opts.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | (b.rcode ?? 0),
    questions: q.questions,
    answers: opts.tc ? [] : (b.answers ?? []),
    authorities: opts.tc ? [] : (b.authorities ?? []),
  });
}

/** Starts a fake upstream on address:port (UDP and TCP); `behave` decides per query. */
export async function startFakeUpstream(address: string, port: number, behave: (q: Packet) => Behaviour): Promise<FakeUpstream> {
  const udp = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const other = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const state: FakeUpstream = {
    address,
    port,
    udpQueries: 0,
    tcpQueries: 0,
    seen: [],
    close: () =>
      new Promise((resolve) => {
        tcp.close();
        other.close();
        udp.close(() => resolve());
      }),
  };
  udp.on('message', (msg, rinfo) => {
    let q: Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    state.udpQueries++;
    state.seen.push(`${q.questions?.[0]?.name} ${q.questions?.[0]?.type}`);
    const b = behave(q);
    const send = (bytes: Buffer, from = udp): void => void from.send(bytes, rinfo.port, rinfo.address);
    if (b.kind === 'silent') return;
    if (b.kind === 'raw') {
      const bytes = Buffer.from(b.bytes);
      bytes.writeUInt16BE(q.id ?? 0, 0);
      send(bytes);
      return;
    }
    if (b.kind === 'answer') {
      setTimeout(() => send(replyTo(q, b, { tc: b.tcOverUdp })), b.delayMs ?? 0);
      return;
    }
    if (b.forge === 'id') send(replyTo(q, { answers: b.forged }, { id: (q.id! + 1) % 65536 }));
    else send(replyTo(q, { answers: b.forged }), other);
    setTimeout(() => send(replyTo(q, { answers: b.real })), b.delayMs);
  });
  const tcp = net.createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('error', () => undefined);
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        state.tcpQueries++;
        const b = behave(q);
        if (b.kind === 'answer') conn.write(dnsPacket.streamEncode(dnsPacket.decode(replyTo(q, b))));
      }
    });
  });
  await new Promise<void>((resolve) => udp.bind(port, address, () => resolve()));
  await new Promise<void>((resolve) => other.bind(0, address, () => resolve()));
  await new Promise<void>((resolve) => tcp.listen(port, address, () => resolve()));
  return state;
}

/** An A record for tests. */
export function a(name: string, address: string, ttl = 300): Answer {
  return { name, type: 'A', class: 'IN', ttl, data: address } as Answer;
}

/** An SOA record for negative answers. */
export function soa(zone: string, ttl: number, minimum: number): Answer {
  return { name: zone, type: 'SOA', class: 'IN', ttl, data: { mname: `ns.${zone}`, rname: `host.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum } } as Answer;
}
