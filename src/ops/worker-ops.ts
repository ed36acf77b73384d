/**
 * A worker's side of metrics, dnstap and the query log: the engines'
 * handlers wrapped to see each query and reply (only when a log is on;
 * otherwise the handlers are returned as they are, so the answer path
 * pays nothing), records batched and sent to the supervisor, and what the
 * metrics need besides the counters (images served, UDP socket inodes,
 * upstream latency).
 */

import type { Config } from '../config.js';
import type { Resolver } from '../dns/pipeline.js';
import { formatEndpoint, type OpenSocket } from '../net/reuseport.js';
import { sockaddrPort, sockaddrText } from '../net/sockaddr.js';
import type { InPlaceHandler, MessageHandler } from '../net/udp.js';
import type { TcpMessageHandler } from '../net/tcp.js';
import type { DnstapEncoder, DnstapIdentity, Exchange } from './dnstap.js';
import { writeDataFrame } from './frame-streams.js';
import { Histogram, type HistogramSnapshot } from './histogram.js';
import type { LogName } from './metrics.js';
import { queryLogLine, Sampler } from './query-log.js';
import { socketInode } from './socket-drops.js';

/** What a worker reports for the metrics besides its counters. */
export interface WorkerOpsReport {
  /** The image files of the zone version it serves (for /ready: every worker on the current version). */
  images: string[];
  /** Its UDP sockets, by endpoint, with their inodes (the kernel counts drops per socket in /proc/net/udp). */
  udpSockets: { endpoint: string; inode: number }[];
  /** How long questions waited on the upstreams (only with --metrics). */
  upstreamLatency: HistogramSnapshot;
  /** Records made for each log, and those dropped because the supervisor was behind. */
  logs: Record<LogName, { records: number; dropped: number }>;
}

/** A batch of records on its way to the supervisor (the IPC message's body). */
export interface LogBatch {
  log: LogName;
  bytes: Uint8Array;
  records: number;
}

/** Sends a batch to the supervisor; `done` runs when the IPC channel took it (or failed). */
export type BatchSender = (batch: LogBatch, done: () => void) => void;

/** Octets a batch collects before it is sent (a few hundred records). */
const BATCH_BYTES = 64 * 1024;
/** A batch that does not fill is sent this long after its first record (ms). */
const BATCH_DELAY_MS = 100;
/** Batches sent and not yet taken by the IPC channel, at most; beyond that, batches are dropped (and counted). */
const MAX_IN_FLIGHT = 32;

/** Records for one log, gathered into one buffer and sent when full or after BATCH_DELAY_MS. */
class Batcher {
  private buf = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  private count = 0;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private idle: (() => void)[] = [];
  records = 0;
  dropped = 0;

  constructor(
    private readonly log: LogName,
    private readonly send: BatchSender,
  ) {}

  /** Room for `n` more octets, sending what is gathered first if need be. */
  reserve(n: number): Buffer {
    if (this.used + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    return this.buf;
  }

  /** `n` octets were written at the reserved place; one record more. */
  wrote(n: number): void {
    this.used += n;
    this.count++;
    this.records++;
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), BATCH_DELAY_MS);
      this.timer.unref();
    }
  }

  get offset(): number {
    return this.used;
  }

  /** Sends what is gathered (dropped and counted when MAX_IN_FLIGHT batches are still on their way). */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.count === 0) return;
    const batch: LogBatch = { log: this.log, bytes: Buffer.from(this.buf.subarray(0, this.used)), records: this.count };
    this.used = 0;
    this.count = 0;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.dropped += batch.records;
      return;
    }
    this.inFlight++;
    this.send(batch, () => {
      this.inFlight--;
      if (this.inFlight === 0) for (const f of this.idle.splice(0)) f();
    });
  }

  /** Sends what is gathered and calls `done` once nothing is on its way. */
  drain(done: () => void): void {
    this.flush();
    if (this.inFlight === 0) done();
    else this.idle.push(done);
  }
}

