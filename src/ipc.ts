/** Messages between the supervisor and its workers (over the fork IPC channel). */

import type { Config, SecondaryZone } from './config.js';
import type { SerializedError } from './errors.js';
import type { CounterSnapshot } from './dns/counters.js';
import { packForwardZones, type PackedForwardZones } from './forward/forward-routes.js';
import type { ServedImage } from './mapped-zones.js';
import type { OpenSocket } from './net/reuseport.js';
import type { TcpCounters } from './net/tcp-table.js';
import type { LogBatch, WorkerOpsReport } from './ops/worker-ops.js';

/** Supervisor → worker. */
export type ToWorker =
  /**
   * Sent once after fork: who you are, the settings, the zone images to
   * map and serve (built by the zone builder; every worker, replacements
   * included, maps the images the others serve), and the slot's sockets,
   * open and bound, at the descriptors fork passed them as (the supervisor
   * holds them for the server's life: src/ops/listeners.ts). The forward
   * zones travel packed in `forwardZones`, not in `config` (whose
   * `forwardZones` is empty here): see {@link startMessage}.
   */
  | { type: 'start'; id: number; config: Config; forwardZones: PackedForwardZones; images: ServedImage[]; sockets: OpenSocket[]; zones?: ZoneStanding }
  /** Heartbeat; the worker answers with `pong` and the same `seq`. */
  | { type: 'ping'; seq: number }
  /** Ask for the worker's counters; the answer is `stats` with the same `seq`. */
  | { type: 'stats'; seq: number }
  /** A new zone version: map these images and serve them instead (answer `mapped`); on failure keep serving the old. */
  | { type: 'map'; seq: number; images: ServedImage[]; zones?: ZoneStanding }
  /** Planned shutdown: stop reading, finish what you hold, close, exit 0. */
  | { type: 'stop' };

/** Worker → supervisor. */
export type FromWorker =
  /** Every socket is bound and being read, and the images are mapped. */
  | { type: 'ready'; id: number; pid: number; endpoints: string[] }
  /** The worker cannot serve (a bind failed, an image cannot be mapped, …) and is about to exit. */
  | { type: 'fatal'; id: number; error: SerializedError }
  | { type: 'pong'; seq: number }
  | { type: 'stats'; seq: number; id: number; pid: number; counters: WorkerCounters }
  /** The outcome of a `map`: the new images serve, or why not (the old ones still do). */
  | { type: 'mapped'; seq: number; id: number; outcome: MapOutcome }
  /** Records for dnstap or the query log (src/ops/worker-ops.ts), for the supervisor to write. */
  | { type: 'log'; batch: LogBatch }
  /** A NOTIFY for a secondary zone, admitted by its allow-notify (RFC 1996 §3.11): the supervisor checks the zone. */
  | { type: 'notify'; origin: string; serial: number | null; from: string };

/**
 * Besides the images: the secondary zones that are ours but have nothing to
 * serve (answered SERVFAIL), and the zones a catalog added (RFC 9432), which
 * the config does not list but whose NOTIFY and transfers workers answer.
 */
export interface ZoneStanding {
  /** Origins (presentation form) without data: before their first transfer, or expired. */
  dark: string[];
  /** Secondary zones added by catalog zones. */
  members: SecondaryZone[];
}

/** What one worker's `map` did. */
export type MapOutcome = { ok: true; ms: number } | { ok: false; error: SerializedError };

/** A worker's counters: queries and rcodes, its reply cache, and its forwarding (when on). */
export type WorkerCounters = CounterSnapshot & {
  replyCache: { hits: number; misses: number; entries: number; notAdmitted: number };
  forwarding?: { cacheHits: number; cacheMisses: number; upstreamQueries: number; upstreamFailures: number; shared: number };
  /** TCP connections: admitted, held, and closed per reason (src/net/tcp-table.ts). */
  tcpConnections?: TcpCounters;
  /** The UDP threads (`--io thread`, src/net/udp-thread.ts), summed: datagrams read, answered there from their reply-cache copies, passed to the worker; coalescing waits made (`--udp-coalesce-us`). */
  udpThread?: { received: number; recvCalls: number; cacheHits: number; passed: number; sent: number; sendFailures: number; coalesceWaits: number };
  /** The mmsg engines (`--io mmsg`), summed: datagrams read, recvmmsg calls made (empty ones too: datagrams per call is the batch size). */
  udpMmsg?: { received: number; recvCalls: number };
  /** What the metrics need besides counters: images served, UDP socket inodes, upstream latency, log records (src/ops/worker-ops.ts). */
  ops?: WorkerOpsReport;
};

/**
 * The `start` message for worker `id`. The forward zones go packed (three
 * values, src/forward/forward-routes.ts) and `config.forwardZones` empty:
 * decoding 10,000 of them as objects cost a worker 3.3 MB kept and more
 * garbage while it started; a worker routes with unpackForwardZones.
 */
export function startMessage(id: number, config: Config, images: ServedImage[], sockets: OpenSocket[], zones?: ZoneStanding): ToWorker {
  return { type: 'start', id, config: { ...config, forwardZones: [] }, forwardZones: packForwardZones(config.forwardZones), images, sockets, ...(zones ? { zones } : {}) };
}

/** Narrows an unknown IPC payload to a worker message (anything else is ignored). */
export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

/** Narrows an unknown IPC payload to a supervisor message. */
export function isToWorker(m: unknown): m is ToWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
