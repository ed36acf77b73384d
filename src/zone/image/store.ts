/** The state directory: where zone images and their manifests live, how they are named, written atomically, trusted and removed. */

import { nodeCrypto } from '../../lazy-crypto.js';
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statfsSync, statSync, unlinkSync, writevSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ShardnsError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ERRNO, libc as realLibc, type Libc } from '../../sys/libc.js';
import { mapFile, mapNewFile, type Mapping } from '../../sys/mapping.js';
import { isFileStamp, sameStamp, stampNow, type FileStamp } from './file-stamp.js';
import { FORMAT_VERSION, H, HEADER_BYTES, MAGIC } from './format.js';
import { ZoneImage } from './image.js';

/*
 * Layout of a state directory (--state-dir):
 *
 *   images/<origin>-<hash16>.v1.zimg    one zone version, compiled (doc/zone-image.md)
 *   manifests/<origin>.json             per zone: its sources and their hashes, its current image
 *   journal/<origin>.ixfr               per zone: its IXFR history, the changes between the last
 *                                       versions, leading to the current image (src/xfr/journal.ts)
 *   images/.<name>.tmp-<pid>-<rand>     a file being written (renamed into place when whole)
 *
 * <hash16> is the first 16 hex digits of the source hash: SHA-256 over the
 * format version, the origin, and every file the parser read for the zone
 * (path and octets). The same sources give the same name; any change gives a
 * new one, so a file once written is never rewritten in place and a worker's
 * mapping of it stays valid. The shardns release is not part of it: a new
 * release with the same image format serves the images the previous one
 * built (an upgrade parses nothing), so a release whose parser or compiler
 * reads the same zone text into other records must raise FORMAT_VERSION.
 */

/** Sub-folder of the images. */
export const IMAGES_DIR = 'images';
/** Sub-folder of the per-zone manifests. */
export const MANIFESTS_DIR = 'manifests';
/** Sub-folder of the per-zone IXFR journals. */
export const JOURNALS_DIR = 'journal';
/** Suffix of a journal file. */
export const JOURNAL_SUFFIX = '.ixfr';
/** Suffix of an image file of this format version. */
export const IMAGE_SUFFIX = `.v${FORMAT_VERSION}.zimg`;
/** Mode of the folders the store creates (the serving user, and its group, may read). */
export const DIR_MODE = 0o750;
/** Mode of the files the store writes. */
export const FILE_MODE = 0o640;
/** Room left on the state directory's file system beyond an image mapped for writing (octets). */
const FREE_MARGIN = 16 * 1024 * 1024;
/** Version of the manifest's JSON shape. */
export const MANIFEST_VERSION = 1;

/** One file the parser read for a zone (the zone file or an $INCLUDE). */
export interface SourceFile {
  /** Absolute path. */
  path: string;
  /** SHA-256 of its octets, hex. */
  sha256: string;
  /** Its size in octets. */
  bytes: number;
  /** What stat(2) said when it was read, if that can vouch for its octets later (see file-stamp.ts); absent: hash it to know. */
  stamp?: FileStamp;
}

/** What the store remembers about a zone's current image (manifests/<origin>.json). */
export interface Manifest {
  manifest: typeof MANIFEST_VERSION;
  /** The origin as configured, presentation form. */
  origin: string;
  /** File name of the image, in images/. */
  image: string;
  /** The source hash (hex, 64 digits): see {@link sourceHash}. */
  hash: string;
  /** Image format version. */
  format: number;
  /** The shardns version that built it (for people: a later release of the same format reuses the image). */
  shardns: string;
  /** Every file the parser read, in the order it read them, each once. */
  sources: SourceFile[];
  serial: number;
  records: number;
  imageBytes: number;
  /** When the image was built (ISO 8601). */
  built: string;
  /** The parser's warnings (`file:line:column: …`), told again when the image is reused. */
  warnings: string[];
  /** What stat(2) said of the image file when its checksum was verified (see file-stamp.ts); absent: verify it to know. */
  imageStamp?: FileStamp;
}

