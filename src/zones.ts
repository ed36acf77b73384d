/** Loading every configured zone into the ZoneSet a worker answers from (used by serve and check). */

import { relative, isAbsolute } from 'node:path';
import type { ZoneConfig } from './config.js';
import { ZoneSet } from './dns/zoneset.js';
import { formatDiagnostic, loadZoneFile, type Zone } from './zone/index.js';
import { ZoneTree } from './zone/tree.js';

/** Every zone loaded, or every error of every zone (a broken zone keeps the server from starting). */
export type ZonesResult =
  | { ok: true; zones: ZoneSet; loaded: Zone[]; warnings: string[] }
  | { ok: false; errors: string[]; warnings: string[] };

/** The path as people wrote it, relative to the working folder when it lies below it. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** Loads and checks each zone file; diagnostics are formatted `file:line:column: message`. */
export function loadZones(configs: readonly ZoneConfig[]): ZonesResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const loaded: Zone[] = [];
  for (const z of configs) {
    const result = loadZoneFile(z.name, displayPath(z.file));
    warnings.push(...result.warnings.map(formatDiagnostic));
    if (result.ok) loaded.push(result.zone);
    else errors.push(...result.errors.map(formatDiagnostic));
  }
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, zones: new ZoneSet(loaded.map((z) => new ZoneTree(z))), loaded, warnings };
}
