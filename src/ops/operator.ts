/** What an operator can ask of a running server — status, reload (all zones or one), stats, upgrade, stop — one implementation behind both the signals and the control socket, one reload and one upgrade at a time. */

import type { Config } from '../config.js';
import { ShardnsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SupervisorStatus, ReloadReport, Supervisor, WorkerStats } from '../supervisor.js';
import { VERSION } from '../version.js';
import { nameKey, parseZoneName, NameError } from '../zone/names.js';
import { ControlServer, removeControlSocket, type ControlHandler, type ControlReply, type ControlRequest } from './control.js';
import type { SlotSockets } from './listeners.js';
import { startSuccessor, type Successor, type UpgradeOutcome } from './upgrade.js';

/** How long a new supervisor has to serve before the upgrade is given up (a big zone is built first). */
export const UPGRADE_TIMEOUT_MS = 120_000;

/** `shardns ctl status`: the server, its workers, its zones. */
export interface StatusResult extends SupervisorStatus {
  pid: number;
  version: string;
  node: string;
  uptimeS: number;
  /** `nobody (uid 65534, gid 65534 nogroup)`. */
  user: string;
  listening: string;
  stateDir: string;
  control: string;
}

/** `shardns ctl stats`: each worker's counters, their sums, and the supervisor's own. */
export interface StatsResult {
  workers: WorkerStats[];
  /** Every numeric counter summed over the workers (`rcodes.NOERROR`, `replyCache.hits`, …). */
  totals: Record<string, number>;
  supervisor: { restarts: number; reloads: { ok: number; failed: number }; upgrades: { ok: number; failed: number } };
}

/** `shardns ctl reload`: what was reloaded, or (an error reply) why the old zones still serve. */
export interface ReloadResult {
  zones: { origin: string; serial: number; records: number; reused: boolean }[];
  workers: number;
  buildMs: number;
  mapMs: number;
  warnings: string[];
}

/** `shardns ctl upgrade`: the new supervisor serves. */
export interface UpgradeResult {
  pid: number;
  version: string;
  ms: number;
}

/** What the operator is built from. */
export interface OperatorOptions {
  supervisor: Supervisor;
  config: Config;
  log: Logger;
  /** Who the server runs as, for status. */
  user: string;
  /** The listening sockets (passed on in an upgrade). */
  listeners: readonly SlotSockets[];
  /** The control socket: its descriptor (passed on in an upgrade) and path. */
  control: { fd: number; path: string };
  /** A new supervisor still waiting for its predecessor to go: no upgrade until then. */
  predecessorGone?: Promise<void>;
}

/**
 * The running server's operations. `done` resolves with the exit code when
 * the server has stopped: drained after `stop()` (0), killed after a second
 * stop (1), or handed over to a new supervisor after an upgrade (0).
 */
export class Operator implements ControlHandler {
  readonly done: Promise<number>;
  private finish: (code: number) => void = () => undefined;
  private readonly startedAt = Date.now();
  private control: ControlServer | null = null;
  private stopping = false;
  private reloading = false;
  private upgrading = false;
  /** The new supervisor of an upgrade under way, until it serves or fails. */
  private successor: Successor | null = null;
  private predecessorAlive: boolean;
  private readonly counts = { reloads: { ok: 0, failed: 0 }, upgrades: { ok: 0, failed: 0 } };

  constructor(private readonly o: OperatorOptions) {
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
    this.predecessorAlive = o.predecessorGone !== undefined;
    void o.predecessorGone?.then(() => {
      this.predecessorAlive = false;
    });
  }

  /** Starts answering `shardns ctl` on the control socket. */
  async serveControl(): Promise<void> {
    this.control = await ControlServer.serve(this.o.control.fd, this, this.o.log);
  }

  /** One control request → its reply. */
  async handle(r: ControlRequest): Promise<ControlReply> {
    switch (r.command) {
      case 'status':
        return { ok: true, result: this.status() };
      case 'stats':
        return { ok: true, result: await this.stats() };
      case 'reload': {
        const out = await this.reload(r.zone);
        return out.kind === 'ok' ? { ok: true, result: out.result } : { ok: false, error: out.error.toJSON() };
      }
      case 'upgrade': {
        const out = await this.upgrade({ rebuild: r.rebuild === true });
        return out.kind === 'ready' ? { ok: true, result: { pid: out.pid, version: out.version, ms: out.ms } satisfies UpgradeResult } : { ok: false, error: new ShardnsError('E_UPGRADE', `upgrade failed: ${out.reason}; the running server (pid ${process.pid}, shardns ${VERSION}) keeps serving`, 'fix what the reason says, then try again').toJSON() };
      }
      case 'stop':
        // Answer first: the stop closes the control socket.
        setImmediate(() => this.stop('shardns ctl stop'));
        return { ok: true, result: { pid: process.pid, stopping: true } };
    }
  }

