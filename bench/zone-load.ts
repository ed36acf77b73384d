/** Benchmark: load generated zones of 10k, 100k and 1M records, each in a fresh process; report time and peak RSS. */

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadZoneFile } from '../src/zone/index.js';
import { generateZone, isGeneratedZone } from './gen-zone.js';

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
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Math.max(1, Number(args.splice(runsAt, 2)[1])) : 3;
  const sizes = args.map(Number).filter((n) => n > 0);
  const counts = sizes.length > 0 ? sizes : [10_000, 100_000, 1_000_000];
  const dir = join(tmpdir(), 'shardns-bench');
  mkdirSync(dir, { recursive: true });
  const self = fileURLToPath(import.meta.url);
  console.log(`loadZoneFile (parse + checks), each run in a fresh node process; best and median of ${runs} runs`);
  console.log('records   file MB   parse s best/median   CPU s   peak RSS MB');
  for (const n of counts) {
    const file = join(dir, `gen-${n}.zone`);
    if (!isGeneratedZone(file, n)) writeFileSync(file, generateZone(n));
    const all: Measure[] = [];
    for (let r = 0; r < runs; r++) {
      all.push(JSON.parse(execFileSync(process.execPath, [self, '--child', file], { encoding: 'utf8', maxBuffer: 1 << 20 })) as Measure);
    }
    const parse = all.map((m) => m.parseMs).sort((a, b) => a - b);
    const cpu = all.map((m) => m.cpuMs).sort((a, b) => a - b);
    const m = all[0]!;
    const line = [
      String(m.records).padStart(7),
      (m.bytes / 1048576).toFixed(1).padStart(9),
      `${(parse[0]! / 1000).toFixed(2)} / ${(parse[Math.floor(runs / 2)]! / 1000).toFixed(2)}`.padStart(21),
      (cpu[Math.floor(runs / 2)]! / 1000).toFixed(2).padStart(7),
      Math.max(...all.map((x) => x.peakRssMB)).toFixed(0).padStart(13),
    ].join(' ');
    console.log(line + (all.every((x) => x.ok) ? '' : '   (load FAILED)'));
  }
  console.log(`zone files are kept in ${dir}; targets for 1M records: <= 2 s, <= 400 MB peak RSS`);
  console.log('CPU counts every thread of the process (the collector works on helper threads too).');
}

if (process.argv[2] === '--child') child(process.argv[3]!);
else main();
