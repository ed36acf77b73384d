/**
 * How much slower the fuzz targets run under Jazzer.js's instrumentation
 * (why fuzz/jazzer/entry.ts times slow inputs again in an uninstrumented
 * copy of the build).
 *
 *   npm run build && node dist/bench/fuzz-instrumentation.js --plain
 *   node node_modules/@jazzer.js/core/dist/cli.js dist/bench/fuzz-instrumentation.js --sync \
 *     -i "$PWD/dist/src/" -i "$PWD/dist/fuzz/" --disable_bug_detectors='.*' -- -runs=1
 *
 * Each prints, per target, the CPU time of a handler call on its seeds
 * (warm: each seed run twice first, then the best of four runs): median,
 * 90th percentile and largest, in ms, and how many seeds are over the limit.
 * Compare the two runs' medians.
 */

import { readFileSync } from 'node:fs';
import { FUZZ_DIR } from '../fuzz/context.js';
import { warm } from '../fuzz/jazzer/confirm.js';
import { corpusFiles } from '../fuzz/run.js';
import { TARGETS } from '../fuzz/targets.js';

function measure(label: string): void {
  console.log(`${label}: target, seeds, median ms, p90 ms, max ms, seeds over the limit`);
  for (const t of TARGETS) {
    warm(t);
    const files = t.seeds.flatMap((d) => corpusFiles(`${FUZZ_DIR}corpus/${d}/`));
    const times: number[] = [];
    let over = 0;
    for (const f of files) {
      const data = readFileSync(f);
      let best = Infinity;
      for (let i = 0; i < 4; i++) {
        try {
          best = Math.min(best, t.run(data));
        } catch {
          // A failing seed is the replay test's to report.
        }
      }
      if (best === Infinity) continue;
      times.push(best);
      if (best > t.limitMs(data)) over++;
    }
    times.sort((a, b) => a - b);
    const at = (q: number): string => times[Math.min(times.length - 1, Math.floor(times.length * q))]!.toFixed(3);
    console.log(`${label}: ${t.name}, ${times.length}, ${at(0.5)}, ${at(0.9)}, ${at(1)}, ${over}`);
  }
}

/** Jazzer.js wants an entry; it is never called: the process ends once the measurement (made when Jazzer.js imports this file, instrumented) is printed. */
export function fuzz(): void {}

if (process.argv.includes('--plain')) measure('plain');
else {
  measure('instrumented');
  process.exit(0);
}
