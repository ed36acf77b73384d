/**
 * What a shardns process costs to start: CPU time and memory of the
 * supervisor and of each worker once every worker is ready, the wall time
 * from spawn to "listening", and the CPU and wall time of `shardns ctl
 * status`; with `--modules`, the modules each kind of process loaded.
 *
 * `node dist/bench/start-cost.js [--workers 2] [--rounds 5] [--settle 2] [--modules DIR] [--bin PATH] [-- SERVE FLAGS…]`
 *
 * `--modules DIR` keeps the lists (`DIR/<pid>.json`, see bench/module-count.ts).
 * `--bin PATH`: another build's bin/shardns.js (e.g. the main branch's,
 * built elsewhere), to compare two builds in the same hour of a shared machine.
 *
 * Each round starts `shardns serve` on a free loopback port with a four-record
 * zone (flags after `--` are added: `--forward none`, `--metrics …`), waits
 * for its "listening on" line, lets it sit idle `--settle` seconds, reads
 * every process's CPU time (`/proc/PID/schedstat`: nanoseconds on a CPU, not
 * clock ticks) and memory (`/proc/PID/smaps_rollup`), runs `ctl status` three
 * times under /usr/bin/time, and stops it with SIGTERM. A first, unreported
 * round builds the zone image; every measured round reuses it, as a restart
 * with an unchanged zone does. Prints medians over the rounds.
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { memoryKb } from './procstat.js';
import { freePort } from './ports.js';
import { ROOT } from './root.js';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const serveFlags = dash >= 0 ? argv.slice(dash + 1) : [];
const opt = (name: string, fallback: string): string => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 && own[i + 1] !== undefined ? own[i + 1]! : fallback;
};
const workers = Number(opt('workers', '2'));
const rounds = Number(opt('rounds', '5'));
const settleMs = Number(opt('settle', '2')) * 1000;
/** With `--modules DIR`: the folder the per-process module lists are written to (kept). */
const modulesOut = own.includes('--modules') ? opt('modules', '') : null;
const countModules = modulesOut !== null;

const BIN = resolve(opt('bin', join(ROOT, 'bin/shardns.js')));
const ZONE = ['$ORIGIN example.com.', '$TTL 300', '@ SOA ns1 host 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 192.0.2.1', 'www A 192.0.2.10', ''].join('\n');

/** One process's cost once the server is ready. */
interface ProcCost {
  role: string;
  pid: number;
  cpuMs: number;
  pssKb: number;
  anonKb: number;
  rssKb: number;
}

/** What one round measured. */
interface Round {
  listeningMs: number;
  procs: ProcCost[];
  ctl: { wallMs: number; cpuMs: number; maxRssKb: number }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nanoseconds the process has spent on a CPU (schedstat's first field), in ms. */
function cpuMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function roleOf(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    const title = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (/dns-worker/.test(cmd) || /worker/.test(title)) return 'worker';
    if (/zone-builder/.test(cmd)) return 'builder';
    return cmd.slice(0, 60);
  } catch {
    return 'gone';
  }
}

function cost(role: string, pid: number): ProcCost {
  const m = memoryKb(pid);
  return { role, pid, cpuMs: cpuMs(pid), pssKb: m.pssKb, anonKb: m.pssAnonKb ?? NaN, rssKb: m.rssKb };
}

/** `shardns ctl status` under /usr/bin/time: wall ms, user+system CPU ms, peak RSS. */
function ctlCost(stateDir: string, env: NodeJS.ProcessEnv): Round['ctl'][number] {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %U %S %M', process.execPath, BIN, 'ctl', 'status', '--state-dir', stateDir], { encoding: 'utf8', env });
  const wallMs = performance.now() - t0;
  const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || m === null) throw new Error(`ctl status failed (exit ${r.status}): ${r.stderr}`);
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, maxRssKb: Number(m[3]) };
}

async function round(dir: string, stateDir: string, zoneFile: string, env: NodeJS.ProcessEnv): Promise<Round> {
  const port = await freePort();
  const args = [BIN, 'serve', '--workers', String(workers), '--port', String(port), '--listen', '127.0.0.1', '--zone', `example.com.=${zoneFile}`, '--state-dir', stateDir, '--log-level', 'info', ...serveFlags];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  let listeningMs = NaN;
  for (;;) {
    if (/listening on/.test(out)) {
      listeningMs = performance.now() - t0;
      break;
    }
    if (child.exitCode !== null || performance.now() - t0 > 60_000) throw new Error(`shardns did not start:\n${out}`);
    await sleep(5);
  }
  await sleep(settleMs);
  const pid = child.pid!;
  const procs = [cost('supervisor', pid), ...children(pid).map((c) => cost(roleOf(c), c))];
  const ctl = [ctlCost(stateDir, env), ctlCost(stateDir, env), ctlCost(stateDir, env)];
  child.kill('SIGTERM');
  await exited;
  return { listeningMs, procs, ctl };
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};
const f1 = (x: number): string => x.toFixed(1);

