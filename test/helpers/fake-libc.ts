/** A stand-in for src/sys/libc.ts: "maps" a file by copying it, fails mmap on demand, makes sendmmsg stop short or refuse entries on demand while the rest goes to the real socket, and records a privilege drop instead of making it. */

import { readSync } from 'node:fs';
import { sockaddrText } from '../../src/net/sockaddr.js';
import { ERRNO, libc as real, MMSG_LAYOUT as L, type GroupEntry, type Libc, type PasswdEntry, type ReadableWatch, type SysResult } from '../../src/sys/libc.js';

const TEXT: Record<number, string> = {
  [ERRNO.ENOMEM]: 'Cannot allocate memory',
  [ERRNO.EINVAL]: 'Invalid argument',
  [ERRNO.ENODEV]: 'No such device',
  [ERRNO.EACCES]: 'Permission denied',
  [ERRNO.EPERM]: 'Operation not permitted',
  [ERRNO.ENOSPC]: 'No space left on device',
};

/** One sendmmsg entry as the fake read it from the engine's structs: where to and what. */
export interface Datagram {
  /** `127.0.0.1:5353`, or `[0:0:0:0:0:0:0:1]:5353`. */
  to: string;
  /** The octets the entry's iovec points at (a copy). */
  payload: Buffer;
}

/** A sendmmsg entry the fake was told to refuse: `position` within the call, `call` counted from 0. */
export type Refuse = (entry: Datagram, call: number, position: number) => number | null;

/**
 * A fake C library.
 *
 * Mappings: `failMmap` makes the next mmap calls fail with that errno; every
 * mapping call is recorded in `calls`; `live` counts regions mapped and not
 * yet unmapped (a test sees a leak or a double munmap).
 *
 * Sockets go to the real C library, so datagrams really travel. sendmmsg
 * reads each entry the engine wrote (msg_name, msg_iov and the octets it
 * points at), asks `refuse` whether to fail it (an errno) and otherwise
 * sends it alone through the real sendmmsg, as the kernel does: it stops at
 * the first entry that fails and returns the count sent before it, or
 * -errno when that was the first. `shortSends` caps the count of the next
 * calls, one number a call. What went out is in `sent`; each call is in
 * `sendCalls` (`3/5`: three of five sent; `-111/2`: the first of two failed).
 * Memory comes from the real allocator and is tracked: `allocated` counts
 * blocks not yet freed, and the fake reads struct pointers only inside them.
 *
 * Users and privileges: the user and group databases are `users` and
 * `groups` (set them per test); setgroups, setgid and setuid change nothing,
 * they are recorded in `privilegeCalls` (`setuid 65534`) and fail with the
 * errno in `failPrivilege[call]` when one is set. Close-on-exec is real.
 */
export class FakeLibc implements Libc {
  failMmap: number | null = null;
  /** When set, fallocate fails with this errno (a full disk: ENOSPC). */
  failFallocate: number | null = null;
  /** When set, preallocate (Linux fallocate) fails with this errno (ENOSPC, or EOPNOTSUPP for a file system without it). */
  failPreallocate: number | null = null;
  readonly calls: string[] = [];
  /** Per sendmmsg call, in order: at most this many entries go out (then no cap). */
  shortSends: number[] = [];
  refuse: Refuse | null = null;
  readonly sent: Datagram[] = [];
  readonly sendCalls: string[] = [];
  /** Descriptors closed, in order. */
  readonly closed: number[] = [];
  /** The user database getpwnam/getpwuid read. */
  users: PasswdEntry[] = [];
  /** The group database getgrnam/getgrgid read. */
  groups: GroupEntry[] = [];
  /** setgroups/setgid/setuid as called: `setgroups 65534`, `setgid 65534`, `setuid 65534`. */
  readonly privilegeCalls: string[] = [];
  /** An errno for a privilege call to fail with, by call name. */
  failPrivilege: Partial<Record<'setgroups' | 'setgid' | 'setuid', number>> = {};
  private readonly regions = new Map<bigint, ArrayBuffer>();
  private readonly blocks = new Map<bigint, ArrayBuffer>();
  private next = 0x7f00_0000_0000n;

