/** Reusing zone images: is a zone's image in the state directory that of its sources as they are now? No parser here, so the check is cheap to load. */

import type { ZoneConfig } from '../../config.js';
import type { Libc } from '../../sys/libc.js';
import { ImageStore } from './store.js';

/** One zone whose image is ready in the state directory. */
export interface BuiltZone {
  /** The origin as configured. */
  origin: string;
  /** Absolute path of the image: what a worker maps. */
  imagePath: string;
  /** Octets of the image file. */
  imageBytes: number;
  /** The SOA serial. */
  serial: number;
  /** Records in the image. */
  records: number;
  /** True when the image of unchanged sources was used without parsing. */
  reused: boolean;
  /** Why the image was built (`no manifest`, `… changed`, `image … unusable: …`), or `sources unchanged` when reused. */
  reason: string;
  /** Milliseconds this zone took (checking, or parsing, compiling and writing). */
  ms: number;
  /** Absolute paths of the zone file and every $INCLUDE read, in read order. */
  sourceFiles: string[];
}

/** A zone whose image can be served as it is, or why it must be built. */
export type ReuseOutcome = { kind: 'reused'; zone: BuiltZone; warnings: string[] } | { kind: 'rebuild'; reason: string };

/**
 * Whether the zone's image can be served without parsing: its manifest
 * exists, every source file (the zone file and each $INCLUDE read last time)
 * hashes as recorded, and the image verifies (size, header, CRC-32). With
 * `stamps`, a file whose stat(2) is what the manifest recorded is not read
 * again: a source is then unchanged, and an image (verified when it was
 * written) needs only its header checked (file-stamp.ts argues why). With
 * `discard`, an image that fails verification is deleted (the build that
 * follows writes it again); without, nothing is touched. The parser's
 * warnings of the last build come back with a reused zone.
 */
export function reuseZone(store: ImageStore, config: ZoneConfig, options: { discard: boolean; stamps?: boolean }): ReuseOutcome {
  const t0 = performance.now();
  const origin = config.name;
  const m = store.readManifest(origin);
  if (m.kind === 'none') return { kind: 'rebuild', reason: 'no manifest (first build)' };
  if (m.kind === 'bad') return { kind: 'rebuild', reason: `manifest unusable: ${m.reason}` };
  const stamps = options.stamps === true;
  const same = store.sourcesUnchanged(m.manifest, config.file, { stamps });
  if (same.kind === 'changed') return { kind: 'rebuild', reason: same.reason };
  const expect = { origin, hash: m.manifest.hash };
  const stamp = m.manifest.imageStamp;
  const v = (stamps && stamp !== undefined ? store.stampedImage(m.manifest.image, stamp, expect) : null) ?? store.verifyImage(m.manifest.image, expect);
  if (v.kind === 'missing') return { kind: 'rebuild', reason: `image ${m.manifest.image} is missing` };
  if (v.kind === 'error') return { kind: 'rebuild', reason: `image ${m.manifest.image} could not be checked (${v.error.message})` };
  if (v.kind === 'bad') {
    if (!options.discard) return { kind: 'rebuild', reason: `image ${m.manifest.image} is unusable (${v.reason})` };
    store.discard(m.manifest.image, origin, v.reason);
    return { kind: 'rebuild', reason: `image ${m.manifest.image} was unusable (${v.reason}) and was deleted` };
  }
  return {
    kind: 'reused',
    warnings: m.manifest.warnings,
    zone: {
      origin,
      imagePath: store.imagePath(m.manifest.image),
      imageBytes: v.bytes,
      serial: v.serial,
      records: v.records,
      reused: true,
      reason: 'sources unchanged',
      ms: Math.round((performance.now() - t0) * 10) / 10,
      sourceFiles: m.manifest.sources.map((s) => s.path),
    },
  };
}

/**
 * Every zone's image, when all can be reused as they are (nothing is
 * deleted or written); null when any zone needs the builder, or the state
 * directory cannot be opened (the builder then says why). The supervisor
 * asks this at start: a restart with unchanged zones needs no builder, and
 * trusts file stamps (no file is read whose stat(2) is as recorded); a
 * reload always hashes (the builder's reuseZone without stamps).
 */
export function reuseAll(zones: readonly ZoneConfig[], stateDir: string, options: { libc?: Libc } = {}): { zones: BuiltZone[]; warnings: string[] } | null {
  const opened = ImageStore.open(stateDir, options.libc ? { libc: options.libc } : {});
  if (opened.kind === 'error') return null;
  const out: BuiltZone[] = [];
  const warnings: string[] = [];
  for (const z of zones) {
    const r = reuseZone(opened.store, z, { discard: false, stamps: true });
    if (r.kind === 'rebuild') return null;
    out.push(r.zone);
    warnings.push(...r.warnings);
  }
  return { zones: out, warnings };
}
