/**
 * `node dist/fuzz/jazzer/confirm.js TARGET < input`: replays one input
 * through a target without Jazzer.js's instrumentation and says, as one
 * JSON line, whether it fails (run.ts `attempt()`: a throw, a broken
 * invariant, or a handler call over the limit on three tries). The target's
 * seeds run first, and the input five times, so the code it reaches is
 * compiled, as in a worker that has served for a while; an input over the
 * limit is measured so five times, 200 ms apart, and is slow only if it is
 * over every time. fuzz/jazzer/entry.ts replays inputs that were slow under
 * instrumentation (counters and compare hooks make every call slower) with
 * replay() in an uninstrumented copy of the build; the runner describes each
 * finding with confirm().
 */

import { readFileSync } from 'node:fs';
import { FUZZ_DIR, fuzzZones } from '../context.js';
import { attempt, corpusFiles } from '../run.js';
import { targetNamed, type FuzzTarget } from '../targets.js';

/** Compiles the zones and runs each of the target's seeds twice: the code they reach is compiled before anything is timed. */
export function warm(t: FuzzTarget): void {
  fuzzZones();
  for (const f of t.seeds.flatMap((d) => corpusFiles(`${FUZZ_DIR}corpus/${d}/`))) {
    const seed = readFileSync(f);
    for (let i = 0; i < 2; i++) {
      try {
        t.run(seed);
      } catch {
        // A seed that fails is the replay test's to report (test/unit/fuzz-corpus.test.ts).
      }
    }
  }
}

/** The verdict printed (one JSON line on stdout). */
export type Verdict = { kind: 'pass' } | { kind: 'fail'; signature: string; message: string } | { kind: 'error'; message: string };

/** Warms the target's code (its seeds), then replay(). */
export function confirm(name: string, data: Buffer): Verdict {
  const t = targetNamed(name);
  if (!t) return { kind: 'error', message: `no target "${name}"` };
  warm(t);
  return replay(t, data);
}

/** Runs `data` five times (the code it reaches compiled), then attempt(); over the limit, attempt() four times more, 200 ms apart. */
export function replay(t: FuzzTarget, data: Buffer): Verdict {
  for (let i = 0; i < 5; i++) {
    try {
      t.run(data);
    } catch {
      // attempt() below says what broke.
    }
  }
  let failure = attempt(t, data);
  // Over the limit: measured four times more, 200 ms apart (garbage collections, or other processes on a busy machine,
  // inflate one process's CPU time for a while: on this 2-core machine at load 9, inputs of the zone parser's error
  // seeds took 1.0 ms at best, 1.6 ms median, 9 ms p90); slow only if slow every time. Other failures do not depend on timing.
  for (let i = 0; i < 4 && failure?.signature.startsWith(SLOW); i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    failure = attempt(t, data);
  }
  return failure ? { kind: 'fail', signature: failure.signature, message: failure.error.stack ?? failure.error.message } : { kind: 'pass' };
}

/** The signature of a handler call over its time limit (run.ts attempt()). */
export const SLOW = 'Finding: slow:';

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(confirm(process.argv[2] ?? '', readFileSync(0)))}\n`);
}
