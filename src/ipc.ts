/** Messages between the supervisor and its workers (over the fork IPC channel). */

import type { Config } from './config.js';
import type { SerializedError } from './errors.js';
import type { CounterSnapshot } from './dns/counters.js';
import type { ZoneFiles } from './zones.js';

/** Supervisor → worker. */
export type ToWorker =
  /**
   * Sent once after fork: who you are and what to serve. `zoneFiles`: load
   * the zones from these octets, not the files (a worker replacing one that
   * died serves what the others serve). `wantFiles`: send the octets you
   * loaded back with `ready`.
   */
  | { type: 'start'; id: number; config: Config; zoneFiles?: ZoneFiles; wantFiles?: boolean }
  /** Heartbeat; the worker answers with `pong` and the same `seq`. */
  | { type: 'ping'; seq: number }
  /** Ask for the worker's counters; the answer is `stats` with the same `seq`. */
  | { type: 'stats'; seq: number }
  /** Read the zone files again; swap them in only if all load (answer `reloaded`, with the octets read if `wantFiles`). */
  | { type: 'reload'; seq: number; wantFiles?: boolean }
  /** Planned shutdown: stop reading, finish what you hold, close, exit 0. */
  | { type: 'stop' };

/** Worker → supervisor. */
export type FromWorker =
  /** Every socket is bound and being read (`zoneFiles`: the octets loaded, when asked for). */
  | { type: 'ready'; id: number; pid: number; endpoints: string[]; zoneFiles?: ZoneFiles }
  /** The worker cannot serve (a bind failed, …) and is about to exit. */
  | { type: 'fatal'; id: number; error: SerializedError }
  | { type: 'pong'; seq: number }
  | { type: 'stats'; seq: number; id: number; pid: number; counters: WorkerCounters }
  /** The outcome of a reload: the new zones serve, or the errors and the old zones still serve (`zoneFiles`: the new octets, when asked for). */
  | { type: 'reloaded'; seq: number; id: number; outcome: ReloadOutcome; zoneFiles?: ZoneFiles };

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