  get live(): number {
    return this.regions.size;
  }

  /** Blocks from `alloc` not yet freed. */
  get allocated(): number {
    return this.blocks.size;
  }

  mmap(length: number, _prot: number, _flags: number, fd: number, offset: number): SysResult<bigint> {
    this.calls.push(`mmap ${length}`);
    if (this.failMmap !== null) return { kind: 'errno', errno: this.failMmap };
    const buffer = new ArrayBuffer(length);
    const bytes = new Uint8Array(buffer);
    for (let at = 0; at < length; ) {
      const n = readSync(fd, bytes, at, length - at, offset + at);
      if (n === 0) break;
      at += n;
    }
    const address = this.next;
    this.next += BigInt(Math.ceil(length / 4096) * 4096 + 4096);
    this.regions.set(address, buffer);
    return { kind: 'ok', value: address };
  }

  munmap(address: bigint, length: number): SysResult<void> {
    this.calls.push(`munmap ${length}`);
    if (!this.regions.delete(address)) return { kind: 'errno', errno: ERRNO.EINVAL };
    return { kind: 'ok', value: undefined };
  }

  madvise(address: bigint, _length: number, advice: number): SysResult<void> {
    this.calls.push(`madvise ${advice}`);
    return this.regions.has(address) ? { kind: 'ok', value: undefined } : { kind: 'errno', errno: ERRNO.ENOMEM };
  }

  /** The real posix_fallocate (files are real), unless `failFallocate` names an errno to fail with; recorded in `calls`. */
  fallocate(fd: number, offset: number, length: number): SysResult<void> {
    this.calls.push(`fallocate ${offset} ${length}`);
    if (this.failFallocate !== null) return { kind: 'errno', errno: this.failFallocate };
    return real.fallocate(fd, offset, length);
  }

  /** The real Linux fallocate (files are real), unless `failPreallocate` names an errno to fail with; recorded in `calls`. */
  preallocate(fd: number, length: number): SysResult<void> {
    this.calls.push(`preallocate ${length}`);
    if (this.failPreallocate !== null) return { kind: 'errno', errno: this.failPreallocate };
    return real.preallocate(fd, length);
  }

  view(address: bigint, length: number): ArrayBuffer {
    const mapped = this.regions.get(address);
    if (mapped !== undefined && mapped.byteLength === length) return mapped;
    const block = this.blocks.get(address);
    if (block !== undefined && block.byteLength === length) return block;
    throw new Error(`fake libc: no region of ${length} octets at ${address.toString(16)}`);
  }

  strerror(errno: number): string {
    return TEXT[errno] ?? `Unknown error ${errno}`;
  }

  socket(domain: number, type: number, protocol: number): SysResult<number> {
    return real.socket(domain, type, protocol);
  }

  setsockopt(fd: number, level: number, name: number, value: Uint8Array): SysResult<void> {
    return real.setsockopt(fd, level, name, value);
  }

  getsockopt(fd: number, level: number, name: number, value: Uint8Array): SysResult<number> {
    return real.getsockopt(fd, level, name, value);
  }

  bind(fd: number, address: Uint8Array): SysResult<void> {
    return real.bind(fd, address);
  }

  listen(fd: number, backlog: number): SysResult<void> {
    return real.listen(fd, backlog);
  }

  close(fd: number): SysResult<void> {
    this.closed.push(fd);
    return real.close(fd);
  }

  inetPton(family: number, text: string, dst: Uint8Array): boolean {
    return real.inetPton(family, text, dst);
  }

  ifNameToIndex(name: string): number {
    return real.ifNameToIndex(name);
  }

  recvmmsg(fd: number, vec: bigint, vlen: number, flags: number): number {
    return real.recvmmsg(fd, vec, vlen, flags);
  }

