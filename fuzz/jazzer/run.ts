/**
 * `npm run fuzz [-- TARGET…]`: coverage-guided fuzzing with Jazzer.js
 * (libFuzzer in process, our code instrumented through its ESM loader hook).
 * Each target (fuzz/targets.ts) runs for FUZZ_SECONDS (default 60), one
 * after the other, seeded from fuzz/corpus/<seeds>/; inputs that reach new
 * coverage are kept in fuzz/work/<target>/ (not in git), so a later run
 * goes on from them. A finding stops that target's run: libFuzzer writes
 * the input to fuzz/crashes/<target>/crash-<sha1>, and this runner writes
 * `crash-<sha1>.txt` beside it (what broke, the stack), which
 * test/unit/fuzz-corpus.test.ts replays (fuzz/crashes/README.md).
 * FUZZ_SEED fixes libFuzzer's seed; FUZZ_WORK and FUZZ_CRASHES move the
 * work folder and the findings elsewhere (the suite's smoke test). Exit 1 when something was found, 2 on a
 * setup error. `npm run fuzz:quick` is the fast-check runner (fuzz/run.ts).
 */

import { spawn } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUZZ_DIR, ROOT } from '../context.js';
import { ensureJazzerAddon } from '../jazzer-glibc.js';
import { TARGETS, type FuzzTarget } from '../targets.js';
import { confirm } from './confirm.js';
import { plainCopy } from './entry.js';

/** What libFuzzer said about a run (its status lines and -print_final_stats=1). */
export interface LibFuzzerStats {
  /** Inputs executed. */
  execs: number;
  /** Executions per second, as libFuzzer counts them. */
  execPerSec: number;
  /** Coverage: edges (`cov:`) and features (`ft:`) at the last status line. */
  cov: number;
  ft: number;
  /** Inputs in the in-memory corpus at the last status line (`corp:`). */
  corpus: number;
  /** Inputs the run added because they reached new coverage (`stat::new_units_added`); -1 when the final stats did not come out. */
  newUnits: number;
  /** Peak resident memory (MB). */
  peakRssMb: number;
  /** Files libFuzzer wrote as findings (`Test unit written to …`). */
  artifacts: string[];
  /** The run's seed (`INFO: Seed: N`), 0 when not told. */
  seed: number;
}

/**
 * Reads libFuzzer's output: the last `#N … cov: X ft: Y corp: C/…` status
 * line and the final stats. Pure; fields it does not find are 0.
 */
export function parseLibFuzzerLog(text: string): LibFuzzerStats {
  const stats: LibFuzzerStats = { execs: 0, execPerSec: 0, cov: 0, ft: 0, corpus: 0, newUnits: -1, peakRssMb: 0, artifacts: [], seed: 0 };
  for (const line of text.split('\n')) {
    const status = /^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)\/.*exec\/s: (\d+) rss: (\d+)Mb/.exec(line);
    if (status) {
      // The final stats below say the same when they are there (the child can exit before its last lines are out).
      stats.execs = Math.max(stats.execs, Number(status[1]));
      stats.cov = Number(status[2]);
      stats.ft = Number(status[3]);
      stats.corpus = Number(status[4]);
      stats.execPerSec = Number(status[5]);
      stats.peakRssMb = Math.max(stats.peakRssMb, Number(status[6]));
    }
    const stat = /stat::(\w+):\s+(\d+)/.exec(line);
    if (stat) {
      const n = Number(stat[2]);
      if (stat[1] === 'number_of_executed_units') stats.execs = n;
      else if (stat[1] === 'average_exec_per_sec') stats.execPerSec = n;
      else if (stat[1] === 'new_units_added') stats.newUnits = n;
      else if (stat[1] === 'peak_rss_mb') stats.peakRssMb = Math.max(stats.peakRssMb, n);
    }
    const seed = /^INFO: Seed: (\d+)/.exec(line);
    if (seed) stats.seed = Number(seed[1]);
    const art = /Test unit written to (\S+)/.exec(line);
    if (art) stats.artifacts.push(art[1]!);
  }
  return stats;
}

/** One Jazzer.js run. */
export interface JazzerRun {
  /** The module exporting `fuzz(data)` (a dist/ .js file). */
  entry: string;
  /** Corpus folders: the first receives new inputs, the others are read as seeds. */
  corpus: string[];
  /** Path fragments of the files to instrument (Jazzer.js `-i`). */
  includes: string[];
  /** How long to fuzz (s). */
  seconds: number;
  /** Where libFuzzer writes a finding (a folder, ending in `/`). */
  artifactDir: string;
  /** Largest input (octets). */
  maxLen: number;
  /** libFuzzer's seed; random when absent. */
  seed?: number;
  /** Extra libFuzzer flags. */
  libFuzzerFlags?: string[];
  /** Jazzer.js's --dry_run: no instrumentation (a control: libFuzzer mutates blind). */
  dryRun?: boolean;
  /** Where the output goes besides being parsed (a file), and whether it is echoed. */
  logFile?: string;
  echo?: boolean;
}