/** `pick` bits: the message goes to dnstap, to the query log. */
const DNSTAP = 1;
const QUERY_LOG = 2;

/** How a worker's operations side is set up. */
export interface WorkerOpsOptions {
  /** The worker slot. */
  id: number;
  config: Pick<Config, 'dnstap' | 'queryLog' | 'queryLogSample' | 'metrics'>;
  identity: DnstapIdentity;
  send: BatchSender;
  /** The clock (ms since the epoch, fractions allowed). */
  now?: () => number;
  /** The dnstap encoder, given when `config.dnstap` is on (openWorkerOps makes it). */
  dnstap?: DnstapEncoder;
}

/**
 * A worker's operations side, with the dnstap encoder when --dnstap is on:
 * only then is protobufjs loaded (tens of ms of a worker's start, which an
 * upgrade under load waits for).
 */
export async function openWorkerOps(options: Omit<WorkerOpsOptions, 'dnstap'>): Promise<WorkerOps> {
  if (options.config.dnstap === null) return new WorkerOps(options);
  const { DnstapEncoder } = await import('./dnstap.js');
  return new WorkerOps({ ...options, dnstap: new DnstapEncoder(options.identity) });
}

/** One worker's metrics, dnstap and query log side. */
export class WorkerOps {
  /** True when a log is on: handlers are wrapped. */
  readonly observing: boolean;
  private readonly dnstap: { encoder: DnstapEncoder; batch: Batcher } | null;
  private readonly queryLog: { sampler: Sampler; batch: Batcher } | null;
  private readonly latency = new Histogram();
  private readonly now: () => number;
  private sockets: WorkerOpsReport['udpSockets'] | null = null;

  constructor(private readonly options: WorkerOpsOptions) {
    const { config, send } = options;
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    if (config.dnstap !== null && options.dnstap === undefined) throw new Error('WorkerOps: dnstap is on but no encoder was given (openWorkerOps makes one)');
    this.dnstap = config.dnstap === null || options.dnstap === undefined ? null : { encoder: options.dnstap, batch: new Batcher('dnstap', send) };
    this.queryLog = config.queryLog === null ? null : { sampler: new Sampler(config.queryLogSample), batch: new Batcher('query-log', send) };
    this.observing = this.dnstap !== null || this.queryLog !== null;
  }

  /** The engine's handler for `sock`, observed when a log is on (else `inner` itself). */
  handler(inner: MessageHandler, sock: OpenSocket): MessageHandler;
  handler(inner: TcpMessageHandler, sock: OpenSocket): TcpMessageHandler;
  handler(inner: TcpMessageHandler, sock: OpenSocket): TcpMessageHandler {
    if (!this.observing) return inner;
    const transport = sock.spec.transport;
    const server = { address: sock.spec.address, port: sock.spec.port };
    return (msg, address, port) => {
      const logs = this.pick();
      // A query the query log does not sample (and no dnstap): no clock, no record.
      if (logs === 0) return inner(msg, address, port);
      const t = this.now();
      const out = inner(msg, address, port);
      if (out instanceof Promise) {
        // The engine reuses the query's memory for the next batch: keep a copy for the late record.
        const query = Buffer.from(msg);
        return out.then((reply) => {
          this.observe({ query, reply, transport, client: address, clientPort: port, server, queryTime: t, replyTime: this.now() }, true, logs);
          return reply;
        });
      }
      // A zone transfer's messages (a stream, TCP only) are not logged one by one: its query is.
      if (out !== null && !Buffer.isBuffer(out)) {
        this.observe({ query: msg, reply: null, transfer: true, transport, client: address, clientPort: port, server, queryTime: t, replyTime: t }, false, logs);
        return out;
      }
      this.observe({ query: msg, reply: out, transport, client: address, clientPort: port, server, queryTime: t, replyTime: t }, false, logs);
      return out;
    };
  }

