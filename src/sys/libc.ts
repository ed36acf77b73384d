/** Every libc call shardns makes (memory mappings, sockets, batched datagrams, descriptor flags, users and privilege drop) and the koffi memory and poll handles beside them, behind one interface tests replace with a fake. */

import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import type { LibraryHandle } from 'koffi';

let koffiModule: typeof Koffi | null = null;

/**
 * koffi, loaded at the first libc call rather than by every module that
 * names a constant of this file: its native addon costs ~10 ms of CPU and a
 * 1 MB mapping, and `shardns ctl` never calls libc. require(), not import:
 * the CommonJS build, without an export lexer pass.
 */
function koffi(): typeof Koffi {
  return (koffiModule ??= createRequire(import.meta.url)('koffi') as typeof Koffi);
}

// Linux constants (x86_64 and arm64; mman-linux.h, errno-base.h, errno.h).
/** `PROT_READ`: pages may be read. */
export const PROT_READ = 1;
/** `PROT_WRITE`: pages may be written (with MAP_SHARED, the writes are the file's). */
export const PROT_WRITE = 2;
/** `MAP_SHARED`: the mapping is the file's page cache; every process mapping the file shares the pages. */
export const MAP_SHARED = 1;
/** madvise(2) advice values. */
export const MADV = {
  normal: 0,
  random: 1,
  sequential: 2,
  willneed: 3,
  dontneed: 4,
} as const;
/** errno values the code explains or acts on (errno(3), Linux numbering). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  ENODEV: 19,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  /** Disk quota exceeded. */
  EDQUOT: 122,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENOBUFS: 105,
  ECONNREFUSED: 111,
} as const;

/**
 * Layouts of the structs recvmmsg(2) and sendmmsg(2) read, on Linux x86_64
 * and arm64 (socket.h, uio.h): offsets in octets. The engine writes them;
 * a fake sendmmsg reads them.
 */
export const MMSG_LAYOUT = {
  /** sizeof(struct mmsghdr): a struct msghdr (56) and the unsigned msg_len (+ padding). */
  mmsghdr: 64,
  /** msghdr.msg_name: pointer to the peer's struct sockaddr. */
  name: 0,
  /** msghdr.msg_namelen (socklen_t, 32 bits): in/out for recvmmsg. */
  namelen: 8,
  /** msghdr.msg_iov: pointer to the struct iovec array. */
  iov: 16,
  /** msghdr.msg_iovlen (size_t). */
  iovlen: 24,
  /** msghdr.msg_flags (int): MSG_TRUNC and others, set by recvmmsg. */
  flags: 48,
  /** mmsghdr.msg_len (unsigned int): octets received or sent. */
  len: 56,
  /** sizeof(struct iovec): iov_base (pointer) at 0, iov_len (size_t) at 8. */
  iovec: 16,
} as const;

/** `F_GETFD` / `F_SETFD` commands of fcntl(2), and the one descriptor flag, `FD_CLOEXEC`. */
export const F_GETFD = 1;
/** See {@link F_GETFD}. */
export const F_SETFD = 2;
/** See {@link F_GETFD}. */
export const FD_CLOEXEC = 1;

/** `F_GETFL` / `F_SETFL` commands of fcntl(2) (file status flags), and `O_NONBLOCK` among them. */
export const F_GETFL = 3;
/** See {@link F_GETFL}. */
export const F_SETFL = 4;
/** See {@link F_GETFL}. */
export const O_NONBLOCK = 0o4000;

/** A user as the system's user database (NSS: /etc/passwd, LDAP …) knows it: getpwnam(3). */
export interface PasswdEntry {
  name: string;
  uid: number;
  /** The user's primary group. */
  gid: number;
  home: string;
}

/** A group as the system's group database knows it: getgrnam(3). */
export interface GroupEntry {
  name: string;
  gid: number;
}

/** A system call's result: its value, or the errno it set. */
export type SysResult<T> = { kind: 'ok'; value: T } | { kind: 'errno'; errno: number };

/** Watches a descriptor for readability on the event loop (a libuv uv_poll handle, level-triggered). */
export interface ReadableWatch {
  /** Stops calling back; the handle stays open. */
  stop(): void;
  /** Releases the handle (after stop, or instead of it). */
  close(): void;
}

