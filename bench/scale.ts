/**
 * Zone scale: for a generated zone, how long each server takes from start to
 * its first correct answer (and shardns until all its workers are ready), its
 * memory then (RSS and PSS summed over its processes), and the same again
 * after a restart on the unchanged zone and state.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeZone } from './gen-zone.js';
import { freePort } from './ports.js';
import { sampledGroupMemoryMB } from './procstat.js';
import type { ProcessGroups } from './processes.js';
import type { ScaleEntry, ScaleStart } from './result.js';
import { ROOT } from './root.js';
import { startServer, type Probe, type ServerHandle, type ServerKind } from './servers.js';

const A_LINE = /^(\S+)\s+(?:\d+\s+)?(?:IN\s+)?A\s+(\d+\.\d+\.\d+\.\d+)\s*$/;
const NS_LINE = /^(\S+)\s+(?:\d+\s+)?(?:IN\s+)?NS\s+\S+/;

/**
 * Finds, line by line, the question that shows a server has the whole zone:
 * the last address record of the file (not glue below a delegation, which
 * would get a referral; not a wildcard). Understands the generator's shape:
 * one record per line, owner names relative to `origin` or absolute. Keeps
 * every delegation it saw but only the last `keep` address records, so a
 * 10M-record zone can be scanned as it is written.
 */
export class LastAddressFinder {
  private readonly apex: string;
  private readonly cuts = new Set<string>();
  private candidates: Probe[] = [];

  constructor(
    origin: string,
    private readonly keep = 256,
  ) {
    this.apex = origin.replace(/\.$/, '').toLowerCase();
  }

  private abs(owner: string): string {
    return owner === '@' ? this.apex : owner.endsWith('.') ? owner.slice(0, -1) : `${owner}.${this.apex}`;
  }

  /** Takes the next line of the zone file. */
  line(l: string): void {
    const ns = NS_LINE.exec(l);
    if (ns && !ns[1]!.startsWith('$')) {
      const owner = this.abs(ns[1]!).toLowerCase();
      if (owner !== this.apex) this.cuts.add(owner);
      return;
    }
    const a = A_LINE.exec(l);
    if (!a || a[1]!.startsWith('$') || a[1]!.startsWith('*')) return;
    this.candidates.push({ name: this.abs(a[1]!), type: 'A', expect: a[2]! });
    if (this.candidates.length >= 2 * this.keep) this.candidates = this.candidates.slice(-this.keep);
  }

  private belowCut(name: string): boolean {
    let n = name.toLowerCase();
    while (n.includes('.') && n !== this.apex) {
      if (this.cuts.has(n)) return true;
      n = n.slice(n.indexOf('.') + 1);
    }
    return false;
  }

  /** The last address record seen that is not below a delegation, or null. */
  probe(): Probe | null {
    for (let i = this.candidates.length - 1; i >= 0; i--) if (!this.belowCut(this.candidates[i]!.name)) return this.candidates[i]!;
    return null;
  }
}

/** {@link LastAddressFinder} over a whole zone text (every address record kept). */
export function lastAddressProbe(text: string, origin: string): Probe | null {
  const f = new LastAddressFinder(origin, Infinity);
  for (const l of text.split('\n')) f.line(l);
  return f.probe();
}

/** Whether a `--help` text lists `flag` as an option (a line starting with it, as yargs prints them). */
export function helpListsFlag(help: string, flag: string): boolean {
  return new RegExp(`^\\s+${flag.replace(/[-]/g, '\\-')}(?![\\w-])`, 'm').test(help);
}

let stateDirFlag: boolean | undefined;
/** Whether this shardns takes `--state-dir DIR` (where it keeps compiled zone images), from `shardns --help`; asked once. */
export function shardnsTakesStateDir(): boolean {
  if (stateDirFlag === undefined) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/shardns.js'), '--help'], { encoding: 'utf8', timeout: 30_000 });
    stateDirFlag = helpListsFlag(`${r.stdout ?? ''}${r.stderr ?? ''}`, '--state-dir');
  }
  return stateDirFlag;
}

/**
 * How long after "all ready" the memory is read. NSD's second server process
 * is still touching its pages at the first answer (its RSS sum grows from
 * ~490 to ~700 MB at 1M records within 500 ms, then stays); a second later
 * every server measured here has settled.
 */
