/** Worker lifecycle: fork, readiness, heartbeats, restart with backoff, signals, drain. */

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.js';
import { ShardnsError } from './errors.js';
import { isFromWorker, type FromWorker, type ReloadOutcome, type ToWorker, type WorkerCounters } from './ipc.js';
import type { Logger } from './log.js';
import { formatEndpoint } from './net/reuseport.js';
import type { ZoneFiles } from './zones.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../workers/dns-worker.js', import.meta.url));

/** First restart delay; doubles per consecutive failure up to RESTART_MAX_MS. */
const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that served this long is healthy again: its backoff starts over. */
const HEALTHY_AFTER_MS = 10_000;

/** One worker slot: the id stays, the process behind it may be replaced. */
interface Slot {
  id: number;
  child: ChildProcess | null;
  pid: number;
  readyAt: number | null;
  lastPong: number;
  failures: number;
  /** Why the supervisor itself killed this process, if it did. */
  killedFor: string | null;
  /** The error the worker reported before exiting, if any. */
  fatal: ShardnsError | null;
  restartTimer: NodeJS.Timeout | null;
}

type Phase = 'starting' | 'running' | 'stopping';

/** Per-worker counters as reported over IPC. */
export interface WorkerStats {
  id: number;
  pid: number;
  counters: WorkerCounters;
}

/**
 * Runs the workers. `start()` resolves once every worker reported ready and
 * rejects with the first worker's error if any cannot start; afterwards
 * crashed or unresponsive workers are replaced, and `stop()` drains them.
 */