/** SHA-256 of some octets, hex. */
export function sha256(octets: Uint8Array): string {
  return nodeCrypto().createHash('sha256').update(octets).digest('hex');
}

/**
 * The hash that names a zone version: SHA-256 over the image format version,
 * the origin, and each source file's absolute path and octets (through their
 * own hashes), in read order. Not the shardns version: images depend on the
 * format, so an upgrade to a release of the same format reuses them rather
 * than parsing every zone again (a parser or compiler change that reads the
 * same text into other records raises FORMAT_VERSION).
 */
export function sourceHash(origin: string, sources: readonly Pick<SourceFile, 'path' | 'sha256'>[]): string {
  const h = nodeCrypto().createHash('sha256');
  h.update(`shardns zone image\nformat ${FORMAT_VERSION}\norigin ${origin}\n`);
  for (const s of sources) h.update(`source ${s.path}\n${s.sha256}\n`);
  return h.digest('hex');
}

/** Longest origin part of a file name before it is shortened (file names stop at 255 octets). */
const MAX_ORIGIN_PART = 100;

/**
 * The origin as a file-name part: lower case, no trailing dot, `.` kept,
 * letters, digits and `-` kept, every other octet as `_` and two hex digits
 * (so two origins never share a part); the root zone is `_root`. A long
 * origin is cut and given `_h` and a hash of the whole.
 */
export function originPart(origin: string): string {
  const lower = origin.toLowerCase();
  if (lower === '.' || lower === '') return '_root';
  const name = lower.endsWith('.') && !lower.endsWith('\\.') ? lower.slice(0, -1) : lower;
  let out = '';
  for (const octet of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(octet);
    out += /[a-z0-9.-]/.test(ch) ? ch : `_${octet.toString(16).padStart(2, '0')}`;
  }
  if (out.startsWith('.')) out = `_2e${out.slice(1)}`;
  if (out.length > MAX_ORIGIN_PART) out = `${out.slice(0, MAX_ORIGIN_PART - 18)}_h${nodeCrypto().createHash('sha256').update(lower).digest('hex').slice(0, 16)}`;
  return out;
}

/** `example.com-0123456789abcdef.v1.zimg` */
export function imageFileName(origin: string, hash: string): string {
  return `${originPart(origin)}-${hash.slice(0, 16)}${IMAGE_SUFFIX}`;
}

/** `example.com.json` */
export function manifestFileName(origin: string): string {
  return `${originPart(origin)}.json`;
}

/** Where a zone's IXFR journal is in state directory `stateDir` (workers read it; the builder writes it). */
export function journalPath(stateDir: string, origin: string): string {
  return join(resolve(stateDir), JOURNALS_DIR, `${originPart(origin)}${JOURNAL_SUFFIX}`);
}

/** A zone's journal file: its octets, absent, or unreadable. */
export type JournalFileOutcome = { kind: 'ok'; bytes: Uint8Array } | { kind: 'none' } | { kind: 'bad'; reason: string };

/** A store opened, or why the state directory cannot be used. */
export type OpenStoreOutcome = { kind: 'ok'; store: ImageStore } | { kind: 'error'; error: ShardnsError };
/** A zone's manifest: there, absent, or unreadable (then it is rebuilt). */
export type ManifestOutcome = { kind: 'ok'; manifest: Manifest } | { kind: 'none' } | { kind: 'bad'; reason: string };
/** Whether a manifest's sources are still what the files hold; `stamped`: every file's stamp vouched for it, none was read. */
export type SourcesOutcome = { kind: 'same'; stamped: boolean } | { kind: 'changed'; reason: string };
/**
 * What a verified image says about itself; `missing`; `bad` (its octets are
 * wrong: truncated, corrupted, another zone's: delete it); or `error` (it
 * could not be mapped to be checked, which says nothing about its octets).
 */
