/** Starts the real shardns program on a free high port and watches its output. */

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/helpers). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The command entry people run. */
export const BIN = `${ROOT}bin/shardns.js`;

/** A running (or exited) shardns process. */
export interface RunningServer {
  proc: ChildProcess;
  port: number;
  /** Everything written to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** stdout and stderr as they came, interleaved: what mark()'s positions index. */
  output(): string;
  /** A position in the combined output (output()), for waitFor's `since` and output().slice. */
  mark(): number;
  /** Resolves when the combined output after `since` matches, rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number, since?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL the supervisor and every process still in its tree (test clean-up). */
  kill(): void;
}

/** Is this port free for UDP and TCP on 127.0.0.1 and ::1? */
/**
 * Whether the kernel has any TCP socket on local port `port` (any state,
 * TIME_WAIT included), from /proc/net/tcp and tcp6. A listen through
 * node:net sets SO_REUSEADDR and so succeeds beside a TIME_WAIT, but
 * shardns binds without it (its hijack guard clears it) and fails: a port
 * an earlier test's server closed connections on is not free for a minute.
 */
export function tcpPortInUse(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    // Each line after the header: sl local_address rem_address st …; the local port ends the second field.
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local !== undefined && local.endsWith(hex)) return true;
    }
  }
  return false;
}

/** Ports freePort has handed out in this process: never handed out again (a server that used one may leave TIME_WAITs behind). */
const issued = new Set<number>();

/** Whether `port` is free on loopback for UDP and TCP (no TCP socket of any state on it either). */
export async function portFree(port: number): Promise<boolean> {
  if (tcpPortInUse(port)) return false;
  const tryUdp = (host: string): Promise<boolean> =>
    new Promise((resolve) => {
      const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', () => resolve(false));
      s.bind(port, host, () => s.close(() => resolve(true)));
    });
  const tryTcp = (host: string): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, host, () => s.close(() => resolve(true)));
    });
  for (const host of ['127.0.0.1', '::1']) {
    if (!(await tryUdp(host)) || !(await tryTcp(host))) return false;
  }
  return true;
}

/**
 * The ports a test server may take: from 20000 up to the kernel's ephemeral
 * range (ip_local_port_range), whose ports the kernel hands to every
 * client socket (dig, our upstream queries and transfers, peers): a port
 * checked free there can be taken by a client before the server binds it
 * (CI saw EADDRINUSE).
 */
function testPorts(): { low: number; count: number } {
  let ephemeral = 32768;
  try {
    ephemeral = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeral;
  } catch {
    /* not Linux's /proc: the usual range */
  }
  const high = ephemeral > 21000 ? ephemeral : 60000;
  return { low: 20000, count: high - 20000 };
}

/** A port free on loopback for UDP and TCP, below the ephemeral range (testPorts). */
export async function freePort(): Promise<number> {
  const { low, count } = testPorts();
  for (let i = 0; i < 50; i++) {
    const port = low + Math.floor(Math.random() * count);
    if (issued.has(port)) continue;
    if (await portFree(port)) {
      issued.add(port);
      return port;
    }
  }
  throw new Error('no free port found');
}

/**
 * Spawns `node bin/shardns.js ARGS` (or another install's `bin`; port added unless given) and returns at
 * once. Unless ARGS name a `--state-dir`, the server gets a temporary one of
 * its own (removed when it exits): servers must not share one.
 */
export function spawnServer(args: string[], port: number, options: SpawnOptions = {}, bin: string = BIN): RunningServer {
  if (options.uid === undefined && process.getuid?.() === 0) shareWithServerUser(args);
  const ownState = !args.includes('--state-dir') && !args.some((a) => a.startsWith('--state-dir='));
  const stateDir = ownState ? mkdtempSync(join(tmpdir(), 'shardns-state-')) : null;
  // A server run as another user gets a folder that user may write.
  if (stateDir && options.uid !== undefined) chownSync(stateDir, options.uid, options.gid ?? options.uid);
  const proc = spawn(process.execPath, [bin, ...args, '--port', String(port), ...(stateDir ? ['--state-dir', stateDir] : [])], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (stateDir) proc.on('exit', () => rmSync(stateDir, { recursive: true, force: true }));
  let out = '';
  let err = '';
  let both = '';
  const listeners = new Set<() => void>();
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    both += d.toString();
    for (const l of listeners) l();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    both += d.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const l of listeners) l();
    });
  });
  return {
    proc,
    port,
    stdout: () => out,
    stderr: () => err,
    output: () => both,
    exited,
    mark: () => both.length,
    waitFor(pattern, timeoutMs = 10_000, since = 0) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = both.slice(since).match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            cleanup();
            reject(new Error(`shardns exited before printing ${pattern}:\n${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}:\n${out}\n${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    kill() {
      const pids = [...childPids(proc.pid ?? -1), proc.pid ?? -1].filter((p) => p > 0);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
  };
}

/**
 * Started as root, the server drops to an unprivileged user (nobody here)
 * before it reads a zone: the zone files and config files a test wrote in a
 * temporary folder (mkdtemp makes them 0700) must be readable to that user.
 * Opens those folders (o+rx, up to the temporary directory) and their files
 * (o+r) to everyone, as an operator would for the server's user.
 */
function shareWithServerUser(args: readonly string[]): void {
  const tmp = tmpdir();
  const files: string[] = [];
  args.forEach((a, i) => {
    const next = args[i + 1];
    if (a === '--config' && next !== undefined) files.push(next);
    if (a === '--zone' && next?.includes('=')) files.push(next.slice(next.indexOf('=') + 1));
  });
  for (const file of files.map((f) => resolvePath(f))) {
    if (!file.startsWith(`${tmp}/`)) continue;
    const folder = dirname(file);
    try {
      for (const name of readdirSync(folder)) {
        const path = join(folder, name);
        const st = statSync(path);
        if (st.isFile()) chmodSync(path, st.mode | 0o004);
      }
      for (let d = folder; d.startsWith(`${tmp}/`); d = dirname(d)) chmodSync(d, statSync(d).mode | 0o005);
    } catch {
      /* the server says what it cannot read */
    }
  }
}

/** Starts shardns (on `port`, or a free one) and waits for its "listening on" line. */
export async function startServer(args: string[], options: SpawnOptions = {}, port?: number): Promise<RunningServer> {
  port ??= await freePort();
  const server = spawnServer(args, port, options);
  await server.waitFor(/listening on .* with \d+ workers?/);
  return server;
}

/** Direct children of a pid, from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The worker processes among a server's children (a worker's title is
 * `shardns worker N` once it runs, its script dns-worker.js before): not a
 * zone builder, which may still be syncing its image and exiting for a
 * moment after its answer, when the workers already serve.
 */
export function workerPids(pid: number): number[] {
  return childPids(pid).filter((c) => {
    try {
      return /dns-worker|shardns worker/.test(readFileSync(`/proc/${c}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/** Is a process alive (and not a zombie)? */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Polls until fn() is true or the time is up. */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return fn();
}
