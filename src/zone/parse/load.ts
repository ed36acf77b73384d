/** Loading a zone from the file system: the one place the zone code touches files. */

import { readFileSync } from 'node:fs';
import { parseZone, type ReadFile } from './parser.js';
import type { ZoneLoadResult } from './zone.js';

/**
 * Loads and checks the zone `origin` (e.g. `example.com.`) from the master
 * file at `path`; $INCLUDE paths are taken relative to the including file.
 * Diagnostics name files as given here, so pass the path the user wrote.
 * `readFile` replaces the file system (a replacement worker reads the bytes
 * the other workers loaded).
 */
export function loadZoneFile(origin: string, path: string, options: { maxErrors?: number; readFile?: ReadFile } = {}): ZoneLoadResult {
  return parseZone({ origin, file: path, readFile: options.readFile ?? ((f) => readFileSync(f)), ...(options.maxErrors !== undefined ? { maxErrors: options.maxErrors } : {}) });
}
