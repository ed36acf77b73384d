/**
 * Transfers in, the I/O edge: the SOA query a secondary's refresh sends
 * (UDP, again over TCP when truncated) and one AXFR or IXFR over TCP, each
 * TSIG-signed when a key is given and every reply verified (RFC 8945); the
 * replies are read by incoming.ts. No state outside a call: many zones may
 * run them at once.
 */

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { lowerName } from '../dns/ascii.js';
import { NameError, nameToWire, parseZoneName } from '../zone/names.js';
import { describeRcode, headerRcode, parseSoaReply, soaSerial, TRANSFER_LIMITS, TransferReader, wireToText, type TransferError, type TransferLimits, type TransferResult } from './incoming.js';
import { describeRemote } from './report.js';
import { findTsig, signRequest, TSIG_ERROR_NAMES, TsigStreamVerifier, verifyResponse, type TsigKey } from './tsig.js';

/** Types and class of the queries. */
const SOA = 6;
const IXFR = 251;
const AXFR = 252;
const IN = 1;

/** Where a primary listens. */
export interface PrimaryAddress {
  address: string;
  port: number;
}

/** A failure of an exchange with a primary: what, where; the RCODE or TSIG error the primary answered, if it did. */
export interface ExchangeError extends TransferError {
  /** The TSIG error the primary's reply carried (RFC 8945 §3: BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22). */
  tsigError?: number;
}

/** What an SOA query found: the primary's serial and SOA record (uncompressed wire form), and over which transport it came. */
export type SoaOutcome = { kind: 'ok'; serial: number; soa: Uint8Array; transport: 'udp' | 'tcp' } | ExchangeError;

/** An SOA query to a primary. */
export interface SoaQuery {
  /** The zone: presentation form (`example.com.`, escapes as in zone files) or wire form. */
  origin: string | Uint8Array;
  remote: PrimaryAddress;
  /** Sign the query with this key and require a signed reply that verifies, or null. */
  key: TsigKey | null;
  /** The whole exchange, the TCP retry included. */
  timeoutMs: number;
  /** Seconds since 1970, for TSIG (tests move it). */
  now?: () => number;
}

/**
 * Asks `remote` for the zone's SOA (RFC 1034 §4.3.5, RFC 1996 §3.11):
 * over UDP from a port the OS picks with a random ID, again over TCP when
 * the reply is truncated. A reply counts only if it comes from the remote
 * with our ID and question (others are ignored, RFC 5452 §9.1); it must be
 * authoritative and hold the zone's SOA; when a key is given it must be
 * signed and verify (RFC 8945 §5.4): an unsigned or badly signed reply is
 * an error saying so.
 */
