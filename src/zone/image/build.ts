/** Building zone images: parse and compile each configured zone once per version into the state directory, or reuse the image of unchanged sources. */

import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ZoneConfig } from '../../config.js';
import { zoneError, type SerializedError, ShardnsError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Libc } from '../../sys/libc.js';
import { displayPath } from '../../display-path.js';
import { formatDiagnostic } from '../parse/diagnostics.js';
import { loadZoneFile } from '../parse/load.js';
import type { ReadFile } from '../parse/parser.js';
import type { Zone } from '../parse/zone.js';
import { compileZoneParts, joinImage, type CompiledImage } from './compile.js';
import { reuseZone, type BuiltZone } from './reuse.js';
import { ZoneImage } from './image.js';
import { ImageStore, imageFileName, MANIFEST_VERSION, sha256, sourceHash, syncFile, type Manifest, type SourceFile, type VerifyOutcome } from './store.js';
import { sameStamp, stampNow, trustedStamp, wallClockNs, type FileStamp } from './file-stamp.js';
import { FORMAT_VERSION } from './format.js';
import { decodeJournal, encodeJournal, recordChange } from '../../xfr/journal.js';
import { VERSION } from '../../version.js';

export type { BuiltZone } from './reuse.js';

/** One zone that could not be built. Its previous image (if any) and manifest are left as they were. */
export interface FailedZone {
  origin: string;
  /** E_ZONE (the zone file: every diagnostic), E_IMAGE (cannot compile or read back), E_STATE_DIR (cannot write). */
  error: SerializedError;
  /** `file:line:column: reason` diagnostics, or the coded error described in one line. */
  errors: string[];
  /** The image the manifest names from the last good build, if that file is still there (not verified here). */
  previous: string | null;
}

/**
 * The outcome of a build. `ok`: every zone has an image. `error`: at least
 * one zone failed (or the state directory is unusable); `zones` still lists
 * those that built (their images and manifests are written), `failed` the
 * others, and `error` is the one coded error to show (E_ZONE with every
 * diagnostic, or E_STATE_DIR). Like a zone load today, a reload that fails
 * should keep serving the old images of every zone.
 */
export type BuildOutcome =
  | { kind: 'ok'; zones: BuiltZone[]; warnings: string[]; ms: number }
  | { kind: 'error'; error: SerializedError; errors: string[]; failed: FailedZone[]; zones: BuiltZone[]; warnings: string[]; ms: number };

/** What buildZones may be given besides the zones and the folder. */
export interface BuildOptions {
  /** Where unusable images are reported (deleted and rebuilt). */
  log?: Logger;
  /** The C library for mappings (tests pass a fake). */
  libc?: Libc;
  /** Parse and compile every zone even when its sources are unchanged, and write its image anew (renamed over the file of the same name). */
  force?: boolean;
  /** Errors per zone before the parser gives up (the parser's default otherwise). */
  maxErrors?: number;
  /**
   * Write new images without fsync, and hand each here to be put on disk by
   * {@link syncBuiltImage} once the build has answered (the builder process
   * does it after its answer, off the path to the first answer). Until then
   * the zone's manifest records no stamp for the image, so a restart after a
   * crash of the machine verifies its checksum before trusting it, and
   * rebuilds it when it was cut short. Absent: every image is fsynced before
   * buildZones returns.
   */
  deferSync?: (unsynced: UnsyncedImage) => void;
}

/** An image a build wrote without fsync, and the manifest written for it (without the image's stamp). */
export interface UnsyncedImage {
  /** The state directory. */
  stateDir: string;
  origin: string;
  /** The image's file name in images/. */
  name: string;
  /** The image file's stamp right after it was written, or null when it could not be had. */
  stamp: FileStamp | null;
  /** The manifest as written. */
  manifest: Manifest;
}

/** A zone parsed and compiled in memory, or its diagnostics. */
export type CompileOutcome =
  | { kind: 'compiled'; origin: string; zone: Zone; image: CompiledImage; hash: string; sources: SourceFile[]; warnings: string[]; parseMs: number; compileMs: number }
  | { kind: 'error'; origin: string; code: 'E_ZONE' | 'E_IMAGE'; errors: string[]; warnings: string[] };

/**
 * Parses one zone (the zone file and its $INCLUDEs, read through
 * `readFile`, whose octets are hashed as they are read) and compiles it to
 * image octets named by the hash of those sources. Touches the file system
 * only through `readFile`. This is what `shardns check` runs, and what a
 * build runs for a zone it cannot reuse.
 */
