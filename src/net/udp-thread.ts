/**
 * The UDP thread engine (`--io thread`), main-thread side: starts the
 * thread (udp-thread-loop.ts) that blocks in recvmmsg on the worker's
 * reuseport socket and answers reply-cache hits itself, keeps the thread's
 * copy of the reply cache following the worker's (ReplyCacheMirror), and
 * answers here what the thread passes on (misses, anything not a plain
 * query), sending each reply with a sendmmsg of its own.
 */

import { MessageChannel, Worker } from 'node:worker_threads';
import { Counters } from '../dns/counters.js';
import type { QueryShape, ReplyCacheMirror } from '../dns/answer-cache.js';
import type { ZoneSet } from '../auth/zone-set.js';
import { libc as realLibc, type Libc } from '../sys/libc.js';
import { lateSlot } from './mmsg-vectors.js';
import type { OpenSocket } from './reuseport.js';
import { sockaddrPort, sockaddrText } from './sockaddr.js';
import type { MessageHandler, UdpEndpoint } from './udp.js';
import { COALESCE_MIN_BATCH, CONTROL, MISS_HEADER, STAT, type CachePut, type ThreadReport, type ThreadSetup } from './udp-thread-protocol.js';


export { COALESCE_MIN_BATCH };

/** How the thread engine reads and what its cache holds. */
export interface UdpThreadOptions {
  /** Datagrams per recvmmsg/sendmmsg call. */
  batch: number;
  /** Largest datagram received; bigger ones are dropped (MSG_TRUNC). */
  recvSize: number;
  /** Largest reply sent. */
  sendSize: number;
  /** A blocked thread wakes at least this often (ms) to see a stop request. */
  wakeMs: number;
  /**
   * Batch coalescing (µs; 0: off): after a recvmmsg that returned at least
   * {@link COALESCE_MIN_BATCH} datagrams, the thread sleeps this long before
   * the next, so more are queued per wake-up and per system call. A lone
   * query never waits; one arriving during the sleep waits at most this long.
   */
  coalesceUs?: number;
  /** The thread's reply cache: entries and bytes (as the worker's). */
  cacheEntries: number;
  cacheBytes: number;
  /** The worker's config: the thread makes its RRL table, server cookies and recursion ACL from it. */
  config: unknown;
  /** Forwarding is on (the recursion ACL applies). */
  recursion: boolean;
  /** The C library; the real one unless a test passes a fake. */
  libc?: Libc;
}

/** Thread engine counters. */
export interface UdpThreadStats {
  /** Datagrams the thread read. */
  received: number;
  /** recvmmsg calls that returned datagrams. */
  recvCalls: number;
  /** Replies sent, by the thread and by this side. */
  sent: number;
  /** Replies the kernel refused. */
  sendFailures: number;
  /** Datagrams the thread passed to this side. */
  passed: number;
  /** Queries the thread answered from its copy of the reply cache. */
  cacheHits: number;
  /** Replies in the thread's copy of the reply cache. */
  cacheEntries: number;
  /** Coalescing waits the thread made (sleeps after a busy batch; 0 with coalescing off). */
  coalesceWaits: number;
}

/** A socket served by the thread engine. */
export interface UdpThreadEndpoint extends UdpEndpoint {
  stats(): UdpThreadStats;
  /** The thread's query counters (read here; add them to the worker's). */
  readonly counters: Counters;
  /** Set as the worker's ReplyCache mirror: what it keeps, the thread's copy keeps. */
  readonly mirror: ReplyCacheMirror;
  /** Empties the thread's copy of the cache (a new zone version mapped). */
  reset(): void;
}

/**
 * Serves DNS over UDP on a reuseport descriptor from a thread of its own
 * (see the module's line). `handle` answers what the thread passes on;
 * `zones` gives the zones served now (a reply kept under other zones is not
 * copied to the thread); `onError` hears about errors, `onFatal` that the
 * thread stopped (the worker cannot serve UDP any more).
 */
