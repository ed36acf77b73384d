/** Every process the benchmark starts: each in its own process group, stopped by group, even on Ctrl-C. */

import { spawn, type ChildProcess } from 'node:child_process';
import { groupPids } from './procstat.js';

/** Output kept per process (the tail); dnsperf can print a line per lost query. */
const KEEP_CHARS = 4 << 20;

/** A started process and its output. */
export interface Tracked {
  name: string;
  proc: ChildProcess;
  /** The process group (the child's pid: it is spawned as a session leader). */
  pgid: number;
  /** stdout and stderr, interleaved as they arrived (the last few MB). */
  output(): string;
  /** A position in the output, for waitFor's `since` and outputSince. */
  mark(): number;
  /** What was printed after a mark (as much of it as is kept). */
  outputSince(mark: number): string;
  /** Resolves when the output after `since` matches; rejects on timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs: number, since?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the process exited and its output pipes closed (everything it printed is in output()). */
  closed: Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends a signal to a whole process group; a group already gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* ESRCH: nothing left in the group */
  }
}

/** Starts processes in their own groups and stops every one of them. */
export class ProcessGroups {
  private readonly live = new Map<number, Tracked>();
  private handlersInstalled = false;
  private readonly onExitHooks: (() => void)[] = [];

  /** Process groups not yet stopped. */
  pgids(): number[] {
    return [...this.live.keys()];
  }

  /**
   * Starts `command` as the leader of a new session and process group
   * (`detached`), so a terminal's Ctrl-C reaches only us and we decide how
   * the group ends, and so the group can be killed with everything it forked.
   */
  spawn(name: string, command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Tracked {
    const proc = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    // A failed spawn (ENOENT…) also emits 'error' later; without a listener that would crash the benchmark.
    proc.on('error', () => undefined);
    if (proc.pid === undefined) {
      // spawn failed (ENOENT…): the error event tells why; make it a thrown error.
      throw new Error(`cannot start ${command}: not found or not executable`);
    }
    let out = '';
    let base = 0;
    const listeners = new Set<() => void>();
    const take = (d: Buffer): void => {
      out += d.toString();
      if (out.length > KEEP_CHARS) {
        const cut = out.length - KEEP_CHARS / 2;
        out = out.slice(cut);
        base += cut;
      }
      for (const l of listeners) l();
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.on('exit', (code, signal) => {
        resolve({ code, signal });
        for (const l of listeners) l();
      });
    });
    const closed = new Promise<void>((resolve) => proc.on('close', () => resolve()));
    const pgid = proc.pid;
    const t: Tracked = {
      name,
      proc,
      pgid,
      exited,
      closed,
      output: () => out,
      mark: () => base + out.length,
      outputSince: (mark) => out.slice(Math.max(0, mark - base)),
      waitFor(pattern, timeoutMs, since = 0) {
        return new Promise((resolve, reject) => {
          const check = (): void => {
            const m = out.slice(Math.max(0, since - base)).match(pattern);
            if (m) {
              done();
              resolve(m);
            } else if (proc.exitCode !== null || proc.signalCode !== null) {
              done();
              reject(new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before printing ${pattern}:\n${out.slice(-2000)}`));
            }
          };
          const timer = setTimeout(() => {
            done();
            reject(new Error(`${name}: timed out after ${timeoutMs} ms waiting for ${pattern}:\n${out.slice(-2000)}`));
          }, timeoutMs);
          const done = (): void => {
            clearTimeout(timer);
            listeners.delete(check);
          };
          listeners.add(check);
          check();
        });
      },
    };
    this.live.set(pgid, t);
    return t;
  }

  /**
   * Stops a group: SIGTERM to every process in it, then SIGKILL to whatever is
   * left after `graceMs`; resolves once no process of the group is alive.
   */
  async stop(t: Tracked, graceMs = 3000): Promise<void> {
    killGroup(t.pgid, 'SIGTERM');
    const end = Date.now() + graceMs;
    while (Date.now() < end && groupPids(t.pgid).length > 0) await sleep(25);
    if (groupPids(t.pgid).length > 0) {
      killGroup(t.pgid, 'SIGKILL');
      const hard = Date.now() + 5000;
      while (Date.now() < hard && groupPids(t.pgid).length > 0) await sleep(25);
    }
    // Reap the leader so it does not linger as a zombie of ours.
    if (t.proc.exitCode === null && t.proc.signalCode === null) await Promise.race([t.exited, sleep(1000)]);
    this.live.delete(t.pgid);
  }

  /** Stops every group still running (in parallel). */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.live.values()].map((t) => this.stop(t, graceMs)));
  }

  /** Kills every group at once, synchronously: for signal handlers and process exit. */
  killAllSync(): void {
    for (const pgid of this.live.keys()) killGroup(pgid, 'SIGKILL');
    this.live.clear();
  }

  /** Runs `hook` (synchronously) when the benchmark exits or is interrupted, after the processes are killed. */
  onExit(hook: () => void): void {
    this.onExitHooks.push(hook);
  }

  /**
   * On SIGINT, SIGTERM or SIGHUP: kill every group, run the exit hooks (temp
   * folders), say so, exit 130/143/129. On any other exit the groups are
   * killed too.
   */
  installSignalHandlers(log: (line: string) => void = (l) => process.stderr.write(l + '\n')): void {
    if (this.handlersInstalled) return;
    this.handlersInstalled = true;
    const finish = (): void => {
      this.killAllSync();
      for (const h of this.onExitHooks.splice(0)) {
        try {
          h();
        } catch {
          /* best effort while exiting */
        }
      }
    };
    const codes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    for (const [signal, code] of Object.entries(codes) as [NodeJS.Signals, number][]) {
      process.on(signal, () => {
        log(`bench: ${signal}: stopping every process it started`);
        finish();
        process.exit(code);
      });
    }
    process.on('exit', finish);
  }
}
