/**
 * The fast path of an incremental transfer in (RFC 1995): the changes
 * applied to the served image itself (src/zone/image/patch.ts), the new
 * image written and verified, its IXFR journal kept for our own secondaries,
 * and a manifest that says what the image is made of — the zone file as it
 * was plus the changes since, kept beside it — so a restart serves it
 * without parsing. No zone-file text is written on this path.
 *
 * Why that is sound (the manifest is the one truth a restart reads,
 * src/zone/image/reuse.ts): the manifest lists two sources, the zone file
 * `secondary/<zone>.zone` (untouched here: it still describes the version
 * it was written for) and `secondary/<zone>.ixfr`, every version applied
 * since that file was written (journal file form, src/xfr/journal.ts), and
 * the image is named by the hash of both. A restart re-hashes both files
 * and reuses the image only if both are as recorded; the next full transfer
 * (AXFR, or an IXFR this path leaves to the full build) writes the zone file
 * of the version it serves and drops the delta file, so the zone file again
 * describes the served version alone. Files are written image first, then
 * the delta file, then the manifest (each renamed into place whole): a crash
 * between leaves the previous manifest, whose sources no longer all match,
 * and the zone is rebuilt from the zone file at start — an older serial,
 * which the next refresh brings up to date; never a mix of versions.
 */

import { readFileSync, unlinkSync } from 'node:fs';
import type { Logger } from '../log.js';
import { FORMAT_VERSION } from '../zone/image/format.js';
import { ZoneImage } from '../zone/image/image.js';
import { patchImage, type PatchOutcome } from '../zone/image/patch.js';
import type { Mapping } from '../sys/mapping.js';
import type { BuiltZone } from '../zone/image/reuse.js';
import { ImageStore, imageFileName, MANIFEST_VERSION, sha256, sourceHash, type Manifest, type SourceFile } from '../zone/image/store.js';
import { VERSION } from '../version.js';
import { appendVersions, decodeJournal, encodeJournal, type JournalVersion } from './journal.js';
import { secondaryDeltaPath, secondaryZonePath, writeSecondaryFile } from './secondary-files.js';

export { secondaryDeltaPath };

/** The most octets of changes kept beside a zone file before the next IXFR takes the full path (which rewrites the zone file). */
export const MAX_DELTA_BYTES = 64 * 1024 * 1024;

/** Deletes the delta file once a zone file describes the served version alone (a missing file is fine). */
export function removeSecondaryDelta(stateDir: string, origin: string): void {
  try {
    unlinkSync(secondaryDeltaPath(stateDir, origin));
  } catch {
    /* none */
  }
}

const ms = (n: number): string => n.toFixed(0);

/** The image built by patching, or why the full path must be taken. */
export type PatchStoreOutcome = { kind: 'ok'; zone: BuiltZone; deleted: number; added: number; warnings: string[] } | { kind: 'error'; why: string };

/**
 * Applies `versions` to `current` (the image served, at `currentPath`) and
 * stores the result as described above. Any refusal (the patch does not
 * apply as the full path would, the manifest is not the served image's, a
 * file cannot be written) is an error for the caller to fall back on.
 */