export async function querySoa(q: SoaQuery): Promise<SoaOutcome> {
  const origin = originWire(q.origin);
  if (typeof origin === 'string') return { kind: 'error', why: origin };
  const bad = checkRemote(q.remote);
  if (bad !== null) return { kind: 'error', why: `SOA query for ${wireToText(origin, 0)}: ${bad}` };
  const now = q.now ?? ((): number => Date.now() / 1000);
  const id = randomInt(0, 65536);
  const bare = queryMessage(id, origin, SOA, null);
  const signed = q.key === null ? null : signRequest(bare, q.key, now());
  const message = signed?.bytes ?? bare;
  const where = describeRemote({ ...q.remote, key: q.key?.name ?? null });
  const zone = wireToText(origin, 0);
  const deadline = performance.now() + q.timeoutMs;

  /** What a reply that matched our query says: SOA, TC, or an error (TSIG checked first). */
  const judge = (msg: Uint8Array, transport: 'udp' | 'tcp'): SoaOutcome | 'truncated' | null => {
    const r = parseSoaReply(msg, { origin, id });
    if (r.kind === 'other') return transport === 'udp' ? null : { kind: 'error', why: `the TCP reply from ${where} to the SOA query for ${zone} is not a reply to it: ${r.why}` };
    if (q.key !== null && signed !== null) {
      const v = verifyResponse(msg, q.key, signed.mac, now());
      if (v.kind !== 'ok') return tsigFailure(v, msg, `the reply from ${where} to the SOA query for ${zone}`, q.key);
    }
    if (r.kind === 'truncated') return 'truncated';
    if (r.kind === 'error') return { ...r, why: `${where}, SOA query for ${zone}: ${r.why}` };
    return { kind: 'ok', serial: r.serial, soa: r.soa, transport };
  };

  const udp = await udpExchange(message, q.remote, q.timeoutMs, (msg) => judge(msg, 'udp'));
  if (udp.kind === 'timeout') return { kind: 'error', why: `no reply from ${where} to the SOA query for ${zone} within ${q.timeoutMs} ms` };
  if (udp.kind === 'failed') return { kind: 'error', why: `SOA query for ${zone} to ${where}: ${udp.why}` };
  if (udp.value !== 'truncated') return udp.value;
  // RFC 1035 §4.2.1: a truncated reply is asked again over TCP.
  let reply: SoaOutcome | null = null;
  const tcp = await tcpExchange(message, q.remote, Math.max(1, deadline - performance.now()), Math.max(1, deadline - performance.now()), (msg) => {
    const j = judge(msg, 'tcp');
    reply = j === 'truncated' ? { kind: 'error', why: `the TCP reply from ${where} to the SOA query for ${zone} has TC set` } : j;
    return 'stop';
  });
  if (reply !== null) return reply as SoaOutcome;
  return { kind: 'error', why: `SOA query for ${zone} to ${where} over TCP (the UDP reply was truncated): ${tcp.why}` };
}

/** Counters of one transfer. */
export interface TransferStats {
  /** Octets received, the 2-octet length prefixes included. */
  bytes: number;
  /** Response messages received. */
  messages: number;
  /** From the start of the connection to the outcome. */
  ms: number;
}

/** What a transfer brought (incoming.ts's result) or why it failed, with its counters. */
export type TransferInOutcome = (TransferResult | ExchangeError) & TransferStats;

/** One zone transfer from a primary. */
export interface TransferInRequest {
  /** The zone: presentation form (`example.com.`) or wire form. */
  origin: string | Uint8Array;
  remote: PrimaryAddress;
  /** Sign the query with this key and verify every response message (RFC 8945 §5.3.1), or null. */
  key: TsigKey | null;
  qtype: 'axfr' | 'ixfr';
  /**
   * IXFR: the SOA record we hold, uncompressed wire form (it goes in the
   * query's authority section, RFC 1995 §3); or `serial` alone, and a
   * minimal SOA with that serial is sent.
   */
  soa?: Uint8Array;
  serial?: number;
  /** The whole transfer, connecting included. */
  timeoutMs: number;
  /** Longest silence of the primary once connected (default: the smaller of timeoutMs and 30 s). */
  idleTimeoutMs?: number;
  limits?: TransferLimits;
  /** Seconds since 1970, for TSIG (tests move it). */
  now?: () => number;
}

/**
 * Transfers a zone from `remote` over one TCP connection (RFC 5936 §4.1,
 * RFC 1995): the query (with our SOA for IXFR), TSIG-signed when a key is
 * given, then every response message read with its 2-octet length
 * (RFC 1035 §4.2.2), its TSIG verified in stream (RFC 8945 §5.3.1: the
 * first and last signed, at most 99 unsigned in a row) and fed to a
 * {@link TransferReader}. Fails on a timeout (the whole transfer, or the
 * primary silent for the idle time), a refused, reset or early-closed
 * connection, each error naming the remote and how far the transfer got.
 */
