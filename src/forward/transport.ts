/** One exchange with an upstream over UDP or TCP, accepting only the reply that matches (RFC 5452 §9.1). */

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import type { Upstream } from './upstreams.js';

/** What we ask an upstream. */
export interface UpstreamQuestion {
  name: string;
  type: string;
  klass: string;
  dnssecOk: boolean;
  checkingDisabled: boolean;
}

/** The outcome of one attempt. */
export type Exchange =
  | { kind: 'reply'; packet: Packet & { rcode?: string }; ms: number }
  | { kind: 'truncated'; ms: number }
  | { kind: 'timeout' }
  | { kind: 'error'; message: string };

/** Our EDNS size towards upstreams (the 2020 flag day value). */
const UPSTREAM_UDP_SIZE = 1232;

/** The query message, with a fresh random ID (RFC 5452 §4.3). */
function queryFor(q: UpstreamQuestion): { id: number; bytes: Buffer } {
  const id = randomInt(65536);
  const bytes = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED | (q.checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name: q.name, type: q.type as 'A', class: q.klass as 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: UPSTREAM_UDP_SIZE, flags: q.dnssecOk ? dnsPacket.DNSSEC_OK : 0, options: [] } as never],
  });
  return { id, bytes };
}

/** Is this message the reply to our query: a response, our ID, our question (RFC 5452 §9.1)? */
function matches(msg: Buffer, id: number, q: UpstreamQuestion): (Packet & { rcode?: string; flag_tc?: boolean }) | null {
  try {
    const p = dnsPacket.decode(msg) as Packet & { rcode?: string; flag_tc?: boolean };
    const question = p.questions?.[0];
    if (p.type !== 'response' || p.id !== id || p.questions?.length !== 1 || !question) return null;
    if (question.name.toLowerCase() !== q.name.toLowerCase() || question.type !== q.type || question.class !== q.klass) return null;
    return p;
  } catch {
    return null;
  }
}

/**
 * Asks one upstream over UDP from a new socket (a fresh random source port
 * per query, RFC 5452 §4.5). Datagrams from another address or port, with
 * another ID or question, are ignored and the wait goes on until `timeoutMs`.
 */
export function exchangeUdp(u: Upstream, q: UpstreamQuestion, timeoutMs: number): Promise<Exchange> {
  const { id, bytes } = queryFor(q);
  const started = Date.now();
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(u.address) ? 'udp6' : 'udp4');
    const done = (e: Exchange): void => {
      clearTimeout(timer);
      sock.close();
      resolve(e);
    };
    const timer = setTimeout(() => done({ kind: 'timeout' }), timeoutMs);
    sock.on('error', (err) => done({ kind: 'error', message: err.message }));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== u.port || !sameAddress(rinfo.address, u.address)) return;
      const p = matches(msg, id, q);
      if (!p) return;
      const ms = Date.now() - started;
      done(p.flag_tc ? { kind: 'truncated', ms } : { kind: 'reply', packet: p, ms });
    });
    sock.send(bytes, u.port, u.address, (err) => err && done({ kind: 'error', message: err.message }));
  });
}

/** Asks one upstream over TCP (after a truncated UDP reply, RFC 7766 §5). */
export function exchangeTcp(u: Upstream, q: UpstreamQuestion, timeoutMs: number): Promise<Exchange> {
  const { id, bytes } = queryFor(q);
  const started = Date.now();
  return new Promise((resolve) => {
    const conn = net.connect({ host: u.address, port: u.port });
    let buf = Buffer.alloc(0);
    const done = (e: Exchange): void => {
      clearTimeout(timer);
      conn.destroy();
      resolve(e);
    };
    const timer = setTimeout(() => done({ kind: 'timeout' }), timeoutMs);
    conn.on('error', (err) => done({ kind: 'error', message: err.message }));
    conn.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(bytes.length);
      conn.write(Buffer.concat([len, bytes]));
    });
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const p = matches(msg, id, q);
        if (p) return done({ kind: 'reply', packet: p, ms: Date.now() - started });
      }
    });
    conn.on('close', () => done({ kind: 'error', message: 'connection closed before a reply' }));
  });
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase() || a.toLowerCase() === `::ffff:${b}`;
}
