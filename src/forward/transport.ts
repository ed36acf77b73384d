/** One exchange with an upstream over UDP or TCP, accepting only the reply that matches (RFC 5452 §9.1). */

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Answer, Packet } from 'dns-packet';
import dnsPacket from '../dns/dns-packet.js';
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

/** The query message, with a fresh random ID (RFC 5452 §4.3); also for DNS over TLS (tls.ts). */
export function queryFor(q: UpstreamQuestion): { id: number; bytes: Buffer } {
  const id = randomInt(65536);
  const bytes = dnsPacket.encode({
    type: 'query',
    id,
    // AD=1: a validating upstream then says whether the data is authentic even without DO (RFC 6840 §5.7),
    // for clients that ask with AD. No EDNS option at all: never a client's subnet (RFC 7871 §7.1.2), cookie or padding.
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA | (q.checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name: q.name, type: q.type as 'A', class: q.klass as 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: UPSTREAM_UDP_SIZE, flags: q.dnssecOk ? dnsPacket.DNSSEC_OK : 0, options: [] } as never],
  });
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
 * (RFC 5452 §9.1)? A message whose header counts more questions and records
 * than its octets can hold is ignored before it is decoded: dns-packet
 * allocates per counted record, so 13 octets claiming 65535 of each would
 * cost milliseconds. The reply to our query is refused (`malformed`) when it
 * holds an OPT outside the additional section, more than one, or one not
 * owned by the root (RFC 6891 §6.1.1), or a name dns-packet would not write
 * back as a well-formed name (octets that are not UTF-8 grow to three each;
 * a label holding a dot, as in `a\.b`, written back splits in two and can
 * leave an empty label), or records dns-packet reads but cannot write back
 * and read again: the client would get a message it cannot parse, or
 * SERVFAIL. A dot inside a label that splits cleanly is not seen here
 * (dns-packet's strings have lost it). Exported for the fuzz targets
 * (fuzz/targets.ts).
 */
export function matches(msg: Buffer, id: number, q: UpstreamQuestion): ReplyCheck {
  if (msg.length < 12 || (msg[2]! & 0x80) === 0 || msg.readUInt16BE(0) !== id) return IGNORED;
  const records = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  if (msg.readUInt16BE(4) * MIN_QUESTION + records * MIN_RECORD > msg.length - 12) return IGNORED;
  let p: Packet & { rcode?: string; flag_tc?: boolean };
  try {
    p = dnsPacket.decode(msg) as Packet & { rcode?: string; flag_tc?: boolean };
  } catch {
    return IGNORED;
  }
  const question = p.questions?.[0];
  if (p.type !== 'response' || p.id !== id || p.questions?.length !== 1 || !question) return IGNORED;
  if (question.name.toLowerCase() !== q.name.toLowerCase() || question.type !== q.type || question.class !== q.klass) return IGNORED;
  // A truncated reply is asked again over TCP (RFC 7766 §5): what it holds is not passed on.
  const reason = p.flag_tc ? null : unwritable(p);
  return reason === null ? { kind: 'reply', packet: p } : { kind: 'malformed', reason };
}

/** Why a decoded reply cannot be passed on as received, or null when it can. */
function unwritable(p: Packet): string | null {
  const additionals = p.additionals ?? [];
  for (const r of [...(p.answers ?? []), ...(p.authorities ?? [])]) if (r.type === 'OPT') return 'an OPT record outside the additional section (RFC 6891 §6.1.1)';
  const opts = additionals.filter((r) => r.type === 'OPT');
  if (opts.length > 1) return 'more than one OPT record (RFC 6891 §6.1.1)';
  if (opts.length === 1 && opts[0]!.name !== '.') return 'an OPT record not owned by the root (RFC 6891 §6.1.1)';
  for (const r of [...(p.answers ?? []), ...(p.authorities ?? []), ...additionals]) {
    for (const [name, mail] of namesIn(r)) {
      if (!writable(name, mail)) return `a name that cannot be passed on as received in a ${r.type} record`;
    }
  }
  // What dns-packet reads it does not always write (an SSHFP fingerprint of the wrong length, say), nor always
  // as something it can read again: the client's reply is written from these records, so try it now.
  try {
    dnsPacket.decode(dnsPacket.encode(p));
  } catch (e) {
    return `records that cannot be written back (${(e as Error).message})`;
  }
  return null;
}

/** The names a record holds as dns-packet decodes it: its owner and those in its RDATA (`mail`: an RFC 1035 mailbox, first label may hold dots). */
function namesIn(r: Answer): [string, boolean][] {
  const names: [string, boolean][] = [[r.name, false]];
  const d = (r as { data?: unknown }).data as Record<string, unknown> | string | undefined;
  switch (r.type) {
    case 'CNAME':
    case 'DNAME':
    case 'NS':
    case 'PTR':
      names.push([d as string, false]);
      break;
    case 'MX':
      names.push([(d as { exchange: string }).exchange, false]);
      break;
    case 'SOA':
      names.push([(d as { mname: string }).mname, false], [(d as { rname: string }).rname, true]);
      break;
    case 'SRV':
      names.push([(d as { target: string }).target, false]);
      break;
    case 'RRSIG':
      names.push([(d as { signersName: string }).signersName, false]);
      break;
    case 'NSEC':
      names.push([(d as { nextDomain: string }).nextDomain, false]);
      break;
    case 'NAPTR':
      names.push([(d as { replacement: string }).replacement, false]);
      break;
    case 'RP':
      names.push([(d as { mbox: string }).mbox, true], [(d as { txt: string }).txt, false]);
      break;
  }
  return names;
}

/**
 * Would dns-packet write this decoded name back as the octets it read? Not
 * when a label held octets that are not UTF-8 (decoded as U+FFFD, written as
 * three octets each) or a dot (written as a label boundary, so empty labels
 * or another name). RFC 1035 §3.1: labels of 1 to 63 octets.
 */
function writable(name: string, mail: boolean): boolean {
  if (typeof name !== 'string' || name.includes('\uFFFD')) return false;
  // A mailbox's first label may hold dots, escaped by the decoder (RFC 1035 §8).
  const n = (mail ? name.replace(/\\\./g, '-') : name).replace(/^\.|\.$/g, '');
  return n === '' || n.split('.').every((label) => label.length > 0 && Buffer.byteLength(label) <= 63);
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
      const m = matches(msg, id, q);
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
