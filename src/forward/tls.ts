/** DNS over TLS upstreams (RFC 7858, RFC 8310 strict profile): one connection per upstream, reused and pipelined, replies matched by ID; never plain DNS in its stead. */

import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { queryFor, matches, type Exchange, type UpstreamQuestion } from './transport.js';
import { formatUpstream, type Upstream } from './upstreams.js';

/**
 * Where the system's CA certificates are, by distribution family (Debian and
 * Ubuntu, Fedora and RHEL, openSUSE, Alpine and the BSDs): Node's own
 * bundled roots are not the system's, and a CA the administrator added
 * (update-ca-certificates) must count.
 */
const SYSTEM_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem'];

/** The CA certificates upstream certificates are checked against: a PEM bundle and where it came from. */
export interface TrustAnchors {
  /** PEM text; null: Node's bundled Mozilla roots. */
  pem: string | null;
  /** Where it was read from, for messages (`--tls-ca /etc/…`, or the system bundle's path). */
  source: string;
}

/**
 * The CAs to trust: the `--tls-ca` file when given (an unreadable one is an
 * error string saying what to do), else the system bundle, else Node's
 * bundled roots.
 */
export function loadTrustAnchors(tlsCa: string | null): TrustAnchors | string {
  if (tlsCa !== null) {
    let pem: string;
    try {
      pem = readFileSync(tlsCa, 'utf8');
    } catch (err) {
      return `--tls-ca ${tlsCa}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a PEM file of CA certificates that the user shardns runs as may read`;
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) return `--tls-ca ${tlsCa}: no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----" blocks): give the CA certificate(s) the upstreams' certificates are issued by`;
    return { pem, source: `--tls-ca ${tlsCa}` };
  }
  for (const file of SYSTEM_CA_FILES) {
    try {
      return { pem: readFileSync(file, 'utf8'), source: `the system CAs (${file})` };
    } catch {
      /* the next place */
    }
  }
  return { pem: null, source: "Node's bundled CAs (no system CA bundle found)" };
}

/** How DNS-over-TLS connections behave. */
export interface DotOptions {
  trust: TrustAnchors;
  /** A connection with nothing pending is closed after this long (ms); the next question opens a new one. */
  idleMs: number;
  /** After a failed connection or handshake, questions to that upstream fail at once for this long (ms) instead of each trying a handshake. */
  retryMs: number;
  /** Hears why a connection failed (once a minute per upstream and reason). */
  onEvent?: (message: string) => void;
}

/** Counters: TLS handshakes done (full and resumed), and connections that failed. */
export interface DotStats {
  tlsHandshakes: number;
  tlsResumed: number;
  tlsFailures: number;
}

interface Pending {
  q: UpstreamQuestion;
  started: number;
  timer: NodeJS.Timeout;
  resolve: (e: Exchange) => void;
}

/** A failure is told at most this often per upstream and reason (ms). */
const TELL_EVERY_MS = 60_000;
/** A DNS message over a stream is at most 65535 octets (RFC 1035 §4.2.2). */
const MAX_MESSAGE = 65535;

/**
 * One TLS connection to one upstream: queries written as soon as they come
 * (pipelined, RFC 7766 §6.2.1.1), each with an ID no other pending query on
 * the connection has, replies taken in any order and matched by ID and
 * question (RFC 7766 §7, RFC 5452 §9.1).
 */
class DotConnection {
  private readonly socket: TLSSocket;
  private readonly pending = new Map<number, Pending>();
  /** Frames written before the handshake completed. */
  private readonly waiting: Buffer[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private secure = false;
  closed = false;
  private idle: NodeJS.Timeout | null = null;

  constructor(
    private readonly u: Upstream,
    private readonly options: DotOptions,
    session: Buffer | undefined,
    private readonly events: { secure(resumed: boolean): void; session(s: Buffer): void; failed(reason: string, handshake: boolean): void; closed(): void },
  ) {
    // node:tls loads with the first connection: a worker whose upstreams are all plain DNS never loads it.
    this.socket = process.getBuiltinModule('node:tls').connect({
      host: u.address,
      port: u.port,
      // RFC 8310 §8.1: the authentication domain name, checked against the certificate (Node's checkServerIdentity uses servername).
      servername: u.tlsName,
      ...(options.trust.pem !== null ? { ca: options.trust.pem } : {}),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(session ? { session } : {}),
    });
    this.socket.setNoDelay(true);
    this.socket.on('secureConnect', () => {
      this.secure = true;
      this.events.secure(this.socket.isSessionReused());
      for (const frame of this.waiting.splice(0)) this.socket.write(frame);
      this.touch();
    });
    this.socket.on('session', (s: Buffer) => this.events.session(s));
    this.socket.on('data', (d: Buffer) => this.read(d));
    this.socket.on('error', (err: Error & { code?: string }) => this.fail(describeTlsError(err), !this.secure));
    this.socket.on('close', () => this.fail('connection closed by the upstream', false));
  }

  /** Sends one question; the exchange ends with its reply, a timeout, or the connection's failure. */
  exchange(q: UpstreamQuestion, timeoutMs: number): Promise<Exchange> {
    let query = queryFor(q);
    while (this.pending.has(query.id)) query = queryFor(q);
    const { id, bytes } = query;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.touch();
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.pending.set(id, { q, started: Date.now(), timer, resolve });
      if (this.idle) {
        clearTimeout(this.idle);
        this.idle = null;
      }
      const frame = Buffer.allocUnsafe(2 + bytes.length);
      frame.writeUInt16BE(bytes.length, 0);
      bytes.copy(frame, 2);
      if (this.secure) this.socket.write(frame);
      else this.waiting.push(frame);
    });
  }

  /** Closes the connection; pending questions fail. */
  close(): void {
    this.fail('closed', false);
  }

  /** Length-prefixed messages (RFC 7858 §3.3, RFC 1035 §4.2.2), in any order. */
  private read(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      const msg = this.buf.subarray(2, 2 + len);
      this.buf = this.buf.subarray(2 + len);
      if (len < 12) continue;
      const id = msg.readUInt16BE(0);
      const p = this.pending.get(id);
      if (!p) continue;
      const m = matches(msg, id, p.q);
      if (m.kind === 'ignored') continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(m.kind === 'reply' ? { kind: 'reply', packet: m.packet, ms: Date.now() - p.started } : { kind: 'error', message: `malformed reply: ${m.reason}` });
    }
    if (this.buf.length > 2 + MAX_MESSAGE) this.fail('a message longer than 65535 octets', false);
    this.touch();
  }

  /** With nothing pending, close after the idle time. */
  private touch(): void {
    if (this.closed || this.pending.size > 0 || this.idle) return;
    this.idle = setTimeout(() => this.fail('idle', false), this.options.idleMs);
    this.idle.unref();
  }

  private fail(reason: string, handshake: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idle) clearTimeout(this.idle);
    this.socket.destroy();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ kind: 'error', message: `${formatUpstream(this.u)}: ${reason}` });
    }
    this.pending.clear();
    this.waiting.length = 0;
    if (reason !== 'idle' && reason !== 'closed') this.events.failed(reason, handshake);
    this.events.closed();
  }
}

