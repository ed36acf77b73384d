/** The zone images a worker serves: mapped read-only from the state directory, swapped whole, released once unreachable. */

import { ZoneSet } from './auth/zone-set.js';
import { ShardnsError } from './errors.js';
import type { Libc } from './sys/libc.js';
import { mapFile, type Mapping } from './sys/mapping.js';
import { ImageError, ZoneImage } from './zone/image/image.js';
import { originKey } from './xfr/policy.js';

/** One zone version to serve: its origin (presentation form) and the image file's absolute path. */
export interface ServedImage {
  origin: string;
  path: string;
}

/** How long an image no longer served stays mapped after a swap (ms). */
export const RELEASE_DELAY_MS = 2000;

interface Held {
  mapping: Mapping;
  image: ZoneImage;
}

/**
 * The worker's mapped images. `swap()` maps every image of the new version
 * (an image already mapped, of a zone that did not change, is kept), builds
 * one new ZoneSet, and only then lets go of the old: a reply is computed
 * synchronously from one ZoneSet, so it never mixes two versions. Views of
 * an unmapped region are a segmentation fault, not an exception, so an
 * image that is no longer served is unmapped only after RELEASE_DELAY_MS:
 * nothing reads a ZoneSet after the synchronous answer() that used it (the
 * forwarder and the reply cache keep copies), and the delay is a margin on
 * top of that.
 */
export class MappedZones {
  private held = new Map<string, Held>();
  private current: ZoneSet = new ZoneSet([]);
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: { libc?: Libc; releaseDelayMs?: number } = {}) {}

  /** The zones being served. */
  get zones(): ZoneSet {
    return this.current;
  }

  /** The image files mapped now (served, or waiting to be released). */
  mappedPaths(): string[] {
    return [...this.held.keys()];
  }

  /**
   * Maps `images` and makes them the served set (with `dark`: origins of
   * ours without data, ZoneSet answers them SERVFAIL). On any failure nothing
   * changes: what was mapped for this call is released at once (nothing
   * read it yet) and the old set keeps serving.
   */
  swap(images: readonly ServedImage[], dark: readonly string[] = []): { kind: 'ok'; zones: ZoneSet } | { kind: 'error'; error: ShardnsError } {
    const next = new Map<string, Held>();
    const fresh: Mapping[] = [];
    for (const img of images) {
      const have = this.held.get(img.path) ?? next.get(img.path);
      if (have) {
        next.set(img.path, have);
        continue;
      }
      const mapped = mapFile(img.path, this.options.libc ? { libc: this.options.libc } : {});
      if (mapped.kind === 'error') {
        for (const m of fresh) m.unmap();
        return { kind: 'error', error: mapped.error };
      }
      fresh.push(mapped.mapping);
      try {
        // The builder verified the checksum before naming the file; here the header and bounds are checked.
        next.set(img.path, { mapping: mapped.mapping, image: new ZoneImage(mapped.mapping.bytes) });
      } catch (err) {
        for (const m of fresh) m.unmap();
        const why = err instanceof ImageError ? err.message : String(err);
        return { kind: 'error', error: new ShardnsError('E_IMAGE', `cannot serve zone ${img.origin} from ${img.path}: ${why}`, 'a reload (SIGHUP) or restart builds the image again') };
      }
    }
    const zones = new ZoneSet(
      images.map((i) => next.get(i.path)!.image),
      dark.map((o) => Buffer.from(originKey(o), 'latin1')),
    );
    const old = this.held;
    this.held = next;
    this.current = zones;
    const gone = [...old].filter(([path]) => !next.has(path)).map(([, h]) => h);
    if (gone.length > 0) this.releaseLater(gone);
    return { kind: 'ok', zones };
  }

  /** Unmaps everything at once (shutdown: no query will be answered again). */
  releaseAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const h of this.held.values()) h.mapping.unmap();
    this.held.clear();
    this.current = new ZoneSet([]);
  }

  /** Unmaps images no longer served after the delay; one a zone transfer still reads (ZoneImage.held) waits another round. */
  private releaseLater(gone: Held[]): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const h of gone) if (!h.image.held) h.mapping.unmap();
      const still = gone.filter((h) => h.image.held);
      if (still.length > 0) this.releaseLater(still);
    }, this.options.releaseDelayMs ?? RELEASE_DELAY_MS);
    timer.unref();
    this.timers.add(timer);
  }
}
