/**
 * The Jazzer.js side of the fuzz targets (fuzz/targets.ts): `fuzzEntry(name)`
 * is the `fuzz(data)` function Jazzer.js calls with each input libFuzzer
 * makes. An input that throws or breaks an invariant throws out of it, which
 * Jazzer.js reports as a finding and libFuzzer saves as `crash-<sha1>` under
 * its artifact prefix (fuzz/crashes/<target>/).
 *
 * Time limits: the code runs instrumented here (an edge counter per branch,
 * a call into the addon per comparison): the seeds take 4 to 7 times as
 * long as uninstrumented (median; measured on this machine). So a call over
 * INSTRUMENTED_SCALE times the limit (run.ts `attempt()`: three tries, CPU
 * time) makes the input a suspect, replayed uninstrumented and warm in a
 * child process (fuzz/jazzer/confirm.ts); it is a finding only if it is over
 * the limit there. An input under the scaled limit here is within the real
 * limit uninstrumented.
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { attempt } from '../run.js';
import { targetNamed, type FuzzTarget } from '../targets.js';
import { SLOW, warm, type Verdict } from './confirm.js';

const CONFIRM = fileURLToPath(new URL('./confirm.js', import.meta.url));

/** How much slower instrumented code may be before an input is replayed uninstrumented (the seeds: 4 to 7 times, median). */
export const INSTRUMENTED_SCALE = 8;

/** Suspects replayed so far (sha1 → their verdict), so libFuzzer's re-runs of an input cost one child. */
const verdicts = new Map<string, Verdict>();
/** How many slow suspects passed uninstrumented (reported on stderr now and then). */
let cleared = 0;

/** The verdict of the uninstrumented replay of `data` (fuzz/jazzer/confirm.ts). */
function replayPlain(t: FuzzTarget, data: Buffer): Verdict {
  const key = createHash('sha1').update(data).digest('hex');
  const known = verdicts.get(key);
  if (known) return known;
  const r = spawnSync(process.execPath, [CONFIRM, t.name], { input: data, encoding: 'utf8', maxBuffer: 16 << 20 });
  let v: Verdict;
  try {
    v = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Verdict;
  } catch {
    v = { kind: 'error', message: `the replay exited with ${r.signal ?? `code ${r.status}`}: ${r.stderr.slice(-2000)}` };
  }
  verdicts.set(key, v);
  return v;
}

/** The `fuzz` function for the target called `name` (an unknown name is a setup error, thrown at import). */
export function fuzzEntry(name: string): (data: Buffer) => void {
  const t = targetNamed(name);
  if (!t) throw new Error(`fuzz: no target "${name}" (see fuzz/targets.ts TARGETS)`);
  // The zones are compiled, and the code the seeds reach warmed, before the first input is timed.
  warm(t);
  return (data: Buffer): void => {
    const failure = attempt(t, data, INSTRUMENTED_SCALE);
    if (!failure) return;
    if (failure.signature.startsWith(SLOW)) {
      const v = replayPlain(t, data);
      if (v.kind === 'pass') {
        if (++cleared % 100 === 1) process.stderr.write(`fuzz: ${cleared} input(s) over the time limit only when instrumented (replayed uninstrumented: within it)\n`);
        return;
      }
      if (v.kind === 'fail') {
        failure.error.message = `[${v.signature}] uninstrumented: ${v.message}`;
        throw failure.error;
      }
      throw new Error(`fuzz: could not replay a slow input uninstrumented: ${v.message}`);
    }
    failure.error.message = `[${failure.signature}] ${failure.error.message}`;
    throw failure.error;
  };
}