export function compileSources(config: ZoneConfig, options: { readFile?: ReadFile; maxErrors?: number } = {}): CompileOutcome {
  // Files read from the file system get stamps (file-stamp.ts), so a restart need not read them again; a reader given is not the file system.
  const fromDisk = options.readFile === undefined;
  const read = options.readFile ?? ((f: string) => readFileSync(f));
  const sources: SourceFile[] = [];
  const seen = new Set<string>();
  const readFile: ReadFile = (file) => {
    const path = resolve(file);
    const first = !seen.has(path);
    const readAt = wallClockNs();
    const before = fromDisk && first ? stampNow(path) : null;
    const got = read(file);
    const octets = typeof got === 'string' ? Buffer.from(got, 'utf8') : got;
    if (first) {
      seen.add(path);
      const stamp = fromDisk ? trustedStamp(before, stampNow(path), readAt) : null;
      sources.push({ path, sha256: sha256(octets), bytes: octets.length, ...(stamp !== null && stamp.size === octets.length ? { stamp } : {}) });
    }
    return octets;
  };
  const origin = config.name;
  const t0 = performance.now();
  const loaded = loadZoneFile(origin, displayPath(config.file), { readFile, ...(options.maxErrors !== undefined ? { maxErrors: options.maxErrors } : {}) });
  const warnings = loaded.warnings.map(formatDiagnostic);
  if (!loaded.ok) return { kind: 'error', origin, code: 'E_ZONE', errors: loaded.errors.map(formatDiagnostic), warnings };
  const hash = sourceHash(origin, sources);
  const t1 = performance.now();
  let image: CompiledImage;
  try {
    image = compileZoneParts(loaded.zone, { origin, source: hash });
  } catch (err) {
    return { kind: 'error', origin, code: 'E_IMAGE', errors: [`${displayPath(config.file)}: cannot compile zone ${origin}: ${(err as Error).message}`], warnings };
  }
  return { kind: 'compiled', origin, zone: loaded.zone, image, hash, sources, warnings, parseMs: elapsed(t0, t1), compileMs: elapsed(t1) };
}

/**
 * Gives every zone an image in the state directory `stateDir`. For each zone:
 * if its manifest's sources are unchanged (re-hashed, not parsed) and its
 * image verifies, the image is reused; otherwise the zone is parsed and
 * compiled (compileSources), the image written (temporary name, fsync,
 * rename) and verified, and the manifest written after it. An image that
 * fails verification is reported, deleted and rebuilt, never handed out. A
 * zone that does not parse keeps its previous image and manifest; nothing
 * is deleted here (removeUnused does that, when no worker maps a file).
 * Synchronous and CPU-bound: run it in the builder process.
 */
export function buildZones(zones: readonly ZoneConfig[], stateDir: string, options: BuildOptions = {}): BuildOutcome {
  const t0 = performance.now();
  const warnings: string[] = [];
  const opened = ImageStore.open(stateDir, { ...(options.log ? { log: options.log } : {}), ...(options.libc ? { libc: options.libc } : {}) });
  if (opened.kind === 'error') {
    const e = opened.error;
    return {
      kind: 'error',
      error: e.toJSON(),
      errors: [e.describe()],
      failed: zones.map((z) => ({ origin: z.name, error: e.toJSON(), errors: [e.describe()], previous: null })),
      zones: [],
      warnings,
      ms: elapsed(t0),
    };
  }
  const store = opened.store;
  const built: BuiltZone[] = [];
  const failed: FailedZone[] = [];
  for (const config of zones) {
    const r = buildZone(store, config, options);
    warnings.push(...r.warnings);
    if (r.kind === 'built') built.push(r.zone);
    else failed.push(r.failed);
  }
  const ms = elapsed(t0);
  if (failed.length === 0) return { kind: 'ok', zones: built, warnings, ms };
  const errors = failed.flatMap((f) => f.errors);
  const other = failed.find((f) => f.error.code !== 'E_ZONE');
  const error = failed.length === 1 ? failed[0]!.error : other === undefined ? zoneError(errors).toJSON() : other.error;
  return { kind: 'error', error, errors, failed, zones: built, warnings, ms };
}

type ZoneBuild = { kind: 'built'; zone: BuiltZone; warnings: string[] } | { kind: 'failed'; failed: FailedZone; warnings: string[] };