/**
 * The C library as shardns calls it. Addresses are bigints (koffi's form of
 * a pointer). The real one is {@link libc}; tests pass a fake (one that
 * copies a file instead of mapping it, or makes sendmmsg stop short or fail
 * on demand).
 *
 * Two conventions: the calls made once per socket or mapping return a
 * {@link SysResult}; recvmmsg and sendmmsg, made on every batch, return a
 * plain number as the system call does (a count, or minus the errno), so
 * the datagram path allocates nothing.
 */
export interface Libc {
  /** mmap(NULL, length, prot, flags, fd, offset). */
  mmap(length: number, prot: number, flags: number, fd: number, offset: number): SysResult<bigint>;
  /** munmap(address, length). */
  munmap(address: bigint, length: number): SysResult<void>;
  /** madvise(address, length, advice): a hint; the kernel may ignore it. */
  madvise(address: bigint, length: number, advice: number): SysResult<void>;
  /**
   * posix_fallocate(fd, offset, length): the file system allocates those
   * octets now (the file grows to cover them; new octets read as zero), or
   * says why not (ENOSPC, EDQUOT), so that writing them later, even through
   * a mapping, cannot fail for lack of room.
   */
  fallocate(fd: number, offset: number, length: number): SysResult<void>;
  /**
   * fallocate(fd, 0, 0, length), Linux's own call: the file system reserves
   * the file's first `length` octets in one go, rather than block by block
   * as write(2) fills the page cache (ext4's delayed allocation: writing an
   * 87 MB image into a fresh file took ~200 ms on this machine, ~20 ms after
   * this call). Unlike posix_fallocate it never falls back to writing
   * zeros: a file system without it says EOPNOTSUPP.
   */
  preallocate(fd: number, length: number): SysResult<void>;
  /**
   * An ArrayBuffer over `length` octets at `address`, with no copy and no
   * owner: it stays valid exactly as long as the memory behind it does.
   */
  view(address: bigint, length: number): ArrayBuffer;
  /** The C library's text for an errno (`Cannot allocate memory`). */
  strerror(errno: number): string;