/**
 * DNS-over-TLS exchanges for a worker: one connection per upstream, opened
 * on the first question, reused by every later one while it stays up, and
 * resumed with the last TLS session when it has to be opened again. A
 * certificate that does not verify (wrong name, unknown CA, expired) fails
 * the exchange like a silent upstream: the forwarder fails over, and the
 * reason is told. Nothing is ever sent to a tls:// upstream in the clear.
 */
export class DotPool {
  private readonly connections = new Map<string, DotConnection>();
  private readonly sessions = new Map<string, Buffer>();
  /** Until when (ms) an upstream whose connection failed is not tried again, and why. */
  private readonly backoff = new Map<string, { until: number; reason: string }>();
  private readonly told = new Map<string, number>();

  /** `stats`: where the counters go (the forwarder's own). */
  constructor(
    private readonly options: DotOptions,
    readonly stats: DotStats = { tlsHandshakes: 0, tlsResumed: 0, tlsFailures: 0 },
  ) {}

  /** Asks `u` (a tls:// upstream) one question over its connection, opening it if needed. */
  exchange(u: Upstream, q: UpstreamQuestion, timeoutMs: number): Promise<Exchange> {
    const key = formatUpstream(u);
    let c = this.connections.get(key);
    if (!c || c.closed) {
      const b = this.backoff.get(key);
      if (b && b.until > Date.now()) return Promise.resolve({ kind: 'error', message: `${key}: ${b.reason} (not retried for ${Math.ceil((b.until - Date.now()) / 1000)} s)` });
      c = this.open(u, key);
    }
    return c.exchange(q, timeoutMs);
  }

  /** Connections open now. */
  get openConnections(): number {
    let n = 0;
    for (const c of this.connections.values()) if (!c.closed) n++;
    return n;
  }

  /** Closes every connection. */
  close(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }

  private open(u: Upstream, key: string): DotConnection {
    const c: DotConnection = new DotConnection(u, this.options, this.sessions.get(key), {
      secure: (resumed) => {
        this.stats.tlsHandshakes++;
        if (resumed) this.stats.tlsResumed++;
        this.backoff.delete(key);
      },
      session: (s) => this.sessions.set(key, s),
      failed: (reason, handshake) => {
        this.stats.tlsFailures++;
        if (handshake) {
          // A session the upstream no longer takes must not fail the next try too.
          this.sessions.delete(key);
          this.backoff.set(key, { until: Date.now() + this.options.retryMs, reason });
        }
        this.tell(handshake ? `upstream ${key}: TLS connection failed: ${reason} — ${HANDSHAKE_HINT}` : `upstream ${key}: ${reason}`);
      },
      closed: () => {
        if (this.connections.get(key) === c) this.connections.delete(key);
      },
    });
    this.connections.set(key, c);
    return c;
  }

  /** Tells `message` unless the same was told within the last minute. */
  private tell(message: string): void {
    const at = this.told.get(message) ?? -Infinity;
    if (Date.now() - at < TELL_EVERY_MS) return;
    this.told.set(message, Date.now());
    this.options.onEvent?.(message);
  }
}

/** What to do when a handshake fails. */
const HANDSHAKE_HINT = `check that the name after # is one the upstream's certificate carries and that its CA is trusted (system CAs, or --tls-ca FILE); questions for it fail over to the other upstreams, never to plain DNS`;

/** An error from a TLS connection as a reason a person can act on. */
function describeTlsError(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the certificate does not carry the name asked for (${err.message})`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `the certificate is not issued by a trusted CA (${err.code})`;
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return `the certificate is outside its validity period (${err.code})`;
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens on that port?)';
    default:
      return err.code ? `${err.message} (${err.code})` : err.message;
  }
}
