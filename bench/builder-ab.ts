/** Benchmark: the parse and the compile of a generated zone by two builds of shardns (this one and another tree's dist/), alternating in one process, CPU per step. */

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { isGeneratedZone, writeZone } from './gen-zone.js';

/*
 * Usage (after `npx tsc -p .` in both trees):
 *
 *   node dist/bench/builder-ab.js --base TREE [RECORDS] [--rounds N]
 *
 * TREE is another checkout of shardns built with tsc (say a detached
 * worktree of the branch's start: `git worktree add --detach /tmp/wt-base
 * <commit>`, node_modules linked, `npx tsc -p .`). Each round parses the
 * generated zone of RECORDS records (default 1,000,000) with loadZoneFile
 * and compiles it with compileZoneParts, once with each build, the order
 * swapped every round, and takes the CPU time of each step
 * (process.cpuUsage: user + system, every thread, the collector's helpers
 * included). The first round of each is a warm-up and left out of the
 * medians. In one process both builds see the same machine at the same
 * moments, which a busy machine does not give runs minutes apart; fresh
 * processes (bench/builder-phases.ts) see what a builder sees (a cold heap,
 * first touches of memory), so use both.
 */

interface Build {
  readonly name: string;
  readonly load: (origin: string, file: string, io: { readFile: (f: string) => Uint8Array }) => { ok: boolean; zone?: unknown };
  readonly compile: (zone: unknown, source: { origin: string; source: string }) => unknown;
  readonly parseMs: number[];
  readonly compileMs: number[];
}

function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

async function build(name: string, tree: string): Promise<Build> {
  const at = (p: string): string => pathToFileURL(join(tree, 'dist', p)).href;
  const load = (await import(at('src/zone/parse/load.js'))) as { loadZoneFile: Build['load'] };
  const compile = (await import(at('src/zone/image/compile.js'))) as { compileZoneParts: Build['compile'] };
  return { name, load: load.loadZoneFile, compile: compile.compileZoneParts, parseMs: [], compileMs: [] };
}

function summary(v: number[]): string {
  const s = v.slice(1).sort((a, b) => a - b);
  return `${v.map((x) => x.toFixed(0)).join(' ').padEnd(48)} median ${s[s.length >> 1]!.toFixed(0)}, min ${s[0]!.toFixed(0)}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let base: string | null = null;
  let records = 1_000_000;
  let rounds = 7;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--base') base = resolve(args[++i]!);
    else if (a === '--rounds') rounds = Math.max(2, Number(args[++i]));
    else if (Number(a) > 0) records = Number(a);
    else throw new Error(`unknown argument ${a}`);
  }
  if (base === null) throw new Error('usage: node dist/bench/builder-ab.js --base TREE [RECORDS] [--rounds N]');
  const file = join(tmpdir(), 'shardns-bench', `gen-${records}.zone`);
  if (!isGeneratedZone(file, records)) await writeZone(file, records);
  const self = resolve(new URL('../..', import.meta.url).pathname);
  const builds = [await build('base', base), await build('this', self)];
  console.log(`parse and compile of ${file}, base ${base}, this ${self}; CPU ms, ${rounds} rounds alternating (the first left out of the medians)`);
  for (let r = 0; r < rounds; r++) {
    for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
      let c = cpuMs();
      const loaded = b.load('example.com.', file, { readFile: (f) => readFileSync(f) });
      b.parseMs.push(cpuMs() - c);
      if (!loaded.ok) throw new Error(`${b.name}: the zone did not load`);
      c = cpuMs();
      b.compile(loaded.zone, { origin: 'example.com.', source: '00'.repeat(32) });
      b.compileMs.push(cpuMs() - c);
    }
  }
  for (const b of builds) {
    console.log(`${b.name.padEnd(5)} parse   ${summary(b.parseMs)}`);
    console.log(`${b.name.padEnd(5)} compile ${summary(b.compileMs)}`);
  }
}

await main();