  /** socket(domain, type, protocol): a new descriptor. */
  socket(domain: number, type: number, protocol: number): SysResult<number>;
  /** setsockopt(fd, level, name, value, value.length). */
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): SysResult<void>;
  /** getsockopt(fd, level, name, value, &len), `len` starting at value.length: the octets written. */
  getsockopt(fd: number, level: number, name: number, value: Uint8Array): SysResult<number>;
  /** bind(fd, address, address.length), `address` a struct sockaddr_in or sockaddr_in6. */
  bind(fd: number, address: Uint8Array): SysResult<void>;
  /** listen(fd, backlog). */
  listen(fd: number, backlog: number): SysResult<void>;
  /** close(fd). */
  close(fd: number): SysResult<void>;
  /** inet_pton(family, text, dst): false when `text` is not an address of that family. */
  inetPton(family: number, text: string, dst: Uint8Array): boolean;
  /** if_nametoindex(name): the interface's index, 0 when there is none. */
  ifNameToIndex(name: string): number;

  /**
   * recvmmsg(fd, vec, vlen, flags, NULL) on a vector of `struct mmsghdr` at
   * `vec` (see {@link MMSG_LAYOUT}): the datagrams received, or -errno.
   */
  recvmmsg(fd: number, vec: bigint, vlen: number, flags: number): number;
  /**
   * sendmmsg(fd, vec, vlen, flags): the entries sent, counted from the first
   * (fewer than `vlen` when one could not go: the next call starting at that
   * entry says why), or -errno when the first could not go.
   */
  sendmmsg(fd: number, vec: bigint, vlen: number, flags: number): number;
  /** `length` octets of memory that never moves (for the structs above), zero-filled; read it with `view`. */
  alloc(length: number): bigint;
  /** Releases what `alloc` gave; every view of it is dead after this (a touch is a segmentation fault). */
  free(address: bigint): void;
  /** Calls `onReadable` from the event loop whenever `fd` is readable, until stopped. */
  watchReadable(fd: number, onReadable: () => void): ReadableWatch;
  /**
   * poll(2) on one descriptor for POLLIN, blocking the calling thread up to
   * `timeoutMs`: 1 when it is readable (or has an error to report), 0 when
   * the time ran out, or -errno. For a thread with no event loop.
   */
  pollReadable(fd: number, timeoutMs: number): number;
  /**
   * nanosleep(2) for `ns` nanoseconds (0 to 999,999,999), blocking the
   * calling thread: 0, or -errno (EINTR when a signal cut it short). For a
   * thread with no event loop. The kernel may wake it up to the thread's
   * timer slack late (see {@link Libc.setTimerSlack}).
   */
  sleepNs(ns: number): number;
  /**
   * prctl(PR_SET_TIMERSLACK, ns) (prctl(2)): the calling thread's timer
   * slack, how much later than asked the kernel may end its timed sleeps
   * (50 µs by default) so that it can group wake-ups; at least 1.
   */
  setTimerSlack(ns: number): SysResult<void>;

  /**
   * fcntl(fd, F_SETFD, …): turns close-on-exec on or off, keeping the other
   * descriptor flags (fcntl F_GETFD first). EBADF when `fd` is not open.
   */
  setCloseOnExec(fd: number, on: boolean): SysResult<void>;
  /**
   * fcntl(fd, F_SETFL, …): turns O_NONBLOCK on or off, keeping the other
   * status flags (fcntl F_GETFL first). The flag belongs to the open file
   * description: every process and thread holding the descriptor sees it.
   */
  setNonBlocking(fd: number, on: boolean): SysResult<void>;
  /** getpwnam(name): the user, or null when the user database has none of that name. */
  getpwnam(name: string): PasswdEntry | null;
  /** getpwuid(uid): the user, or null when the user database has none with that uid. */
  getpwuid(uid: number): PasswdEntry | null;
  /** getgrnam(name): the group, or null when there is none of that name. */
  getgrnam(name: string): GroupEntry | null;
  /** getgrgid(gid): the group, or null when there is none with that gid. */
  getgrgid(gid: number): GroupEntry | null;
  /** setgroups(n, list): the supplementary groups (needs CAP_SETGID). */
  setgroups(gids: readonly number[]): SysResult<void>;
  /** setgid(gid): as root, real, effective and saved group id all become `gid`. */
  setgid(gid: number): SysResult<void>;
  /**
   * setuid(uid): as root, real, effective and saved user id all become `uid`,
   * and with a uid other than 0 every capability is dropped (capabilities(7));
   * glibc applies it to every thread of the process.
   */
  setuid(uid: number): SysResult<void>;
}

/** `(void *) -1`, what mmap returns when it fails. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

type CFunction = ReturnType<LibraryHandle['func']>;

interface Bound {
  mmap: CFunction;
  munmap: CFunction;
  madvise: CFunction;
  posixFallocate: CFunction;
  fallocate: CFunction;
  strerror: CFunction;
  socket: CFunction;
  setsockopt: CFunction;
  getsockopt: CFunction;
  bind: CFunction;
  listen: CFunction;
  close: CFunction;
  inetPton: CFunction;
  ifNameToIndex: CFunction;
  recvmmsg: CFunction;
  sendmmsg: CFunction;
  fcntl: CFunction;
  poll: CFunction;
  nanosleep: CFunction;
  prctl: CFunction;
  getpwnam: CFunction;
  getpwuid: CFunction;
  getgrnam: CFunction;
  getgrgid: CFunction;
  setgroups: CFunction;
  setgid: CFunction;
  setuid: CFunction;
}

/** struct passwd and struct group (pwd.h, grp.h), declared with the functions. */
let passwdType: ReturnType<typeof Koffi.struct> | null = null;
let groupType: ReturnType<typeof Koffi.struct> | null = null;

let bound: Bound | null = null;

