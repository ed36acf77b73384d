/** The batched UDP I/O engine: recvmmsg/sendmmsg through koffi on the worker's reuseport socket. */

import koffi from 'koffi';
import type { OpenSocket } from './reuseport.js';
import { sockaddrText } from './sockaddr.js';
import type { InPlaceHandler, MessageHandler, UdpEndpoint } from './udp.js';

// Linux x86_64/arm64 layouts (recvmmsg(2), socket.h): struct iovec 16 bytes,
// struct msghdr 56 bytes, struct mmsghdr 64 bytes; sockaddr_in6 28 bytes.
const MMSGHDR = 64;
const IOVEC = 16;
const NAME = 32;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EAGAIN = 11;
const EINTR = 4;

const libc = koffi.load('libc.so.6');
const recvmmsg = libc.func('int recvmmsg(int fd, void *vec, unsigned int vlen, int flags, void *timeout)');
const sendmmsg = libc.func('int sendmmsg(int fd, void *vec, unsigned int vlen, int flags)');
const closeFd = libc.func('int close(int fd)');

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
}

/** Defaults measured on the development machine (see the fast-path issue's note). */
export const MMSG_DEFAULTS: MmsgOptions = { batch: 64, batchesPerTurn: 4, recvSize: 4096, sendSize: 4096 };

/** One block of unmanaged memory: its pointer for koffi, its address for the structs, a JS view of it. */
interface Region {
  ptr: unknown;
  base: bigint;
  bytes: Buffer;
  view: DataView;
}

function region(size: number): Region {
  const ptr = koffi.alloc('uint8_t', size);
  const ab = koffi.view(ptr, size);
  return { ptr, base: koffi.address(ptr), bytes: Buffer.from(ab), view: new DataView(ab) };
}

/** Engine counters (for tests and reports). */
export interface MmsgStats {
  received: number;
  sent: number;
  oversize: number;
  sendFailures: number;
  recvCalls: number;
}

/**
 * Serves DNS over UDP on a reuseport descriptor with recvmmsg/sendmmsg,
 * reading when koffi's poll handle (a libuv uv_poll on the event loop) says
 * the socket is readable. Memory is allocated once: the mmsghdr, iovec and
 * address arrays and the datagram buffers; replies are copied into the send
 * area and go out in one sendmmsg per batch, to the address each query came
 * from. At most `batchesPerTurn` batches per event, so IPC, TCP and timers
 * keep their turn under full load (uv_poll is level-triggered: a socket still
 * readable fires again on the next loop iteration). Answers that come later
 * (forwarded questions) leave through a one-message sendmmsg of their own.
 * Node never adopts this descriptor, so libuv never turns SO_REUSEADDR on.
 */
