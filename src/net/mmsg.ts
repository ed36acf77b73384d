/** The batched UDP I/O engine: recvmmsg/sendmmsg (through src/sys/libc.ts) on the worker's reuseport socket, memory allocated once. */

import { ERRNO, libc as realLibc, MMSG_LAYOUT as L, type Libc } from '../sys/libc.js';
import { IOVEC, lateSlot, MMSGHDR, mmsgVectors, NAME } from './mmsg-vectors.js';
import type { BatchClock } from './batch-clock.js';
import type { OpenSocket } from './reuseport.js';
import { sockaddrPort, sockaddrText } from './sockaddr.js';
import type { InPlaceHandler, MessageHandler, UdpEndpoint } from './udp.js';

const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;

/** How the engine batches. */
export interface MmsgOptions {
  /** Datagrams per recvmmsg/sendmmsg call. */
  batch: number;
  /** Batches handled per readable event before yielding to the event loop (IPC, TCP, timers). */
  batchesPerTurn: number;
  /** Largest datagram received; bigger ones are dropped (MSG_TRUNC) and counted. */
  recvSize: number;
  /** Largest reply sent. */
  sendSize: number;
  /** The C library to call; the real one unless a test passes a fake. */
  libc?: Libc;
  /** Held for each received batch (the reply cache's and pipeline's clock), so they read the time once per batch. */
  clock?: BatchClock;
}

/** Defaults measured on the development machine (see the fast-path issue's note). */
export const MMSG_DEFAULTS: MmsgOptions = { batch: 64, batchesPerTurn: 4, recvSize: 4096, sendSize: 4096 };

/** Engine counters (for tests and reports). */
export interface MmsgStats {
  /** Datagrams read. */
  received: number;
  /** Replies the kernel took. */
  sent: number;
  /** Datagrams longer than `recvSize`, dropped unanswered. */
  oversize: number;
  /** Replies not sent: refused by the kernel (each counted alone; the rest of its batch still goes out) or longer than `sendSize`. */
  sendFailures: number;
  /** The errno of the last reply not sent (EMSGSIZE for one longer than `sendSize`; 0: none yet). */
  lastSendErrno: number;
  /** recvmmsg calls made. */
  recvCalls: number;
}

/**
 * Serves DNS over UDP on a reuseport descriptor with recvmmsg/sendmmsg,
 * reading when a poll handle (a libuv uv_poll on the event loop) says the
 * socket is readable. Memory is allocated once: the mmsghdr, iovec and
 * address arrays and the datagram buffers; replies are copied into the send
 * area and go out in one sendmmsg per batch, to the address each query came
 * from. Each send slot's mmsghdr keeps pointing at its own iovec and bytes
 * for the engine's life: after a short sendmmsg the next call starts at the
 * first unsent slot, and a reply the kernel refuses (EAGAIN, EMSGSIZE, a
 * pending ICMP error…) is dropped alone and counted while the rest of its
 * batch still goes out. At most `batchesPerTurn` batches per event, so IPC,
 * TCP and timers keep their turn under full load (uv_poll is
 * level-triggered: a socket still readable fires again on the next loop
 * iteration). Answers that come later (forwarded questions) leave through a
 * one-message sendmmsg of their own, also during shutdown until the socket
 * closes, as the dgram engine sends them. Node never adopts this
 * descriptor, so libuv never turns SO_REUSEADDR on.
 */
