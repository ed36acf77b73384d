/**
 * The Jazzer.js side of the fuzz targets (fuzz/targets.ts): `fuzzEntry(name)`
 * is the `fuzz(data)` function Jazzer.js calls with each input libFuzzer
 * makes. An input that throws or breaks an invariant throws out of it, which
 * Jazzer.js reports as a finding and libFuzzer saves as `crash-<sha1>` under
 * its artifact prefix (fuzz/crashes/<target>/).
 *
 * Time limits: the code runs instrumented here (an edge counter per branch,
 * a call into the addon per comparison), 2 to 7 times slower than in a
 * worker (the seeds' medians, bench/fuzz-instrumentation.ts). The limit is
 * about the worker's code, so an input whose instrumented call is over it
 * (instrumentation only adds work: an input under it here is under it
 * uninstrumented) is replayed in an uninstrumented copy of the same build,
 * loaded into this process beside the instrumented one (plainCopy: the
 * runner copies dist/src and dist/fuzz to dist-plain/, which Jazzer.js does
 * not instrument), warm, with confirm.ts `replay()`: run.ts `attempt()`
 * (three tries, CPU time), four times more 200 ms apart when over. It is a finding
 * only if it is over the limit there every time.
 */

import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { attempt } from '../run.js';
import { targetNamed, type FuzzTarget } from '../targets.js';
import { SLOW, warm, type Verdict } from './confirm.js';

/** The uninstrumented copy of a build: the build's folder with `-plain` after its name (dist/ → dist-plain/), beside it, so its files find the repository and node_modules as the build's do. */
export function plainCopy(build: string): string {
  return `${build.replace(/\/+$/, '')}-plain/`;
}

/** How many suspects passed uninstrumented (reported on stderr now and then). */
let cleared = 0;

/** The uninstrumented target and its replay(), from the copy (a setup error, thrown, when the copy is missing). */
async function plainTarget(name: string): Promise<{ t: FuzzTarget; replay: (t: FuzzTarget, data: Buffer) => Verdict }> {
  const copy = plainCopy(new URL('../../', import.meta.url).pathname);
  if (!existsSync(`${copy}fuzz/targets.js`)) throw new Error(`fuzz: no uninstrumented copy of the build in ${copy}: run the targets through npm run fuzz (fuzz/jazzer/run.ts makes it)`);
  const targets = (await import(pathToFileURL(`${copy}fuzz/targets.js`).href)) as typeof import('../targets.js');
  const confirm = (await import(pathToFileURL(`${copy}fuzz/jazzer/confirm.js`).href)) as typeof import('./confirm.js');
  const t = targets.targetNamed(name);
  if (!t) throw new Error(`fuzz: no target "${name}" in ${copy}`);
  confirm.warm(t);
  return { t, replay: confirm.replay };
}

/** The `fuzz` function for the target called `name` (an unknown name, or no uninstrumented copy, is a setup error, thrown at import). */
export async function fuzzEntry(name: string): Promise<(data: Buffer) => void> {
  const t = targetNamed(name);
  if (!t) throw new Error(`fuzz: no target "${name}" (see fuzz/targets.ts TARGETS)`);
  // The zones compiled, and the code the seeds reach warmed, in both copies, before the first input is timed.
  warm(t);
  const plain = await plainTarget(name);
  return (data: Buffer): void => {
    let ms: number;
    try {
      ms = t.run(data);
    } catch {
      // attempt() runs it again and says what broke (a throw or a broken invariant does not depend on timing).
      const failure = attempt(t, data);
      if (!failure) throw new Error(`fuzz: an input threw once and then passed (state kept between inputs?): ${data.toString('hex').slice(0, 200)}`);
      failure.error.message = `[${failure.signature}] ${failure.error.message}`;
      throw failure.error;
    }
    if (ms <= t.limitMs(data)) return;
    const v = plain.replay(plain.t, data);
    if (v.kind === 'pass') {
      if (++cleared % 1000 === 1) process.stderr.write(`fuzz: ${cleared} input(s) over the time limit instrumented, within it uninstrumented\n`);
      return;
    }
    const e = new Error(v.kind === 'fail' ? `[${v.signature}] uninstrumented: ${v.message}` : `fuzz: the uninstrumented replay failed: ${v.message}`);
    e.name = v.kind === 'fail' && v.signature.startsWith(SLOW) ? 'Slow' : 'Finding';
    throw e;
  };
}