  /** The mmsg engine's in-place path for `sock` (reply-cache hits, plain misses), observed when a log is on (else `inner` itself). */
  inPlace(inner: InPlaceHandler | null, sock: OpenSocket): InPlaceHandler | null {
    if (!this.observing || inner === null) return inner;
    const server = { address: sock.spec.address, port: sock.spec.port };
    return (q, qOff, qLen, peer, peerOff, out, outOff, cap) => {
      const n = inner(q, qOff, qLen, peer, peerOff, out, outOff, cap);
      if (n < 0) return n;
      const logs = this.pick();
      if (logs !== 0) {
        const t = this.now();
        this.observe(
          { query: q.subarray(qOff, qOff + qLen), reply: out.subarray(outOff, outOff + n), transport: 'udp', client: sockaddrText(peer, peerOff), clientPort: sockaddrPort(peer, peerOff), server, queryTime: t, replyTime: t },
          false,
          logs,
        );
      }
      return n;
    };
  }

  /** The forwarder, timed into the upstream latency histogram when metrics are on (else itself). */
  resolver(inner: Resolver | null): Resolver | null {
    if (inner === null || this.options.config.metrics === null) return inner;
    return {
      resolve: (q) => {
        const r = inner.resolve(q);
        if (r.kind === 'asked') {
          const t0 = performance.now();
          const took = (): void => this.latency.observe((performance.now() - t0) / 1000);
          r.answer.then(took, took);
        }
        return r;
      },
    };
  }

  /** Which logs take the next message: DNSTAP (all of them), QUERY_LOG (one in N); 0 for none. */
  private pick(): number {
    return (this.dnstap !== null ? DNSTAP : 0) | (this.queryLog !== null && this.queryLog.sampler.take() ? QUERY_LOG : 0);
  }

  /** One exchange into the logs `pick` chose. Never throws: a record that cannot be made is not made. */
  private observe(e: Exchange, waited: boolean, logs: number): void {
    try {
      if (this.dnstap !== null && (logs & DNSTAP) !== 0) {
        const { encoder, batch } = this.dnstap;
        for (const payload of encoder.encode(e)) {
          const into = batch.reserve(4 + payload.length);
          batch.wrote(writeDataFrame(payload, into, batch.offset) - batch.offset);
        }
      }
      if (this.queryLog !== null && (logs & QUERY_LOG) !== 0) {
        const line = queryLogLine(e, this.options.id, waited);
        const n = Buffer.byteLength(line);
        const { batch } = this.queryLog;
        const into = batch.reserve(n);
        into.write(line, batch.offset);
        batch.wrote(n);
      }
    } catch {
      // A malformed message must not cost the answer: it is simply not logged.
    }
  }

  /** What the metrics need from this worker. `images`: the image files it serves; `opened`: its sockets. */
  report(images: readonly string[], opened: readonly OpenSocket[]): WorkerOpsReport {
    this.sockets ??= opened
      .filter((s) => s.spec.transport === 'udp')
      .map((s) => ({ endpoint: formatEndpoint(s.spec.address, s.spec.port), inode: socketInode(s.fd) ?? 0 }))
      .filter((s) => s.inode > 0);
    const counts = (b: Batcher | undefined): { records: number; dropped: number } => ({ records: b?.records ?? 0, dropped: b?.dropped ?? 0 });
    return {
      images: [...images],
      udpSockets: this.sockets,
      upstreamLatency: this.latency.snapshot(),
      logs: { dnstap: counts(this.dnstap?.batch), 'query-log': counts(this.queryLog?.batch) },
    };
  }

  /** Sends every batch gathered and calls `done` once the IPC channel took them all (before a planned exit). */
  drain(done: () => void): void {
    const batches = [this.dnstap?.batch, this.queryLog?.batch].filter((b): b is Batcher => b !== undefined);
    let left = batches.length;
    if (left === 0) {
      done();
      return;
    }
    for (const b of batches) b.drain(() => --left === 0 && done());
  }
}
