/**
 * `npm run fuzz [-- TARGET…]`: runs each fuzz target (fuzz/targets.ts) for
 * FUZZ_SECONDS (default 60) on inputs fast-check draws (fuzz/inputs.ts) from
 * its seed corpus, and writes each new finding, shrunk, to
 * fuzz/crashes/<target>/ (the input, and a .txt saying what broke).
 * FUZZ_SEED fixes the first seed of the generator; FUZZ_PAST_OPEN=1 skips
 * inputs that reach a finding still open (targets.ts openCause). Exit 1
 * when something new was found.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { FUZZ_DIR } from './context.js';
import { inputsFor } from './inputs.js';
import { Finding, TARGETS, type FuzzTarget } from './targets.js';

/** Files of a corpus folder (notes, dot files and folders left out). */
export function corpusFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((f) => f.isFile() && !f.name.startsWith('.') && !f.name.endsWith('.txt') && !f.name.endsWith('.md'))
    .map((f) => dir + f.name)
    .sort();
}

/** Every file a target replays that must pass: its seeds, then the crashes found and fixed. */
export function replayFiles(t: FuzzTarget): string[] {
  return [...t.seeds.flatMap((d) => corpusFiles(`${FUZZ_DIR}corpus/${d}/`)), ...corpusFiles(`${FUZZ_DIR}crashes/${t.name}/`)];
}

/**
 * Findings not fixed yet (fuzz/crashes/<target>/open/, each with a .txt
 * saying what broke and the fix proposed): they must still fail; once one
 * passes, its bug is fixed and it moves up into fuzz/crashes/<target>/.
 */
export function openFindings(t: FuzzTarget): string[] {
  return corpusFiles(`${FUZZ_DIR}crashes/${t.name}/open/`);
}

/** A finding: what broke, and a signature that stays the same for the same bug (numbers and hex left out). */
export interface Failure {
  error: Error;
  signature: string;
}

/** Where a throw came from: the first frame in our code. */
function origin(e: Error): string {
  const frame = (e.stack ?? '').split('\n').find((l) => /\/(src|fuzz)\//.test(l) && !l.includes('/fuzz/targets.'));
  return frame ? frame.trim().replace(/^at /, '').replace(/:\d+\)?$/, '') : '';
}

/**
 * Runs one input. A throw, a broken invariant, or a handler call over the
 * target's limit on three tries (a garbage collection or a compilation can
 * stall any one call) is a failure.
 */
export function attempt(t: FuzzTarget, data: Buffer): Failure | null {
  try {
    let ms = t.run(data);
    const limit = t.limitMs(data);
    for (let i = 0; i < 3 && ms > limit; i++) ms = Math.min(ms, t.run(data));
    if (ms > limit) throw new Finding('slow: a handler call over its time limit', `${ms.toFixed(2)} ms of CPU, the limit is ${limit.toFixed(2)} ms`);
    return null;
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    if (error instanceof Finding) return { error, signature: `Finding: ${error.kind}` };
    return { error, signature: `${error.name}: ${error.message.split('\n')[0]!.slice(0, 160)} ${origin(error)}`.trim() };
  }
}

/** What one target's run came to. */
interface Outcome {
  /** Inputs run (not counting those skipped). */
  runs: number;
  /** Inputs skipped as reaching an open finding (FUZZ_PAST_OPEN=1). */
  skipped: number;
  seconds: number;
  seeds: number;
  stillFailing: string[];
  found: string[];
}

/** Fuzzes one target for `seconds`; findings go to fuzz/crashes/<target>/. */
function fuzz(t: FuzzTarget, seconds: number, firstSeed: number): Outcome {
  const seedFiles = t.seeds.flatMap((d) => corpusFiles(`${FUZZ_DIR}corpus/${d}/`));
  const crashDir = `${FUZZ_DIR}crashes/${t.name}/`;
  const known = new Set<string>();
  const stillFailing: string[] = [];
  // Crashes found before, fixed or open: those that still fail are known (reported, not found again).
  for (const f of [...corpusFiles(crashDir), ...openFindings(t)]) {
    const failure = attempt(t, readFileSync(f));
    if (failure) {
      known.add(failure.signature);
      stillFailing.push(`${f}: ${failure.signature}`);
    }
  }
  const seeds = [...seedFiles, ...corpusFiles(crashDir), ...openFindings(t)].map((f) => new Uint8Array(readFileSync(f)));
  const arbitrary = inputsFor(t, seeds);
  // FUZZ_PAST_OPEN=1: inputs that reach an open finding are skipped, so others of the same kind show.
  const pastOpen = process.env['FUZZ_PAST_OPEN'] === '1' && t.open !== undefined;
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const found: string[] = [];
  let runs = 0;
  let skipped = 0;
  for (let seed = firstSeed; Date.now() < deadline; seed++) {
    const details = fc.check(
      fc.property(arbitrary, (data) => {
        if (pastOpen && t.open!(data) !== null) {
          skipped++;
          return;
        }
        const failure = attempt(t, data);
        if (failure && !known.has(failure.signature)) throw failure.error;
      }),
      { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: Math.max(1, deadline - Date.now()), markInterruptAsFailure: false, seed },
    );
    runs += details.numRuns;
    if (!details.failed || details.counterexample === null) continue;
    const input = details.counterexample[0];
    const failure = attempt(t, input);
    if (failure === null) continue; // did not fail again (a stall that passed): nothing to keep
    known.add(failure.signature);
    mkdirSync(crashDir, { recursive: true });
    const name = `crash-${createHash('sha1').update(input).digest('hex')}`;
    writeFileSync(crashDir + name, input);
    writeFileSync(`${crashDir}${name}.txt`, `target: ${t.name}\nsignature: ${failure.signature}\ninput (hex): ${input.toString('hex')}\nfast-check seed: ${seed}\n\n${failure.error.stack ?? failure.error.message}\n`);
    found.push(`${crashDir}${name}: ${failure.signature}`);
    console.log(`${t.name}: new finding ${name}: ${failure.signature}`);
  }
  return { runs: runs - skipped, skipped, seconds: (Date.now() - started) / 1000, seeds: seeds.length, stillFailing, found };
}

function main(): void {
  const seconds = Number(process.env['FUZZ_SECONDS'] ?? 60);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`fuzz: FUZZ_SECONDS must be a positive number of seconds, got "${process.env['FUZZ_SECONDS']}"`);
    process.exit(2);
  }
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
  if (unknown.length > 0) {
    console.error(`fuzz: no target ${unknown.map((n) => `"${n}"`).join(', ')}; the targets are ${TARGETS.map((t) => t.name).join(', ')}`);
    process.exit(2);
  }
  const firstSeed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
  let newFindings = 0;
  for (const t of TARGETS.filter((t) => names.length === 0 || names.includes(t.name))) {
    console.log(`${t.name}: ${t.about}; ${seconds} s, fast-check seed ${firstSeed}`);
    const o = fuzz(t, seconds, firstSeed);
    newFindings += o.found.length;
    console.log(`${t.name}: ${o.runs} inputs in ${o.seconds.toFixed(0)} s (${Math.round(o.runs / o.seconds)}/s)${o.skipped > 0 ? `, ${o.skipped} more skipped as reaching an open finding` : ''}, ${o.seeds} seeds, ${o.found.length} new finding(s), ${o.stillFailing.length} known crash(es) still failing`);
    for (const s of o.stillFailing) console.log(`  still failing: ${s}`);
  }
  process.exitCode = newFindings > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