export type VerifyOutcome =
  | { kind: 'ok'; serial: number; records: number; bytes: number }
  | { kind: 'missing' }
  | { kind: 'bad'; reason: string }
  | { kind: 'error'; error: ShardnsError };
/** A file written, or why not. */
export type WriteOutcome = { kind: 'ok'; path: string } | { kind: 'error'; error: ShardnsError };
/** What removeUnused deleted (and what it could not). */
export type RemoveOutcome = { kind: 'ok'; removed: string[] } | { kind: 'error'; removed: string[]; error: ShardnsError };

/** What the store is given besides its folder. */
export interface StoreOptions {
  /** Where it says that an image was unusable and deleted. */
  log?: Logger;
  /** The C library for mappings (tests pass a fake). */
  libc?: Libc;
}

/**
 * One state directory. Every method does its I/O synchronously: the store
 * runs in the builder process, which is allowed to be busy. (`shardns check`
 * opens no store: it calls probeStateDir, which writes nothing.)
 */
export class ImageStore {
  /** Absolute path of the state directory. */
  readonly dir: string;
  /** `<dir>/images`: the image files. */
  readonly imagesDir: string;
  /** `<dir>/manifests`: one JSON file per zone. */
  readonly manifestsDir: string;
  /** `<dir>/journal`: one IXFR journal per zone whose changes are kept. */
  readonly journalsDir: string;
  private readonly log: Logger | undefined;
  private readonly libc: Libc | undefined;

  private constructor(dir: string, options: StoreOptions) {
    this.dir = resolve(dir);
    this.imagesDir = join(this.dir, IMAGES_DIR);
    this.manifestsDir = join(this.dir, MANIFESTS_DIR);
    this.journalsDir = join(this.dir, JOURNALS_DIR);
    this.log = options.log;
    this.libc = options.libc;
  }

  /**
   * Opens the state directory, creating it and its sub-folders (mode 0750)
   * when missing, and checks that this process may write there.
   */
  static open(dir: string, options: StoreOptions = {}): OpenStoreOutcome {
    const store = new ImageStore(dir, options);
    for (const d of [store.dir, store.imagesDir, store.manifestsDir, store.journalsDir]) {
      try {
        mkdirSync(d, { recursive: true, mode: DIR_MODE });
        if (!statSync(d).isDirectory()) return { kind: 'error', error: stateDirError(d, 'create', { code: 'ENOTDIR' } as NodeJS.ErrnoException) };
        accessSync(d, constants.R_OK | constants.W_OK | constants.X_OK);
      } catch (err) {
        return { kind: 'error', error: stateDirError(d, 'create', err as NodeJS.ErrnoException) };
      }
    }
    return { kind: 'ok', store };
  }

  /** Absolute path of an image file name. */
  imagePath(name: string): string {
    return join(this.imagesDir, name);
  }

  /** Absolute path of a zone's manifest. */
  manifestPath(origin: string): string {
    return join(this.manifestsDir, manifestFileName(origin));
  }