function buildZone(store: ImageStore, config: ZoneConfig, options: BuildOptions): ZoneBuild {
  const t0 = performance.now();
  const origin = config.name;
  const m = store.readManifest(origin);
  const manifest = m.kind === 'ok' ? m.manifest : null;
  let reason: string;
  if (options.force) reason = 'a rebuild was asked for';
  else {
    const r = reuseZone(store, config, { discard: true });
    if (r.kind === 'reused') return { kind: 'built', warnings: r.warnings, zone: { ...r.zone, ms: elapsed(t0) } };
    reason = r.reason;
  }

  const c = compileSources(config, options.maxErrors !== undefined ? { maxErrors: options.maxErrors } : {});
  const fail = (error: ShardnsError, errors: string[], warnings: string[]): ZoneBuild => {
    const previous = manifest === null ? null : store.imagePath(manifest.image);
    return { kind: 'failed', warnings, failed: { origin, error: error.toJSON(), errors, previous: previous !== null && existsSync(previous) ? previous : null } };
  };
  if (c.kind === 'error') {
    const error = c.code === 'E_ZONE' ? zoneError(c.errors) : new ShardnsError('E_IMAGE', c.errors.join('\n'), 'the zone does not fit image format version 1: split it, or report it');
    return fail(error, c.errors, c.warnings);
  }

  const name = imageFileName(origin, c.hash);
  const path = store.imagePath(name);
  const expect = { origin, hash: c.hash };
  let unsynced = false;
  let stamp = stampNow(path);
  let v: VerifyOutcome = stamp === null ? { kind: 'missing' } : store.verifyImage(name, expect);
  // An image there that cannot even be mapped (ENOMEM, …): the workers could not map a new one either; say so.
  if (v.kind === 'error') return fail(v.error, [v.error.describe()], c.warnings);
  if (v.kind === 'ok' && !options.force) {
    // Another build (or another shardns on this folder) wrote the image of these very sources: keep it.
    reason += '; the image of these sources was already there';
  } else {
    // Forced: this build's octets replace the file (renamed over it; a process mapping the old one keeps reading it).
    if (v.kind === 'bad') store.discard(name, origin, v.reason);
    const tw = performance.now();
    unsynced = options.deferSync !== undefined;
    const w = store.writeImage(name, c.image.pieces, { sync: !unsynced });
    if (w.kind === 'error') return fail(w.error, [w.error.describe()], c.warnings);
    options.log?.debug(`zone ${origin}: parsed in ${c.parseMs} ms, compiled in ${c.compileMs} ms, image of ${c.image.length} octets written in ${elapsed(tw)} ms${unsynced ? ' (fsync deferred)' : ''}`);
    // The octets are those compileZone checksummed, written whole (and fsync'd, or soon): reading all of them
    // back would only check the kernel's copy. The file's size, header and meta are read back.
    stamp = stampNow(path);
    const back = stamp === null ? null : store.stampedImage(name, stamp, expect);
    if (back === null || back.bytes !== c.image.length) {
      const e = new ShardnsError(
        'E_IMAGE',
        `zone ${origin}: the image just written to ${path} does not read back (${stamp === null ? 'the file vanished' : 'its size, header or meta is not what was written'})`,
        'check the disk and file system of the state directory (--state-dir); if they are sound, report it',
      );
      return fail(e, [e.describe()], c.warnings);
    }
    v = back;
  }
  // The stamp of the octets written or verified (file-stamp.ts): a restart then checks the header only.
  // No racy rule here: the file was written a moment ago by us, under a name nothing else writes to.
  const after = stampNow(path);
  const imageStamp = stamp !== null && after !== null && sameStamp(stamp, after) ? after : null;
  // IXFR history (RFC 1995): the change from the version served until now, for a zone that may be transferred.
  const note = config.journal === true ? updateJournal(store, origin, manifest, name, joinImage(c.image)) : null;
  const warnings = note === null ? c.warnings : [...c.warnings, note];
  const written: Manifest = {
    manifest: MANIFEST_VERSION,
    origin,
    image: name,
    hash: c.hash,
    format: FORMAT_VERSION,
    shardns: VERSION,
    sources: c.sources,
    serial: v.serial,
    records: v.records,
    imageBytes: v.bytes,
    built: new Date().toISOString(),
    warnings: c.warnings,
    // An image not yet on disk gets its stamp once it is (syncBuiltImage): until then a restart verifies it.
    ...(imageStamp !== null && !unsynced ? { imageStamp } : {}),
  };
  const wm = store.writeManifest(written);
  if (wm.kind === 'error') return fail(wm.error, [wm.error.describe()], c.warnings);
  if (unsynced) options.deferSync!({ stateDir: store.dir, origin, name, stamp: imageStamp, manifest: written });
  return {
    kind: 'built',
    warnings,
    zone: {
      origin,
      imagePath: store.imagePath(name),
      imageBytes: v.bytes,
      serial: v.serial,
      records: v.records,
      reused: false,
      reason,
      ms: elapsed(t0),
      sourceFiles: c.sources.map((s) => s.path),
    },
  };
}

/**
 * Puts an image a build wrote without fsync (BuildOptions.deferSync) on
 * disk: fsync of the file and of its folder; then, if the file is still as
 * written and the zone's manifest still the one written for it, that
 * manifest again with the image's stamp, so a restart checks the header
 * only (file-stamp.ts). `stamped`: whether the manifest got the stamp.
 */