export function serveUdpMmsg(
  sock: OpenSocket,
  handle: MessageHandler,
  onError: (err: Error) => void,
  options: MmsgOptions = MMSG_DEFAULTS,
  inPlace: InPlaceHandler | null = null,
): Promise<UdpEndpoint & { stats: MmsgStats }> {
  const c = options.libc ?? realLibc;
  const fd = sock.fd;
  const n = options.batch;
  const clock = options.clock;
  // The structs' fixed parts are filled once (mmsg-vectors.ts); the late-reply slot is one of its own.
  const { recvVec, recvData, sendVec, sendData, sendEntry, queueReply: queue } = mmsgVectors(c, n, options.recvSize, options.sendSize);
  const late = lateSlot(c, options.sendSize);
  const regions = [recvVec, recvData, sendVec, sendData, late.region];
  const stats: MmsgStats = { received: 0, sent: 0, oversize: 0, sendFailures: 0, lastSendErrno: 0, recvCalls: 0 };
  const nameOff = n * (MMSGHDR + IOVEC);

  /** No more reading (shutdown began); late replies still go out. */
  let closed = false;
  /** The descriptor is closed and the memory released: nothing may touch either. */
  let released = false;
  let waiting = 0;
  /** Receive slots whose msg_namelen the kernel overwrote in the last call (all of them at first). */
  let filled = n;
  let drained: (() => void) | null = null;

  /** Counts a reply the kernel refused. */
  const refused = (errno: number): void => {
    stats.sendFailures++;
    stats.lastSendErrno = errno;
  };

  /** Sends a reply that was not ready within its batch, to the address saved for it. */
  const sendLate = (reply: Buffer, name: Buffer): void => {
    if (released) return;
    const r = late.send(fd, reply, name);
    if (r === 1) stats.sent++;
    else refused(-r);
  };

  /** Fills send slot `slot` (its bytes already written): `length` bytes to the sender of datagram `from`. */
  /**
   * Sends send slots [0, out). sendmmsg stops at the first entry it cannot
   * send; the next call starts there, and when that entry fails first (a
   * negative count) it alone is dropped. Every call sends or drops at least
   * one entry, so this ends after `out` calls at most.
   */
  const flush = (out: number): void => {
    let at = 0;
    while (at < out) {
      const r = c.sendmmsg(fd, sendEntry[at]!, out - at, MSG_DONTWAIT);
      if (r > 0) {
        stats.sent += r;
        at += r;
      } else {
        refused(r < 0 ? -r : 0);
        at++;
      }
    }
  };

  /** One recvmmsg → answers → one sendmmsg. Returns the number of datagrams read (0: queue empty). */
  const batch = (): number => {
    if (released) return 0;
    // msg_namelen is both in and out: give back the room of the slots the last call filled.
    for (let i = 0; i < filled; i++) recvVec.view.setUint32(i * MMSGHDR + L.namelen, NAME, true);
    const got = c.recvmmsg(fd, recvVec.address, n, MSG_DONTWAIT);
    filled = got > 0 ? got : 0;
    stats.recvCalls++;
    if (got < 0) {
      if (got !== -ERRNO.EAGAIN && got !== -ERRNO.EINTR) onError(new Error(`recvmmsg failed (errno ${-got})`));
      return 0;
    }
    let out = 0;
    clock?.hold();
    try {
      for (let i = 0; i < got; i++) {
        stats.received++;
        const h = i * MMSGHDR;
        const len = recvVec.view.getUint32(h + L.len, true);
        if ((recvVec.view.getInt32(h + L.flags, true) & MSG_TRUNC) !== 0) {
          stats.oversize++;
          continue;
        }
        const nameAt = nameOff + i * NAME;
        const nameLen = recvVec.view.getUint32(h + L.namelen, true);
        const qOff = i * options.recvSize;
        if (inPlace !== null) {
          // The in-place path (a cached reply, or a plain miss answered): the reply is written straight into its send slot.
          let written = -1;
          try {
            written = inPlace(recvData.bytes, qOff, len, recvVec.bytes, nameAt, sendData.bytes, out * options.sendSize, options.sendSize);
          } catch (err) {
            // A bug must not end the worker: report it, and let the full path answer.
            onError(err as Error);
          }
          if (written >= 0) {
            queue(out++, i, written, nameLen);
            continue;
          }
        }
        const query = recvData.bytes.subarray(qOff, qOff + len);
        let reply: ReturnType<MessageHandler>;
        try {
          reply = handle(query, sockaddrText(recvVec.bytes, nameAt), sockaddrPort(recvVec.bytes, nameAt));
        } catch (err) {
          onError(err as Error);
          continue;
        }
        if (reply === null) continue;
        if (reply instanceof Promise) {
          const name = Buffer.from(recvVec.bytes.subarray(nameAt, nameAt + nameLen));
          waiting++;
          void reply.then((bytes) => {
            waiting--;
            if (bytes) sendLate(bytes, name);
            if (closed && waiting === 0) drained?.();
          });
          continue;
        }
        if (reply.length > options.sendSize) {
          refused(ERRNO.EMSGSIZE);
          continue;
        }
        reply.copy(sendData.bytes, out * options.sendSize);
        queue(out++, i, reply.length, nameLen);
      }
    } finally {
      clock?.release();
    }
    if (out > 0) flush(out);
    return got;
  };

  const watch = c.watchReadable(fd, () => {
    // A short batch ends the turn. Reading on until a read comes back empty was measured (cached
    // forwarding, 60k QPS): more, smaller batches and an empty read before each sleep, more
    // recvmmsg, sendmmsg and epoll_pwait calls per query, and more CPU per query.
    for (let turn = 0; turn < options.batchesPerTurn; turn++) {
      if (batch() < n) break;
    }
  });

  let closing: Promise<void> | null = null;
  return Promise.resolve({
    stats,
    close: (graceMs: number) =>
      (closing ??= new Promise<void>((done) => {
        watch.stop();
        // Finish what the socket holds, then wait (bounded) for the replies still coming.
        while (batch() === n);
        closed = true;
        const finish = (): void => {
          if (released) return;
          released = true;
          clearTimeout(timer);
          watch.close();
          c.close(fd);
          for (const r of regions) c.free(r.address);
          done();
        };
        const timer = setTimeout(finish, graceMs);
        drained = finish;
        if (waiting === 0) finish();
      })),
  });
}
