/** File stamps: what stat(2) said about a file when its octets were read or checked, so that a later stat can tell it was not written since, without reading it again. */

import { statSync, type BigIntStats } from 'node:fs';

/*
 * Why an equal stamp means equal octets (the reasoning make and git rely on,
 * with git's "racy" rule):
 *
 * - Every write(2), truncate(2) or mmap store to a file updates its mtime and
 *   ctime (POSIX: "shall mark for update"); a file replaced by another one
 *   (an editor's write-then-rename, `mv`, `cp` to a new file) has another
 *   inode number, or a new ctime if the number is reused.
 * - utimes(2) and touch can set the mtime to anything, the old value
 *   included, but they set the ctime to the current time. No call sets the
 *   ctime to a chosen value: only setting the system clock back could.
 * - A timestamp is the kernel's coarse clock, rounded down to the file
 *   system's granularity (nanoseconds on ext4, xfs, btrfs and tmpfs; one or
 *   two seconds on ext3 or FAT). Two writes within one granule can leave the
 *   same stamp. So a stamp is only recorded (trusted) when its mtime and
 *   ctime are at least RACY_MARGIN older than the moment the read began:
 *   any later write then gets a later ctime. A file written just before it
 *   was read gets no stamp and is hashed every time, until it is read again
 *   when older (git calls such an entry "racily clean").
 * - The stamp is taken before and after the read; if they differ, the file
 *   changed while it was read and no stamp is recorded.
 *
 * What a stamp cannot see: octets that change without a write through the
 * file system (a failing disk, a write to the block device), and a system
 * clock set back to the very granule of the recorded ctime with the inode
 * number reused. A hash of the octets is what sees those; shardns hashes
 * whenever a stamp is absent or differs, and on every reload (SIGHUP): the
 * stamp only spares a restart of the server from reading its zone files and
 * images again.
 */

/** What stat(2) says about a file that changes with any write to it (times in nanoseconds since the epoch, as decimal text: JSON has no 64-bit integers). */
export interface FileStamp {
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
}

/**
 * How much older than the read a file's mtime and ctime must be for its
 * stamp to be trusted: one tick of the kernel's coarse clock at most, on a
 * file system with sub-second stamps; on one with whole seconds (ext3, and
 * FAT's two), the granule and a tick.
 */
export const RACY_MARGIN_NS = { fine: 100_000_000n, coarse: 3_000_000_000n } as const;

/** The stamp of a file as it is now, or null when it cannot be had (the file is gone or not readable). */
export function stampNow(path: string): FileStamp | null {
  let st: BigIntStats;
  try {
    st = statSync(path, { bigint: true });
  } catch {
    return null;
  }
  return { dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

/** Whether two stamps are of the same file with no write between them. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * The stamp to record for octets read between `before` and `after` (stamps
 * taken around the read), the read having begun at `readAtNs` (wall clock,
 * nanoseconds since the epoch): `after` when the file did not change during
 * the read and its times are old enough (see the notes above), else null.
 */
export function trustedStamp(before: FileStamp | null, after: FileStamp | null, readAtNs: bigint): FileStamp | null {
  if (before === null || after === null || !sameStamp(before, after)) return null;
  const m = BigInt(after.mtimeNs);
  const c = BigInt(after.ctimeNs);
  const fine = m % 1_000_000_000n !== 0n || c % 1_000_000_000n !== 0n;
  const margin = fine ? RACY_MARGIN_NS.fine : RACY_MARGIN_NS.coarse;
  return m + margin < readAtNs && c + margin < readAtNs ? after : null;
}

/** The wall clock in nanoseconds since the epoch (the file systems' clock). */
export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Whether a value read back from JSON is a FileStamp. */
export function isFileStamp(v: unknown): v is FileStamp {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  const digits = (k: string): boolean => typeof o[k] === 'string' && /^\d+$/.test(o[k] as string);
  return digits('dev') && digits('ino') && digits('mtimeNs') && digits('ctimeNs') && typeof o['size'] === 'number';
}