export function syncBuiltImage(u: UnsyncedImage): { kind: 'ok'; stamped: boolean } | { kind: 'error'; error: ShardnsError } {
  const opened = ImageStore.open(u.stateDir);
  if (opened.kind === 'error') return opened;
  const store = opened.store;
  const path = store.imagePath(u.name);
  const synced = syncFile(path);
  if (synced.kind === 'error') return synced;
  const now = stampNow(path);
  if (u.stamp === null || now === null || !sameStamp(now, u.stamp)) return { kind: 'ok', stamped: false };
  // Another build may have written the manifest since: then it is left as it is.
  const m = store.readManifest(u.origin);
  if (m.kind !== 'ok' || m.manifest.image !== u.name || m.manifest.built !== u.manifest.built) return { kind: 'ok', stamped: false };
  const w = store.writeManifest({ ...u.manifest, imageStamp: u.stamp });
  return w.kind === 'error' ? w : { kind: 'ok', stamped: true };
}

/**
 * Records in the zone's IXFR journal the change from the image the manifest
 * named (the version served until now) to the image `name` just built, as
 * src/xfr/journal.ts recordChange decides; a journal that can no longer lead
 * to the served image is deleted. Returns a warning for the log, or null.
 * Written before the manifest: should the build fail after, the journal
 * ends at an image nobody serves, and workers do not use it (its end hash).
 */
function updateJournal(store: ImageStore, origin: string, manifest: Manifest | null, name: string, built: Uint8Array): string | null {
  if (manifest === null) {
    store.removeJournal(origin);
    return null;
  }
  if (manifest.image === name) return null;
  let old: ZoneImage;
  try {
    old = new ZoneImage(readAligned(store.imagePath(manifest.image)), { verify: true });
  } catch (err) {
    store.removeJournal(origin);
    return `zone ${origin}: no IXFR history for this change (the previous image ${manifest.image} cannot be read: ${(err as Error).message}); secondaries will transfer the whole zone`;
  }
  const j = store.readJournal(origin);
  const decoded = j.kind === 'ok' ? decodeJournal(j.bytes) : null;
  const update = recordChange(typeof decoded === 'string' ? null : decoded, old, new ZoneImage(built));
  if (update.kind === 'reset') {
    store.removeJournal(origin);
    return update.note;
  }
  const w = store.writeJournal(origin, encodeJournal(update.journal));
  if (w.kind === 'error') {
    store.removeJournal(origin);
    return `zone ${origin}: cannot write its IXFR journal: ${w.error.describe()}; secondaries will transfer the whole zone`;
  }
  return update.note;
}

/** A file's octets in memory of their own (8-octet aligned, as ZoneImage wants). */
export function readAligned(path: string): Uint8Array {
  const size = statSync(path).size;
  const bytes = new Uint8Array(size);
  const fd = openSync(path, 'r');
  try {
    for (let off = 0; off < size; ) {
      const n = readSync(fd, bytes, off, size - off, off);
      if (n === 0) throw new Error('the file shrank while it was read');
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** One zone as `shardns check` saw it. */
export interface CheckedZone {
  origin: string;
  /** The loaded zone (for `check --print`). */
  zone: Zone;
  /** The SOA serial. */
  serial: number;
  /** Records in the compiled image. */
  records: number;
  /** Octets its image would take. */
  imageBytes: number;
}

/** What `shardns check` found: every zone parsed and compiled, or every error. */
export type CheckOutcome = { kind: 'ok'; zones: CheckedZone[]; warnings: string[] } | { kind: 'error'; errors: string[]; warnings: string[] };

/**
 * Parses and compiles every zone exactly as a build does, in memory: no
 * state directory is read or written (`check` may run as another user, or
 * on another machine, than `serve`; images it wrote could be unreadable to
 * the server, and a check should not change what a server would reuse).
 * Each image is also opened and verified as a worker would read it.
 */
export function checkZones(zones: readonly ZoneConfig[], options: { maxErrors?: number } = {}): CheckOutcome {
  const warnings: string[] = [];
  const errors: string[] = [];
  const checked: CheckedZone[] = [];
  for (const config of zones) {
    const c = compileSources(config, options);
    warnings.push(...c.warnings);
    if (c.kind === 'error') {
      errors.push(...c.errors);
      continue;
    }
    try {
      const image = new ZoneImage(joinImage(c.image), { verify: true });
      checked.push({ origin: c.origin, zone: c.zone, serial: image.serial, records: image.recordCount, imageBytes: c.image.length });
    } catch (err) {
      errors.push(`${displayPath(config.file)}: the compiled image of ${c.origin} does not read back: ${(err as Error).message} (a bug in shardns; please report it)`);
    }
  }
  return errors.length > 0 ? { kind: 'error', errors, warnings } : { kind: 'ok', zones: checked, warnings };
}

function elapsed(t0: number, t1 = performance.now()): number {
  return Math.round((t1 - t0) * 10) / 10;
}
