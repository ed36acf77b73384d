/**
 * Where a start's time goes, from `shardns serve` to the first correct answer
 * of a generated zone's last address record: the server's debug log lines as
 * milestones (ms since the spawn), the first answer, and the CPU time of the
 * whole process tree; for one or more builds (`--bin`, alternated round by
 * round, so two builds share the same minutes of a shared machine).
 *
 * `node dist/bench/start-chain.js [RECORDS] [--rounds 3] [--workers 2] [--bin PATH]… [--restart] [--quiet]`
 *
 * RECORDS: 1,000,000 by default (generated once into $TMPDIR/shardns-bench,
 * the file bench/builder-phases.ts uses). Each start gets a fresh state
 * directory (the image is built); with `--restart` the server is then
 * started again on that state directory (the image reused) and timed too.
 * CPU: user + system of the tree (`/usr/bin/time`: the supervisor, which
 * waits for its builder and workers, and everything they ran), from the
 * spawn to the exit after SIGTERM, so it includes the short shutdown (the
 * server is stopped once its builder has exited: it answers before it syncs
 * the image, and a builder still running at the supervisor's exit would not
 * be counted).
 * `--quiet` prints the table of medians only, not every start's milestones.
 * Starts are 2 s apart (GAP_MS): right after a stop the kernel is still
 * taking back what the stopped processes freed.
 */

import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitForAnswer } from './dns.js';
import { isGeneratedZone, writeZone } from './gen-zone.js';
import { freePort } from './ports.js';
import { ROOT } from './root.js';
import { lastAddressProbe } from './scale.js';

const args = process.argv.slice(2);
let records = 1_000_000;
let rounds = 3;
let workers = 2;
let restart = false;
let quiet = false;
const bins: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--rounds') rounds = Math.max(1, Number(args[++i]));
  else if (a === '--workers') workers = Math.max(1, Number(args[++i]));
  else if (a === '--bin') bins.push(resolve(args[++i]!));
  else if (a === '--restart') restart = true;
  else if (a === '--quiet') quiet = true;
  else if (Number(a) > 0) records = Number(a);
  else throw new Error(`unknown argument ${a}`);
}
if (bins.length === 0) bins.push(join(ROOT, 'bin/shardns.js'));

/** One start: first answer, CPU of the tree, and the log lines with their time since the spawn. */
interface Start {
  firstMs: number;
  cpuMs: number;
  maxRssKb: number;
  lines: { ms: number; text: string }[];
}

/** A text log line: `2026-11-23T00:37:06.507Z DEBUG supervisor[4476]: message`. */
const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/;


async function startOnce(bin: string, zone: string, probe: { name: string; expect: string }, stateDir: string): Promise<Start> {
  const port = await freePort();
  const serve = [bin, 'serve', '--workers', String(workers), '--port', String(port), '--listen', '127.0.0.1', '--zone', `example.com.=${zone}`, '--state-dir', stateDir, '--forward', 'none', '--log-level', 'debug', '--log-format', 'text'];
  const wall0 = Date.now();
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'CHAIN-TIME %U %S %M', process.execPath, ...serve], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const gone = new AbortController();
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  void exited.then(() => gone.abort());
  const ok = await waitForAnswer(port, probe.name, 'A', probe.expect, 120_000, 5, gone.signal);
  const firstMs = performance.now() - t0;
  // Let every worker report ready, and a builder that answered before it exited (it syncs the image
  // after its answer) exit, so that its CPU is counted (the supervisor waits for it only while it runs);
  // then stop the server (SIGTERM to the supervisor, time's child).
  const settled = (): boolean => /listening on/.test(out) && (!/zone builder \(pid \d+\) answered/.test(out) || /zone builder \(pid \d+\) exited/.test(out));
  for (let i = 0; i < 1000 && !settled(); i++) await new Promise((r) => setTimeout(r, 10));
  const supervisor = Number(/supervisor\[(\d+)\]/.exec(out)?.[1] ?? 0);
  if (ok && supervisor > 0) process.kill(supervisor, 'SIGTERM');
  else child.kill('SIGTERM');
  await exited;
  if (!ok) throw new Error(`no correct answer:\n${out.slice(-2000)}`);
  const t = /CHAIN-TIME ([\d.]+) ([\d.]+) (\d+)/.exec(out);
  const lines: Start['lines'] = [];
  for (const l of out.split('\n')) {
    const m = LINE.exec(l);
    if (m) lines.push({ ms: Date.parse(m[1]!) - wall0, text: m[2]! });
  }
  return { firstMs, cpuMs: t ? (Number(t[1]) + Number(t[2])) * 1000 : NaN, maxRssKb: t ? Number(t[3]) : NaN, lines };
}

/** Pause between one start's stop and the next start (ms). */
const GAP_MS = 2000;

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const dir = join(tmpdir(), 'shardns-bench');
  mkdirSync(dir, { recursive: true });
  const zone = join(dir, `gen-${records}.zone`);
  if (!isGeneratedZone(zone, records)) await writeZone(zone, records);
  const probe = lastAddressProbe(readFileSync(zone, 'latin1'), 'example.com.');
  if (probe === null) throw new Error(`${zone}: no address record to ask for`);
  console.log(`start chain: ${records} records, ${workers} workers, ${rounds} rounds, probe ${probe.name} A ${probe.expect}; builds: ${bins.join(', ')}`);
  const results = bins.map(() => ({ first: [] as Start[], again: [] as Start[] }));
  for (let r = 0; r < rounds; r++) {
    for (let b = 0; b < bins.length; b++) {
      if (r + b > 0) await new Promise((res) => setTimeout(res, GAP_MS));
      const state = mkdtempSync(join(tmpdir(), 'shardns-chain-'));
      // Started as root, shardns runs as an unprivileged user, who must reach the state directory.
      chmodSync(state, 0o755);
      try {
        const s = await startOnce(bins[b]!, zone, probe, join(state, 'state'));
        results[b]!.first.push(s);
        const show = (label: string, x: Start): void => {
          console.log(`round ${r + 1}, ${bins[b]} ${label}: first answer ${x.firstMs.toFixed(0)} ms, CPU ${x.cpuMs.toFixed(0)} ms, max RSS ${(x.maxRssKb / 1024).toFixed(0)} MB`);
          if (!quiet) for (const l of x.lines) if (l.ms <= x.firstMs + 50) console.log(`  ${String(l.ms).padStart(6)}  ${l.text.slice(0, 160)}`);
        };
        show('fresh', s);
        if (restart) {
          // What the stopped server freed (a builder's heap, the workers) settles first: a restart right
          // on the heels of a build measured the kernel giving back hundreds of MB, not the restart.
          await new Promise((r) => setTimeout(r, GAP_MS));
          const again = await startOnce(bins[b]!, zone, probe, join(state, 'state'));
          results[b]!.again.push(again);
          show('restart', again);
        }
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    }
  }
  console.log('\nmedians (ms): build | first answer | CPU of the tree | restart first answer | restart CPU');
  for (let b = 0; b < bins.length; b++) {
    const x = results[b]!;
    const cells = [median(x.first.map((s) => s.firstMs)), median(x.first.map((s) => s.cpuMs))];
    if (restart) cells.push(median(x.again.map((s) => s.firstMs)), median(x.again.map((s) => s.cpuMs)));
    console.log(`${bins[b]} | ${cells.map((c) => c.toFixed(0)).join(' | ')}`);
  }
}

await main();
