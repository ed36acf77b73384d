/** Zone builder process entry: parses and compiles zones into images in the state directory, off every serving event loop. */

import { readFileSync } from 'node:fs';
import { ShardnsError } from '../src/errors.js';
import { createLogger, type Logger } from '../src/log.js';
import { buildZones, syncBuiltImage, type BuildOutcome, type UnsyncedImage } from '../src/zone/image/build.js';
import { isToBuilder, type FromBuilder, type ToBuilder } from '../src/zone/image/messages.js';
import { syncFile } from '../src/zone/image/store.js';
import type { FetchOutcome } from '../src/xfr/secondary.js';

/*
 * Forked by the supervisor (serialization: 'advanced'); the protocol and its
 * lifetime rules are in src/zone/image/messages.ts. Each job runs to the end
 * synchronously: this process is the one allowed to be busy, so it has no
 * heartbeat. It exits 0 when the IPC channel closes.
 */

// The builder kept warm for transfers (src/builder.ts) is told so by its argument: `ps` tells them apart.
process.title = process.argv.includes('--transfers') ? 'shardns transfer builder' : 'shardns builder';

/** Answers the supervisor; if it has gone meanwhile, there is nobody to tell (the disconnect handler exits). */
function send(msg: FromBuilder, then: () => void = () => undefined): void {
  if (process.connected) process.send?.(msg, undefined, undefined, then);
}

/** Peak resident set size of this process so far (VmHWM), in MB. */
function peakRssMB(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0;
  } catch {
    return 0;
  }
}

/** Images a build wrote without fsync, put on disk once its answer has left (see syncDeferred). */
const deferred: { images: UnsyncedImage[]; log: Logger | null } = { images: [], log: null };

function build(msg: Extract<ToBuilder, { type: 'build' }>): BuildOutcome {
  const log: Logger = createLogger('builder', msg.log?.level ?? 'info', msg.log?.format ?? 'text');
  deferred.log = log;
  // How long Node took to start this process and load the build's modules (on a start's path to the first answer).
  log.debug(`build job received ${Math.round(performance.now())} ms after the builder process started`);
  try {
    // The images go to disk after the answer: workers map them from the page cache meanwhile (see syncDeferred).
    return buildZones(msg.zones, msg.stateDir, { log, ...(msg.force ? { force: true } : {}), deferSync: (u) => deferred.images.push(u) });
  } catch (err) {
    // A bug, not a zone problem: say so in the outcome rather than dying without an answer.
    const e = new ShardnsError('E_IMAGE', `the zone builder failed: ${(err as Error).stack ?? String(err)}`, 'this is a bug in shardns; please report it');
    return { kind: 'error', error: e.toJSON(), errors: [e.describe()], failed: msg.zones.map((z) => ({ origin: z.name, error: e.toJSON(), errors: [e.describe()], previous: null })), zones: [], warnings: [], ms: 0 };
  }
}

/** Resident set size of this process now (VmRSS), in MB. */
function rssMB(): number {
  return Math.round(process.memoryUsage.rss() / 104857.6) / 10;
}

/**
 * A secondary zone's transfer and build; a bug is a failed transfer, said as
 * such. Images the job wrote without fsync are listed in `unsynced`.
 */
async function fetch(msg: Extract<ToBuilder, { type: 'fetch' }>, log: Logger, unsynced: string[]): Promise<FetchOutcome> {
  try {
    // Loaded on the first transfer only: a build of zone files (what a start waits for) does without its modules.
    const { fetchZone } = await import('../src/xfr/fetch.js');
    return await fetchZone(msg.job, { stateDir: msg.stateDir, keys: msg.keys, log, deferSync: (path) => unsynced.push(path) });
  } catch (err) {
    const why = `the transfer job failed: ${(err as Error).stack ?? String(err)} (a bug in shardns; please report it)`;
    return { kind: 'failed', record: { at: new Date().toISOString(), kind: 'AXFR', from: '', outcome: 'failed', serial: msg.job.current?.serial ?? null, detail: why, ms: 0 } };
  }
}

/**
 * After a fetch's answer, off the path to the workers: the images written
 * without fsync go to disk (until then a restart after a crash of the
 * machine verifies them, src/xfr/patch-store.ts), the job's garbage is
 * collected (the builder is forked with --expose-gc), and the supervisor
 * learns how large this process stayed.
 */
function settle(seq: number, log: Logger, unsynced: readonly string[]): void {
  for (const path of unsynced) {
    const t = performance.now();
    const r = syncFile(path);
    if (r.kind === 'error') log.error(`${r.error.describe()}; the image is served, and a restart verifies its checksum before using it`);
    else log.debug(`image ${path} synced to disk in ${Math.round(performance.now() - t)} ms`);
  }
  (globalThis as { gc?: () => void }).gc?.();
  send({ type: 'settled', seq, pid: process.pid, rssMB: rssMB() });
}

/**
 * After a build's answer: fsync of each image it wrote (and of the images
 * folder), then its manifest again with the image's stamp (syncBuiltImage).
 * Off the path to the first answer: the workers map the renamed file from
 * the page cache while this runs. A crash of the machine before it ends can
 * leave an image short or zeroed under its name; its manifest has no stamp
 * yet, so the next start verifies the checksum, deletes it and rebuilds.
 * Synchronous, so the channel's closing (the cue to exit) waits for it.
 */
function syncDeferred(): void {
  const log = deferred.log;
  for (const u of deferred.images.splice(0)) {
    const t = performance.now();
    const r = syncBuiltImage(u);
    if (r.kind === 'error') log?.error(`${r.error.describe()}; the image is served, and a restart verifies its checksum before using it`);
    else log?.debug(`zone ${u.origin}: image ${u.name} synced to disk in ${Math.round(performance.now() - t)} ms${r.stamped ? '' : ' (its manifest keeps no stamp: a restart verifies it)'}`);
  }
}

process.on('message', (m: unknown) => {
  if (!isToBuilder(m)) return;
  if (m.type === 'fetch') {
    const log: Logger = createLogger('builder', m.log?.level ?? 'info', m.log?.format ?? 'text');
    const unsynced: string[] = [];
    void fetch(m, log, unsynced).then((outcome) => {
      // The answer first; the deferred work once it is written to the channel.
      send({ type: 'fetched', seq: m.seq, outcome, pid: process.pid, peakRssMB: peakRssMB() }, () => settle(m.seq, log, unsynced));
    });
    return;
  }
  // The supervisor forks the workers now: their start-up would have slowed this one's.
  send({ type: 'started', seq: m.seq, pid: process.pid });
  const outcome = build(m);
  send({ type: 'built', seq: m.seq, outcome, pid: process.pid, peakRssMB: peakRssMB() }, syncDeferred);
});

process.on('disconnect', () => {
  // Whichever comes first, the answer's send callback or the channel's close: the images go to disk before the exit.
  syncDeferred();
  process.exit(0);
});