/** How a Jazzer.js run ended. */
export type JazzerOutcome =
  | { kind: 'ok'; stats: LibFuzzerStats; seconds: number }
  | { kind: 'finding'; stats: LibFuzzerStats; seconds: number; output: string }
  | { kind: 'error'; message: string; output: string };

/** Jazzer.js's CLI script, as installed. */
function jazzerCli(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@jazzer.js/core/package.json')), 'dist', 'cli.js');
}

/** The command line of a run (node, then its arguments). */
export function jazzerArgs(r: JazzerRun): string[] {
  return [
    jazzerCli(),
    r.entry,
    ...r.corpus,
    '--sync',
    ...r.includes.flatMap((i) => ['-i', i]),
    // Its bug detectors watch sinks (child_process, fs paths, eval, prototypes) that the code under fuzz does not reach: off, to spend the time on our invariants.
    '--disable_bug_detectors=.*',
    ...(r.dryRun ? ['--dry_run'] : []),
    '--',
    `-max_total_time=${Math.max(1, Math.round(r.seconds))}`,
    `-artifact_prefix=${r.artifactDir}`,
    `-max_len=${r.maxLen}`,
    '-print_final_stats=1',
    ...(r.seed !== undefined ? [`-seed=${r.seed}`] : []),
    ...(r.libFuzzerFlags ?? []),
  ];
}

/** Runs Jazzer.js in a child process (libFuzzer exits the process it runs in) and reads its output. */
export function runJazzer(r: JazzerRun): Promise<JazzerOutcome> {
  for (const d of [r.corpus[0]!, r.artifactDir]) mkdirSync(d, { recursive: true });
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, jazzerArgs(r), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = r.logFile ? createWriteStream(r.logFile) : null;
    // Each stream kept apart (libFuzzer's status lines are on stderr; the dictionary it prints at the end on stdout would cut into them).
    const streams = { out: '', err: '' };
    const take =
      (which: 'out' | 'err') =>
      (chunk: Buffer): void => {
        const s = chunk.toString();
        streams[which] += s;
        // Keep the start and the end: a 10-minute run prints megabytes of NEW lines.
        if (streams[which].length > 4_000_000) streams[which] = streams[which].slice(0, 200_000) + streams[which].slice(-1_000_000);
        log?.write(s);
        if (r.echo) process.stderr.write(s);
      };
    child.stdout.on('data', take('out'));
    child.stderr.on('data', take('err'));
    child.on('error', (e) => resolve({ kind: 'error', message: `could not start Jazzer.js: ${e.message}`, output: streams.err }));
    child.on('close', (code, signal) => {
      log?.end();
      const seconds = (Date.now() - started) / 1000;
      const output = `${streams.err}\n${streams.out}`;
      const stats = parseLibFuzzerLog(streams.err);
      if (code === 0) resolve({ kind: 'ok', stats, seconds });
      else if (code === 77 || stats.artifacts.length > 0) resolve({ kind: 'finding', stats, seconds, output });
      else resolve({ kind: 'error', message: `Jazzer.js exited with ${signal ?? `code ${code}`}`, output });
    });
  });
}

/** The build this file is part of (dist/, where tsc writes): its src/ and fuzz/ are instrumented. */
const BUILD = fileURLToPath(new URL('../../', import.meta.url));

/** Copies the build's src/ and fuzz/ to its uninstrumented copy (entry.ts plainCopy: dist-plain/), anew: where the entries time slow inputs. */
export function makePlainCopy(build = BUILD): string {
  const copy = plainCopy(build);
  rmSync(copy, { recursive: true, force: true });
  for (const d of ['src', 'fuzz']) cpSync(`${build}${d}`, `${copy}${d}`, { recursive: true });
  return copy;
}

/** The run of one fuzz target: its entry (dist/fuzz/jazzer/<name>.js), its work corpus, its seeds, our code (dist/src/, dist/fuzz/) instrumented. */
export function targetRun(t: FuzzTarget, seconds: number, seed?: number, work = `${FUZZ_DIR}work/`): JazzerRun {
  const run: JazzerRun = {
    entry: fileURLToPath(new URL(`./${t.name}.js`, import.meta.url)),
    corpus: [`${work}${t.name}/`, ...t.seeds.map((d) => `${FUZZ_DIR}corpus/${d}/`).filter((d) => existsSync(d))],
    includes: [`${BUILD}src/`, `${BUILD}fuzz/`],
    seconds,
    artifactDir: `${FUZZ_DIR}crashes/${t.name}/`,
    maxLen: t.maxLength,
    logFile: `${work}${t.name}.log`,
  };
  if (seed !== undefined) run.seed = seed;
  return run;
}

