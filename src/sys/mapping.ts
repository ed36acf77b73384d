/** Memory mappings of whole files (mmap MAP_SHARED): read-only, how a worker reads a zone image without copying it; and a new file mapped for writing, how the builder writes a patched image without a copy. */

import { kMaxLength } from 'node:buffer';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { ShardnsError } from '../errors.js';
import { ERRNO, libc as realLibc, MADV, MAP_SHARED, PROT_READ, PROT_WRITE, type Libc } from './libc.js';

/**
 * A file mapped read-only. The pages are the kernel's page cache: every
 * process that maps the same file shares them, so N workers cost the file
 * once.
 *
 * **Lifetime.** `bytes` and every view made from it (subarrays, `Uint32Array`s
 * over its buffer, a `ZoneImage`) point straight at the mapping. After
 * `unmap()` that memory is gone: touching a view made earlier is a
 * segmentation fault that kills the process, not an exception. Unmap only
 * when nothing can reach a view any more (the worker swaps its reference
 * first, lets in-flight work finish, then unmaps). Reading `bytes` itself
 * after `unmap()` throws, which catches the simple mistakes.
 *
 * The file must not shrink while mapped (pages past its new end raise
 * SIGBUS): the state directory never rewrites an image in place, it writes a
 * new file and renames it over the old name, so a mapping keeps the old inode.
 */
export interface Mapping {
  /** The file as given to mapFile. */
  readonly path: string;
  /** Octets mapped (the file's size when it was mapped). */
  readonly length: number;
  /**
   * The file's octets, read-only (a write is a segmentation fault too). The
   * buffer starts on a page boundary, so `Uint32Array` views at any
   * 4-aligned offset work. Throws once unmapped.
   */
  readonly bytes: Uint8Array;
  /** False once `unmap()` has run. */
  readonly mapped: boolean;
  /**
   * Tells the kernel how the pages will be read (madvise(2)): `willneed`
   * starts reading the whole file in, `random` turns read-ahead off. A hint:
   * false when the kernel refused it, which changes nothing else.
   */
  advise(advice: keyof typeof MADV): boolean;
  /** Releases the mapping; calling it again does nothing. See the lifetime note above. */
  unmap(): void;
}

/** A file mapped, or why it could not be. */
export type MapOutcome = { kind: 'mapped'; mapping: Mapping } | { kind: 'error'; error: ShardnsError };

/** What mapFile may be given besides the path. */
export interface MapOptions {
  /** The C library to call (tests pass a fake); the real one by default. */
  libc?: Libc;
}

class FileMapping implements Mapping {
  private view: Uint8Array | null;

  constructor(
    readonly path: string,
    readonly length: number,
    private readonly address: bigint,
    private readonly c: Libc,
  ) {
    this.view = new Uint8Array(c.view(address, length));
  }

  get bytes(): Uint8Array {
    if (this.view === null) throw new ShardnsError('E_MAP', `${this.path} was unmapped; its octets are gone`, 'this is a bug in shardns: keep the mapping until nothing reads it');
    return this.view;
  }

  get mapped(): boolean {
    return this.view !== null;
  }

  advise(advice: keyof typeof MADV): boolean {
    if (this.view === null) return false;
    return this.c.madvise(this.address, this.length, MADV[advice]).kind === 'ok';
  }

  unmap(): void {
    if (this.view === null) return;
    this.view = null;
    const r = this.c.munmap(this.address, this.length);
    if (r.kind === 'errno') {
      throw new ShardnsError('E_MAP', `munmap of ${this.path} failed: ${errnoText(this.c, r.errno)}`, 'this is a bug in shardns; please report it');
    }
  }
}

/**
 * Maps the whole file at `path` read-only and shared. The descriptor is
 * closed as soon as the mapping exists (the mapping keeps the file alive,
 * even if it is then deleted or renamed over). An empty file cannot be
 * mapped and is an error, as is one larger than a JavaScript buffer can
 * address.
 */