export function storePatched(
  origin: string,
  current: ZoneImage,
  currentPath: string,
  versions: readonly JournalVersion[],
  ctx: { stateDir: string; log: Logger; deferSync?: (path: string) => void },
): PatchStoreOutcome {
  const t0 = performance.now();
  const opened = ImageStore.open(ctx.stateDir, { log: ctx.log });
  if (opened.kind === 'error') return { kind: 'error', why: opened.error.describe() };
  const store = opened.store;
  const m = store.readManifest(origin);
  if (m.kind !== 'ok') return { kind: 'error', why: m.kind === 'none' ? 'no manifest' : `manifest unusable: ${m.reason}` };
  const manifest = m.manifest;
  const textPath = secondaryZonePath(ctx.stateDir, origin);
  const deltaPath = secondaryDeltaPath(ctx.stateDir, origin);
  if (store.imagePath(manifest.image) !== currentPath || manifest.hash !== current.meta.source) return { kind: 'error', why: 'the manifest does not name the image served' };
  const text = manifest.sources[0];
  if (text === undefined || text.path !== textPath) return { kind: 'error', why: 'the manifest does not list the zone file first' };
  // The versions applied since the zone file was written, as the manifest recorded them.
  let before: JournalVersion[] = [];
  if (manifest.sources.length === 2 && manifest.sources[1]!.path === deltaPath) {
    let octets: Buffer;
    try {
      octets = readFileSync(deltaPath);
    } catch (err) {
      return { kind: 'error', why: `cannot read ${deltaPath}: ${(err as Error).message}` };
    }
    if (sha256(octets) !== manifest.sources[1]!.sha256) return { kind: 'error', why: `${deltaPath} is not the one the manifest recorded` };
    const decoded = decodeJournal(octets);
    if (typeof decoded === 'string') return { kind: 'error', why: `${deltaPath}: ${decoded}` };
    before = decoded.versions;
  } else if (manifest.sources.length !== 1) {
    return { kind: 'error', why: 'the manifest lists sources this path does not know' };
  }
  const delta = encodeJournal({ origin, endHash: text.sha256, versions: [...before, ...versions] });
  if (delta.length > MAX_DELTA_BYTES) return { kind: 'error', why: `the changes since the zone file was written exceed ${MAX_DELTA_BYTES} octets: the zone file is written again` };
  const sources: SourceFile[] = [text, { path: deltaPath, sha256: sha256(delta), bytes: delta.length }];
  const hash = sourceHash(origin, sources);

  const t1 = performance.now();
  const name = imageFileName(origin, hash);
  // The image is written in place: patchImage fills a new file mapped for writing (its page cache), so there is no
  // buffer to copy out with write(2). The checksum was computed over those octets and the reader's checks ran on them:
  // reading the file back would read the same pages.
  let target: { tmp: string; mapping: Mapping } | null = null;
  let patched: PatchOutcome;
  let v = { serial: 0, records: 0, bytes: 0 };
  try {
    patched = patchImage(current, versions, { origin, source: hash }, {
      allocate: (octets) => {
        const m = store.mapNewImage(name, octets);
        if (m.kind === 'error') return { kind: 'error', why: m.error.describe() };
        target = m;
        return { kind: 'ok', bytes: m.mapping.bytes };
      },
    });
    if (patched.kind === 'ok') {
      const fresh = new ZoneImage(patched.image);
      v = { serial: fresh.serial, records: fresh.recordCount, bytes: patched.image.length };
    }
  } finally {
    (target as { mapping: Mapping } | null)?.mapping.unmap();
  }
  const made = target as { tmp: string } | null;
  if (patched.kind === 'error') {
    if (made !== null) store.dropTemporary(made.tmp);
    return patched;
  }
  if (made === null) return { kind: 'error', why: 'internal: the patch wrote no image file (a bug in shardns)' };
  const t2 = performance.now();
  // Without `deferSync` the file is fsynced here; with it, later (see above).
  const sync = ctx.deferSync === undefined;
  const w = store.placeImage(made.tmp, name, { sync });
  if (w.kind === 'error') return { kind: 'error', why: w.error.describe() };
  if (!sync) ctx.deferSync!(w.path);
  const t3 = performance.now();
  const wd = writeSecondaryFile(ctx.stateDir, deltaPath, delta);
  if (wd.kind === 'error') return { kind: 'error', why: wd.error.describe() };
  // IXFR history for our own secondaries (RFC 1995): the versions received are the change (no diff of the two images).
  const j = store.readJournal(origin);
  const decoded = j.kind === 'ok' ? decodeJournal(j.bytes) : null;
  const update = appendVersions(typeof decoded === 'string' ? null : decoded, current, hash, versions);
  let note = update.note;
  if (update.kind === 'reset') store.removeJournal(origin);
  else {
    const wj = store.writeJournal(origin, encodeJournal(update.journal));
    if (wj.kind === 'error') {
      store.removeJournal(origin);
      note = `zone ${origin}: cannot write its IXFR journal: ${wj.error.describe()}; secondaries will transfer the whole zone`;
    }
  }
  const written: Manifest = {
    manifest: MANIFEST_VERSION,
    origin,
    image: name,
    hash,
    format: FORMAT_VERSION,
    shardns: VERSION,
    sources,
    serial: v.serial,
    records: v.records,
    imageBytes: v.bytes,
    built: new Date().toISOString(),
    warnings: manifest.warnings,
  };
  const wm = store.writeManifest(written);
  if (wm.kind === 'error') return { kind: 'error', why: wm.error.describe() };
  return {
    kind: 'ok',
    deleted: patched.deleted,
    added: patched.added,
    warnings: note === null ? [] : [note],
    zone: {
      origin,
      imagePath: store.imagePath(name),
      imageBytes: v.bytes,
      serial: v.serial,
      records: v.records,
      reused: false,
      reason: `IXFR applied to the image of serial ${current.serial} (prepare ${ms(t1 - t0)} ms, patch into the new file ${ms(t2 - t1)} ms, rename ${ms(t3 - t2)} ms${sync ? ' with fsync' : ', fsync deferred'}, journal and manifest ${ms(performance.now() - t3)} ms)`,
      ms: Math.round((performance.now() - t0) * 10) / 10,
      sourceFiles: sources.map((s) => s.path),
    },
  };
}