export class Supervisor {
  private readonly slots: Slot[];
  private phase: Phase = 'starting';
  private heartbeat: NodeJS.Timeout | null = null;
  private seq = 0;
  private readonly statsWaiters = new Map<number, (s: WorkerStats) => void>();
  private readonly reloadWaiters = new Map<number, (o: ReloadOutcome) => void>();
  private startDone: { resolve: () => void; reject: (e: ShardnsError) => void } | null = null;
  /**
   * The octets of the zone files as the workers last loaded them (from worker
   * 0 at start, from one worker after each good reload). A worker started in
   * place of one that died loads these, not the files: it serves what the
   * others serve even when the files have been edited, or broken, since (as
   * NSD's restarted server processes keep the zones in memory).
   */
  private zoneFiles: ZoneFiles | null = null;
  private stopDone: (() => void) | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.slots = Array.from({ length: config.workers }, (_, id) => ({
      id,
      child: null,
      pid: 0,
      readyAt: null,
      lastPong: 0,
      failures: 0,
      killedFor: null,
      fatal: null,
      restartTimer: null,
    }));
  }

  /** Forks every worker and waits until all are ready (or one fails). */
  start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => {
      this.startDone = { resolve, reject };
    });
    for (const slot of this.slots) this.spawn(slot);
    const periodMs = Math.min(1000, (this.config.workerTimeout * 1000) / 4);
    this.heartbeat = setInterval(() => this.beat(), periodMs);
    return started;
  }

  /** `listening on 127.0.0.1:53, [::1]:53 (udp, tcp) with 4 workers` */
  describeListening(): string {
    const where = this.config.listen.map((a) => formatEndpoint(a, this.config.port)).join(', ');
    const n = this.config.workers;
    return `listening on ${where} (udp, tcp) with ${n} worker${n === 1 ? '' : 's'}`;
  }

  /** Asks every running worker for its counters (those that do not answer within 1 s are left out). */
  async stats(): Promise<WorkerStats[]> {
    const asks = this.slots
      .filter((s) => s.child && s.readyAt !== null)
      .map(
        (slot) =>
          new Promise<WorkerStats | null>((resolve) => {
            const seq = ++this.seq;
            const timer = setTimeout(() => {
              this.statsWaiters.delete(seq);
              resolve(null);
            }, 1000);
            this.statsWaiters.set(seq, (s) => {
              clearTimeout(timer);
              resolve(s);
            });
            this.send(slot, { type: 'stats', seq });
          }),
      );
    return (await Promise.all(asks)).filter((s): s is WorkerStats => s !== null);
  }

  /**
   * Asks every running worker to read the zones again. Each swaps in the new
   * zones only if all of them load; otherwise it keeps serving the old ones.
   * Resolves with each worker's outcome (a worker silent for `timeoutMs` is left out).
   */
  async reload(timeoutMs = 120_000): Promise<{ id: number; outcome: ReloadOutcome }[]> {
    const first = this.seq + 1;
    const asks = this.slots
      .filter((s) => s.child && s.readyAt !== null)
      .map(
        (slot) =>
          new Promise<{ id: number; outcome: ReloadOutcome } | null>((resolve) => {
            const seq = ++this.seq;
            const timer = setTimeout(() => {
              this.reloadWaiters.delete(seq);
              resolve(null);
            }, timeoutMs);
            this.reloadWaiters.set(seq, (outcome) => {
              clearTimeout(timer);
              resolve({ id: slot.id, outcome });
            });
            // One worker sends back the octets it loaded: they become the replacement workers' zones.
            this.send(slot, { type: 'reload', seq, wantFiles: seq === first });
          }),
      );
    return (await Promise.all(asks)).filter((r): r is { id: number; outcome: ReloadOutcome } => r !== null);
  }

  /** Planned shutdown: workers stop reading, finish, exit; stragglers are killed after the timeout. */
  stop(): Promise<void> {
    if (this.phase === 'stopping') return Promise.resolve();
    this.phase = 'stopping';
    if (this.heartbeat) clearInterval(this.heartbeat);
    const done = new Promise<void>((resolve) => {
      this.stopDone = resolve;
    });
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      this.send(slot, { type: 'stop' });
    }
    const timer = setTimeout(() => {
      for (const slot of this.slots) {
        if (!slot.child) continue;
        this.log.warn(`worker ${slot.id} (pid ${slot.pid}) did not finish within ${this.config.shutdownTimeout}s; killing it`);
        slot.child.kill('SIGKILL');
      }
    }, this.config.shutdownTimeout * 1000);
    this.checkStopped();
    return done.finally(() => clearTimeout(timer));
  }

  /** Kills every worker at once (second Ctrl-C, or a failed start). */
  killAll(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.child?.kill('SIGKILL');
    }
  }

  private spawn(slot: Slot): void {
    slot.restartTimer = null;
    slot.readyAt = null;
    slot.killedFor = null;
    slot.fatal = null;
    slot.lastPong = Date.now();
    const child = fork(WORKER_SCRIPT, [String(slot.id)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
      // Structured clone: zone octets travel as bytes, not as JSON arrays of numbers.
      serialization: 'advanced',
    });
    slot.child = child;
    slot.pid = child.pid ?? 0;
    child.on('message', (m) => {
      if (isFromWorker(m)) this.onMessage(slot, m);
    });
    child.on('exit', (code, signal) => this.onExit(slot, child, code, signal));
    child.on('error', (err) => this.log.error(`worker ${slot.id} (pid ${slot.pid}): ${err.message}`));
    // At start every worker reads the files and worker 0 sends back what it read; a replacement loads that.
    const replacing = this.phase !== 'starting' && this.zoneFiles !== null;
    this.send(slot, { type: 'start', id: slot.id, config: this.config, ...(replacing ? { zoneFiles: this.zoneFiles! } : { wantFiles: slot.id === 0 }) });
  }

  private send(slot: Slot, msg: ToWorker): void {
    const child = slot.child;
    if (child?.connected) child.send(msg, (err) => err && this.log.debug(`IPC to worker ${slot.id} failed: ${err.message}`));
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case 'pong':
        slot.lastPong = Date.now();
        break;
      case 'ready':
        if (m.zoneFiles) this.zoneFiles = m.zoneFiles;
        slot.readyAt = Date.now();
        slot.lastPong = Date.now();
        if (this.phase === 'starting') {
          this.log.debug(`worker ${slot.id} (pid ${m.pid}) ready`);
          if (this.slots.every((s) => s.readyAt !== null)) {
            this.phase = 'running';
            this.startDone?.resolve();
          }
        } else {
          this.log.info(`worker ${slot.id} (pid ${m.pid}) ready again`);
        }
        break;
      case 'fatal':
        slot.fatal = ShardnsError.fromJSON(m.error);
        if (this.phase === 'starting') this.startDone?.reject(slot.fatal);
        else if (this.phase === 'running') this.log.error(`worker ${slot.id} (pid ${slot.pid}) cannot serve: ${slot.fatal.describe()}`);
        break;
      case 'stats':
        this.statsWaiters.get(m.seq)?.({ id: m.id, pid: m.pid, counters: m.counters });
        this.statsWaiters.delete(m.seq);
        break;
      case 'reloaded':
        // A reload of big zones blocks the worker; its heartbeat clock restarts now.
        slot.lastPong = Date.now();
        if (m.outcome.ok && m.zoneFiles) this.zoneFiles = m.zoneFiles;
        this.reloadWaiters.get(m.seq)?.(m.outcome);
        this.reloadWaiters.delete(m.seq);
        break;
    }
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.child = null;
    const how = signal ?? `exit code ${code}`;
    if (this.phase === 'stopping') {
      this.log.debug(`worker ${slot.id} (pid ${slot.pid}) stopped (${how})`);
      this.checkStopped();
      return;
    }
    if (this.phase === 'starting') {
      this.startDone?.reject(
        slot.fatal ?? new ShardnsError('E_WORKER_START', `worker ${slot.id} (pid ${slot.pid}) exited while starting (${how})`, 'run with --log-level debug to see what it did'),
      );
      return;
    }
    if (slot.readyAt !== null && Date.now() - slot.readyAt >= HEALTHY_AFTER_MS) slot.failures = 0;
    slot.failures++;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slot.failures - 1));
    const why = slot.killedFor ?? (slot.fatal ? `could not serve: ${slot.fatal.message}` : `exited unexpectedly (${how})`);
    this.log.warn(`worker ${slot.id} (pid ${slot.pid}) ${why}; restarting in ${delay} ms`);
    slot.restartTimer = setTimeout(() => this.spawn(slot), delay);
  }

  /** Sends heartbeats; kills a worker that stopped answering (the kernel keeps hashing queries to its socket). */
  private beat(): void {
    const now = Date.now();
    const timeoutMs = this.config.workerTimeout * 1000;
    for (const slot of this.slots) {
      if (!slot.child || slot.killedFor) continue;
      if (now - slot.lastPong > timeoutMs) {
        const silent = ((now - slot.lastPong) / 1000).toFixed(1);
        slot.killedFor = `missed heartbeats for ${silent}s and was killed (SIGKILL)`;
        this.log.warn(`worker ${slot.id} (pid ${slot.pid}) has not answered for ${silent}s; killing it`);
        slot.child.kill('SIGKILL');
        continue;
      }
      this.send(slot, { type: 'ping', seq: ++this.seq });
    }
  }

  private checkStopped(): void {
    if (this.phase === 'stopping' && this.slots.every((s) => s.child === null)) this.stopDone?.();
  }
}