export function serveUdpThread(
  sock: OpenSocket,
  handle: MessageHandler,
  zones: () => ZoneSet,
  onError: (err: Error) => void,
  onFatal: (err: Error) => void,
  options: UdpThreadOptions,
): Promise<UdpThreadEndpoint> {
  const c = options.libc ?? realLibc;
  const fd = sock.fd;
  const control = new Int32Array(new SharedArrayBuffer(CONTROL.size * 4));
  const stats = new Float64Array(new SharedArrayBuffer(STAT.size * 8));
  const countersBuffer = Counters.sharedBuffer();
  const counters = new Counters(countersBuffer);
  const { port1, port2 } = new MessageChannel();
  const setup: ThreadSetup = {
    fd,
    batch: options.batch,
    recvSize: options.recvSize,
    sendSize: options.sendSize,
    wakeMs: options.wakeMs,
    coalesceUs: options.coalesceUs ?? 0,
    config: options.config,
    recursion: options.recursion,
    cacheEntries: options.cacheEntries,
    cacheBytes: options.cacheBytes,
    control: control.buffer as SharedArrayBuffer,
    stats: stats.buffer as SharedArrayBuffer,
    counters: countersBuffer,
    port: port2,
  };
  const thread = new Worker(new URL('./udp-thread-loop.js', import.meta.url), { workerData: setup, transferList: [port2] });

  // Replies made here leave one at a time, each to the address saved with its query.
  const late = lateSlot(c, options.sendSize);
  let sent = 0;
  let sendFailures = 0;
  let passed = 0;
  let released = false;
  let waiting = 0;
  let drained: (() => void) | null = null;
  let exited = false;
  /** close() was called: the thread's end is expected. */
  let stopping = false;
  let onExit: (() => void) | null = null;

  const sendLate = (reply: Buffer, name: Buffer): void => {
    if (released) return;
    if (late.send(fd, reply, name) === 1) sent++;
    else sendFailures++;
  };

  /** The datagrams the thread passed on: each answered by `handle`, its reply sent now or when it comes. */
  const answer = (data: ArrayBuffer): void => {
    const bytes = Buffer.from(data);
    for (let at = 0; at + MISS_HEADER <= bytes.length; ) {
      const len = bytes.readUInt16LE(at);
      const nameLen = bytes.readUInt16LE(at + 2);
      const name = bytes.subarray(at + 4, at + 4 + nameLen);
      const query = bytes.subarray(at + MISS_HEADER, at + MISS_HEADER + len);
      at += MISS_HEADER + len;
      passed++;
      let reply: ReturnType<MessageHandler>;
      try {
        reply = handle(query, sockaddrText(name, 0), sockaddrPort(name, 0));
      } catch (err) {
        onError(err as Error);
        continue;
      }
      if (reply === null) continue;
      if (reply instanceof Promise) {
        waiting++;
        void reply.then((r) => {
          waiting--;
          if (r) sendLate(r, name);
          if (waiting === 0) drained?.();
        });
        continue;
      }
      sendLate(reply, name);
    }
  };

  thread.on('message', (m: ThreadReport) => {
    switch (m.kind) {
      case 'misses':
        answer(m.data);
        break;
      case 'error':
        onError(new Error(m.message));
        break;
      case 'fatal':
        if (!stopping) onFatal(new Error(`UDP thread: ${m.message}`));
        break;
    }
  });
  thread.on('error', (err) => {
    if (!stopping) onFatal(new Error(`UDP thread: ${err.message}`));
  });
  thread.on('exit', (code) => {
    exited = true;
    if (!stopping) onFatal(new Error(`UDP thread ended (exit code ${code}) while serving`));
    onExit?.();
  });

  let generation = 0;
  const mirror: ReplyCacheMirror = {
    stored(shape: QueryShape, reply: Uint8Array, kept: ZoneSet, ttl: number | undefined, storedAt: number) {
      if (kept !== zones()) return;
      // Copies of exactly these octets (a view's whole buffer would be cloned otherwise).
      const put: CachePut = { generation, question: new Uint8Array(shape.question), variant: shape.variant, nameEnd: shape.nameEnd, hash: shape.hash, reply: new Uint8Array(reply), ttl, storedAt };
      port1.postMessage(put);
      Atomics.store(control, CONTROL.pending, 1);
    },
    reset() {
      generation++;
      Atomics.store(control, CONTROL.generation, generation);
    },
  };

  let closing: Promise<void> | null = null;
  const endpoint: UdpThreadEndpoint = {
    counters,
    mirror,
    reset: () => mirror.reset(),
    stats: () => ({
      received: stats[STAT.received]!,
      recvCalls: stats[STAT.recvCalls]!,
      sent: stats[STAT.sent]! + sent,
      sendFailures: stats[STAT.sendFailures]! + sendFailures,
      passed,
      cacheHits: stats[STAT.cacheHits]!,
      cacheEntries: stats[STAT.cacheEntries]!,
      coalesceWaits: stats[STAT.coalesceWaits]!,
    }),
    close: (graceMs: number) =>
      (closing ??= new Promise<void>((done) => {
        stopping = true;
        Atomics.store(control, CONTROL.stop, 1);
        let timer: NodeJS.Timeout | undefined;
        const finish = (): void => {
          if (released) return;
          released = true;
          clearTimeout(timer);
          port1.close();
          c.close(fd);
          c.free(late.region.address);
          done();
        };
        // The thread ends at its next wake-up (within wakeMs; it finishes the batch in hand first), and only
        // then is the descriptor closed: a number closed under a blocked recvmmsg could be reused by another
        // socket. Then the replies still coming are waited for, within the grace period.
        const threadGone = (): void => {
          clearTimeout(kill);
          drained = finish;
          timer = setTimeout(finish, graceMs);
          if (waiting === 0) finish();
        };
        // A thread that does not end (a bug) is terminated, so shutdown never hangs on it.
        const kill = setTimeout(() => void thread.terminate(), options.wakeMs * 10 + 1000);
        if (exited) threadGone();
        else onExit = threadGone;
      })),
  };
  return Promise.resolve(endpoint);
}