  /** The server, its workers and zones. */
  status(): StatusResult {
    const c = this.o.config;
    return {
      pid: process.pid,
      version: VERSION,
      node: process.version,
      uptimeS: Math.round((Date.now() - this.startedAt) / 100) / 10,
      user: this.o.user,
      listening: this.o.supervisor.describeListening(),
      stateDir: c.stateDir,
      control: this.o.control.path,
      ...this.o.supervisor.status(),
    };
  }

  /** Every worker's counters (those answering within 1 s), summed, and the supervisor's. */
  async stats(): Promise<StatsResult> {
    const workers = await this.o.supervisor.stats();
    const totals: Record<string, number> = {};
    for (const w of workers) for (const [k, v] of Object.entries(flattenCounters(w.counters))) totals[k] = (totals[k] ?? 0) + v;
    const restarts = this.o.supervisor.status().workers.reduce((n, w) => n + w.restarts, 0);
    return { workers, totals, supervisor: { restarts, reloads: { ...this.counts.reloads }, upgrades: { ...this.counts.upgrades } } };
  }

  /** Reloads every zone, or the one named; one reload at a time. Logged either way. */
  async reload(zone?: string, why = 'shardns ctl reload'): Promise<{ kind: 'ok'; result: ReloadResult } | { kind: 'error'; error: ShardnsError }> {
    let origin: string | undefined;
    if (zone !== undefined) {
      const found = this.findZone(zone);
      if (typeof found !== 'string') return { kind: 'error', error: found };
      origin = found;
    }
    if (this.reloading) return { kind: 'error', error: new ShardnsError('E_CONTROL', 'a reload is already running', 'wait for it to finish (the log says when), then try again') };
    if (this.stopping) return { kind: 'error', error: new ShardnsError('E_CONTROL', 'the server is stopping', 'start it again first') };
    this.reloading = true;
    this.o.log.info(`${why}: ${origin === undefined ? 'reloading zones' : `reloading zone ${origin}`}`);
    let report: ReloadReport;
    try {
      report = await this.o.supervisor.reload(origin);
    } finally {
      this.reloading = false;
    }
    logReload(this.o.log, report);
    if (report.kind === 'error') {
      this.counts.reloads.failed++;
      return { kind: 'error', error: new ShardnsError('E_ZONE', `reload failed; still serving the previous zones:\n${report.errors.join('\n')}`, 'fix the zone files (shardns check lists every problem), then reload again') };
    }
    if (report.failed.length > 0) {
      this.counts.reloads.failed++;
      return { kind: 'error', error: new ShardnsError('E_ZONE', `reload: ${report.failed.join('; ')}; those workers still serve the previous zones`, 'see the server\'s log') };
    }
    this.counts.reloads.ok++;
    return {
      kind: 'ok',
      result: { zones: report.zones.map((z) => ({ origin: z.origin, serial: z.serial, records: z.records, reused: z.reused })), workers: report.workers, buildMs: Math.round(report.buildMs), mapMs: report.mapMs, warnings: report.warnings },
    };
  }