/** Binds the functions the first time one is needed (a test with a fake never loads libc). */
function c(): Bound {
  if (bound === null) {
    const lib = koffi().load('libc.so.6');
    bound = {
      mmap: lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
      munmap: lib.func('int munmap(void *addr, size_t length)'),
      madvise: lib.func('int madvise(void *addr, size_t length, int advice)'),
      posixFallocate: lib.func('int posix_fallocate(int fd, int64_t offset, int64_t len)'),
      fallocate: lib.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)'),
      strerror: lib.func('const char *strerror(int errnum)'),
      socket: lib.func('int socket(int domain, int type, int protocol)'),
      setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
      getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)'),
      bind: lib.func('int bind(int fd, const void *addr, uint32_t len)'),
      listen: lib.func('int listen(int fd, int backlog)'),
      close: lib.func('int close(int fd)'),
      inetPton: lib.func('int inet_pton(int af, const char *src, void *dst)'),
      ifNameToIndex: lib.func('unsigned int if_nametoindex(const char *name)'),
      recvmmsg: lib.func('int recvmmsg(int fd, void *vec, unsigned int vlen, int flags, void *timeout)'),
      sendmmsg: lib.func('int sendmmsg(int fd, void *vec, unsigned int vlen, int flags)'),
      fcntl: lib.func('int fcntl(int fd, int cmd, ...)'),
      poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)'),
      nanosleep: lib.func('int nanosleep(const void *req, void *rem)'),
      prctl: lib.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
      getpwnam: lib.func('void *getpwnam(const char *name)'),
      getpwuid: lib.func('void *getpwuid(uint32_t uid)'),
      getgrnam: lib.func('void *getgrnam(const char *name)'),
      getgrgid: lib.func('void *getgrgid(uint32_t gid)'),
      setgroups: lib.func('int setgroups(size_t size, const uint32_t *list)'),
      setgid: lib.func('int setgid(uint32_t gid)'),
      setuid: lib.func('int setuid(uint32_t uid)'),
    };
    passwdType = koffi().struct('shardns_passwd', {
      pw_name: 'const char *',
      pw_passwd: 'const char *',
      pw_uid: 'uint32_t',
      pw_gid: 'uint32_t',
      pw_gecos: 'const char *',
      pw_dir: 'const char *',
      pw_shell: 'const char *',
    });
    groupType = koffi().struct('shardns_group', { gr_name: 'const char *', gr_passwd: 'const char *', gr_gid: 'uint32_t', gr_mem: 'void *' });
  }
  return bound;
}

/** prctl(2) option: the calling thread's timer slack in nanoseconds. */
const PR_SET_TIMERSLACK = 29;

/** sleepNs's struct timespec (one per thread: every worker_threads thread loads this module anew). */
const sleepSpec = new Int32Array(4);

/** koffi hands a pointer back as a bigint (or null); both become the address. */
function addressOf(p: unknown): bigint {
  if (typeof p === 'bigint') return p;
  if (p === null) return 0n;
  return koffi().address(p);
}

/** 0 → ok; anything else → the errno the call set. */
function status(r: number): SysResult<void> {
  return r === 0 ? { kind: 'ok', value: undefined } : { kind: 'errno', errno: koffi().errno() };
}

/** A struct passwd pointer (null: no such user) as a value. */
function passwdAt(p: unknown): PasswdEntry | null {
  if (p === null || p === 0n) return null;
  const e = koffi().decode(p, passwdType!) as { pw_name: string; pw_uid: number; pw_gid: number; pw_dir: string | null };
  return { name: e.pw_name, uid: e.pw_uid, gid: e.pw_gid, home: e.pw_dir ?? '' };
}

/** A struct group pointer (null: no such group) as a value. */
function groupAt(p: unknown): GroupEntry | null {
  if (p === null || p === 0n) return null;
  const e = koffi().decode(p, groupType!) as { gr_name: string; gr_gid: number };
  return { name: e.gr_name, gid: e.gr_gid };
}

