/** The servers under test (shardns and its variants, NSD, Knot DNS, npm dns2, the kernel floor): configuration, start on a loopback port, readiness, versions. */

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { waitForAnswer } from './dns.js';
import { buildFloor, FLOOR_BINARY, FLOOR_MODES, floorVersion, isFloor } from './floor.js';
import type { ProcessGroups, Tracked } from './processes.js';
import { ROOT } from './root.js';
import { shardnsLabel } from './variants.js';

/** The repository root (from root.ts; other modules and the tests take it from here). */
export { ROOT };

/** The servers the benchmark knows: shardns, three DNS servers, and the kernel floor in four ways of doing I/O (bench/floor.ts). */
export const SERVER_KINDS = ['shardns', 'nsd', 'knot', 'dns2', 'floor-recvfrom', 'floor-mmsg', 'floor-block', 'floor-uring'] as const;
/** One of {@link SERVER_KINDS}. */
export type ServerKind = (typeof SERVER_KINDS)[number];
/** The peers (every server but shardns). */
export type PeerKind = Exclude<ServerKind, 'shardns'>;

/** Servers that run as one process only: measured at this many workers at most (dns2 has no multi-process mode). */
export const MAX_WORKERS: Partial<Record<ServerKind, number>> = { dns2: 1 };

/** A zone as the servers are given it. */
export interface ZoneUnderTest {
  /** With the trailing dot: `example.com.` */
  origin: string;
  /** Absolute path. */
  file: string;
}

/** A question whose right answer shows that a server serves the zone. */
export interface Probe {
  name: string;
  type: string;
  /** One answer's rdata as dns-packet prints it, e.g. `192.0.2.1`. */
  expect: string;
}

/** How to start one server. */
export interface ServerOptions {
  kind: ServerKind;
  workers: number;
  port: number;
  /** The zone to serve; null only for shardns (a forwarder serving no zone of its own). */
  zone: ZoneUnderTest | null;
  /** shardns only: flags added to `shardns serve` (a variant's, or the forwarding scenario's). */
  args?: readonly string[];
  /** shardns only: the variant's name, carried into the handle and the results. */
  variant?: string;
  /** A private folder for the server's config, pid file and databases. */
  dir: string;
  probe: Probe;
  /** How long to wait for the first correct answer. */
  timeoutMs: number;
}

/** A server that answers. */
export interface ServerHandle {
  kind: ServerKind;
  variant?: string;
  workers: number;
  port: number;
  process: Tracked;
  /** Milliseconds from spawn to the first correct answer to the probe. */
  readyMs: number;
}

/**
 * NSD's configuration: one zone, loopback only, `server-count` processes
 * sharing the port with SO_REUSEPORT (as shardns's workers do), response rate
 * limiting off (on by default: 200 answers/s per /24 would cap the benchmark),
 * no database file, no remote control.
 */
export function nsdConfig(o: { workers: number; port: number; zone: ZoneUnderTest; dir: string }): string {
  return [
    'server:',
    `  ip-address: 127.0.0.1@${o.port}`,
    `  port: ${o.port}`,
    '  do-ip6: no',
    `  server-count: ${o.workers}`,
    '  reuseport: yes',
    '  rrl-ratelimit: 0',
    '  username: ""',
    `  zonesdir: "${o.dir}"`,
    '  database: ""',
    `  pidfile: "${o.dir}/nsd.pid"`,
    `  xfrdfile: "${o.dir}/xfrd.state"`,
    `  zonelistfile: "${o.dir}/zone.list"`,
    '  verbosity: 0',
    'remote-control:',
    '  control-enable: no',
    'zone:',
    `  name: "${o.zone.origin}"`,
    `  zonefile: "${o.zone.file}"`,
    '',
  ].join('\n');
}

/**
 * Knot DNS's configuration: one zone read whole from the file and never
 * written back, no journal, loopback only, the same number of UDP, TCP and
 * background workers as the others get workers, its own run and storage
 * folders.
 */
export function knotConfig(o: { workers: number; port: number; zone: ZoneUnderTest; dir: string }): string {
  return [
    'server:',
    `  rundir: "${o.dir}"`,
    `  pidfile: "${o.dir}/knot.pid"`,
    `  listen: 127.0.0.1@${o.port}`,
    `  udp-workers: ${o.workers}`,
    `  tcp-workers: ${o.workers}`,
    `  background-workers: ${o.workers}`,
    'control:',
    `  listen: "${o.dir}/knot.sock"`,
    'database:',
    `  storage: "${o.dir}/db"`,
    'log:',
    '  - target: stderr',
    '    any: warning',
    'template:',
    '  - id: default',
    `    storage: "${o.dir}"`,
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    '    journal-content: none',
    'zone:',
    `  - domain: "${o.zone.origin}"`,
    `    file: "${o.zone.file}"`,
    '',
  ].join('\n');
}