  /**
   * Zero-downtime upgrade (src/ops/upgrade.ts): starts the installed code
   * as a new supervisor on the same sockets; once its workers serve, stops
   * this one's control socket and workers (they finish what they hold) and
   * ends this process. If it fails, this server keeps serving and the
   * outcome says why. `rebuild`: the new supervisor parses and compiles
   * every zone again rather than serving the images of the same format.
   */
  async upgrade(options: { rebuild?: boolean } = {}): Promise<UpgradeOutcome> {
    const refuse = (reason: string): UpgradeOutcome => ({ kind: 'failed', reason });
    if (this.upgrading) return refuse('an upgrade is already running');
    if (this.stopping) return refuse('the server is stopping');
    if (this.predecessorAlive) return refuse('this server is itself still taking over from the previous one; wait until its workers have gone');
    if (this.o.supervisor.status().phase !== 'running') return refuse('the server is not running yet');
    this.upgrading = true;
    this.o.supervisor.holdRemoval();
    const successor = startSuccessor(
      {
        execPath: process.execPath,
        execArgv: process.execArgv,
        argv: process.argv.slice(1),
        env: process.env,
        stateDir: this.o.config.stateDir,
        control: this.o.control,
        listeners: this.o.listeners,
        rebuild: options.rebuild === true,
      },
      this.o.log,
      UPGRADE_TIMEOUT_MS,
    );
    this.successor = successor;
    const outcome = await successor.outcome;
    this.successor = null;
    if (outcome.kind === 'failed') {
      this.upgrading = false;
      this.counts.upgrades.failed++;
      this.o.log.error(`upgrade failed: ${outcome.reason}; still serving (pid ${process.pid}, shardns ${VERSION})`);
      this.o.supervisor.releaseRemoval();
      return outcome;
    }
    this.counts.upgrades.ok++;
    this.o.log.info(`upgrade: the new supervisor (pid ${outcome.pid}, shardns ${outcome.version}) serves on the same sockets after ${outcome.ms} ms; this one's workers finish what they hold and exit`);
    this.stopping = true;
    // The old workers stop reading at once (the new ones read the same sockets); the control socket
    // stops accepting meanwhile, and the caller's reply still goes out on its open connection.
    setImmediate(() => {
      void (async () => {
        await Promise.all([this.o.supervisor.stop(), this.control?.close()]);
        successor.release();
        this.o.log.info(`handed over to pid ${outcome.pid}; exiting`);
        this.finish(0);
      })();
    });
    return outcome;
  }

  /**
   * Planned stop: the control socket goes, workers drain, then `done` gives
   * 0. A second stop kills at once (1). An upgrade under way is given up
   * first (its new supervisor is killed): stop means stop.
   */
  stop(why: string): void {
    this.successor?.abort(`${why} came while it started; it was stopped`);
    if (this.stopping) {
      if (this.upgrading) return;
      this.o.log.warn(`${why} again: killing workers now`);
      this.o.supervisor.killAll();
      this.finish(1);
      return;
    }
    this.stopping = true;
    this.o.log.info(`${why}: shutting down; workers finish what they hold`);
    void (async () => {
      await this.control?.close();
      removeControlSocket(this.o.control.path);
      await this.o.supervisor.stop();
      this.o.log.info('stopped');
      this.finish(0);
    })();
  }

  /** The configured zone a name means (case and final dot aside), or why none. */
  private findZone(zone: string): string | ShardnsError {
    const hit = this.o.config.zones.find((z) => sameName(z.name, zone));
    if (hit !== undefined) return hit.name;
    const known = this.o.config.zones.map((z) => z.name);
    return new ShardnsError('E_CONTROL', `no zone ${zone} is served`, known.length > 0 ? `the zones are: ${known.join(', ')}` : 'this server serves no zones');
  }
}

/** Whether two zone names are the same name (RFC 4343: case-insensitive; `example.com` is `example.com.`). */
function sameName(a: string, b: string): boolean {
  const pa = parseZoneName(a);
  const pb = parseZoneName(b);
  return !(pa instanceof NameError) && !(pb instanceof NameError) && nameKey(pa) === nameKey(pb);
}

/** One line for a good reload (after the builder's line per zone); the errors for a failed one. */
export function logReload(log: Logger, report: ReloadReport): void {
  for (const w of report.warnings) log.warn(w);
  if (report.kind === 'error') {
    log.error(`reload failed; still serving the previous zones:\n${report.errors.join('\n')}`);
    return;
  }
  for (const f of report.failed) log.error(`reload: ${f}; that worker still serves the previous zones`);
  const records = report.zones.reduce((n, z) => n + z.records, 0);
  log.info(`reloaded ${report.zones.length} zone(s), ${records} records, in ${report.workers} worker(s) (build ${Math.round(report.buildMs)} ms, swap ${report.mapMs} ms)`);
}

/** Nested counters as `a.b.c` → number. */
export function flattenCounters(c: object, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === 'number') out[prefix + k] = v;
    else if (v && typeof v === 'object') Object.assign(out, flattenCounters(v as object, `${prefix}${k}.`));
  }
  return out;
}
