/** One exchange with an upstream over UDP or TCP, accepting only the reply that matches (RFC 5452 §9.1). */

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Packet } from 'dns-packet';
import dnsPacket from '../dns/dns-packet.js';
import { withExactNames } from '../dns/exact-names.js';
import { nameKey } from '../zone/names.js';
import type { Upstream } from './upstreams.js';

/** What we ask an upstream. */
export interface UpstreamQuestion {
  /**
   * The name, a name string without a final dot (src/zone/names.ts: `\.`
   * for a dot inside a label, `\DDD` for other octets): asked upstream
   * octet for octet, as the client asked it (fuzz finding Q2). A plain name
   * is the same text as dns-packet's.
   */
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

/**
 * The query message, with a fresh random ID (RFC 5452 §4.3); also for DNS
 * over TLS (tls.ts). The name is written as the octets its name string
 * stands for (exact-names.ts).
 */
export function queryFor(q: UpstreamQuestion): { id: number; bytes: Buffer } {
  const id = randomInt(65536);
  const bytes = withExactNames(() =>
    dnsPacket.encode({
      type: 'query',
      id,
      // AD=1: a validating upstream then says whether the data is authentic even without DO (RFC 6840 §5.7),
      // for clients that ask with AD. No EDNS option at all: never a client's subnet (RFC 7871 §7.1.2), cookie or padding.
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA | (q.checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0),
      questions: [{ name: q.name, type: q.type as 'A', class: q.klass as 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: UPSTREAM_UDP_SIZE, flags: q.dnssecOk ? dnsPacket.DNSSEC_OK : 0, options: [] } as never],
    }),
  );
  return { id, bytes };
}

/** What a message that came back on an upstream exchange is to us. */
export type ReplyCheck =
  /** The reply to our query. */
  | { kind: 'reply'; packet: Packet & { rcode?: string; flag_tc?: boolean } }
  /** Not the reply to our query (RFC 5452 §9.1: another ID or question, not a response, undecodable): ignored, the wait goes on. */
  | { kind: 'ignored' }
  /** The reply to our query, but with data we could not pass on as the upstream sent it: this attempt fails. */
  | { kind: 'malformed'; reason: string };

const IGNORED: ReplyCheck = { kind: 'ignored' };
/** The fewest octets a question takes (root name, type, class) and a resource record (root owner, type, class, TTL, RDLENGTH). */
const MIN_QUESTION = 5;
const MIN_RECORD = 11;

/**
 * Is this message the reply to our query: a response, our ID, our question
 * (RFC 5452 §9.1; the name's octets compared, ASCII case aside, RFC 4343)?
 * A message whose header counts more questions and records than its octets
 * can hold is ignored before it is decoded: dns-packet allocates per
 * counted record, so 13 octets claiming 65535 of each would cost
 * milliseconds. The reply is decoded with exact names (exact-names.ts):
 * every name in it is a name string standing for the octets the upstream
 * sent, so the client's reply, written back the same way, holds them (a
 * label with a dot in it or octets that are not UTF-8 included). The reply
 * to our query is refused (`malformed`) when it holds an OPT outside the
 * additional section, more than one, or one not owned by the root (RFC 6891
 * §6.1.1), or records dns-packet reads but cannot write back and read
 * again: the client would get a message it cannot parse, or SERVFAIL.
 * `udp`: it came over UDP, where a truncated reply (TC=1) is asked again
 * over TCP (RFC 7766 §5) and its contents are not checked; over TCP and TLS
 * the reply is taken as it is, TC or not, so it is checked like any other.
 * Exported for the fuzz targets (fuzz/targets.ts).
 */
export function matches(msg: Buffer, id: number, q: UpstreamQuestion, udp = false): ReplyCheck {
  if (msg.length < 12 || (msg[2]! & 0x80) === 0 || msg.readUInt16BE(0) !== id) return IGNORED;
  const records = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  if (msg.readUInt16BE(4) * MIN_QUESTION + records * MIN_RECORD > msg.length - 12) return IGNORED;
  let p: Packet & { rcode?: string; flag_tc?: boolean };
  try {
    p = withExactNames(() => dnsPacket.decode(msg)) as Packet & { rcode?: string; flag_tc?: boolean };
  } catch {
    return IGNORED;
  }
  const question = p.questions?.[0];
  if (p.type !== 'response' || p.id !== id || p.questions?.length !== 1 || !question) return IGNORED;
  if (nameKey(question.name) !== nameKey(q.name) || question.type !== q.type || question.class !== q.klass) return IGNORED;
  // A truncated reply over UDP is asked again over TCP (RFC 7766 §5): what it holds is not passed on.
  const reason = udp && p.flag_tc ? null : withExactNames(() => unwritable(p));
  return reason === null ? { kind: 'reply', packet: p } : { kind: 'malformed', reason };
}

/** Why a decoded reply cannot be passed on as received, or null when it can. */
function unwritable(p: Packet): string | null {
  const additionals = p.additionals ?? [];
  for (const r of [...(p.answers ?? []), ...(p.authorities ?? [])]) if (r.type === 'OPT') return 'an OPT record outside the additional section (RFC 6891 §6.1.1)';
  const opts = additionals.filter((r) => r.type === 'OPT');
  if (opts.length > 1) return 'more than one OPT record (RFC 6891 §6.1.1)';
  if (opts.length === 1 && opts[0]!.name !== '.') return 'an OPT record not owned by the root (RFC 6891 §6.1.1)';
  // What dns-packet reads it does not always write (an SSHFP fingerprint of the wrong length, say), nor always
  // as something it can read again: the client's reply is written from these records, so try it now.
  try {
    dnsPacket.decode(dnsPacket.encode(p));
  } catch (e) {
    return `records that cannot be written back (${(e as Error).message})`;
  }
  return null;
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
      const m = matches(msg, id, q, true);
      if (m.kind === 'ignored') return;
      if (m.kind === 'malformed') return done({ kind: 'error', message: `malformed reply: ${m.reason}` });
      const ms = Date.now() - started;
      // A truncated reply is asked again over TCP, whatever it held.
      done(m.packet.flag_tc ? { kind: 'truncated', ms } : { kind: 'reply', packet: m.packet, ms });
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
        const m = matches(msg, id, q);
        if (m.kind === 'malformed') return done({ kind: 'error', message: `malformed reply: ${m.reason}` });
        if (m.kind === 'reply') return done({ kind: 'reply', packet: m.packet, ms: Date.now() - started });
      }
    });
    conn.on('close', () => done({ kind: 'error', message: 'connection closed before a reply' }));
  });
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase() || a.toLowerCase() === `::ffff:${b}`;
}