/** The command line that starts a server in the foreground (the floor answers every query with the probe's address). */
export function serverCommand(o: Pick<ServerOptions, 'kind' | 'workers' | 'port' | 'zone' | 'dir' | 'args'> & Partial<Pick<ServerOptions, 'probe'>>): { command: string; args: string[]; config?: { path: string; text: string } } {
  if (isFloor(o.kind)) {
    if (o.probe === undefined) throw new Error(`${o.kind} needs the probe's address to answer with`);
    return { command: FLOOR_BINARY, args: [FLOOR_MODES[o.kind], String(o.port), String(o.workers), o.probe.expect] };
  }
  if (o.kind === 'shardns') {
    const zone = o.zone ? ['--zone', `${o.zone.origin}=${o.zone.file}`] : [];
    return {
      command: process.execPath,
      // A state directory of its own, per port (two servers must not share one: the second is refused); a variant's --state-dir wins.
      args: [join(ROOT, 'bin/shardns.js'), 'serve', '--workers', String(o.workers), '--port', String(o.port), '--listen', '127.0.0.1', ...zone, '--log-format', 'text', '--log-level', 'info', '--state-dir', join(o.dir, `state-${o.port}`), ...(o.args ?? [])],
    };
  }
  if (o.zone === null) throw new Error(`${o.kind} needs a zone to serve`);
  const z = { ...o, zone: o.zone };
  switch (o.kind) {
    case 'dns2':
      return { command: process.execPath, args: [join(ROOT, 'dist/bench/peers/dns2-server.js'), '--port', String(o.port), '--zone', `${o.zone.origin}=${o.zone.file}`] };
    case 'nsd': {
      const path = join(o.dir, 'nsd.conf');
      return { command: 'nsd', args: ['-d', '-c', path], config: { path, text: nsdConfig(z) } };
    }
    case 'knot': {
      const path = join(o.dir, 'knot.conf');
      return { command: 'knotd', args: ['-c', path], config: { path, text: knotConfig(z) } };
    }
  }
}

/** Starts a server and resolves once it answers the probe correctly; stops it and throws if it does not in time. */
export async function startServer(groups: ProcessGroups, o: ServerOptions): Promise<ServerHandle> {
  const cmd = serverCommand(o);
  if (cmd.config) writeFileSync(cmd.config.path, cmd.config.text);
  const t0 = performance.now();
  const tracked = groups.spawn(`${o.variant ? shardnsLabel(o.variant) : SERVER_LABEL[o.kind]} (${o.workers} worker${o.workers === 1 ? '' : 's'})`, cmd.command, cmd.args, { cwd: o.dir });
  // When the server dies first, stop asking: the probe's timers would otherwise keep the benchmark alive until the timeout.
  const gone = new AbortController();
  const died = tracked.exited.then(() => {
    gone.abort();
    return false;
  });
  const ok = await Promise.race([waitForAnswer(o.port, o.probe.name, o.probe.type, o.probe.expect, o.timeoutMs, 10, gone.signal), died]);
  const readyMs = performance.now() - t0;
  if (!ok) {
    const out = tracked.output().slice(-2000);
    await groups.stop(tracked, 1000);
    const why = tracked.proc.exitCode !== null || tracked.proc.signalCode !== null ? 'exited' : `gave no correct answer within ${o.timeoutMs / 1000} s`;
    throw new Error(`${o.kind} ${why} (probe ${o.probe.name} ${o.probe.type} → ${o.probe.expect}):\n${out}`);
  }
  return { kind: o.kind, ...(o.variant !== undefined ? { variant: o.variant } : {}), workers: o.workers, port: o.port, process: tracked, readyMs };
}

/** `nsd -v` prints the version; `knotd -v` means verbose (and starts the server), `-V` is its version. */
const versionFlag = (kind: 'nsd' | 'knot'): string => (kind === 'nsd' ? '-v' : '-V');

/** dns2's package.json (a dev dependency), or null when it is not installed. */
function dns2Package(): { version?: string } | null {
  try {
    return JSON.parse(readFileSync(createRequire(import.meta.url).resolve('dns2/package.json'), 'utf8')) as { version?: string };
  } catch {
    return null;
  }
}

/** Why a server cannot run here, with what to do, or null when it can. */
export function serverUnavailable(kind: ServerKind): string | null {
  if (kind === 'shardns') return null;
  if (kind === 'dns2') return dns2Package() === null ? 'the npm package dns2 is not installed — npm install (it is a dev dependency)' : null;
  if (isFloor(kind)) return buildFloor();
  const bin = kind === 'nsd' ? 'nsd' : 'knotd';
  const r = spawnSync(bin, [versionFlag(kind)], { encoding: 'utf8' });
  if (r.error) return `${bin} not installed — apt-get install ${kind}`;
  if (process.getuid?.() !== 0) return `${kind} is started as root here (its own temp config, pid and database files); run the benchmark as root`;
  return null;
}

/** The server's version, e.g. `4.6.1`. */
export function serverVersion(kind: ServerKind, shardnsVersion: string): string {
  if (kind === 'shardns') return shardnsVersion;
  if (kind === 'dns2') return dns2Package()?.version ?? 'unknown';
  if (isFloor(kind)) return floorVersion();
  const r = spawnSync(kind === 'nsd' ? 'nsd' : 'knotd', [versionFlag(kind)], { encoding: 'utf8' });
  return /version\s+(\S+)/i.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/** How the report names a server. */
export const SERVER_LABEL: Record<ServerKind, string> = {
  shardns: 'shardns',
  nsd: 'NSD',
  knot: 'Knot DNS',
  dns2: 'dns2',
  'floor-recvfrom': 'floor recvfrom',
  'floor-mmsg': 'floor recvmmsg',
  'floor-block': 'floor blocking recvmmsg',
  'floor-uring': 'floor io_uring',
};

/** How the report names a server run (a shardns variant by its name). */
export function runLabel(kind: ServerKind, variant?: string): string {
  return kind === 'shardns' ? shardnsLabel(variant) : SERVER_LABEL[kind];
}