/** Per process kind: how many loaded, with the kinds of module. */
function moduleReport(folder: string): string[] {
  const lines: string[] = [];
  const byRole = new Map<string, string[]>();
  for (const f of readdirSync(folder)) {
    const rec = JSON.parse(readFileSync(join(folder, f), 'utf8')) as { argv: string[]; esm: string[]; cjs: string[] };
    const a = rec.argv.join(' ');
    const role = /dns-worker/.test(a) ? 'worker' : /zone-builder/.test(a) ? 'builder' : / ctl /.test(`${a} `) ? 'ctl' : / serve /.test(`${a} `) ? 'supervisor' : a;
    const esm = rec.esm.filter((u) => !/module-count/.test(u));
    const ours = esm.filter((u) => u.startsWith('file:') && !u.includes('/node_modules/'));
    const pkgEsm = esm.filter((u) => u.startsWith('file:') && u.includes('/node_modules/'));
    const builtins = esm.filter((u) => u.startsWith('node:'));
    const cjs = rec.cjs.filter((p) => !/module-count/.test(p));
    const pkgs = new Set([...pkgEsm.map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1]), ...cjs.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1])].filter(Boolean));
    const line = `| ${role} | ${ours.length} | ${pkgEsm.length} | ${cjs.length} | ${builtins.length} | ${[...pkgs].sort().join(', ')} |`;
    if (!byRole.has(role)) byRole.set(role, [line]);
  }
  lines.push('| process | our modules | package ESM | CommonJS files | builtins imported | packages |', '|---|---|---|---|---|---|');
  for (const ls of byRole.values()) lines.push(ls[0]!);
  return lines;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-start-cost-'));
  chmodSync(dir, 0o755);
  const zoneFile = join(dir, 'example.com.zone');
  writeFileSync(zoneFile, ZONE, { mode: 0o644 });
  const stateDir = join(dir, 'state');
  const env: NodeJS.ProcessEnv = { ...process.env };
  let modulesDir: string | null = null;
  if (countModules) {
    if (!modulesOut) throw new Error('--modules needs a folder to write the module lists to');
    modulesDir = modulesOut;
    mkdirSync(modulesDir, { recursive: true });
    chmodSync(modulesDir, 0o777); // started as root, shardns writes as nobody
    env.SHARDNS_MODULE_LOG = modulesDir;
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(join(ROOT, 'dist/bench/module-count.js')).href}`.trim();
  }
  try {
    process.stderr.write('warm-up round (builds the zone image)\n');
    await round(dir, stateDir, zoneFile, env);
    const all: Round[] = [];
    for (let i = 1; i <= rounds; i++) {
      process.stderr.write(`round ${i}\n`);
      all.push(await round(dir, stateDir, zoneFile, env));
    }
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const lines = [
      `shardns start cost (${BIN}): ${workers} workers, ${rounds} rounds, ${settleMs / 1000} s idle before reading${serveFlags.length ? `, serve ${serveFlags.join(' ')}` : ''}${countModules ? ', module counting on (its hook costs CPU: ignore the CPU figures)' : ''}; load ${load}`,
      '',
      '| process | CPU ms (median) | CPU ms (min–max) | PSS MB | PSS anon MB | RSS MB |',
      '|---|---|---|---|---|---|',
    ];
    const roles = [...new Set(all.flatMap((r) => r.procs.map((p) => p.role)))];
    for (const role of roles) {
      const ps = all.flatMap((r) => r.procs.filter((p) => p.role === role));
      const cpu = ps.map((p) => p.cpuMs);
      lines.push(`| ${role} (${ps.length / all.length} each) | ${f1(median(cpu))} | ${f1(Math.min(...cpu))}–${f1(Math.max(...cpu))} | ${f1(median(ps.map((p) => p.pssKb)) / 1024)} | ${f1(median(ps.map((p) => p.anonKb)) / 1024)} | ${f1(median(ps.map((p) => p.rssKb)) / 1024)} |`);
    }
    const ctl = all.flatMap((r) => r.ctl);
    lines.push(`| ctl status (${ctl.length} runs) | ${f1(median(ctl.map((c) => c.cpuMs)))} | ${f1(Math.min(...ctl.map((c) => c.cpuMs)))}–${f1(Math.max(...ctl.map((c) => c.cpuMs)))} | — | — | ${f1(median(ctl.map((c) => c.maxRssKb)) / 1024)} (peak) |`);
    lines.push('', `spawn to "listening on" (all workers ready): median ${f1(median(all.map((r) => r.listeningMs)))} ms (${all.map((r) => Math.round(r.listeningMs)).join(', ')}); ctl status wall: median ${f1(median(ctl.map((c) => c.wallMs)))} ms`);
    if (modulesDir) lines.push('', ...moduleReport(modulesDir));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
