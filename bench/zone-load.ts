/** Benchmark: load generated zones of 10k, 100k and 1M records, each in a fresh process; report time and peak RSS. */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadZoneFile } from '../src/zone/index.js';
import { generateZone } from './gen-zone.js';

/** What one child process measured. */
interface Measure {
  records: number;
  bytes: number;
  readMs: number;
  parseMs: number;
  cpuMs: number;
  totalMs: number;
  peakRssMB: number;
  rssAfterMB: number;
  heapUsedMB: number;
  ok: boolean;
}

/** Peak resident set size so far, from the kernel (VmHWM), in MB. */
function peakRssMB(): number {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Child: load one file and print the measures as JSON. */
function child(file: string): void {
  const t0 = performance.now();
  const bytes = statSync(file).size;
  readFileSync(file); // warms the page cache so the parse time is not disk time
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const result = loadZoneFile('example.com.', file);
  const cpu = process.cpuUsage(c1);
  const t2 = performance.now();
  const mem = process.memoryUsage();
  const m: Measure = {
    records: result.ok ? result.zone.size : 0,
    bytes,
    readMs: t1 - t0,
    parseMs: t2 - t1,
    cpuMs: (cpu.user + cpu.system) / 1000,
    totalMs: t2 - t0,
    peakRssMB: peakRssMB(),
    rssAfterMB: mem.rss / 1048576,
    heapUsedMB: mem.heapUsed / 1048576,
    ok: result.ok,
  };
  if (!result.ok) console.error(result.errors.slice(0, 5));
  process.stdout.write(JSON.stringify(m) + '\n');
}

function main(): void {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const counts = sizes.length > 0 ? sizes : [10_000, 100_000, 1_000_000];
  const dir = join(tmpdir(), 'shardns-bench');
  mkdirSync(dir, { recursive: true });
  const self = fileURLToPath(import.meta.url);
  console.log('records    file MB   parse s   CPU s   peak RSS MB   (fresh node process each; loadZoneFile incl. checks)');
  for (const n of counts) {
    const file = join(dir, `gen-${n}.zone`);
    if (!existsSync(file)) writeFileSync(file, generateZone(n));
    const out = execFileSync(process.execPath, [self, '--child', file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const m = JSON.parse(out) as Measure;
    console.log(
      `${String(m.records).padStart(7)}  ${(m.bytes / 1048576).toFixed(1).padStart(8)}  ${(m.parseMs / 1000).toFixed(2).padStart(8)}  ${(m.cpuMs / 1000).toFixed(2).padStart(6)}  ${m.peakRssMB.toFixed(0).padStart(12)}${m.ok ? '' : '   (load FAILED)'}`,
    );
  }
  console.log(`zone files are kept in ${dir}; targets for 1M records: <= 2 s, <= 400 MB`);
}

if (process.argv[2] === '--child') child(process.argv[3]!);
else main();
