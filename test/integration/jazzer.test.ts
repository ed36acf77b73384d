/**
 * Coverage-guided fuzzing (`npm run fuzz`, fuzz/jazzer/) works from a clean
 * install: Jazzer.js's addon loads (fuzz/jazzer-glibc.ts patches it where it
 * must), the fuzzer instruments our files under dist/ through its ESM loader
 * and is guided by their coverage.
 */

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLibFuzzerLog, runJazzer, type JazzerRun } from '../../fuzz/jazzer/run.js';
import { GUARDED } from '../fixtures/jazzer/guarded.js';

const DIST = fileURLToPath(new URL('../../', import.meta.url));
const GUARDED_JS = fileURLToPath(new URL('../fixtures/jazzer/guarded.js', import.meta.url));

describe('coverage-guided fuzzing with Jazzer.js (npm run fuzz)', function () {
  this.timeout(60_000);
  let tmp = '';
  before(function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      console.log(`skip: the Jazzer.js setup (fuzz/jazzer-glibc.ts) is made for linux-x64, this is ${process.platform}-${process.arch}`);
      this.skip();
    }
    tmp = mkdtempSync(join(tmpdir(), 'shardns-jazzer-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('npm run fuzz runs a target for FUZZ_SECONDS, coverage-guided: inputs run, edges and features covered, inputs kept for new coverage', async () => {
    // The runner itself (what `npm run fuzz` runs after the build), its corpus and findings in a temporary folder.
    const child = spawn(process.execPath, [join(DIST, 'fuzz/jazzer/run.js'), 'query-udp'], {
      env: { ...process.env, FUZZ_SECONDS: '3', FUZZ_WORK: join(tmp, 'work'), FUZZ_CRASHES: join(tmp, 'crashes') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).to.equal(0);
    expect(out).to.match(/Jazzer\.js addon: (the addon loads as installed|patched for this glibc)/);
    expect(out).to.match(/query-udp: \d+ inputs in \d+ s/);
    const stats = parseLibFuzzerLog(readFileSync(join(tmp, 'work', 'query-udp.log'), 'utf8'));
    // The seeds alone cover hundreds of edges of src/ (an uninstrumented run reports cov: 0).
    expect(stats.execs, out).to.be.greaterThan(1000);
    expect(stats.cov, out).to.be.greaterThan(300);
    expect(stats.ft, out).to.be.greaterThan(stats.cov);
    // Inputs were kept because they reached new coverage, and written to the work corpus.
    expect(stats.newUnits, out).to.be.greaterThan(0);
    expect(readdirSync(join(tmp, 'work', 'query-udp')).length).to.be.greaterThan(0);
  });

  it('finds an input behind eight nested one-octet comparisons (odds 2^-64 per blind input), which the same fuzzer without instrumentation does not find', async () => {
    const base: JazzerRun = { entry: GUARDED_JS, corpus: [join(tmp, 'guarded')], includes: [GUARDED_JS], seconds: 20, artifactDir: join(tmp, 'guarded-found') + '/', maxLen: 64, seed: 1 };
    const found = await runJazzer(base);
    expect(found.kind, found.kind === 'error' ? found.message + found.output.slice(-2000) : '').to.equal('finding');
    if (found.kind !== 'finding') return;
    const artifact = found.stats.artifacts[0]!;
    expect(readFileSync(artifact).subarray(0, 8).equals(GUARDED), readFileSync(artifact).toString('hex')).to.equal(true);
    // The control: as many inputs, no instrumentation (libFuzzer mutates blind): nothing found.
    const runs = Math.max(found.stats.execs, 10_000);
    const blind = await runJazzer({ ...base, corpus: [join(tmp, 'blind')], artifactDir: join(tmp, 'blind-found') + '/', dryRun: true, libFuzzerFlags: [`-runs=${runs}`] });
    expect(blind.kind, blind.kind === 'error' ? blind.message : blind.kind === 'finding' ? blind.output.slice(-2000) : '').to.equal('ok');
    if (blind.kind === 'ok') expect(blind.stats.execs).to.be.at.least(runs);
  });
});
