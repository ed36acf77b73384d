/** The libc calls shardns makes for memory mappings (mmap, munmap, madvise), behind one interface tests replace with a fake. */

import koffi, { type LibraryHandle } from 'koffi';

// Linux constants (x86_64 and arm64; mman-linux.h, errno-base.h).
/** `PROT_READ`: pages may be read. */
export const PROT_READ = 1;
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
/** errno values the mapping code explains. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  ENOMEM: 12,
  EACCES: 13,
  ENODEV: 19,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EOVERFLOW: 75,
} as const;

/** A system call's result: its value, or the errno it set. */
export type SysResult<T> = { kind: 'ok'; value: T } | { kind: 'errno'; errno: number };

/**
 * The libc functions the memory-mapping code calls. Addresses are bigints
 * (koffi's form of a pointer). The real one is {@link libc}; tests pass a
 * fake (one that copies the file into an ArrayBuffer, or fails on demand).
 */
export interface Libc {
  /** mmap(NULL, length, prot, flags, fd, offset). */
  mmap(length: number, prot: number, flags: number, fd: number, offset: number): SysResult<bigint>;
  /** munmap(address, length). */
  munmap(address: bigint, length: number): SysResult<void>;
  /** madvise(address, length, advice): a hint; the kernel may ignore it. */
  madvise(address: bigint, length: number, advice: number): SysResult<void>;
  /**
   * An ArrayBuffer over `length` octets at `address`, with no copy and no
   * owner: it stays valid exactly as long as the memory behind it does.
   */
  view(address: bigint, length: number): ArrayBuffer;
  /** The C library's text for an errno (`Cannot allocate memory`). */
  strerror(errno: number): string;
}

/** `(void *) -1`, what mmap returns when it fails. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

type CFunction = ReturnType<LibraryHandle['func']>;

interface Bound {
  mmap: CFunction;
  munmap: CFunction;
  madvise: CFunction;
  strerror: CFunction;
}

let bound: Bound | null = null;

/** Binds the functions the first time they are needed (a test with a fake never loads libc). */
function bind(): Bound {
  if (bound === null) {
    const c = koffi.load('libc.so.6');
    bound = {
      mmap: c.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
      munmap: c.func('int munmap(void *addr, size_t length)'),
      madvise: c.func('int madvise(void *addr, size_t length, int advice)'),
      strerror: c.func('const char *strerror(int errnum)'),
    };
  }
  return bound;
}

/** koffi hands a pointer back as a bigint or an external; both become the address. */
function addressOf(p: unknown): bigint {
  if (typeof p === 'bigint') return p;
  if (p === null) return 0n;
  return koffi.address(p);
}

/** The real C library, through koffi. */
export const libc: Libc = {
  mmap(length, prot, flags, fd, offset) {
    const address = addressOf(bind().mmap(null, length, prot, flags, fd, offset));
    if (address === MAP_FAILED) return { kind: 'errno', errno: koffi.errno() };
    return { kind: 'ok', value: address };
  },
  munmap(address, length) {
    if ((bind().munmap(address, length) as number) !== 0) return { kind: 'errno', errno: koffi.errno() };
    return { kind: 'ok', value: undefined };
  },
  madvise(address, length, advice) {
    if ((bind().madvise(address, length, advice) as number) !== 0) return { kind: 'errno', errno: koffi.errno() };
    return { kind: 'ok', value: undefined };
  },
  view(address, length) {
    return koffi.view(address, length);
  },
  strerror(errno) {
    return bind().strerror(errno) as string;
  },
};