export async function transferIn(r: TransferInRequest): Promise<TransferInOutcome> {
  const started = performance.now();
  const stats = (bytes = 0, messages = 0): TransferStats => ({ bytes, messages, ms: Math.round(performance.now() - started) });
  const origin = originWire(r.origin);
  if (typeof origin === 'string') return { kind: 'error', why: origin, ...stats() };
  const zone = wireToText(origin, 0);
  const bad = checkRemote(r.remote);
  if (bad !== null) return { kind: 'error', why: `${r.qtype.toUpperCase()} of ${zone}: ${bad}`, ...stats() };
  let ours: Uint8Array | null = null;
  let serial: number | undefined;
  if (r.qtype === 'ixfr') {
    if (r.soa !== undefined) {
      const bad = checkOwnSoa(r.soa, origin);
      if (bad !== null) return { kind: 'error', why: `IXFR of ${zone}: ${bad}`, ...stats() };
      ours = r.soa;
      serial = soaSerial(r.soa);
    } else if (r.serial !== undefined) {
      serial = r.serial >>> 0;
      ours = minimalSoa(origin, serial);
    } else {
      return { kind: 'error', why: `IXFR of ${zone}: our SOA (or serial) is needed for the query (RFC 1995 §3)`, ...stats() };
    }
  }
  const now = r.now ?? ((): number => Date.now() / 1000);
  const id = randomInt(0, 65536);
  const bare = queryMessage(id, origin, r.qtype === 'axfr' ? AXFR : IXFR, ours);
  const signed = r.key === null ? null : signRequest(bare, r.key, now());
  const where = describeRemote({ ...r.remote, key: r.key?.name ?? null });
  const what = `${r.qtype.toUpperCase()} of ${zone} from ${where}`;
  const reader = new TransferReader({ origin, qtype: r.qtype, id, ...(serial === undefined ? {} : { serial }) }, r.limits ?? TRANSFER_LIMITS);
  const verifier = r.key === null || signed === null ? null : new TsigStreamVerifier(r.key, signed.mac, now);
  let outcome: TransferResult | ExchangeError | null = null;

  const exchange = await tcpExchange(signed?.bytes ?? bare, r.remote, r.timeoutMs, r.idleTimeoutMs ?? Math.min(r.timeoutMs, 30_000), (msg) => {
    if (verifier !== null) {
      // An unsigned first message (often an error the primary would not sign) is reported as such, with its RCODE.
      const v = reader.messages === 0 && findTsig(msg).kind === 'none' ? ({ kind: 'unsigned' } as const) : verifier.next(msg);
      if (v.kind === 'error' || v.kind === 'unsigned') {
        outcome = tsigFailure(v, msg, `${what}, message ${reader.messages + 1}`, r.key!);
        return 'stop';
      }
    }
    const step = reader.push(msg);
    if (step.kind === 'more') return 'continue';
    if (step.kind === 'error') {
      outcome = { ...step, why: `${what}: ${step.why}` };
      return 'stop';
    }
    // RFC 8945 §5.3.1: the last message must be signed.
    if (verifier !== null && !verifier.settled) {
      outcome = { kind: 'error', why: `${what}: the last message (${reader.messages}) is not signed; a signed transfer must end with a signed message (RFC 8945 §5.3.1)` };
      return 'stop';
    }
    outcome = step.result;
    return 'stop';
  });
  const counted = stats(exchange.bytes, exchange.messages);
  if (outcome !== null) return { ...(outcome as TransferResult | ExchangeError), ...counted };
  return { kind: 'error', why: `${what}: ${exchange.why}, ${reader.describeProgress()}`, ...counted };
}

/** Why a reply's TSIG did not do, as an error: unsigned (with its RCODE when it was an error), a TSIG error the primary answered, or a MAC that does not verify. */
function tsigFailure(v: { kind: 'unsigned' } | { kind: 'error'; why: string }, msg: Uint8Array, what: string, key: TsigKey): ExchangeError {
  const rcode = headerRcode(msg);
  const found = findTsig(msg);
  const tsigError = found.kind === 'found' && found.record.error !== 0 ? found.record.error : 0;
  const codes = { ...(rcode > 0 ? { rcode } : {}), ...(tsigError !== 0 ? { tsigError } : {}) };
  if (v.kind === 'unsigned') {
    const answered = rcode > 0 ? `: it answered ${describeRcode(rcode)}` : '';
    return { kind: 'error', why: `${what} is not signed, though the query was signed with key ${key.name} (RFC 8945 §5.4)${answered}`, ...codes };
  }
  const name = TSIG_ERROR_NAMES[tsigError];
  const hint = name === 'BADKEY' ? ' (the primary does not know the key under this name and algorithm)' : name === 'BADSIG' ? ' (the secrets differ)' : name === 'BADTIME' ? ' (are the clocks in step?)' : '';
  return { kind: 'error', why: `${what}: TSIG: ${v.why}${hint}`, ...codes };
}

