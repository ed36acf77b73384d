/** What the worker's main thread and its UDP thread (src/net/udp-thread.ts, udp-thread-loop.ts) say to each other, and the shared memory between them. */

import type { MessagePort } from 'node:worker_threads';
import { NAME } from './mmsg-vectors.js';

/** Room for a sender's address (sockaddr_in6 is 28 octets): the engines' slot size. */
export { NAME };
/** Each passed datagram: its length (2 octets), its sender's address length (2), the address (NAME), then its octets. */
export const MISS_HEADER = 4 + NAME;

/**
 * Batch coalescing: a recvmmsg that returned at least this many datagrams
 * marks the socket busy, and the thread waits its coalescing time before the
 * next (a lone datagram, the socket idle or nearly so, never waits).
 */
export const COALESCE_MIN_BATCH = 2;

/** The UDP thread's timer slack (ns) while coalescing: its waits end within about 1 µs of the time asked, not the kernel's default 50 µs. */
export const COALESCE_TIMER_SLACK_NS = 1000;

/** Slots of the control array (Int32Array over a SharedArrayBuffer; Atomics only). */
export const CONTROL = {
  /** Set to 1 by the main thread: the thread ends its loop at its next wake-up. */
  stop: 0,
  /** Bumped by the main thread when the reply cache must empty (a new zone version, hosts files changed); cache fills carry it. */
  generation: 1,
  /** Set to 1 by the main thread after posting cache fills; the thread clears it and reads them. */
  pending: 2,
  /** Slots. */
  size: 4,
} as const;

/** Slots of the thread's statistics (Float64Array over a SharedArrayBuffer; the thread writes, the main thread reads). */
export const STAT = {
  /** recvmmsg calls that returned datagrams. */
  recvCalls: 0,
  /** Datagrams read. */
  received: 1,
  /** Replies the kernel took. */
  sent: 2,
  /** Replies the kernel refused. */
  sendFailures: 3,
  /** Queries answered from the thread's copy of the reply cache. */
  cacheHits: 4,
  /** Replies in that copy now. */
  cacheEntries: 5,
  /** Coalescing waits: short sleeps after a busy batch, so the next recvmmsg finds more datagrams queued. */
  coalesceWaits: 6,
  /** Slots. */
  size: 7,
} as const;

/** What the thread is started with (its workerData). */
export interface ThreadSetup {
  /** The worker's reuseport UDP descriptor (descriptors are the process's: the thread uses the same number). */
  fd: number;
  batch: number;
  recvSize: number;
  sendSize: number;
  /** The receive timeout (ms): how soon a blocked thread sees a stop request. */
  wakeMs: number;
  /** After a recvmmsg that returned a busy batch, wait this long (µs) before the next; 0: never. */
  coalesceUs: number;
  /** The worker's config (the thread makes its own RRL table, server cookies and recursion ACL from it). */
  config: unknown;
  /** Forwarding is on: the recursion ACL applies (else nobody may recurse, as the main thread's context says). */
  recursion: boolean;
  cacheEntries: number;
  cacheBytes: number;
  /** Int32Array of CONTROL.size. */
  control: SharedArrayBuffer;
  /** Float64Array of STAT.size. */
  stats: SharedArrayBuffer;
  /** The thread's query counters (src/dns/counters.ts over shared memory). */
  counters: SharedArrayBuffer;
  /** Cache fills from the main thread. */
  port: MessagePort;
}

/** One reply the main thread's reply cache kept, for the thread's copy. */
export interface CachePut {
  generation: number;
  question: Uint8Array;
  variant: number;
  nameEnd: number;
  hash: number;
  reply: Uint8Array;
  /** Seconds to live of a forwarded reply; undefined for an authoritative one. */
  ttl: number | undefined;
  /** When the worker kept it (Date.now): the copy's TTLs count down from then, not from when the thread reads this. */
  storedAt: number;
}

/** What the thread tells the main thread. */
export type ThreadReport =
  /** Datagrams it did not answer, packed (MISS_HEADER each): the main thread answers them. */
  | { kind: 'misses'; data: ArrayBuffer }
  /** A query whose handling threw (it was passed to the main thread, which answers it). */
  | { kind: 'error'; message: string }
  /** It cannot go on (it has stopped). */
  | { kind: 'fatal'; message: string };
