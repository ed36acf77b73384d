/** Benchmark: the zone builder's phases on a generated zone (read and hash, parse, compile, write, verify; then buildZones whole and the restart check), each run in a fresh process. */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ZoneConfig } from '../src/config.js';
import { isGeneratedZone, writeZone } from './gen-zone.js';

/*
 * Usage (after `npx tsc -p .`):
 *
 *   node dist/bench/builder-phases.js [RECORDS] [--runs N] [--zone FILE] [--node-flag F]…
 *
 * RECORDS defaults to 1,000,000 (the zone is generated once into
 * $TMPDIR/shardns-bench and reused). Each run is a fresh `node` child with the
 * given flags (e.g. `--node-flag=--max-semi-space-size=64`, as the builder may
 * get), which prints the phases of one build as JSON:
 *
 *   import      loading the builder's modules (what a forked builder pays first)
 *   parse       loadZoneFile with a reader that hashes each file as it reads it
 *   compile     compileZoneParts (the image in pieces, as the builder writes it)
 *   open        ImageStore.open of a fresh state directory
 *   write       ImageStore.writeImage of the pieces (temporary file, writev, fsync, rename)
 *   verify      ImageStore.verifyImage of what was just written
 *   buildZones  buildZones into another empty state directory (everything
 *               again: parse, compile, write, check, manifest), in the same
 *               process, after the phases above
 *   reuseAll    reuseAll on that state directory (what a restart with the
 *               zone unchanged does before forking workers)
 *
 * To profile the builder: `node --cpu-prof --cpu-prof-dir=/tmp/prof
 * dist/bench/builder-phases.js --child FILE`; open the .cpuprofile in
 * Chrome DevTools, or sum it by function with bench/cpuprofile-top.ts.
 */

/** One phase: wall and CPU milliseconds (CPU counts every thread: the collector's helpers too). */
interface Phase {
  name: string;
  ms: number;
  cpuMs: number;
}

/** What one child measured. */
interface Phases {
  records: number;
  phases: Phase[];
  imageMB: number;
  peakRssMB: number;
  ok: boolean;
}

/** Peak resident set size so far (VmHWM), in MB. */
function peakRssMB(): number {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Times phases one after another. */
class Clock {
  readonly phases: Phase[] = [];
  private t = performance.now();
  private c = process.cpuUsage();

  lap(name: string): void {
    const t = performance.now();
    const c = process.cpuUsage();
    this.phases.push({ name, ms: t - this.t, cpuMs: (c.user - this.c.user + c.system - this.c.system) / 1000 });
    this.t = t;
    this.c = c;
  }
}

async function child(file: string): Promise<void> {
  readFileSync(file); // the page cache holds it: the phases are CPU, not disk
  const clock = new Clock();
  const build = await import('../src/zone/image/build.js');
  const { compileZoneParts } = await import('../src/zone/image/compile.js');
  const { loadZoneFile } = await import('../src/zone/parse/load.js');
  const { reuseAll } = await import('../src/zone/image/reuse.js');
  const { ImageStore, sha256 } = await import('../src/zone/image/store.js');
  clock.lap('import');
  const loaded = loadZoneFile('example.com.', file, {
    readFile: (f) => {
      const b = readFileSync(f);
      sha256(b);
      return b;
    },
  });
  clock.lap('parse');
  if (!loaded.ok) {
    console.error(loaded.errors.slice(0, 5));
    process.exit(1);
  }
  const hash = 'ab'.repeat(32);
  const image = compileZoneParts(loaded.zone, { origin: 'example.com.', source: hash });
  clock.lap('compile');
  const records = loaded.zone.size;
  const state = mkdtempSync(join(tmpdir(), 'shardns-phases-'));
  try {
    const opened = ImageStore.open(join(state, 'phases'));
    if (opened.kind !== 'ok') throw opened.error;
    clock.lap('open');
    const w = opened.store.writeImage('example.com-x.v1.zimg', image.pieces);
    clock.lap('write');
    const v = opened.store.verifyImage('example.com-x.v1.zimg', { origin: 'example.com.', hash });
    clock.lap('verify');
    const zones: ZoneConfig[] = [{ name: 'example.com.', file: resolve(file) }];
    const built = build.buildZones(zones, join(state, 'build'));
    clock.lap('buildZones');
    const reused = reuseAll(zones, join(state, 'build'));
    clock.lap('reuseAll');
    const m: Phases = { records, phases: clock.phases, imageMB: image.length / 1048576, peakRssMB: peakRssMB(), ok: w.kind === 'ok' && v.kind === 'ok' && built.kind === 'ok' && reused !== null };
    process.stdout.write(JSON.stringify(m) + '\n');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}


async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let runs = 3;
  let zone: string | null = null;
  const flags: string[] = [];
  let records = 1_000_000;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--runs') runs = Math.max(1, Number(args[++i]));
    else if (a === '--zone') zone = args[++i]!;
    else if (a.startsWith('--node-flag=')) flags.push(a.slice('--node-flag='.length));
    else if (Number(a) > 0) records = Number(a);
    else throw new Error(`unknown argument ${a}`);
  }
  let file = zone;
  if (file === null) {
    const dir = join(tmpdir(), 'shardns-bench');
    mkdirSync(dir, { recursive: true });
    file = join(dir, `gen-${records}.zone`);
    if (!isGeneratedZone(file, records)) await writeZone(file, records);
  }
  const self = fileURLToPath(import.meta.url);
  console.log(`builder phases on ${file}, node ${flags.join(' ') || '(no flags)'}, ${runs} fresh processes; ms`);
  const all: Phases[] = [];
  for (let r = 0; r < runs; r++) {
    const m = JSON.parse(execFileSync(process.execPath, [...flags, self, '--child', file], { encoding: 'utf8', maxBuffer: 1 << 20 })) as Phases;
    all.push(m);
    if (r === 0) console.log(`run ${m.phases.map((p) => p.name.padStart(15)).join('')}   image MB  peak RSS MB`);
    const cells = m.phases.map((p) => `${p.ms.toFixed(0)}/${p.cpuMs.toFixed(0)}`.padStart(15)).join('');
    console.log(`${String(r + 1).padStart(3)} ${cells} ${m.imageMB.toFixed(1).padStart(10)} ${m.peakRssMB.toFixed(0).padStart(12)}${m.ok ? '' : '  FAILED'}`);
  }
  const med = (k: number, f: 'ms' | 'cpuMs'): number => {
    const v = all.map((m) => m.phases[k]![f]).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)]!;
  };
  console.log(`med ${all[0]!.phases.map((_, k) => `${med(k, 'ms').toFixed(0)}/${med(k, 'cpuMs').toFixed(0)}`.padStart(15)).join('')}`);
  console.log('each cell: wall ms / CPU ms (all threads)');
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else await main();
