/** Messages between the supervisor and the zone builder process (workers/zone-builder.ts), over the fork IPC channel. */

import type { ZoneConfig } from '../../config.js';
import type { LogFormat, LogLevel } from '../../log.js';
import type { BuildOutcome } from './build.js';
import type { SerializedError } from '../../errors.js';

/*
 * The builder is forked with `serialization: 'advanced'` (structured clone).
 * It handles one message at a time, in order, each to the end, and answers
 * each with the same `seq`; a `remove-unused` sent after a `build` therefore
 * runs after it, and cannot delete the image that build just wrote.
 *
 * Lifetime: it stays while its IPC channel is open and exits 0 when the
 * channel closes (`child.disconnect()`, or the supervisor dying). The
 * supervisor may keep one builder for every reload, or fork one per build
 * and disconnect once answered: a build of a million records leaves the
 * builder's heap large, and only exiting gives that memory back.
 *
 * Failure: a builder that crashes (out of memory, a signal) exits without
 * answering; the supervisor treats every unanswered `seq` as failed when the
 * child exits, keeps serving the images it has, and forks a new builder for
 * the next job. Nothing in the state directory is left half-written (files
 * are renamed into place whole; a dead builder's temporary files are removed
 * by the next `remove-unused`).
 */

/** Supervisor → builder. */
export type ToBuilder =
  /**
   * Give every zone an image in `stateDir` (buildZones). `force`: parse and
   * compile even unchanged zones. `log`: how the builder writes its own log
   * lines (unusable images it deleted); info/text by default.
   */
  | { type: 'build'; seq: number; zones: ZoneConfig[]; stateDir: string; force?: boolean; log?: { level: LogLevel; format: LogFormat } }
  /** Delete images not in `keep` (absolute paths), manifests of images not kept, and dead builders' temporary files (ImageStore.removeUnused). */
  | { type: 'remove-unused'; seq: number; stateDir: string; keep: string[] };

/** Builder → supervisor. */
export type FromBuilder =
  /** The outcome of `build` number `seq`; `peakRssMB`: the builder's peak resident set so far (VmHWM). */
  | { type: 'built'; seq: number; outcome: BuildOutcome; pid: number; peakRssMB: number }
  /** The outcome of `remove-unused` number `seq`. */
  | { type: 'removed'; seq: number; outcome: RemovedOutcome };

/** ImageStore.removeUnused's outcome in a form that survives IPC (the error as SerializedError). */
export type RemovedOutcome = { kind: 'ok'; removed: string[] } | { kind: 'error'; removed: string[]; error: SerializedError };

/** Narrows an unknown IPC payload to a builder message (anything else is ignored). */
export function isFromBuilder(m: unknown): m is FromBuilder {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return (t === 'built' || t === 'removed') && typeof (m as { seq?: unknown }).seq === 'number';
}

/** Narrows an unknown IPC payload to a supervisor message for the builder. */
export function isToBuilder(m: unknown): m is ToBuilder {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return (t === 'build' || t === 'remove-unused') && typeof (m as { seq?: unknown }).seq === 'number' && typeof (m as { stateDir?: unknown }).stateDir === 'string';
}