/** The outcome of one UDP exchange: the judged reply, a timeout, or a socket failure. */
type UdpResult<T> = { kind: 'reply'; value: T } | { kind: 'timeout' } | { kind: 'failed'; why: string };

/**
 * Sends `message` over UDP to `remote` from a new socket (its port chosen
 * by the OS) and waits for a datagram from the remote that `judge` takes
 * (non-null); others are ignored. The socket is connected, so the kernel
 * drops datagrams from elsewhere and reports ICMP errors.
 */
function udpExchange<T>(message: Uint8Array, remote: PrimaryAddress, timeoutMs: number, judge: (msg: Buffer) => T | null): Promise<UdpResult<T>> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(remote.address) ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (r: UdpResult<T>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    sock.on('error', (err) => finish({ kind: 'failed', why: socketError(err) }));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== remote.port || !sameAddress(rinfo.address, remote.address)) return;
      let value: T | null;
      try {
        value = judge(msg);
      } catch (err) {
        finish({ kind: 'failed', why: `the reply could not be read: ${(err as Error).message}` });
        return;
      }
      if (value !== null) finish({ kind: 'reply', value });
    });
    sock.connect(remote.port, remote.address, () => sock.send(message, (err) => err && finish({ kind: 'failed', why: socketError(err) })));
  });
}

/** How a TCP exchange ended when the handler did not stop it: why, and what came. */
interface TcpEnd {
  why: string;
  bytes: number;
  messages: number;
}

/**
 * Opens a TCP connection to `remote`, sends `message` with its length
 * prefix and hands each response message to `onMessage` until it returns
 * 'stop' (resolves then, `why` empty), the connection fails or closes, or
 * a timer fires: `timeoutMs` for the whole, `idleMs` without an octet.
 */
function tcpExchange(message: Uint8Array, remote: PrimaryAddress, timeoutMs: number, idleMs: number, onMessage: (msg: Buffer) => 'continue' | 'stop'): Promise<TcpEnd> {
  return new Promise((resolve) => {
    let bytes = 0;
    let messages = 0;
    let connected = false;
    let settled = false;
    let buf: Buffer = Buffer.alloc(0);
    const sock = net.connect({ host: remote.address, port: remote.port });
    const finish = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(whole);
      clearTimeout(idle);
      sock.destroy();
      resolve({ why, bytes, messages });
    };
    const whole = setTimeout(() => finish(connected ? `no complete response within ${timeoutMs} ms` : `no connection within ${timeoutMs} ms`), timeoutMs);
    let idle: NodeJS.Timeout | undefined;
    const quiet = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(`nothing received for ${idleMs} ms`), idleMs);
    };
    sock.on('connect', () => {
      connected = true;
      quiet();
      const head = Buffer.alloc(2);
      head.writeUInt16BE(message.length);
      sock.write(Buffer.concat([head, message]));
    });
    sock.on('data', (chunk: Buffer) => {
      if (settled) return;
      quiet();
      bytes += chunk.length;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let at = 0;
      while (buf.length - at >= 2) {
        const len = buf.readUInt16BE(at);
        if (buf.length - at < 2 + len) break;
        const msg = buf.subarray(at + 2, at + 2 + len);
        at += 2 + len;
        messages++;
        let next: 'continue' | 'stop';
        try {
          next = onMessage(msg);
        } catch (err) {
          finish(`message ${messages} could not be read: ${(err as Error).message}`);
          return;
        }
        if (next === 'stop') {
          finish('');
          return;
        }
      }
      buf = at === buf.length ? Buffer.alloc(0) : buf.subarray(at);
    });
    sock.on('error', (err) => finish(socketError(err)));
    sock.on('close', () => finish(!connected ? 'the connection was closed before it was set up' : buf.length > 0 ? 'the connection was closed in the middle of a message' : 'the connection was closed'));
  });
}

