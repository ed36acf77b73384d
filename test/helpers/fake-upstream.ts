/** A scripted upstream resolver for forwarding tests: counts queries, answers as told, misbehaves on purpose. */

import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { questionEnd } from '../../src/dns/header.js';

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
  /** Questions seen, `name TYPE` (names as dns-packet reads them). */
  seen: string[];
  /** The question section of each query as received, octet for octet (name, type, class). */
  asked: Buffer[];
  close(): Promise<void>;
}

/** The question section of a query as it came (empty when it has none that reads). */
function questionOctets(raw: Buffer): Buffer {
  const end = raw.readUInt16BE(4) === 1 ? questionEnd(raw) : -1;
  return end < 0 ? Buffer.alloc(0) : Buffer.from(raw.subarray(12, end));
}

/** A reply whose question is the query's, octet for octet, as a real server echoes it (dns-packet's strings would lose octets). */
function replyTo(q: Packet, raw: Buffer, b: { answers?: Answer[]; authorities?: Answer[]; rcode?: number }, opts: { id?: number; tc?: boolean } = {}): Buffer {
  const encoded = dnsPacket.encode({
    type: 'response',
    id: opts.id ?? q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (opts.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | (b.rcode ?? 0),
    questions: [],
    answers: opts.tc ? [] : (b.answers ?? []),
    authorities: opts.tc ? [] : (b.authorities ?? []),
  });
  const question = questionOctets(raw);
  const out = Buffer.concat([encoded.subarray(0, 12), question, encoded.subarray(12)]);
  out.writeUInt16BE(question.length > 0 ? 1 : 0, 4);
  return out;
}

/**
 * The reply to `raw` with one A record for its question: the question
 * echoed as it came and the record's owner a compression pointer to it
 * (RFC 1035 §4.1.4), so the owner is the asked name octet for octet.
 */
export function addressReply(raw: Buffer, address: string, ttl = 300): Buffer {
  const question = questionOctets(raw);
  const out = Buffer.alloc(12 + question.length + 16);
  raw.copy(out, 0, 0, 4);
  out[2] = 0x80 | (raw[2]! & 0x79);
  out[3] = 0x80;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 6);
  question.copy(out, 12);
  let at = 12 + question.length;
  out.writeUInt16BE(0xc00c, at);
  out.writeUInt16BE(1, at + 2);
  out.writeUInt16BE(1, at + 4);
  out.writeUInt32BE(ttl, at + 6);
  out.writeUInt16BE(4, at + 10);
  at += 12;
  for (const part of address.split('.')) out[at++] = Number(part);
  return out;
}

/** Starts a fake upstream on address:port (UDP and TCP); `behave` decides per query (`raw`: the query's octets). */
export async function startFakeUpstream(address: string, port: number, behave: (q: Packet, raw: Buffer) => Behaviour): Promise<FakeUpstream> {
  const udp = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const other = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const state: FakeUpstream = {
    address,
    port,
    udpQueries: 0,
    tcpQueries: 0,
    seen: [],
    asked: [],
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
    state.asked.push(questionOctets(msg));
    const b = behave(q, msg);
    const send = (bytes: Buffer, from = udp): void => void from.send(bytes, rinfo.port, rinfo.address);
    if (b.kind === 'silent') return;
    if (b.kind === 'raw') {
      const bytes = Buffer.from(b.bytes);
      bytes.writeUInt16BE(q.id ?? 0, 0);
      send(bytes);
      return;
    }
    if (b.kind === 'answer') {
      setTimeout(() => send(replyTo(q, msg, b, { tc: b.tcOverUdp })), b.delayMs ?? 0);
      return;
    }
    if (b.forge === 'id') send(replyTo(q, msg, { answers: b.forged }, { id: (q.id! + 1) % 65536 }));
    else send(replyTo(q, msg, { answers: b.forged }), other);
    setTimeout(() => send(replyTo(q, msg, { answers: b.real })), b.delayMs);
  });
  const tcp = net.createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('error', () => undefined);
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const raw = Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        const q = dnsPacket.decode(raw);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        state.tcpQueries++;
        state.asked.push(questionOctets(raw));
        const b = behave(q, raw);
        if (b.kind !== 'answer') continue;
        const reply = replyTo(q, raw, b);
        const length = Buffer.alloc(2);
        length.writeUInt16BE(reply.length);
        conn.write(Buffer.concat([length, reply]));
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