  sendmmsg(fd: number, vec: bigint, vlen: number, flags: number): number {
    const call = this.sendCalls.length;
    const cap = this.shortSends.length > 0 ? this.shortSends.shift()! : vlen;
    let done = 0;
    let result: number | null = null;
    for (let i = 0; i < vlen && done < cap && result === null; i++) {
      const entry = vec + BigInt(i * L.mmsghdr);
      const datagram = this.readEntry(entry);
      const errno = this.refuse?.(datagram, call, i) ?? null;
      const r = errno !== null ? -errno : real.sendmmsg(fd, entry, 1, flags);
      if (r === 1) {
        this.sent.push(datagram);
        done++;
      } else {
        result = done > 0 ? done : r;
      }
    }
    result ??= done;
    this.sendCalls.push(`${result}/${vlen}`);
    return result;
  }

  alloc(length: number): bigint {
    const address = real.alloc(length);
    this.blocks.set(address, real.view(address, length));
    return address;
  }

  free(address: bigint): void {
    if (!this.blocks.delete(address)) throw new Error(`fake libc: free of ${address.toString(16)}, which is not allocated (a double free?)`);
    real.free(address);
  }

  watchReadable(fd: number, onReadable: () => void): ReadableWatch {
    return real.watchReadable(fd, onReadable);
  }

  setCloseOnExec(fd: number, on: boolean): SysResult<void> {
    return real.setCloseOnExec(fd, on);
  }

  setNonBlocking(fd: number, on: boolean): SysResult<void> {
    return real.setNonBlocking(fd, on);
  }

  pollReadable(fd: number, timeoutMs: number): number {
    return real.pollReadable(fd, timeoutMs);
  }

  sleepNs(ns: number): number {
    return real.sleepNs(ns);
  }

  setTimerSlack(ns: number): SysResult<void> {
    return real.setTimerSlack(ns);
  }

  getpwnam(name: string): PasswdEntry | null {
    return this.users.find((u) => u.name === name) ?? null;
  }

  getpwuid(uid: number): PasswdEntry | null {
    return this.users.find((u) => u.uid === uid) ?? null;
  }

  getgrnam(name: string): GroupEntry | null {
    return this.groups.find((g) => g.name === name) ?? null;
  }

  getgrgid(gid: number): GroupEntry | null {
    return this.groups.find((g) => g.gid === gid) ?? null;
  }

  setgroups(gids: readonly number[]): SysResult<void> {
    return this.privilege('setgroups', gids.join(','));
  }

  setgid(gid: number): SysResult<void> {
    return this.privilege('setgid', String(gid));
  }

  setuid(uid: number): SysResult<void> {
    return this.privilege('setuid', String(uid));
  }

  private privilege(call: 'setgroups' | 'setgid' | 'setuid', args: string): SysResult<void> {
    this.privilegeCalls.push(`${call} ${args}`);
    const errno = this.failPrivilege[call];
    return errno !== undefined ? { kind: 'errno', errno } : { kind: 'ok', value: undefined };
  }

  /** `length` octets at `address`, which must lie inside one allocated block (the fake follows no other pointer). */
  private peek(address: bigint, length: number): Uint8Array {
    for (const [base, block] of this.blocks) {
      const at = Number(address - base);
      if (address >= base && at + length <= block.byteLength) return new Uint8Array(block, at, length);
    }
    throw new Error(`fake libc: ${length} octets at ${address.toString(16)} lie outside every allocated block`);
  }

  /** Reads one struct mmsghdr with one iovec, as the engine wrote it. */
  private readEntry(entry: bigint): Datagram {
    const h = new DataView(this.peek(entry, L.mmsghdr).slice().buffer);
    const nameLen = h.getUint32(L.namelen, true);
    const name = this.peek(h.getBigUint64(L.name, true), nameLen);
    if (h.getBigUint64(L.iovlen, true) !== 1n) throw new Error('fake libc: the engine sends one iovec per entry');
    const iov = new DataView(this.peek(h.getBigUint64(L.iov, true), L.iovec).slice().buffer);
    const payload = Buffer.from(this.peek(iov.getBigUint64(0, true), Number(iov.getBigUint64(8, true))));
    const port = (name[2]! << 8) | name[3]!;
    const address = sockaddrText(name, 0);
    return { to: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`, payload };
  }
}