/** A socket error in words: refused, reset, unreachable, or the system's message. */
function socketError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused (is the primary listening on that address and port?)';
  if (code === 'ECONNRESET') return 'connection reset by the primary';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${code}: no route to the primary`;
  return err.message;
}

/** Whether a datagram's source address is the remote's (IPv6 in any spelling, IPv4 possibly mapped). */
function sameAddress(got: string, want: string): boolean {
  if (got === want) return true;
  const list = new net.BlockList();
  const family = net.isIPv6(want) ? 'ipv6' : 'ipv4';
  list.addAddress(want, family);
  return list.check(got, net.isIPv6(got) ? 'ipv6' : 'ipv4');
}

/** Why a primary's address cannot be used (not an IP address: no name is looked up here; a port out of range), or null. */
function checkRemote(remote: PrimaryAddress): string | null {
  if (net.isIP(remote.address) === 0) return `the primary's address "${remote.address}" is not an IPv4 or IPv6 address`;
  if (!Number.isInteger(remote.port) || remote.port < 1 || remote.port > 65535) return `the primary's port ${remote.port} is not from 1 to 65535`;
  return null;
}

/** The origin as a lower-cased wire name, or why it is not a name. */
function originWire(origin: string | Uint8Array): Uint8Array | string {
  let wire: Uint8Array;
  if (typeof origin === 'string') {
    const parsed = parseZoneName(origin);
    if (parsed instanceof NameError) return `bad zone name "${origin}": ${parsed.message}`;
    wire = nameToWire(parsed);
  } else {
    wire = origin;
  }
  const out = new Uint8Array(wire.length);
  lowerName(wire, 0, wire.length, out, 0);
  return out;
}

/** A query: our ID, no flags (RD clear, as RFC 5936 §2.2 has it), the question `origin IN qtype`, and `authority` (an SOA record) when given. */
function queryMessage(id: number, origin: Uint8Array, qtype: number, authority: Uint8Array | null): Buffer {
  const msg = Buffer.alloc(12 + origin.length + 4 + (authority?.length ?? 0));
  msg.writeUInt16BE(id, 0);
  msg.writeUInt16BE(1, 4);
  msg.writeUInt16BE(authority === null ? 0 : 1, 8);
  msg.set(origin, 12);
  msg.writeUInt16BE(qtype, 12 + origin.length);
  msg.writeUInt16BE(IN, 14 + origin.length);
  if (authority !== null) msg.set(authority, 16 + origin.length);
  return msg;
}

/** An SOA record for `origin` with this serial and nothing else (root MNAME and RNAME, zero timers, TTL 0): what an IXFR query needs when the caller gives only the serial. */
function minimalSoa(origin: Uint8Array, serial: number): Uint8Array {
  const out = Buffer.alloc(origin.length + 10 + 22);
  out.set(origin, 0);
  let at = origin.length;
  out.writeUInt16BE(SOA, at);
  out.writeUInt16BE(IN, at + 2);
  out.writeUInt16BE(22, at + 8);
  out.writeUInt32BE(serial >>> 0, at + 12);
  return out;
}

/** Why `soa` is not one uncompressed SOA record of class IN for `origin`, or null. */
function checkOwnSoa(soa: Uint8Array, origin: Uint8Array): string | null {
  let at = 0;
  while (at < soa.length && soa[at] !== 0) {
    if (soa[at]! > 63) return 'our SOA record is not in uncompressed wire form';
    at += soa[at]! + 1;
  }
  at++;
  if (at + 10 > soa.length) return 'our SOA record is cut short';
  const owner = new Uint8Array(at);
  lowerName(soa, 0, at, owner, 0);
  if (Buffer.compare(owner, origin) !== 0) return `our SOA record is for ${wireToText(soa, 0)}, not the zone`;
  const u16 = (o: number): number => (soa[o]! << 8) | soa[o + 1]!;
  if (u16(at) !== SOA || u16(at + 2) !== IN) return 'the record given as our SOA is not an SOA of class IN';
  if (at + 10 + u16(at + 8) !== soa.length || u16(at + 8) < 22) return 'our SOA record has the wrong length';
  return null;
}
