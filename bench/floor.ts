/**
 * The kernel floor (bench/floor/udp-floor.c): a C responder that does almost
 * no work per query, built here with the system's C compiler. Measured beside
 * the DNS servers, it shows what the kernel's UDP path, wake-ups and system
 * calls cost on this machine, and what each way of reading and writing
 * datagrams (recvfrom, recvmmsg, io_uring) costs on its own.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './root.js';

/** The floor's peer kinds and the mode each passes to udp-floor. */
export const FLOOR_MODES = { 'floor-recvfrom': 'recvfrom', 'floor-mmsg': 'mmsg', 'floor-block': 'block', 'floor-uring': 'uring' } as const;
/** One of the floor's peer kinds. */
export type FloorKind = keyof typeof FLOOR_MODES;

/** Whether a server kind is one of the floor's. */
export function isFloor(kind: string): kind is FloorKind {
  return Object.hasOwn(FLOOR_MODES, kind);
}

/** Where the built floor goes (build output, like the rest of dist/). */
export const FLOOR_BINARY = join(ROOT, 'dist/bench/floor/udp-floor');

/** The C compiler to use: $CC, else cc, else gcc; null when none runs. */
function compiler(): string | null {
  for (const cc of [process.env.CC, 'cc', 'gcc']) {
    if (cc && !spawnSync(cc, ['--version'], { encoding: 'utf8' }).error) return cc;
  }
  return null;
}

/**
 * Builds a C program of bench/floor/ (`source`, relative to the repository)
 * into `binary` unless an up-to-date build exists. Returns null when it is
 * ready, else why not with what to do.
 */
function buildC(source: string, binary: string): string | null {
  const path = join(ROOT, source);
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(path).mtimeMs) return null;
  const cc = compiler();
  if (cc === null) return `no C compiler to build ${source} — apt-get install gcc`;
  mkdirSync(join(ROOT, 'dist/bench/floor'), { recursive: true });
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', binary, path], { encoding: 'utf8' });
  if (r.status !== 0) return `${cc} could not build ${source}: ${`${r.stderr}${r.stdout}`.trim().split('\n').slice(0, 3).join(' ')}`;
  return null;
}

/** Builds the floor (bench/floor/udp-floor.c) unless an up-to-date build exists: null when ready, else why not. */
export function buildFloor(): string | null {
  return buildC('bench/floor/udp-floor.c', FLOOR_BINARY);
}

/** Where the built AXFR floor goes (bench/axfr.ts's `floor` servers). */
export const AXFR_FLOOR_BINARY = join(ROOT, 'dist/bench/floor/axfr-floor');

/** Builds the AXFR floor (bench/floor/axfr-floor.c) unless an up-to-date build exists: null when ready, else why not. */
export function buildAxfrFloor(): string | null {
  return buildC('bench/floor/axfr-floor.c', AXFR_FLOOR_BINARY);
}

/** What the report's version line says: the compiler and its version, e.g. `built with cc 12.2.0`. */
export function floorVersion(): string {
  const cc = compiler();
  if (cc === null) return 'unknown';
  const out = spawnSync(cc, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const m = /^(\S+).*?(\d+\.\d+(?:\.\d+)?)/.exec(out);
  return m ? `built with ${m[1]} ${m[2]}` : `built with ${cc}`;
}
