/**
 * One received batch through the UDP thread's hits-only path (src/net/udp-thread-loop.ts):
 * each datagram answered in place into the send vector, or packed for the
 * worker's main thread. No syscalls here, so a micro-benchmark
 * (bench/udp-thread-hit.ts) runs exactly what the thread runs per datagram.
 */

import { abuseGuards } from '../abuse/guards.js';
import type { ZoneSet } from '../auth/zone-set.js';
import type { Config } from '../config.js';
import type { AnswerContext } from '../dns/answer.js';
import { ReplyCache } from '../dns/answer-cache.js';
import { Counters } from '../dns/counters.js';
import { QueryPipeline } from '../dns/pipeline.js';
import { compileAcl } from '../forward/acl.js';
import { BatchClock } from './batch-clock.js';
import type { InPlaceHandler } from './udp.js';
import { MMSG_LAYOUT as L } from '../sys/libc.js';
import { IOVEC, MMSGHDR, NAME, type MmsgVectors } from './mmsg-vectors.js';
import { MISS_HEADER } from './udp-thread-protocol.js';

const MSG_TRUNC = 0x20;

/** The thread's hits-only pipeline, its reply-cache copy, the context whose `zones` a new generation replaces, and its clock. */
export interface ThreadPipeline {
  pipeline: QueryPipeline;
  replies: ReplyCache;
  ctx: AnswerContext;
  clock: BatchClock;
}

/**
 * The pipeline the thread answers hits with, made from the worker's config
 * as the worker makes its own: its own RRL table and server cookies, the
 * recursion ACL when forwarding is on (`recursion`), a reply cache of
 * `entries` and `bytes`, counters over the shared `counters` memory, no
 * zones and no forwarder (misses go to the main thread); both read the
 * time from `clock`, which the thread holds for each received batch.
 */
export function threadPipeline(config: Config, recursion: boolean, entries: number, bytes: number, counters: SharedArrayBuffer, onError: (message: string) => void): ThreadPipeline {
  const acl = recursion ? compileAcl(config.allowRecursion) : null;
  const guards = abuseGuards(config);
  const clock = new BatchClock();
  const replies = new ReplyCache({ entries, bytes, cookies: config.cookies === 'on' }, clock.now);
  const ctx = { zones: {} as ZoneSet, recursion: acl !== null && typeof acl !== 'string' ? acl : null, ednsUdpSize: config.ednsUdpSize } as AnswerContext;
  const pipeline = new QueryPipeline({
    ctx,
    counters: new Counters(counters),
    replies,
    forwarder: null,
    forwardLimits: { maxEntries: 0, maxBytes: 0, minTtl: 0, maxTtl: 0, maxNegativeTtl: 0, servfailTtl: 0, staleMax: 0 },
    onInternalError: onError,
    rrl: guards.rrl,
    cookies: guards.cookies,
    missesInPlace: false,
    now: clock.now,
  });
  replies.use(ctx.zones);
  return { pipeline, replies, ctx, clock };
}

/** What one batch left for the caller to send: replies filled in the send vector from its first slot, and octets of misses packed in `missBuf`. */
export interface BatchResult {
  replies: number;
  missBytes: number;
}

/** What {@link hitBatch} works on: the pipeline, the engine's vectors (n slots of recvSize and sendSize octets), and a buffer of room n × (MISS_HEADER + recvSize). */
export interface HitBatchSetup {
  pipeline: QueryPipeline;
  vectors: MmsgVectors;
  n: number;
  recvSize: number;
  sendSize: number;
  missBuf: Buffer;
  /** Told of a query whose in-place handling threw (it is passed to the main thread, which answers it). */
  onError: (message: string) => void;
}

/**
 * The per-batch step of the thread: for each of the `got` datagrams the
 * last recvmmsg filled, a reply-cache hit (after ACL, cookies and RRL, in
 * the pipeline's `inPlace`) written to the next send slot with the sender's
 * address; a datagram RRL dropped, or one cut short (MSG_TRUNC), nothing;
 * anything else (misses, errors, anything not a plain query) packed into
 * `missBuf` as MISS_HEADER + octets. The result object is reused between calls.
 */
export function hitBatch(s: HitBatchSetup): (got: number) => BatchResult {
  const { pipeline, vectors, n, recvSize, sendSize, missBuf, onError } = s;
  const inPlace: InPlaceHandler = pipeline.inPlace!;
  const { recvVec, recvData, sendData, queueReply } = vectors;
  const rv = recvVec.view;
  const nameOff = n * (MMSGHDR + IOVEC);
  const result: BatchResult = { replies: 0, missBytes: 0 };
  return (got) => {
    let out = 0;
    let missAt = 0;
    for (let i = 0; i < got; i++) {
      const h = i * MMSGHDR;
      if ((rv.getInt32(h + L.flags, true) & MSG_TRUNC) !== 0) continue;
      const len = rv.getUint32(h + L.len, true);
      const nameAt = nameOff + i * NAME;
      const nameLen = rv.getUint32(h + L.namelen, true);
      const qOff = i * recvSize;
      let written = -1;
      try {
        written = inPlace(recvData.bytes, qOff, len, recvVec.bytes, nameAt, sendData.bytes, out * sendSize, sendSize);
      } catch (err) {
        onError(`UDP thread: ${(err as Error).message}`);
      }
      if (written >= 0) {
        queueReply(out++, i, written, nameLen);
        continue;
      }
      if (pipeline.droppedInPlace(recvData.bytes, qOff)) continue;
      // Everything else is the main thread's: misses, errors, anything not a plain query.
      missBuf.writeUInt16LE(len, missAt);
      missBuf.writeUInt16LE(nameLen, missAt + 2);
      recvVec.bytes.copy(missBuf, missAt + 4, nameAt, nameAt + NAME);
      recvData.bytes.copy(missBuf, missAt + MISS_HEADER, qOff, qOff + len);
      missAt += MISS_HEADER + len;
    }
    result.replies = out;
    result.missBytes = missAt;
    return result;
  };
}
