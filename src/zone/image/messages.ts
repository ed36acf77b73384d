/** Messages between the supervisor and the zone builder process (workers/zone-builder.ts), over the fork IPC channel. */

import type { ZoneConfig } from '../../config.js';
import type { LogFormat, LogLevel } from '../../log.js';
import type { BuildOutcome } from './build.js';
import type { FetchJob, FetchOutcome } from '../../xfr/secondary.js';
import type { TsigKeySpec } from '../../xfr/tsig.js';

/*
 * The builder is forked with `serialization: 'advanced'` (structured clone).
 * It handles one build at a time, in order, each to the end, and answers
 * each with the same `seq`.
 *
 * Lifetime: it stays while its IPC channel is open and exits 0 when the
 * channel closes (`child.disconnect()`, or the supervisor dying). The
 * supervisor (src/builder.ts) forks one per build and disconnects once
 * answered: a build of a million records leaves the builder's heap large,
 * and only exiting gives that memory back. Transfers (`fetch`) go to one
 * builder kept warm instead (forked once, its code already compiled and
 * optimized when a NOTIFY comes): after each it answers, then does the
 * job's deferred work and collects its garbage, then says `settled` with
 * its resident set; the supervisor lets it go when that stays large (an
 * AXFR's parse) and forks a fresh one. Deleting unused images is quick
 * file work the supervisor does itself (ImageStore.removeUnused).
 *
 * Failure: a builder that crashes (out of memory, a signal) exits without
 * answering; the supervisor treats every unanswered `seq` as failed when the
 * child exits, keeps serving the images it has, and forks a new builder for
 * the next job. Nothing in the state directory is left half-written (files
 * are renamed into place whole; a dead builder's temporary files are removed
 * by the next ImageStore.removeUnused).
 */

/** Supervisor → builder. */
export type ToBuilder =
  /**
   * Give every zone an image in `stateDir` (buildZones). `force`: parse and
   * compile even unchanged zones, and write their images anew. `log`: how the builder writes its own log
   * lines (unusable images it deleted); info/text by default.
   */
  | { type: 'build'; seq: number; zones: ZoneConfig[]; stateDir: string; force?: boolean; log?: { level: LogLevel; format: LogFormat } }
  /**
   * Transfer a secondary zone from its primaries and build the image of
   * what came (src/xfr/fetch.ts); `keys`: the TSIG keys its primaries name.
   */
  | { type: 'fetch'; seq: number; job: FetchJob; keys: TsigKeySpec[]; stateDir: string; log?: { level: LogLevel; format: LogFormat } };

/**
 * Builder → supervisor: the outcome of job number `seq`; `peakRssMB`: the
 * builder's peak resident set so far (VmHWM). `settled`: after a fetch's
 * answer, the builder has done the job's deferred work (fsync of an image
 * written without it) and collected its garbage; `rssMB` is its resident set
 * now (VmRSS), by which the supervisor decides whether to keep it warm.
 */
export type FromBuilder =
  /** The build job `seq` has reached the builder, its modules loaded: it parses and compiles now (the supervisor forks the workers then, so their start-up does not slow the builder's own). */
  | { type: 'started'; seq: number; pid: number }
  | { type: 'built'; seq: number; outcome: BuildOutcome; pid: number; peakRssMB: number }
  | { type: 'fetched'; seq: number; outcome: FetchOutcome; pid: number; peakRssMB: number }
  | { type: 'settled'; seq: number; pid: number; rssMB: number };

/** Narrows an unknown IPC payload to a builder message (anything else is ignored). */
export function isFromBuilder(m: unknown): m is FromBuilder {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return (t === 'started' || t === 'built' || t === 'fetched' || t === 'settled') && typeof (m as { seq?: unknown }).seq === 'number';
}

/** Narrows an unknown IPC payload to a supervisor message for the builder. */
export function isToBuilder(m: unknown): m is ToBuilder {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return (t === 'build' || t === 'fetch') && typeof (m as { seq?: unknown }).seq === 'number' && typeof (m as { stateDir?: unknown }).stateDir === 'string';
}