export const SETTLE_MS = 1000;

/**
 * After SETTLE_MS, memory is read this many times, MEMORY_GAP_MS apart, and
 * each figure is the median: single readings of the same start differed by
 * a few MB (a worker's young generation or malloc arena caught before or
 * after the kernel took pages back), as much as a worker's whole share.
 */
export const MEMORY_SAMPLES = 5;
export const MEMORY_GAP_MS = 200;

/** The supervisor's line once every worker has reported ready. */
const ALL_READY = /listening on .* with \d+ workers?/;
/**
 * The supervisor's line when it kills a worker that stopped answering
 * heartbeats (a long load blocks the event loop): `worker 1 (pid 42) has not
 * answered for 5.1s; killing it`.
 */
const HEARTBEAT_KILL = /has not answered for [\d.]+s; killing it/g;

/** Workers the supervisor killed for missed heartbeats, from its log. */
export function heartbeatKills(log: string): number {
  return log.match(HEARTBEAT_KILL)?.length ?? 0;
}

/**
 * A start failure with shardns's own reason (its `cannot start: …` log line)
 * moved up to the first line, which the report shows; the rest stays below.
 */
export function withReason(message: string): string {
  const nl = message.indexOf('\n');
  if (nl < 0) return message;
  const reason = /cannot start: (.+?)(?: — run with .*)?$/m.exec(message)?.[1];
  return reason === undefined ? message : `${message.slice(0, nl).replace(/:$/, '')}: ${reason}${message.slice(nl)}`;
}

/** What the zone-scale step needs. */
export interface ScaleOptions {
  sizes: number[];
  servers: ServerKind[];
  /** Worker counts; every size is measured at each. */
  workers: number[];
  /** A temp folder of this run. */
  dir: string;
  origin: string;
  /** Longest wait for one server to answer (and, for shardns, for all its workers to be ready). */
  timeoutMs: number;
  log: (line: string) => void;
}

/** What one start of one server needs. */
interface StartSpec {
  kind: ServerKind;
  workers: number;
  port: number;
  file: string;
  /** The server's own folder (config, pid file, databases; shardns's state directory inside it). */
  dir: string;
  args: string[];
  probe: Probe;
}

/** Starts the server, waits for its first correct answer and (shardns) all workers, then {@link SETTLE_MS}, reads its memory; leaves it running. */
async function startOnce(groups: ProcessGroups, s: StartSpec, o: ScaleOptions): Promise<{ start: ScaleStart; server: ServerHandle | null }> {
  const t0 = performance.now();
  let server: ServerHandle;
  try {
    server = await startServer(groups, { kind: s.kind, workers: s.workers, port: s.port, zone: { origin: o.origin, file: s.file }, dir: s.dir, probe: s.probe, timeoutMs: o.timeoutMs, args: s.args });
  } catch (err) {
    // The error ends with the server's last output: count the kills there, and put its reason on the first line.
    const message = (err as Error).message;
    const kills = heartbeatKills(message);
    return { start: { ok: false, error: withReason(message), ...(kills > 0 ? { heartbeatKills: kills } : {}) }, server: null };
  }
  const start: ScaleStart = { ok: true, firstAnswerSec: server.readyMs / 1000 };
  if (s.kind === 'shardns') {
    const left = Math.max(1000, o.timeoutMs - (performance.now() - t0));
    try {
      await server.process.waitFor(ALL_READY, left, 0);
      start.allReadySec = Math.max(start.firstAnswerSec!, (performance.now() - t0) / 1000);
    } catch (err) {
      start.ok = false;
      start.error = `answered after ${start.firstAnswerSec!.toFixed(2)} s, but not every worker was ready: ${(err as Error).message.split('\n')[0]}`;
    }
    const kills = heartbeatKills(server.process.output());
    if (kills > 0) start.heartbeatKills = kills;
  } else start.allReadySec = start.firstAnswerSec;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const mem = await sampledGroupMemoryMB(server.process.pgid, MEMORY_SAMPLES, MEMORY_GAP_MS);
  Object.assign(start, {
    rssMB: mem.rssMB,
    peakRssMB: mem.peakMB,
    pssMB: mem.pssMB,
    ...(mem.pssAnonMB !== undefined ? { pssAnonMB: mem.pssAnonMB } : {}),
    ...(mem.pssFileMB !== undefined ? { pssFileMB: mem.pssFileMB } : {}),
    ...(mem.pssShmemMB !== undefined ? { pssShmemMB: mem.pssShmemMB } : {}),
    ...(mem.privateMB !== undefined ? { privateMB: mem.privateMB } : {}),
    ...(mem.pssFromRss !== undefined ? { pssFromRss: mem.pssFromRss } : {}),
  });
  return { start, server };
}

