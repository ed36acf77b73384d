/**
 * The UDP thread's body (a node:worker_threads thread a worker starts with
 * `--io thread`, src/net/udp-thread.ts): blocks in recvmmsg on the worker's
 * reuseport socket, answers reply-cache hits in place and sends them with
 * sendmmsg, and passes every other datagram to the worker's main thread. No
 * event loop, no epoll, no callback per wake-up.
 */

import { receiveMessageOnPort, workerData, parentPort, type MessagePort } from 'node:worker_threads';
import type { Config } from '../config.js';
import type { ZoneSet } from '../auth/zone-set.js';
import { ERRNO, libc, MMSG_LAYOUT as L } from '../sys/libc.js';
import { MMSGHDR, mmsgVectors, NAME } from './mmsg-vectors.js';
import { hitBatch, threadPipeline } from './udp-thread-batch.js';
import { COALESCE_MIN_BATCH, COALESCE_TIMER_SLACK_NS, CONTROL, MISS_HEADER, STAT, type CachePut, type ThreadSetup, type ThreadReport } from './udp-thread-protocol.js';

/** recvmmsg: block for the first datagram only, then take what is queued (recvmmsg(2)). */
const MSG_WAITFORONE = 0x10000;
const MSG_DONTWAIT = 0x40;
const SOL_SOCKET = 1;
/** SO_RCVTIMEO (socket(7)): a blocked receive returns EAGAIN after this long, so the thread sees a stop request. */
const SO_RCVTIMEO = 20;

const setup = workerData as ThreadSetup;
const control = new Int32Array(setup.control);
const stats = new Float64Array(setup.stats);
const port = setup.port as MessagePort;
const fd = setup.fd;
const n = setup.batch;
const c = libc;

function report(r: ThreadReport): void {
  parentPort!.postMessage(r);
}

function main(): void {
  // Blocking reads: O_NONBLOCK off on the descriptor (the main thread's and the supervisor's calls pass
  // MSG_DONTWAIT, so they are not affected), and a receive timeout so a stop request is seen within it.
  const blocking = c.setNonBlocking(fd, false);
  if (blocking.kind === 'errno') {
    report({ kind: 'fatal', message: `cannot make the UDP socket blocking (fcntl errno ${blocking.errno})` });
    return;
  }
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(0n, 0);
  tv.writeBigInt64LE(BigInt(setup.wakeMs * 1000), 8);
  const timeout = c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv);
  if (timeout.kind === 'errno') {
    report({ kind: 'fatal', message: `cannot set the UDP socket's receive timeout (setsockopt errno ${timeout.errno})` });
    return;
  }

  const coalesceNs = setup.coalesceUs * 1000;
  if (coalesceNs > 0) {
    // The thread's own slack (prctl applies to the calling thread only): the wait ends when asked, not up to 50 µs later.
    const slack = c.setTimerSlack(COALESCE_TIMER_SLACK_NS);
    if (slack.kind === 'errno') report({ kind: 'error', message: `cannot set the UDP thread's timer slack (prctl errno ${slack.errno}); coalescing waits may end up to 50 µs late` });
  }

  const { pipeline, replies, ctx, clock } = threadPipeline(setup.config as Config, setup.recursion, setup.cacheEntries, setup.cacheBytes, setup.counters, (m) => report({ kind: 'error', message: m }));
  let zones = ctx.zones;
  let generation = Atomics.load(control, CONTROL.generation);

  // The structs' fixed parts filled once, as the mmsg engine's (mmsg-vectors.ts).
  const vectors = mmsgVectors(c, n, setup.recvSize, setup.sendSize);
  const { recvVec, sendEntry } = vectors;
  /** Misses of one batch, packed for the main thread: per datagram its length (2), its sender's address (NAME), its octets. */
  const missBuf = Buffer.allocUnsafeSlow(n * (MISS_HEADER + setup.recvSize));
  const batch = hitBatch({ pipeline, vectors, n, recvSize: setup.recvSize, sendSize: setup.sendSize, missBuf, onError: (m) => report({ kind: 'error', message: m }) });

  /** Cache fills the main thread sent: kept (when of the current generation). */
  const drain = (): void => {
    Atomics.store(control, CONTROL.pending, 0);
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const put = m.message as CachePut;
      if (put.generation !== generation) continue;
      const question = Buffer.from(put.question.buffer, put.question.byteOffset, put.question.byteLength);
      replies.put({ question, variant: put.variant, nameEnd: put.nameEnd, hash: put.hash }, put.reply, zones, put.ttl, put.ttl !== undefined ? put.storedAt : undefined);
    }
  };

  let filled = n;
  while (Atomics.load(control, CONTROL.stop) === 0) {
    for (let i = 0; i < filled; i++) recvVec.view.setUint32(i * MMSGHDR + L.namelen, NAME, true);
    const got = c.recvmmsg(fd, recvVec.address, n, MSG_WAITFORONE);
    filled = got > 0 ? got : 0;
    if (got < 0) {
      // EAGAIN: the receive timeout ran out (a stop request is looked for), or the descriptor was made
      // non-blocking again (a --io dgram worker adopting it during an upgrade): then wait in poll,
      // so an empty socket never makes this loop spin.
      if (got === -ERRNO.EAGAIN) c.pollReadable(fd, setup.wakeMs);
      if (got === -ERRNO.EAGAIN || got === -ERRNO.EINTR) continue;
      report({ kind: 'fatal', message: `recvmmsg failed (errno ${-got})` });
      return;
    }
    clock.hold();
    // What the main thread said while this thread was blocked applies to the datagrams just read: an
    // emptying (a reload mapped new zones, the hosts files changed) first, then the replies kept since.
    const g = Atomics.load(control, CONTROL.generation);
    if (g !== generation) {
      generation = g;
      zones = {} as ZoneSet;
      ctx.zones = zones;
      replies.use(zones);
    }
    if (Atomics.load(control, CONTROL.pending) !== 0) drain();
    const { replies: out, missBytes: missAt } = batch(got);
    clock.release();
    // Counted before the replies leave: a client that asks for the counters once answered sees its queries in them.
    stats[STAT.recvCalls]!++;
    stats[STAT.received]! += got;
    stats[STAT.cacheHits] = replies.hits;
    stats[STAT.cacheEntries] = replies.size;
    // sendmmsg stops at an entry it cannot send; that one alone is dropped (as the mmsg engine does).
    let at = 0;
    let failed = 0;
    while (at < out) {
      const r = c.sendmmsg(fd, sendEntry[at]!, out - at, MSG_DONTWAIT);
      if (r > 0) at += r;
      else {
        failed++;
        at++;
      }
    }
    if (missAt > 0) report({ kind: 'misses', data: missBuf.buffer.slice(missBuf.byteOffset, missBuf.byteOffset + missAt) });
    stats[STAT.sent]! += at - failed;
    stats[STAT.sendFailures]! += failed;
    // Batch coalescing (interrupt moderation's trade): the socket is busy, so sleep a little and let more
    // datagrams queue for the next recvmmsg: fewer wake-ups and system calls per query, for at most
    // coalesceUs of added latency to a datagram that arrives during the sleep. After the replies are sent,
    // so no reply waits; a lone datagram (got 1) never makes the thread wait.
    if (coalesceNs > 0 && got >= COALESCE_MIN_BATCH) {
      c.sleepNs(coalesceNs);
      stats[STAT.coalesceWaits]!++;
    }
  }
}

main();
