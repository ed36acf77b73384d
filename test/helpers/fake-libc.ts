/** A stand-in for src/sys/libc.ts: "maps" a file by copying it into an ArrayBuffer, and fails on demand. */

import { readSync } from 'node:fs';
import { ERRNO, type Libc, type SysResult } from '../../src/sys/libc.js';

const TEXT: Record<number, string> = {
  [ERRNO.ENOMEM]: 'Cannot allocate memory',
  [ERRNO.EINVAL]: 'Invalid argument',
  [ERRNO.ENODEV]: 'No such device',
  [ERRNO.EACCES]: 'Permission denied',
};

/**
 * A fake C library. `failMmap` makes the next mmap calls fail with that errno.
 * Every call is recorded in `calls`; `live` counts regions mapped and not yet
 * unmapped (a test sees a leak or a double munmap).
 */
export class FakeLibc implements Libc {
  failMmap: number | null = null;
  readonly calls: string[] = [];
  private readonly regions = new Map<bigint, ArrayBuffer>();
  private next = 0x7f00_0000_0000n;

  get live(): number {
    return this.regions.size;
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

  view(address: bigint, length: number): ArrayBuffer {
    const buffer = this.regions.get(address);
    if (buffer === undefined || buffer.byteLength !== length) throw new Error(`fake libc: no region of ${length} octets at ${address.toString(16)}`);
    return buffer;
  }

  strerror(errno: number): string {
    return TEXT[errno] ?? `Unknown error ${errno}`;
  }
}
