/** The recvmmsg/sendmmsg vectors both UDP engines use (src/net/mmsg.ts, the --io thread's loop): unmanaged memory, and the mmsghdr/iovec fields filled once. */

import { ERRNO, MMSG_LAYOUT as L, type Libc } from '../sys/libc.js';

/** Bytes of one mmsghdr, of one iovec, and of one sender-address slot (a sockaddr_in6 fits). */
export const MMSGHDR = L.mmsghdr;
export const IOVEC = L.iovec;
export const NAME = 32;

/** One block of unmanaged memory: its address for the structs and the calls, a JS view of it. */
export interface Region {
  address: bigint;
  bytes: Buffer;
  view: DataView;
}

/** Allocates `size` bytes outside the JS heap (freed by the caller through the same Libc). */
export function region(c: Libc, size: number): Region {
  const address = c.alloc(size);
  const ab = c.view(address, size);
  return { address, bytes: Buffer.from(ab), view: new DataView(ab) };
}

/** The n receive and n send slots of one engine, their structs filled in. */
export interface MmsgVectors {
  /** n mmsghdrs, then their n iovecs, then n sender-address slots. */
  recvVec: Region;
  /** n datagram buffers of recvSize bytes. */
  recvData: Region;
  /** n mmsghdrs, then their n iovecs (msg_name is set per reply). */
  sendVec: Region;
  /** n reply buffers of sendSize bytes. */
  sendData: Region;
  /** The sender-address slots' addresses as two 32-bit halves, so the hot path writes pointers without making a BigInt per datagram. */
  nameLo: Uint32Array;
  nameHi: Uint32Array;
  /** Each send slot's mmsghdr address, for a call that starts past a short send. */
  sendEntry: bigint[];
  /**
   * Readies send slot `slot` for sendmmsg: a reply of `length` octets (in
   * sendData at slot × sendSize) to the sender of receive slot `from`
   * (`nameLen` octets of address). Per reply, so no allocation.
   */
  queueReply(slot: number, from: number, length: number, nameLen: number): void;
}

/**
 * Allocates an engine's vectors and fills their fixed parts once: each
 * receive mmsghdr points at its iovec (one, over its own buffer) and its own
 * sender-address slot; each send mmsghdr at its iovec over its own reply
 * buffer. What changes per call (msg_namelen before a read, iov_len and
 * msg_name before a send) is the caller's.
 */
export function mmsgVectors(c: Libc, n: number, recvSize: number, sendSize: number): MmsgVectors {
  const recvVec = region(c, n * (MMSGHDR + IOVEC + NAME));
  const recvData = region(c, n * recvSize);
  const sendVec = region(c, n * (MMSGHDR + IOVEC));
  const sendData = region(c, n * sendSize);
  const iovOff = n * MMSGHDR;
  const nameOff = n * (MMSGHDR + IOVEC);
  const nameLo = new Uint32Array(n);
  const nameHi = new Uint32Array(n);
  const sendEntry: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const addr = recvVec.address + BigInt(nameOff + i * NAME);
    nameLo[i] = Number(addr & 0xffffffffn);
    nameHi[i] = Number(addr >> 32n);
    const h = i * MMSGHDR;
    const iov = iovOff + i * IOVEC;
    recvVec.view.setBigUint64(h + L.name, addr, true);
    recvVec.view.setBigUint64(h + L.iov, recvVec.address + BigInt(iov), true);
    recvVec.view.setBigUint64(h + L.iovlen, 1n, true);
    recvVec.view.setBigUint64(iov, recvData.address + BigInt(i * recvSize), true); // iov_base
    recvVec.view.setBigUint64(iov + 8, BigInt(recvSize), true); // iov_len
    sendVec.view.setBigUint64(h + L.iov, sendVec.address + BigInt(iov), true);
    sendVec.view.setBigUint64(h + L.iovlen, 1n, true);
    sendVec.view.setBigUint64(iov, sendData.address + BigInt(i * sendSize), true);
    sendEntry.push(sendVec.address + BigInt(h));
  }
  const sv = sendVec.view;
  const queueReply = (slot: number, from: number, length: number, nameLen: number): void => {
    const h = slot * MMSGHDR;
    const lenAt = iovOff + slot * IOVEC + 8;
    sv.setUint32(lenAt, length, true); // iov_len (64-bit, high half stays 0)
    sv.setUint32(lenAt + 4, 0, true);
    sv.setUint32(h + L.name, nameLo[from]!, true); // msg_name: reply to the sender's address
    sv.setUint32(h + L.name + 4, nameHi[from]!, true);
    sv.setUint32(h + L.namelen, nameLen, true);
  };
  return { recvVec, recvData, sendVec, sendData, nameLo, nameHi, sendEntry, queueReply };
}

/** A one-message slot for replies that leave on their own (answers that came after their batch: forwarded ones). */
export interface LateSlot {
  /** The slot's memory (free it with the Libc that made it). */
  region: Region;
  /** Sends `reply` to the sender address `name` (a sockaddr) on `fd` without blocking: 1, or -errno (-EMSGSIZE for a reply over the slot's size). */
  send(fd: number, reply: Uint8Array, name: Uint8Array): number;
}

const MSG_DONTWAIT = 0x40;

/** Allocates a late-reply slot of `sendSize` bytes, its mmsghdr pointing at its iovec, its address slot and its buffer. */
export function lateSlot(c: Libc, sendSize: number): LateSlot {
  const r = region(c, MMSGHDR + IOVEC + NAME + sendSize);
  r.view.setBigUint64(L.name, r.address + BigInt(MMSGHDR + IOVEC), true);
  r.view.setBigUint64(L.iov, r.address + BigInt(MMSGHDR), true);
  r.view.setBigUint64(L.iovlen, 1n, true);
  r.view.setBigUint64(MMSGHDR, r.address + BigInt(MMSGHDR + IOVEC + NAME), true);
  return {
    region: r,
    send(fd, reply, name) {
      if (reply.length > sendSize || name.length > NAME) return -ERRNO.EMSGSIZE;
      r.bytes.set(name, MMSGHDR + IOVEC);
      r.view.setUint32(L.namelen, name.length, true);
      r.bytes.set(reply, MMSGHDR + IOVEC + NAME);
      r.view.setUint32(MMSGHDR + 8, reply.length, true); // iov_len (64-bit, high half 0)
      r.view.setUint32(MMSGHDR + 12, 0, true);
      return c.sendmmsg(fd, r.address, 1, MSG_DONTWAIT);
    },
  };
}