export function serveUdpMmsg(
  sock: OpenSocket,
  handle: MessageHandler,
  onError: (err: Error) => void,
  options: MmsgOptions = MMSG_DEFAULTS,
  inPlace: InPlaceHandler | null = null,
): Promise<UdpEndpoint & { stats: MmsgStats }> {
  const n = options.batch;
  const recvVec = region(n * (MMSGHDR + IOVEC + NAME));
  const recvData = region(n * options.recvSize);
  const sendVec = region(n * (MMSGHDR + IOVEC));
  const sendData = region(n * options.sendSize);
  const late = region(MMSGHDR + IOVEC + NAME + options.sendSize);
  const stats: MmsgStats = { received: 0, sent: 0, oversize: 0, sendFailures: 0, recvCalls: 0 };
  const iovOff = n * MMSGHDR;
  const nameOff = n * (MMSGHDR + IOVEC);
  const sendIovOff = n * MMSGHDR;

  // Addresses of the sender-address slots as two 32-bit halves, so the hot path writes
  // pointers without making a BigInt per datagram.
  const nameLo = new Uint32Array(n);
  const nameHi = new Uint32Array(n);
  // Fill the fixed parts of the structs once.
  for (let i = 0; i < n; i++) {
    const addr = recvVec.base + BigInt(nameOff + i * NAME);
    nameLo[i] = Number(addr & 0xffffffffn);
    nameHi[i] = Number(addr >> 32n);
    const h = i * MMSGHDR;
    const iov = iovOff + i * IOVEC;
    recvVec.view.setBigUint64(h + 0, recvVec.base + BigInt(nameOff + i * NAME), true); // msg_name
    recvVec.view.setBigUint64(h + 16, recvVec.base + BigInt(iov), true); // msg_iov
    recvVec.view.setBigUint64(h + 24, 1n, true); // msg_iovlen
    recvVec.view.setBigUint64(iov, recvData.base + BigInt(i * options.recvSize), true);
    recvVec.view.setBigUint64(iov + 8, BigInt(options.recvSize), true);
    const sh = i * MMSGHDR;
    const siov = sendIovOff + i * IOVEC;
    sendVec.view.setBigUint64(sh + 16, sendVec.base + BigInt(siov), true);
    sendVec.view.setBigUint64(sh + 24, 1n, true);
    sendVec.view.setBigUint64(siov, sendData.base + BigInt(i * options.sendSize), true);
  }
  late.view.setBigUint64(0, late.base + BigInt(MMSGHDR + IOVEC), true);
  late.view.setBigUint64(16, late.base + BigInt(MMSGHDR), true);
  late.view.setBigUint64(24, 1n, true);
  late.view.setBigUint64(MMSGHDR, late.base + BigInt(MMSGHDR + IOVEC + NAME), true);

  let closed = false;
  let waiting = 0;
  /** Receive slots whose msg_namelen the kernel overwrote in the last call (all of them at first). */
  let filled = n;
  let drained: (() => void) | null = null;

  /** Sends a reply that was not ready within its batch, to the address saved for it. */
  const sendLate = (reply: Buffer, name: Buffer): void => {
    if (closed || reply.length > options.sendSize) return;
    name.copy(late.bytes, MMSGHDR + IOVEC);
    late.view.setUint32(8, name.length, true);
    reply.copy(late.bytes, MMSGHDR + IOVEC + NAME);
    late.view.setUint32(MMSGHDR + 8, reply.length, true);
    late.view.setUint32(MMSGHDR + 12, 0, true);
    if (sendmmsg(sock.fd, late.ptr, 1, MSG_DONTWAIT) === 1) stats.sent++;
    else stats.sendFailures++;
  };

  /** Fills send slot `slot` (its bytes already written): `length` bytes to the sender of datagram `from`. */
  const queue = (slot: number, from: number, length: number, nameLen: number): void => {
    const sh = slot * MMSGHDR;
    const lenAt = sendIovOff + slot * IOVEC + 8;
    sendVec.view.setUint32(lenAt, length, true); // iov_len (64-bit, high half stays 0)
    sendVec.view.setUint32(lenAt + 4, 0, true);
    sendVec.view.setUint32(sh, nameLo[from]!, true); // msg_name: reply to the sender's address
    sendVec.view.setUint32(sh + 4, nameHi[from]!, true);
    sendVec.view.setUint32(sh + 8, nameLen, true);
  };

  /** One recvmmsg → answers → one sendmmsg. Returns the number of datagrams read (0: queue empty). */
  const batch = (): number => {
    // msg_namelen is both in and out: give back the room of the slots the last call filled.
    for (let i = 0; i < filled; i++) recvVec.view.setUint32(i * MMSGHDR + 8, NAME, true);
    const got = recvmmsg(sock.fd, recvVec.ptr, n, MSG_DONTWAIT, null) as number;
    filled = got > 0 ? got : 0;
    stats.recvCalls++;
    if (got < 0) {
      const errno = koffi.errno();
      if (errno !== EAGAIN && errno !== EINTR) onError(new Error(`recvmmsg failed (errno ${errno})`));
      return 0;
    }
    let out = 0;
    for (let i = 0; i < got; i++) {
      stats.received++;
      const h = i * MMSGHDR;
      const len = recvVec.view.getUint32(h + 56, true);
      if ((recvVec.view.getInt32(h + 48, true) & MSG_TRUNC) !== 0) {
        stats.oversize++;
        continue;
      }
      const nameAt = nameOff + i * NAME;
      const nameLen = recvVec.view.getUint32(h + 8, true);
      const qOff = i * options.recvSize;
      if (inPlace !== null) {
        // The hit path: the reply is written straight into its send slot.
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
        reply = handle(query, sockaddrText(recvVec.bytes, nameAt));
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
      if (reply.length > options.sendSize) continue;
      reply.copy(sendData.bytes, out * options.sendSize);
      queue(out++, i, reply.length, nameLen);
    }
    if (out > 0) {
      let sent = 0;
      // sendmmsg may stop short when the socket buffer is full; try the rest once, then count the loss.
      for (let tries = 0; sent < out && tries < 2; tries++) {
        const r = sendmmsg(sock.fd, sendVec.ptr, out - sent, MSG_DONTWAIT) as number;
        if (r <= 0) break;
        sent += r;
        if (sent < out) shiftSendVec(sendVec, r, out - sent);
      }
      stats.sent += sent;
      stats.sendFailures += out - sent;
    }
    return got;
  };

  const poller = koffi.node.poll(sock.fd, { readable: true }, () => {
    for (let turn = 0; turn < options.batchesPerTurn; turn++) {
      if (batch() < n) break;
    }
  });

  return Promise.resolve({
    stats,
    close: (graceMs: number) =>
      new Promise<void>((done) => {
        poller.stop();
        // Finish what the socket holds, then close.
        while (!closed && batch() === n);
        closed = true;
        const finish = (): void => {
          clearTimeout(timer);
          poller.close();
          closeFd(sock.fd);
          done();
        };
        const timer = setTimeout(finish, graceMs);
        drained = finish;
        if (waiting === 0) finish();
      }),
  });
}

/** Moves the unsent tail of the send vector to its front (after a short sendmmsg). */
function shiftSendVec(sendVec: Region, sent: number, left: number): void {
  sendVec.bytes.copyWithin(0, sent * MMSGHDR, (sent + left) * MMSGHDR);
}