  /** Reads a zone's manifest; one that does not parse, or names another origin or format, is `bad`. */
  readManifest(origin: string): ManifestOutcome {
    const path = this.manifestPath(origin);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'bad', reason: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      return { kind: 'bad', reason: `${path} is not JSON (cut short?)` };
    }
    const problem = manifestProblem(m);
    if (problem !== null) return { kind: 'bad', reason: `${path}: ${problem}` };
    const manifest = m as Manifest;
    if (manifest.origin !== origin) return { kind: 'bad', reason: `${path} is for ${manifest.origin}, not ${origin}` };
    return { kind: 'ok', manifest };
  }

  /**
   * Whether the files a manifest lists still hold the octets it hashed
   * (each is read and hashed again; nothing is parsed), `mainFile` is still
   * the first of them, and the image format is the same. The shardns
   * version that built the image does not matter (see sourceHash).
   * With `stamps`, a file whose recorded stamp equals its stat(2) now is
   * taken as unchanged without reading it (file-stamp.ts says why that is
   * sound); the others are hashed.
   */
  sourcesUnchanged(manifest: Manifest, mainFile: string, options: { stamps?: boolean } = {}): SourcesOutcome {
    if (manifest.format !== FORMAT_VERSION) return { kind: 'changed', reason: `the image format is now version ${FORMAT_VERSION} (was ${manifest.format})` };
    if (manifest.sources[0]?.path !== resolve(mainFile)) return { kind: 'changed', reason: `the zone file is now ${resolve(mainFile)} (was ${manifest.sources[0]?.path ?? 'none'})` };
    let stamped = true;
    for (const s of manifest.sources) {
      if (options.stamps && s.stamp !== undefined) {
        const now = stampNow(s.path);
        if (now !== null && sameStamp(now, s.stamp)) continue;
      }
      stamped = false;
      let octets: Uint8Array;
      try {
        octets = readFileSync(s.path);
      } catch (err) {
        return { kind: 'changed', reason: `${s.path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
      }
      if (octets.length !== s.bytes || sha256(octets) !== s.sha256) return { kind: 'changed', reason: `${s.path} changed` };
    }
    // Also an image of an earlier shardns, whose names hashed the shardns version too: built once more, then reused.
    if (sourceHash(manifest.origin, manifest.sources) !== manifest.hash) return { kind: 'changed', reason: `the manifest hash does not match its sources (an image named the way shardns ${manifest.shardns} named them, or an edited manifest)` };
    return { kind: 'same', stamped };
  }

  /**
   * The cheap check of an image whose checksum was verified when it was
   * written: its stamp is still `stamp` (no write since: file-stamp.ts),
   * and its header and meta say it is this origin's image of these sources,
   * of this format, as long as the file. Reads the header and the meta, not
   * the image. Null when any of that is not so: then verify it (verifyImage
   * says what is wrong, if anything).
   */
  stampedImage(name: string, stamp: FileStamp, expect: { origin: string; hash: string }): Extract<VerifyOutcome, { kind: 'ok' }> | null {
    const path = this.imagePath(name);
    const now = stampNow(path);
    if (now === null || !sameStamp(now, stamp) || now.size < HEADER_BYTES) return null;
    let fd = -1;
    try {
      fd = openSync(path, 'r');
      const head = Buffer.alloc(HEADER_BYTES);
      if (readSync(fd, head, 0, HEADER_BYTES, 0) !== HEADER_BYTES || head.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
      const u32 = (off: number): number => head.readUInt32LE(off);
      if (u32(H.version) !== FORMAT_VERSION || u32(H.totalBytes) !== now.size) return null;
      const metaOff = u32(H.metaOff);
      const metaBytes = u32(H.metaBytes);
      if (metaOff < HEADER_BYTES || metaBytes > 65536 || metaOff + metaBytes > now.size) return null;
      const metaText = Buffer.alloc(metaBytes);
      if (readSync(fd, metaText, 0, metaBytes, metaOff) !== metaBytes) return null;
      const meta = JSON.parse(metaText.toString('utf8')) as { origin?: unknown; source?: unknown };
      if (meta.source !== expect.hash || String(meta.origin).toLowerCase() !== expect.origin.toLowerCase()) return null;
      return { kind: 'ok', serial: u32(H.serial), records: u32(H.recordCount), bytes: now.size };
    } catch {
      return null;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  /**
   * Checks an image before it is trusted: maps it, and opens it with
   * `ZoneImage(…, { verify: true })` (size, magic, version, bounds, CRC),
   * then checks that it says it is this origin's image of these sources.
   * A file whose octets fail is `bad`, with the reason; the caller discards it.
   */
  verifyImage(name: string, expect: { origin: string; hash: string }): VerifyOutcome {
    const path = this.imagePath(name);
    const mapped = mapFile(path, this.libc ? { libc: this.libc } : {});
    if (mapped.kind === 'error') {
      let size = -1;
      try {
        size = statSync(path).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      }
      // An empty file is an image cut short to nothing, not a mapping problem.
      if (size === 0) return { kind: 'bad', reason: 'the file is empty (truncated)' };
      return { kind: 'error', error: mapped.error };
    }
    const mapping = mapped.mapping;
    try {
      const image = new ZoneImage(mapping.bytes, { verify: true });
      if (image.meta.source !== expect.hash) return { kind: 'bad', reason: `it was built from other sources (${String(image.meta.source).slice(0, 16)}…, expected ${expect.hash.slice(0, 16)}…)` };
      if (String(image.meta.origin).toLowerCase() !== expect.origin.toLowerCase()) return { kind: 'bad', reason: `it is an image of ${image.meta.origin}, not ${expect.origin}` };
      return { kind: 'ok', serial: image.serial, records: image.recordCount, bytes: mapping.length };
    } catch (err) {
      return { kind: 'bad', reason: (err as Error).message };
    } finally {
      mapping.unmap();
    }
  }

  /** Deletes an image that cannot be trusted and says why (a missing file is fine). */
  discard(name: string, origin: string, reason: string): void {
    const path = this.imagePath(name);
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log?.warn(`zone ${origin}: cannot delete unusable image ${path}: ${(err as NodeJS.ErrnoException).code}`);
    }
    this.log?.warn(`zone ${origin}: image ${path} is unusable (${reason}); deleted, rebuilding it from the zone file`, { code: 'E_IMAGE' });
  }

  /**
   * Writes an image under its name: a temporary file, fsync, rename, fsync of
   * the folder. With `sync: false`, neither fsync: the caller runs
   * {@link syncFile} later. Until then a crash of the machine (not of a
   * process: the page cache survives those) can leave the file short, empty
   * or holding zeros under its name; whoever trusts it after a restart must
   * verify its checksum (verifyImage), which a manifest without an
   * `imageStamp` makes reuseZone do.
   */
  writeImage(name: string, bytes: Uint8Array | readonly Uint8Array[], options: { sync?: boolean } = {}): WriteOutcome {
    return writeAtomic(this.imagesDir, name, bytes, { ...options, preallocate: this.libc ?? realLibc });
  }

  /**
   * A temporary file in images/ of `octets` zero octets, mapped for writing
   * (sys/mapping.ts mapNewFile), for an image written in place; then
   * {@link placeImage} names it, or {@link dropTemporary} removes it. Its
   * blocks are allocated before it is mapped (mapNewFile), so a disk that
   * fills meanwhile is an error here, never a SIGBUS while it is written;
   * free space short of the size and a margin is refused before trying.
   */
  mapNewImage(name: string, octets: number): { kind: 'ok'; tmp: string; mapping: Mapping } | { kind: 'error'; error: ShardnsError } {
    const tmp = join(this.imagesDir, `.${name}.tmp-${process.pid}-${nodeCrypto().randomBytes(4).toString('hex')}`);
    try {
      const fs = statfsSync(this.imagesDir);
      if (fs.bavail * fs.bsize < octets + FREE_MARGIN) return { kind: 'error', error: stateDirError(tmp, 'write', { code: 'ENOSPC' } as NodeJS.ErrnoException) };
    } catch (err) {
      return { kind: 'error', error: stateDirError(this.imagesDir, 'read', err as NodeJS.ErrnoException) };
    }
    const m = mapNewFile(tmp, octets, FILE_MODE, this.libc ? { libc: this.libc } : {});
    if (m.kind === 'error') {
      this.dropTemporary(tmp);
      return m;
    }
    return { kind: 'ok', tmp, mapping: m.mapping };
  }

  /** Names a temporary image (mapNewImage's): rename, and with `sync` (the default) fsync of the file before and of the folder after. */
  placeImage(tmp: string, name: string, options: { sync?: boolean } = {}): WriteOutcome {
    const path = this.imagePath(name);
    try {
      if (options.sync ?? true) {
        const fd = openSync(tmp, 'r');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      renameSync(tmp, path);
      if (options.sync ?? true) fsyncDir(this.imagesDir);
      return { kind: 'ok', path };
    } catch (err) {
      this.dropTemporary(tmp);
      return { kind: 'error', error: stateDirError(path, 'write', err as NodeJS.ErrnoException) };
    }
  }

  /** Removes a temporary file (a missing one is fine). */
  dropTemporary(tmp: string): void {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
  }

  /** Reads a zone's IXFR journal file (its octets; src/xfr/journal.ts reads them). */
  readJournal(origin: string): JournalFileOutcome {
    return readJournalFile(journalPath(this.dir, origin));
  }

  /** Writes a zone's IXFR journal, atomically like an image (a worker reads the old file or the whole new one). */
  writeJournal(origin: string, bytes: Uint8Array): WriteOutcome {
    return writeAtomic(this.journalsDir, `${originPart(origin)}${JOURNAL_SUFFIX}`, bytes);
  }

  /** Deletes a zone's IXFR journal (its history no longer leads to the zone served); a missing one is fine. */
  removeJournal(origin: string): void {
    try {
      unlinkSync(journalPath(this.dir, origin));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log?.warn(`zone ${origin}: cannot delete its IXFR journal: ${(err as NodeJS.ErrnoException).code}`);
    }
  }

  /** Writes a zone's manifest, atomically like an image. */
  writeManifest(manifest: Manifest): WriteOutcome {
    return writeAtomic(this.manifestsDir, manifestFileName(manifest.origin), Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8'));
  }

  /**
   * Deletes every image not in `keep` (absolute paths or file names), every
   * manifest whose image is not kept (the next build of that zone parses
   * again), and temporary files left by a process that is gone. Call it only
   * when no worker maps a deleted image any more and no build is running in
   * this state directory (a build's fresh image is not in `keep` yet): the
   * supervisor runs it after a start or reload, never while a build runs.
   */
  removeUnused(keep: readonly string[]): RemoveOutcome {
    const kept = new Set(keep.map((k) => (k.includes('/') ? resolve(k) : this.imagePath(k))));
    const removed: string[] = [];
    const failures: string[] = [];
    const remove = (path: string): void => {
      try {
        unlinkSync(path);
        removed.push(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') failures.push(`${path}: ${code ?? (err as Error).message}`);
      }
    };
    for (const dir of [this.imagesDir, this.manifestsDir, this.journalsDir]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (err) {
        return { kind: 'error', removed, error: stateDirError(dir, 'read', err as NodeJS.ErrnoException) };
      }
      for (const name of names) {
        const path = join(dir, name);
        const tmp = TEMP_NAME.exec(name);
        if (tmp) {
          if (!processAlive(Number(tmp[1]))) remove(path);
          continue;
        }
        if (dir === this.imagesDir && name.endsWith('.zimg')) {
          if (!kept.has(path)) remove(path);
        } else if (dir === this.manifestsDir && name.endsWith('.json')) {
          const image = manifestImage(path);
          if (image === null || !kept.has(this.imagePath(image))) remove(path);
        } else if (dir === this.journalsDir && name.endsWith(JOURNAL_SUFFIX)) {
          // A journal goes with its zone's manifest (the directories are walked in this order).
          const manifest = join(this.manifestsDir, `${name.slice(0, -JOURNAL_SUFFIX.length)}.json`);
          if (!existsSync(manifest)) remove(path);
        }
      }
    }
    if (failures.length > 0) {
      return { kind: 'error', removed, error: new ShardnsError('E_STATE_DIR', `cannot delete ${failures.join(', ')}`, `check the owner and mode of ${this.dir} (--state-dir): the serving user must own it`) };
    }
    return { kind: 'ok', removed };
  }
}

/**
 * For `shardns check`: whether the state directory could be used, without
 * creating or writing anything. It must be a writable folder, or not exist
 * yet below a writable folder.
 */
export function probeStateDir(dir: string): { kind: 'ok'; exists: boolean } | { kind: 'error'; error: ShardnsError } {
  const abs = resolve(dir);
  let at = abs;
  for (;;) {
    try {
      const st = statSync(at);
      if (!st.isDirectory()) {
        return {
          kind: 'error',
          error: new ShardnsError('E_STATE_DIR', `cannot create ${abs} (state directory): ${at} is a file, not a folder`, `remove it, or choose another folder with --state-dir (config key "state-dir")`),
        };
      }
      accessSync(at, constants.W_OK | constants.X_OK);
      return { kind: 'ok', exists: at === abs };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'ENOENT' && e.code !== 'ENOTDIR') return { kind: 'error', error: stateDirError(abs, at === abs ? 'write to' : 'create', e) };
    }
    const up = dirname(at);
    if (up === at) return { kind: 'error', error: stateDirError(abs, 'create', { code: 'ENOENT' } as NodeJS.ErrnoException) };
    at = up;
  }
}

/** Reads a journal file whole (it is bounded: src/xfr/journal.ts JOURNAL_LIMITS). */
export function readJournalFile(path: string): JournalFileOutcome {
  try {
    return { kind: 'ok', bytes: readFileSync(path) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'none' } : { kind: 'bad', reason: `cannot read ${path}: ${code ?? (err as Error).message}` };
  }
}

/** `.<name>.tmp-<pid>-<hex>`: a file a process is writing. */
const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]+$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The image a manifest names, or null when it cannot be read. */
function manifestImage(path: string): string | null {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as { image?: unknown };
    return typeof m.image === 'string' ? m.image : null;
  } catch {
    return null;
  }
}

/** What is wrong with a parsed manifest, or null. */
function manifestProblem(m: unknown): string | null {
  if (m === null || typeof m !== 'object') return 'not an object';
  const o = m as Record<string, unknown>;
  if (o['manifest'] !== MANIFEST_VERSION) return `manifest version ${String(o['manifest'])}, expected ${MANIFEST_VERSION}`;
  for (const k of ['origin', 'image', 'hash', 'shardns', 'built'] as const) if (typeof o[k] !== 'string') return `"${k}" is missing`;
  for (const k of ['format', 'serial', 'records', 'imageBytes'] as const) if (typeof o[k] !== 'number') return `"${k}" is missing`;
  if (!/^[0-9a-f]{64}$/.test(o['hash'] as string)) return '"hash" is not a SHA-256';
  if ((o['image'] as string).includes('/')) return '"image" is not a file name';
  if (!Array.isArray(o['warnings']) || !(o['warnings'] as unknown[]).every((w) => typeof w === 'string')) return '"warnings" is missing';
  const sources = o['sources'];
  if (!Array.isArray(sources) || sources.length === 0) return '"sources" is missing';
  for (const s of sources as unknown[]) {
    const f = s as Record<string, unknown> | null;
    if (f === null || typeof f !== 'object' || typeof f['path'] !== 'string' || typeof f['sha256'] !== 'string' || typeof f['bytes'] !== 'number') return 'a source is malformed';
    if (f['stamp'] !== undefined && !isFileStamp(f['stamp'])) return 'a source stamp is malformed';
  }
  if (o['imageStamp'] !== undefined && !isFileStamp(o['imageStamp'])) return '"imageStamp" is malformed';
  return null;
}

/**
 * Writes `bytes` (or pieces, one after the other, with writev) to
 * `dir/name` so that a process reading it sees the old file or the whole
 * new one, never part; with `sync` (the default) the file and its name are
 * on disk when this returns (fsync of the file before the rename, of the
 * folder after).
 */
export function writeAtomic(dir: string, name: string, bytes: Uint8Array | readonly Uint8Array[], options: { sync?: boolean; preallocate?: Libc } = {}): WriteOutcome {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.tmp-${process.pid}-${nodeCrypto().randomBytes(4).toString('hex')}`);
  const sync = options.sync ?? true;
  const pieces = bytes instanceof Uint8Array ? [bytes] : bytes;
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx', FILE_MODE);
    if (options.preallocate !== undefined) preallocate(options.preallocate, fd, pieces);
    writeAll(fd, pieces);
    if (sync) fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    if (sync) fsyncDir(dir);
    return { kind: 'ok', path };
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    return { kind: 'error', error: stateDirError(path, 'write', err as NodeJS.ErrnoException) };
  }
}

/**
 * Reserves the blocks of a file about to be written with `pieces` in one
 * call (Libc.preallocate): on ext4, writing into blocks reserved this way
 * skips delayed allocation's per-page work: a fresh 87 MB image was written
 * in 25–31 ms instead of ~195 (the builder's debug log, "written in"). A full disk or quota
 * throws ENOSPC/EDQUOT for the caller to report, before anything is
 * written; any other refusal (a file system without fallocate) is not an
 * error: the write goes on as it would have.
 */
function preallocate(c: Libc, fd: number, pieces: readonly Uint8Array[]): void {
  let length = 0;
  for (const p of pieces) length += p.length;
  if (length === 0) return;
  const r = c.preallocate(fd, length);
  if (r.kind === 'errno' && (r.errno === ERRNO.ENOSPC || r.errno === ERRNO.EDQUOT)) {
    throw Object.assign(new Error(`fallocate of ${length} octets: ${c.strerror(r.errno)}`), { code: r.errno === ERRNO.ENOSPC ? 'ENOSPC' : 'EDQUOT' });
  }
}


/** Writes pieces one after the other from the descriptor's offset: writev, again from where a short write stopped. */
function writeAll(fd: number, pieces: readonly Uint8Array[]): void {
  let rest = pieces.filter((p) => p.length > 0);
  while (rest.length > 0) {
    let n = writevSync(fd, rest.slice(0, IOV_MAX));
    if (n === 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
    const left: Uint8Array[] = [];
    for (const p of rest) {
      if (n >= p.length) n -= p.length;
      else {
        left.push(n > 0 ? p.subarray(n) : p);
        n = 0;
      }
    }
    rest = left;
  }
}

/** Pieces one writev takes at most (Linux's IOV_MAX). */
const IOV_MAX = 1024;

/** Puts a file written without sync (writeAtomic's `sync: false`) on disk: fsync of the file, then of its folder (the rename). */
export function syncFile(path: string): { kind: 'ok' } | { kind: 'error'; error: ShardnsError } {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    fsyncDir(dirname(path));
    return { kind: 'ok' };
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    return { kind: 'error', error: stateDirError(path, 'write', err as NodeJS.ErrnoException) };
  }
}

/** Makes a rename durable: fsync of the folder that holds it. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The E_STATE_DIR error for a failed file-system step: where, what, and what to do. */
export function stateDirError(path: string, step: 'create' | 'read' | 'write' | 'write to', err: NodeJS.ErrnoException): ShardnsError {
  const code = err.code ?? err.message;
  const what = `cannot ${step} ${path} (state directory): ${code}`;
  const another = 'or choose another folder with --state-dir (config key "state-dir")';
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return new ShardnsError(
        'E_STATE_DIR',
        what,
        `this user (uid ${process.getuid?.() ?? '?'}) may not write there: create it for the serving user (install -d -m 0750 -o USER ${path}), ${another}`,
      );
    case 'EROFS':
      return new ShardnsError('E_STATE_DIR', what, `the file system is read-only: mount a writable volume there (in a container: a volume on /var/lib/shardns), ${another}`);
    case 'ENOTDIR':
    case 'EEXIST':
      return new ShardnsError('E_STATE_DIR', what, `a file stands where a folder should: remove it, ${another}`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new ShardnsError('E_STATE_DIR', what, `the disk (or quota) is full: free space there, ${another}`);
    case 'ENOENT':
      return new ShardnsError('E_STATE_DIR', what, `a folder on the way is missing: create it, ${another}`);
    default:
      return new ShardnsError('E_STATE_DIR', what, `check the folder and its file system, ${another}`);
  }
}
