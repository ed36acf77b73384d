/** Messages between the supervisor and its workers (over the fork IPC channel). */

import type { Config } from './config.js';
import type { SerializedError } from './errors.js';
import type { CounterSnapshot } from './dns/counters.js';

/** Supervisor → worker. */
export type ToWorker =
  /** Sent once after fork: who you are and what to serve. */
  | { type: 'start'; id: number; config: Config }
  /** Heartbeat; the worker answers with `pong` and the same `seq`. */
  | { type: 'ping'; seq: number }
  /** Ask for the worker's counters; the answer is `stats` with the same `seq`. */
  | { type: 'stats'; seq: number }
  /** Read the zone files again; swap them in only if all load (answer `reloaded`). */
  | { type: 'reload'; seq: number }
  /** Planned shutdown: stop reading, finish what you hold, close, exit 0. */
  | { type: 'stop' };

/** Worker → supervisor. */
export type FromWorker =
  /** Every socket is bound and being read. */
  | { type: 'ready'; id: number; pid: number; endpoints: string[] }
  /** The worker cannot serve (a bind failed, …) and is about to exit. */
  | { type: 'fatal'; id: number; error: SerializedError }
  | { type: 'pong'; seq: number }
  | { type: 'stats'; seq: number; id: number; pid: number; counters: WorkerCounters }
  /** The outcome of a reload: the new zones serve, or the errors and the old zones still serve. */
  | { type: 'reloaded'; seq: number; id: number; outcome: ReloadOutcome };

/** A worker's counters: queries and rcodes, its reply cache, and its forwarding (when on). */
export type WorkerCounters = CounterSnapshot & {
  replyCache: { hits: number; misses: number; entries: number };
  forwarding?: { cacheHits: number; cacheMisses: number; upstreamQueries: number; upstreamFailures: number; shared: number };
};

/** What one worker's reload did. */
export type ReloadOutcome =
  | { ok: true; zones: number; records: number; warnings: string[]; ms: number }
  | { ok: false; errors: string[]; warnings: string[] };

/** Narrows an unknown IPC payload to a worker message (anything else is ignored). */
export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

/** Narrows an unknown IPC payload to a supervisor message. */
export function isToWorker(m: unknown): m is ToWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
