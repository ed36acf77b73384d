/** What a disruption costs under load: shardns answers dnsperf at a fixed rate while a worker is killed (kill -9), stalled (SIGSTOP), or the server is upgraded; how many queries are lost, and how long answers pause. Shared by bench/kill.ts and bench/upgrade.ts. */

import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDnsperf, dnsperfUnavailable, type DnsperfStats } from './dnsperf.js';
import { freePort } from './ports.js';
import { ProcessGroups, type Tracked } from './processes.js';

/** The repository root (this file runs from dist/bench). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One load run's settings. */
export interface LoadOptions {
  workers: number;
  /** dnsperf's rate cap (-Q): queries a second over all clients. */
  qps: number;
  durationSec: number;
  /** When the disruption happens, seconds into the run. */
  atSec: number;
  /** dnsperf clients (-c): each its own source port, so the kernel spreads them over the workers. */
  clients: number;
  /** Extra shardns flags (e.g. --worker-timeout 1). */
  serverArgs: string[];
  /**
   * On a machine shared with other work: the nice value given to the
   * sessions of the benchmark, shardns and dnsperf (/proc/PID/autogroup; the
   * kernel shares CPU between sessions first, so a process's own nice does
   * not help), so other sessions disturb the measurement less. Root only;
   * undefined: left as they are.
   */
  sessionNice?: number;
}

/** Gives the session (autogroup) of `pid` the nice value `nice`; says why not, or null. */
export function setSessionNice(pid: number | 'self', nice: number): string | null {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return null;
  } catch (err) {
    return `cannot set the session nice of ${pid} to ${nice}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (root only; needs CONFIG_SCHED_AUTOGROUP)`;
  }
}

/** What one run measured. */
export interface RunResult {
  stats: DnsperfStats;
  /** version.bind asked every 10 ms from one client: the longest wait between two answers (ms). */
  longestGapMs: number;
  /** What the disruption reported (e.g. time until the new version answered). */
  notes: string[];
}

/** The query file: names of the shipped example zone, as dnsperf reads them. */
const QUERIES = ['www.example.com A', 'www.example.com AAAA', 'example.com SOA', 'example.com NS', 'example.com MX', 'mail.example.com A', 'ns1.example.com A', 'nonexistent.example.com A'];

/** A copy of the program in a temporary folder everyone may read (root drops to nobody), with its own package.json version. */
export function installCopy(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-bench-install-'));
  chmodSync(dir, 0o755);
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'workers'), join(dir, 'dist', 'workers'), { recursive: true });
  chmodSync(join(dir, 'dist'), 0o755);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  setInstalledVersion(dir, version);
  return dir;
}

/** Writes the copy's package.json with another version: what `shardns --version` and version.bind of a process started from it say. */
export function setInstalledVersion(dir: string, version: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version }, null, 2), { mode: 0o644 });
}

/** Direct children of a pid. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Asks CH TXT version.bind every `everyMs` from one socket; reports answers with their times. */
export function versionProbe(port: number, everyMs = 10): { stop(): { longestGapMs: number; firstAt: (text: string) => number | null } } {
  const sock = dgram.createSocket('udp4');
  const answers: { at: number; text: string }[] = [];
  let id = 0;
  const query = (qid: number): Buffer => {
    const name = Buffer.from([7, ...Buffer.from('version'), 4, ...Buffer.from('bind'), 0]);
    return Buffer.concat([Buffer.from([qid >> 8, qid & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 16, 0, 3])]);
  };
  sock.on('message', (m) => {
    // The answer's TXT string: a length octet, then "shardns <version>".
    const at = m.lastIndexOf(Buffer.from('shardns'));
    answers.push({ at: Date.now(), text: at >= 0 ? m.subarray(at, at + m[at - 1]!).toString() : '' });
  });
  sock.bind(0, '127.0.0.1');
  const t0 = Date.now();
  const timer = setInterval(() => sock.send(query(++id & 0xffff), port, '127.0.0.1'), everyMs);
  return {
    stop() {
      clearInterval(timer);
      sock.close();
      let longestGapMs = 0;
      let last = t0;
      for (const a of answers) {
        longestGapMs = Math.max(longestGapMs, a.at - last);
        last = a.at;
      }
      return { longestGapMs, firstAt: (text) => answers.find((a) => a.text === text)?.at ?? null };
    },
  };
}

/**
 * Starts shardns (from `bin`) with the example zone, runs dnsperf at the
 * set rate, calls `disrupt` at `atSec` with the server's process, port and
 * state directory, waits for
 * dnsperf to finish, and stops everything.
 */
export async function measure(o: LoadOptions, bin: string, disrupt: (server: Tracked, port: number, stateDir: string) => Promise<string[]>): Promise<RunResult> {
  const why = dnsperfUnavailable();
  if (why !== null) throw new Error(why);
  const groups = new ProcessGroups();
  const dir = mkdtempSync(join(tmpdir(), 'shardns-disrupt-'));
  chmodSync(dir, 0o755);
  try {
    const port = await freePort();
    const queries = join(dir, 'queries.txt');
    writeFileSync(queries, QUERIES.join('\n') + '\n', { mode: 0o644 });
    const server = groups.spawn('shardns', process.execPath, [
      bin, '--workers', String(o.workers), '--listen', '127.0.0.1', '--port', String(port), '--forward', 'none',
      '--zone', `example.com.=${join(ROOT, 'config', 'zones', 'example.com.zone')}`, '--state-dir', join(dir, 'state'), ...o.serverArgs,
    ]);
    await server.waitFor(/listening on .* with \d+ workers?/, 60_000);
    const probe = versionProbe(port);
    const perf = groups.spawn('dnsperf', 'dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-m', 'udp', '-d', queries, '-l', String(o.durationSec), '-Q', String(o.qps), '-c', String(o.clients), '-q', '1000', '-t', '5']);
    if (o.sessionNice !== undefined) {
      for (const pid of ['self', server.proc.pid!, perf.proc.pid!] as const) {
        const why = setSessionNice(pid, o.sessionNice);
        if (why !== null) throw new Error(why);
      }
    }
    await new Promise((r) => setTimeout(r, o.atSec * 1000));
    const notes = await disrupt(server, port, join(dir, 'state'));
    await perf.exited;
    await Promise.race([perf.closed, new Promise((r) => setTimeout(r, 2000))]);
    const seen = probe.stop();
    return { stats: parseDnsperf(perf.output()), longestGapMs: seen.longestGapMs, notes };
  } finally {
    for (const pgid of groups.pgids()) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--name value` options of a bench script, with defaults. */
export function option(argv: readonly string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

/** One markdown row per run, and the totals. */
export function report(title: string, runs: { label: string; r: RunResult }[]): string {
  const lines = [`## ${title}`, '', '| run | qps | sent | completed | lost | lost % | longest pause of answers | notes |', '|---|---|---|---|---|---|---|---|'];
  for (const { label, r } of runs) {
    const s = r.stats;
    lines.push(`| ${label} | ${Math.round(s.qps)} | ${s.sent} | ${s.completed} | ${s.lost} | ${((100 * s.lost) / Math.max(1, s.sent)).toFixed(4)} | ${r.longestGapMs} ms | ${r.notes.join('; ')} |`);
  }
  return lines.join('\n') + '\n';
}
