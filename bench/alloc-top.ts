/** Benchmark: where the parse or the compile of a generated zone allocates, garbage included (the inspector's sampling heap profiler with collected objects), summed by function. */

import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { compileZoneParts } from '../src/zone/image/compile.js';
import { loadZoneFile } from '../src/zone/parse/load.js';
import { isGeneratedZone, writeZone } from './gen-zone.js';

/*
 * Usage (after `npx tsc -p .`):
 *
 *   node dist/bench/alloc-top.js parse|compile [RECORDS] [N]
 *
 * Samples every ~1 KB allocated on the JavaScript heap during one parse
 * (loadZoneFile) or one compile (compileZoneParts, of a zone parsed before
 * sampling starts) of the generated zone of RECORDS records (default
 * 1,000,000), counting the objects the collector has since freed, which
 * `node --heap-prof` leaves out: garbage is what makes the scavenges.
 * Prints the MB allocated and the N functions (default 15) that allocated
 * most, by the frame on top (an allocation inside a function V8 inlined
 * counts for the function it was inlined into, unless run with
 * `--no-turbo-inlining`; a builtin such as `next` is the iterator step of
 * a for-of). Typed arrays' contents are outside this heap.
 */

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}

async function main(): Promise<void> {
  const [what, recordsArg, topArg] = process.argv.slice(2);
  if (what !== 'parse' && what !== 'compile') throw new Error('usage: node dist/bench/alloc-top.js parse|compile [RECORDS] [N]');
  const records = Number(recordsArg ?? 1_000_000);
  const top = Number(topArg ?? 15);
  const file = join(tmpdir(), 'shardns-bench', `gen-${records}.zone`);
  if (!isGeneratedZone(file, records)) await writeZone(file, records);
  const load = (): ReturnType<typeof loadZoneFile> => loadZoneFile('example.com.', file, { readFile: (f) => readFileSync(f) });
  const before = what === 'compile' ? load() : null;
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  if (before === null) {
    if (!load().ok) throw new Error('the zone did not load');
  } else {
    if (!before.ok) throw new Error('the zone did not load');
    compileZoneParts(before.zone, { origin: 'example.com.', source: '00'.repeat(32) });
  }
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampleNode } };
  session.disconnect();
  const by = new Map<string, number>();
  let total = 0;
  const walk = (n: SampleNode): void => {
    const f = n.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    by.set(k, (by.get(k) ?? 0) + n.selfSize);
    total += n.selfSize;
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  console.log(`${what} of ${file}: ${(total / 1e6).toFixed(1)} MB allocated on the heap (sampled)`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / 1e6).toFixed(1).padStart(8)} MB  ${k}`);
}

await main();
