/** Kernel receive-buffer drops per UDP socket, as the kernel counts them: /proc/net/udp and udp6 by socket inode. */

import { fstatSync, readFileSync } from 'node:fs';

/**
 * Drops per socket inode from the text of /proc/net/udp or /proc/net/udp6
 * (proc(5)): after the header line, one line per socket whose 10th field
 * is the inode and whose last is `drops`, the datagrams the kernel
 * discarded for that socket, mostly because its receive buffer was full
 * (udp_queue_rcv_skb → sk_drops).
 */
export function parseProcNetUdp(text: string): Map<number, number> {
  const out = new Map<number, number>();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 13) continue;
    const inode = Number(f[9]);
    const drops = Number(f[f.length - 1]);
    if (Number.isInteger(inode) && inode > 0 && Number.isInteger(drops)) out.set(inode, drops);
  }
  return out;
}

/** Drops of every UDP socket in this network namespace, IPv4 and IPv6 (a file that cannot be read adds nothing). */
export function readUdpDrops(procRoot = '/proc'): Map<number, number> {
  const out = new Map<number, number>();
  for (const file of ['net/udp', 'net/udp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const [inode, drops] of parseProcNetUdp(text)) out.set(inode, drops);
  }
  return out;
}

/** The inode of a socket descriptor (what /proc/net/udp lists it by), or null when it cannot be read. */
export function socketInode(fd: number): number | null {
  try {
    return fstatSync(fd).ino;
  } catch {
    return null;
  }
}