/** The real C library, through koffi. */
export const libc: Libc = {
  mmap(length, prot, flags, fd, offset) {
    const address = addressOf(c().mmap(null, length, prot, flags, fd, offset));
    if (address === MAP_FAILED) return { kind: 'errno', errno: koffi().errno() };
    return { kind: 'ok', value: address };
  },
  munmap(address, length) {
    return status(c().munmap(address, length) as number);
  },
  madvise(address, length, advice) {
    return status(c().madvise(address, length, advice) as number);
  },
  fallocate(fd, offset, length) {
    // It returns the error number itself rather than -1 and errno.
    const r = c().posixFallocate(fd, offset, length) as number;
    return r === 0 ? { kind: 'ok', value: undefined } : { kind: 'errno', errno: r };
  },
  preallocate(fd, length) {
    return status(c().fallocate(fd, 0, 0, length) as number);
  },
  view(address, length) {
    return koffi().view(address, length);
  },
  strerror(errno) {
    return c().strerror(errno) as string;
  },

  socket(domain, type, protocol) {
    const fd = c().socket(domain, type, protocol) as number;
    return fd < 0 ? { kind: 'errno', errno: koffi().errno() } : { kind: 'ok', value: fd };
  },
  setsockopt(fd, level, name, value) {
    return status(c().setsockopt(fd, level, name, value, value.length) as number);
  },
  getsockopt(fd, level, name, value) {
    const len = new Uint32Array([value.length]);
    if ((c().getsockopt(fd, level, name, value, len) as number) !== 0) return { kind: 'errno', errno: koffi().errno() };
    return { kind: 'ok', value: len[0]! };
  },
  bind(fd, address) {
    return status(c().bind(fd, address, address.length) as number);
  },
  listen(fd, backlog) {
    return status(c().listen(fd, backlog) as number);
  },
  close(fd) {
    return status(c().close(fd) as number);
  },
  inetPton(family, text, dst) {
    return (c().inetPton(family, text, dst) as number) === 1;
  },
  ifNameToIndex(name) {
    return c().ifNameToIndex(name) as number;
  },

  recvmmsg(fd, vec, vlen, flags) {
    const r = c().recvmmsg(fd, vec, vlen, flags, null) as number;
    return r < 0 ? -koffi().errno() : r;
  },
  sendmmsg(fd, vec, vlen, flags) {
    const r = c().sendmmsg(fd, vec, vlen, flags) as number;
    return r < 0 ? -koffi().errno() : r;
  },
  alloc(length) {
    const address = addressOf(koffi().alloc('uint8_t', length));
    new Uint8Array(koffi().view(address, length)).fill(0);
    return address;
  },
  free(address) {
    koffi().free(address);
  },
  watchReadable(fd, onReadable) {
    const handle = koffi().node.poll(fd, { readable: true }, onReadable);
    return { stop: () => handle.stop(), close: () => handle.close() };
  },
  pollReadable(fd, timeoutMs) {
    // struct pollfd { int fd; short events; short revents; }: POLLIN is 1.
    const pfd = new Int32Array([fd, 1]);
    const r = c().poll(pfd, 1, timeoutMs) as number;
    return r < 0 ? -koffi().errno() : r;
  },
  sleepNs(ns) {
    // struct timespec { time_t tv_sec; long tv_nsec; }, kept from call to call: the wait allocates nothing.
    // (little-endian 64-bit fields as 32-bit halves: seconds 0, nanoseconds under 2^31, so no BigInt is made).
    sleepSpec[2] = ns;
    const r = c().nanosleep(sleepSpec, null) as number;
    return r < 0 ? -koffi().errno() : r;
  },
  setTimerSlack(ns) {
    return status(c().prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) as number);
  },

  setCloseOnExec(fd, on) {
    const flags = c().fcntl(fd, F_GETFD) as number;
    if (flags < 0) return { kind: 'errno', errno: koffi().errno() };
    return status(c().fcntl(fd, F_SETFD, 'int', on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) as number);
  },
  setNonBlocking(fd, on) {
    const flags = c().fcntl(fd, F_GETFL) as number;
    if (flags < 0) return { kind: 'errno', errno: koffi().errno() };
    return status(c().fcntl(fd, F_SETFL, 'int', on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) as number);
  },
  getpwnam(name) {
    return passwdAt(c().getpwnam(name));
  },
  getpwuid(uid) {
    return passwdAt(c().getpwuid(uid));
  },
  getgrnam(name) {
    return groupAt(c().getgrnam(name));
  },
  getgrgid(gid) {
    return groupAt(c().getgrgid(gid));
  },
  setgroups(gids) {
    return status(c().setgroups(gids.length, Uint32Array.from(gids)) as number);
  },
  setgid(gid) {
    return status(c().setgid(gid) as number);
  },
  setuid(uid) {
    return status(c().setuid(uid) as number);
  },
};
