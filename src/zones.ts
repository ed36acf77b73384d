/** Loading every configured zone into the ZoneSet a worker answers from: parsed, then compiled to images in process. */

import { readFileSync } from 'node:fs';
import type { ZoneConfig } from './config.js';
import { displayPath } from './display-path.js';
import { ZoneSet } from './auth/zone-set.js';
import { compileZone } from './zone/image/compile.js';
import { ZoneImage } from './zone/image/image.js';
import { formatDiagnostic, loadZoneFile, type Zone } from './zone/index.js';

/**
 * The octets of every zone file and $INCLUDE one load read, by the path the
 * loader asked for. The supervisor keeps the last set that loaded, so a
 * worker started in place of one that died serves what the others serve,
 * even when the files have changed (or broken) since.
 */
export type ZoneFiles = Record<string, Uint8Array>;

/** Every zone loaded with the files read, or every error of every zone (a broken zone keeps the server from starting). */
export type ZonesResult =
  | { ok: true; zones: ZoneSet; loaded: Zone[]; warnings: string[]; files?: ZoneFiles }
  | { ok: false; errors: string[]; warnings: string[] };


/**
 * Loads and checks each zone file; diagnostics are formatted
 * `file:line:column: message`. Reads the file system, or only `from` when
 * given (a set an earlier load returned: the same paths, since workers share
 * the supervisor's working folder and config). With `keepFiles`, the result
 * holds the octets read (otherwise they are garbage once parsed).
 */
export function loadZones(configs: readonly ZoneConfig[], options: { from?: ZoneFiles; keepFiles?: boolean } = {}): ZonesResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const loaded: Zone[] = [];
  const files: ZoneFiles | undefined = options.keepFiles ? {} : undefined;
  const from = options.from;
  const readFile = (path: string): Uint8Array => {
    const octets = from ? from[path] : readFileSync(path);
    if (octets === undefined) throw new Error('not among the files the running workers loaded');
    if (files) files[path] = octets;
    return octets;
  };
  for (const z of configs) {
    const result = loadZoneFile(z.name, displayPath(z.file), { readFile });
    warnings.push(...result.warnings.map(formatDiagnostic));
    if (result.ok) loaded.push(result.zone);
    else errors.push(...result.errors.map(formatDiagnostic));
  }
  if (errors.length > 0) return { ok: false, errors, warnings };
  const compiled = compiledZones(loaded);
  if (compiled.kind === 'error') return { ok: false, errors: compiled.errors, warnings };
  return { ok: true, zones: compiled.zones, loaded, warnings, ...(files ? { files } : {}) };
}

/** The zones as one set of images, or why some zone does not fit the image format. */
export type CompiledZones = { kind: 'ok'; zones: ZoneSet } | { kind: 'error'; errors: string[] };

/**
 * The zones compiled in process (compileZone) into images held in memory,
 * not the state directory's mapped files: what a worker serves until it maps
 * the images the builder wrote.
 */
export function compiledZones(zones: readonly Zone[]): CompiledZones {
  const images: ZoneImage[] = [];
  const errors: string[] = [];
  for (const zone of zones) {
    const origin = zone.origin === '.' ? '.' : `${zone.origin}.`;
    try {
      images.push(new ZoneImage(compileZone(zone, { origin, source: '' })));
    } catch (err) {
      errors.push(`zone ${origin}: cannot compile its image: ${(err as Error).message}`);
    }
  }
  return errors.length > 0 ? { kind: 'error', errors } : { kind: 'ok', zones: new ZoneSet(images) };
}