export function mapFile(path: string, options: MapOptions = {}): MapOutcome {
  const c = options.libc ?? realLibc;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return { kind: 'error', error: openError(path, err as NodeJS.ErrnoException) };
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) {
      return { kind: 'error', error: new ShardnsError('E_MAP', `cannot map ${path}: the file is empty`, 'an empty file holds no image: delete it, and the next build writes it again') };
    }
    if (size > kMaxLength) {
      return { kind: 'error', error: new ShardnsError('E_MAP', `cannot map ${path}: ${size} octets is more than a buffer can hold (${kMaxLength})`, 'split the zone, or check that this is the file you meant') };
    }
    const r = c.mmap(size, PROT_READ, MAP_SHARED, fd, 0);
    if (r.kind === 'errno') return { kind: 'error', error: mmapError(c, path, size, r.errno) };
    return { kind: 'mapped', mapping: new FileMapping(path, size, r.value, c) };
  } catch (err) {
    return { kind: 'error', error: new ShardnsError('E_MAP', `cannot map ${path}: ${(err as Error).message}`, 'this is unexpected; please report it') };
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates the file `path` (it must not exist; mode `mode`) of `size` octets,
 * all zero, and maps it shared for reading and writing: what is written to
 * `bytes` is the file's page cache, with no write(2) copy. Its blocks are
 * allocated before it is mapped (posix_fallocate): a page the file system
 * could not allocate when first written would kill the process with SIGBUS,
 * so a full disk (or quota) is an ENOSPC error here instead, whatever else
 * fills the disk meanwhile. Durability is the caller's (fsync once unmapped
 * or written).
 */
export function mapNewFile(path: string, size: number, mode: number, options: MapOptions = {}): MapOutcome {
  const c = options.libc ?? realLibc;
  if (size <= 0 || size > kMaxLength) {
    return { kind: 'error', error: new ShardnsError('E_MAP', `cannot create ${path} mapped: ${size} octets`, 'a file of 1 octet up to a buffer\'s size can be mapped; this is a bug in shardns') };
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx+', mode);
  } catch (err) {
    return { kind: 'error', error: openError(path, err as NodeJS.ErrnoException) };
  }
  try {
    const room = c.fallocate(fd, 0, size);
    if (room.kind === 'errno') return { kind: 'error', error: fallocateError(c, path, size, room.errno) };
    const r = c.mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (r.kind === 'errno') return { kind: 'error', error: mmapError(c, path, size, r.errno) };
    return { kind: 'mapped', mapping: new FileMapping(path, size, r.value, c) };
  } catch (err) {
    return { kind: 'error', error: new ShardnsError('E_MAP', `cannot create ${path} mapped: ${(err as Error).message}`, 'check the disk and file system of that folder') };
  } finally {
    closeSync(fd);
  }
}

function fallocateError(c: Libc, path: string, size: number, errno: number): ShardnsError {
  const what = `cannot make room for ${path} (${size} octets): ${errnoText(c, errno)}`;
  if (errno === ERRNO.ENOSPC || errno === ERRNO.EDQUOT) return new ShardnsError('E_MAP', what, 'the disk (or quota) of that folder is full: free space there; what is served now keeps serving');
  return new ShardnsError('E_MAP', what, 'check the disk and file system of that folder');
}


function errnoText(c: Libc, errno: number): string {
  return `${c.strerror(errno).toLowerCase()} (errno ${errno})`;
}

/** Why the file could not be opened, and what to do about it. */
function openError(path: string, err: NodeJS.ErrnoException): ShardnsError {
  const what = `cannot map ${path}: ${err.code ?? err.message}`;
  switch (err.code) {
    case 'ENOENT':
      return new ShardnsError('E_MAP', what, 'the file is gone: was the state directory cleaned while shardns ran? A reload or restart builds it again');
    case 'EACCES':
    case 'EPERM':
      return new ShardnsError('E_MAP', what, 'this user may not read it: check the owner and mode of the file and its directory (the state directory is --state-dir)');
    case 'EISDIR':
      return new ShardnsError('E_MAP', what, 'a directory stands where a file should: remove it');
    case 'EMFILE':
    case 'ENFILE':
      return new ShardnsError('E_MAP', what, 'too many open files: raise the limit (ulimit -n, LimitNOFILE=)');
    default:
      return new ShardnsError('E_MAP', what, 'check the file and the file system it is on');
  }
}

/** Why mmap refused, and what to do about it. */
function mmapError(c: Libc, path: string, size: number, errno: number): ShardnsError {
  const what = `cannot map ${path} (${size} octets): ${errnoText(c, errno)}`;
  switch (errno) {
    case ERRNO.ENOMEM:
      return new ShardnsError('E_MAP', what, 'out of address space or mappings: check the address-space limit (ulimit -v, a container memory limit) and sysctl vm.max_map_count');
    case ERRNO.ENODEV:
      return new ShardnsError('E_MAP', what, 'this file system cannot map files: put the state directory (--state-dir) on a local disk or tmpfs');
    case ERRNO.EACCES:
    case ERRNO.EPERM:
      return new ShardnsError('E_MAP', what, 'the file system refuses mappings (mounted noexec is fine; check for a security policy such as SELinux or a seccomp profile)');
    default:
      return new ShardnsError('E_MAP', what, 'this is unexpected; please report it with the output of "mount" for the state directory');
  }
}