/** One line for the log. */
function describe(start: ScaleStart): string {
  if (!start.ok && start.firstAnswerSec === undefined) {
    const kills = start.heartbeatKills ? ` (${start.heartbeatKills} worker(s) killed for missed heartbeats)` : '';
    return `${start.error?.split('\n')[0] ?? 'failed'}${kills}`;
  }
  const ready = start.allReadySec !== undefined && start.allReadySec !== start.firstAnswerSec ? `, all workers ready after ${start.allReadySec.toFixed(2)} s` : '';
  const kills = start.heartbeatKills ? `, ${start.heartbeatKills} worker(s) killed for missed heartbeats` : '';
  const priv = start.privateMB !== undefined ? `, private ${start.privateMB.toFixed(0)} MB` : '';
  const mem = start.pssMB !== undefined ? `, RSS ${start.rssMB!.toFixed(0)} MB, PSS ${start.pssMB.toFixed(0)} MB${priv} (peak RSS ${start.peakRssMB!.toFixed(0)} MB)` : '';
  return `first correct answer after ${start.firstAnswerSec!.toFixed(2)} s${ready}${kills}${mem}${start.ok ? '' : ` — ${start.error?.split('\n')[0]}`}`;
}

/**
 * For each size: generate the zone (bench/gen-zone.ts, streamed to disk);
 * for each worker count and server in turn: start it, time the first correct
 * answer to the zone's last address record (and shardns's "all workers
 * ready"), read its memory, stop it; then start it again on the same zone
 * file, folder and (shardns, when it takes `--state-dir`) state directory,
 * time and read it again, stop it.
 */
export async function measureScale(groups: ProcessGroups, o: ScaleOptions): Promise<ScaleEntry[]> {
  const out: ScaleEntry[] = [];
  const stateDir = o.servers.includes('shardns') && shardnsTakesStateDir();
  for (const records of o.sizes) {
    const file = join(o.dir, `scale-${records}.zone`);
    const finder = new LastAddressFinder(o.origin);
    const t0 = performance.now();
    const zoneMB = (await writeZone(file, records, o.origin, (l) => finder.line(l))) / 1048576;
    o.log(`scale ${records} records: wrote ${zoneMB.toFixed(1)} MB of zone in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const probe = finder.probe();
    for (const workers of o.workers) {
      for (const kind of o.servers) {
        const entry: ScaleEntry = { records, server: kind, workers, zoneMB, ok: false };
        if (probe === null) {
          entry.error = 'the generated zone has no address record to ask for';
          out.push(entry);
          continue;
        }
        const dir = join(o.dir, `scale-${kind}-${records}-${workers}`);
        mkdirSync(dir, { recursive: true });
        const args: string[] = [];
        if (kind === 'shardns' && stateDir) {
          args.push('--state-dir', join(dir, 'state'));
          entry.stateDir = true;
        }
        const spec: StartSpec = { kind, workers, port: await freePort(), file, dir, args, probe };
        const first = await startOnce(groups, spec, o);
        Object.assign(entry, first.start);
        o.log(`scale ${records} records, ${kind} ×${workers}: ${describe(first.start)}`);
        if (first.server !== null) await groups.stop(first.server.process);
        if (first.server !== null && first.start.ok) {
          const again = await startOnce(groups, spec, o);
          entry.restart = again.start;
          o.log(`scale ${records} records, ${kind} ×${workers}, restarted on the same zone${entry.stateDir ? ' and state directory' : ''}: ${describe(again.start)}`);
          if (again.server !== null) await groups.stop(again.server.process);
        }
        out.push(entry);
      }
    }
    rmSync(file, { force: true });
  }
  return out;
}