/** Writes `<artifact>.txt` for a finding: replayed here, uninstrumented and warm (confirm.ts), with what broke and the stack (or that it did not fail again). */
function describeFinding(t: FuzzTarget, artifact: string, seed: number): string {
  const input = readFileSync(artifact);
  const v = confirm(t.name, input);
  const what = v.kind === 'fail' ? `signature: ${v.signature}\n\n${v.message}` : v.kind === 'pass' ? 'signature: none: it did not fail when replayed uninstrumented (a stall, or slow only then)' : `signature: none: ${v.message}`;
  writeFileSync(`${artifact}.txt`, `target: ${t.name}\ninput (hex): ${input.toString('hex')}\nfound by: npm run fuzz (Jazzer.js), libFuzzer -seed=${seed}\n${what}\n`);
  return v.kind === 'fail' ? v.signature : 'did not fail again';
}

async function main(): Promise<void> {
  const seconds = Number(process.env['FUZZ_SECONDS'] ?? 60);
  if (!Number.isFinite(seconds) || seconds < 1) {
    console.error(`fuzz: FUZZ_SECONDS must be a number of seconds (1 or more), got "${process.env['FUZZ_SECONDS']}"`);
    process.exit(2);
  }
  const seedEnv = process.env['FUZZ_SEED'];
  const seed = seedEnv === undefined ? undefined : Number(seedEnv);
  if (seed !== undefined && !(Number.isInteger(seed) && seed > 0)) {
    console.error(`fuzz: FUZZ_SEED must be a positive integer, got "${seedEnv}"`);
    process.exit(2);
  }
  // FUZZ_WORK: where the corpus grows and the logs go (default fuzz/work/); FUZZ_CRASHES: where findings go (default fuzz/crashes/, which the suite replays).
  const work = process.env['FUZZ_WORK'] ? `${resolve(process.env['FUZZ_WORK'])}/` : undefined;
  const crashes = process.env['FUZZ_CRASHES'] ? `${resolve(process.env['FUZZ_CRASHES'])}/` : undefined;
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
  if (unknown.length > 0) {
    console.error(`fuzz: no target ${unknown.map((n) => `"${n}"`).join(', ')}; the targets are ${TARGETS.map((t) => t.name).join(', ')}`);
    process.exit(2);
  }
  const addon = ensureJazzerAddon();
  if (addon.kind === 'error') {
    console.error(`fuzz: Jazzer.js cannot run here: ${addon.message}`);
    process.exit(2);
  }
  console.log(`fuzz: Jazzer.js addon: ${addon.note}; uninstrumented copy for timing: ${makePlainCopy()}`);
  let findings = 0;
  let errors = 0;
  for (const t of TARGETS.filter((t) => names.length === 0 || names.includes(t.name))) {
    const run = targetRun(t, seconds, seed, work);
    if (crashes) run.artifactDir = `${crashes}${t.name}/`;
    console.log(`${t.name}: ${t.about}; ${seconds} s, corpus ${run.corpus.join(' ')}, log ${run.logFile}`);
    const out = await runJazzer(run);
    if (out.kind === 'error') {
      errors++;
      console.error(`${t.name}: ${out.message}\n${out.output.slice(-3000)}`);
      continue;
    }
    const s = out.stats;
    const corpusFiles = existsSync(run.corpus[0]!) ? readdirSync(run.corpus[0]!).length : 0;
    console.log(`${t.name}: ${s.execs} inputs in ${out.seconds.toFixed(0)} s (${s.execPerSec}/s), cov ${s.cov}, ft ${s.ft}, corpus ${s.corpus} in memory, ${s.newUnits < 0 ? 'new this run not told' : `${s.newUnits} new this run`}, ${corpusFiles} files in ${run.corpus[0]}, peak RSS ${s.peakRssMb} MB`);
    if (out.kind === 'finding') {
      findings++;
      for (const a of s.artifacts) console.log(`${t.name}: FINDING ${a}: ${describeFinding(t, resolve(ROOT, a), s.seed)}`);
      if (s.artifacts.length === 0) console.log(`${t.name}: FINDING (no input written):\n${out.output.slice(-3000)}`);
    }
  }
  process.exitCode = errors > 0 ? 2 : findings > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
