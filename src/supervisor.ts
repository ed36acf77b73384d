/** Worker lifecycle: zone images built first, then fork (each slot's sockets handed over), readiness, heartbeats, restart with backoff, new images mapped on reload, drain. */

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { primaryZones, type Config } from './config.js';
import { displayPath } from './display-path.js';
import type { Notifier } from './xfr/notifier.js';
import { ZoneBuilder, type BuildReport } from './builder.js';
import { ShardnsError } from './errors.js';
import { isFromWorker, startMessage, type FromWorker, type MapOutcome, type ToWorker, type WorkerCounters } from './ipc.js';
import type { Logger } from './log.js';
import type { ServedImage } from './mapped-zones.js';
import { formatEndpoint } from './net/reuseport.js';
import { SupervisorOps } from './ops/supervisor-ops.js';
import { childSockets, type SlotSockets } from './ops/listeners.js';
import type { BuildOutcome, BuiltZone } from './zone/image/build.js';
import { peekSoa } from './zone/image/peek.js';
import { reuseAll } from './zone/image/reuse.js';
import type { SecondaryService } from './xfr/secondary-service.js';
import type { SecondaryStatus } from './xfr/secondary.js';
import type { ZoneStanding } from './ipc.js';
import type { NotifySoa } from './xfr/notify.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../workers/dns-worker.js', import.meta.url));

/**
 * V8 flags of every worker (not the supervisor's own, which a worker never
 * inherits): a young generation of at most 1 MB per semi-space (the answer
 * path allocates little; V8 would grow it to 8 MB during start-up and keep
 * it) and one background thread instead of four (the workers already share
 * the machine's cores). Measured: ~1.9 MB less anonymous memory per idle
 * worker (18.4 → 16.5 MB, /proc/PID/smaps_rollup), CPU per query unchanged
 * in the bench's load and cache-missing tests.
 */
const WORKER_NODE_FLAGS = ['--max-semi-space-size=1', '--v8-pool-size=1'];

/** First restart delay; doubles per consecutive failure up to RESTART_MAX_MS. */
const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that served this long is healthy again: its backoff starts over. */
const HEALTHY_AFTER_MS = 10_000;
/** A new worker process has this long (or --worker-timeout, if longer) to answer its first heartbeat. */
const FIRST_ANSWER_MS = 10_000;

/** One worker slot: the id and the sockets stay, the process behind it may be replaced. */
interface Slot {
  id: number;
  /** The slot's sockets, held here for the server's life; every process of the slot gets them. */
  sockets: SlotSockets;
  /** When the current process was forked (ms since the epoch). */
  forkedAt: number;
  /** Processes of this slot that exited or were killed while the server ran. */
  restarts: number;
  /** Whether the current process has answered a heartbeat yet (until then Node is still loading it). */
  heard: boolean;
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

/** What a reload did: the new zone version serves in every worker, or why the old one still does. */
export type ReloadReport =
  | { kind: 'ok'; zones: BuiltZone[]; warnings: string[]; workers: number; buildMs: number; mapMs: number; failed: string[] }
  | { kind: 'error'; errors: string[]; warnings: string[] };

/** How long a worker may take to map a new version before the reload stops waiting for it. */
const MAP_TIMEOUT_MS = 10_000;

/**
 * Runs the workers. `start()` has the zone builder give every zone an image
 * (in a child process: nothing here waits on a parse), then forks the
 * workers, which map those images; it resolves once every worker reported
 * ready and rejects with the first error. Afterwards crashed or
 * unresponsive workers are replaced (mapping the images the others serve),
 * `reload()` builds the new version and has every worker swap to it, and
 * `stop()` drains them.
 */
export class Supervisor {
  private readonly slots: Slot[];
  private phase: Phase = 'starting';
  private heartbeat: NodeJS.Timeout | null = null;
  private seq = 0;
  private readonly statsWaiters = new Map<number, (s: WorkerStats) => void>();
  private readonly mapWaiters = new Map<number, (o: MapOutcome) => void>();
  private startDone: { resolve: () => void; reject: (e: ShardnsError) => void } | null = null;
  /**
   * The images of the zone version being served. Every worker maps these; a
   * worker started in place of one that died maps them too, so it serves
   * what the others serve even when the files have been edited, or broken,
   * since (as NSD's restarted server processes keep the zones in memory).
   */
  private images: ServedImage[] = [];
  private readonly builder: ZoneBuilder;
  private stopDone: (() => void) | null = null;
  /** The last secondary-side map round (publish): the next waits for it. */
  private publishing: Promise<void> = Promise.resolve();
  /** NOTIFY out to the zones' `notify` targets (src/xfr/notifier.ts); undefined until first needed, null when no zone has targets. */
  private notifier: Notifier | null | undefined;
  /** The notifier's module while it loads (the first NOTIFY round). */
  private notifierLoading: Promise<void> | null = null;
  /** Metrics, /health and /ready, the dnstap and query log writers (src/ops/supervisor-ops.ts); inert when their settings are off. */
  private readonly ops: SupervisorOps;

  /** While held, no image is deleted: an upgrade's other supervisor may serve it (see holdRemoval). */
  private removalHeld: boolean;
  /** A removal was asked for while a builder process ran; it runs when none does. */
  private removalPending = false;
  /** The primary zones being served, as built (serial, records, files), for `shardns ctl status`. */
  private zones: BuiltZone[] = [];
  /** The secondary zones and catalogs (src/xfr/secondary-service.ts); null when the config has none. */
  private secondary: SecondaryService | null = null;
  /** Rebuild every image at start, reusing none. */
  private readonly rebuild: boolean;

  /**
   * `listeners`: one set of sockets per worker slot, opened before the
   * privilege drop (src/ops/listeners.ts) or taken over in an upgrade.
   * `holdRemoval`: start with image removal held (a new supervisor whose
   * predecessor's workers still map their images). `rebuild`: at start,
   * parse and compile every zone even when its image could be reused
   * (`shardns ctl upgrade --rebuild`).
   */
  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    listeners: readonly SlotSockets[],
    options: { holdRemoval?: boolean; rebuild?: boolean } = {},
  ) {
    if (listeners.length !== config.workers) throw new Error(`${listeners.length} socket sets for ${config.workers} workers`);
    this.removalHeld = options.holdRemoval ?? false;
    this.rebuild = options.rebuild ?? false;
    // A removal skipped while a builder ran (it answers before it has synced and exited) runs once none does.
    this.builder = new ZoneBuilder({ stateDir: config.stateDir, logLevel: config.logLevel, logFormat: config.logFormat, log, onIdle: () => this.removeUnusedIfPending() });
    this.ops = new SupervisorOps(config, log);
    this.slots = Array.from({ length: config.workers }, (_, id) => ({
      id,
      sockets: listeners[id]!,
      forkedAt: 0,
      restarts: 0,
      heard: false,
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

  /**
   * Has the builder give every zone an image (reused when unchanged, else
   * built) and forks every worker meanwhile; then tells each worker which
   * images to map, and waits until all are ready (or one fails). The
   * workers' Node start-up overlaps the build.
   */
  async start(): Promise<void> {
    // /health answers from here on, and the log outputs are open before a worker can write to them.
    // Removal held at start means an upgrade: the previous supervisor still holds the metrics port and the dnstap file.
    await this.ops.start(
      {
        stats: () => this.stats(),
        servedImages: () => this.images,
        running: () => this.phase === 'running',
        restarts: () => this.slots.map((s) => s.restarts),
      },
      { predecessor: this.removalHeld },
    );
    const started = new Promise<void>((resolve, reject) => {
      this.startDone = { resolve, reject };
    });
    // A worker may fail before it is awaited below; the rejection is handled there.
    started.catch(() => undefined);
    // Unchanged zones need no builder: their images are checked here (file stamps, or hashes and CRC; no parsing).
    const t0 = performance.now();
    const reused = this.rebuild ? null : reuseAll(primaryZones(this.config), this.config.stateDir);
    // The builder is forked before the workers, and they only once it has its job: it is what the
    // first answer waits for, and the workers' Node start-up (as much CPU as the builder's, on as few
    // cores) then overlaps its parse instead of slowing its own start-up.
    let forked = false;
    const forkWorkers = (): void => {
      // Stopped meanwhile (SIGTERM during the build): no worker to start.
      if (forked || this.phase === 'stopping') return;
      forked = true;
      for (const slot of this.slots) this.spawn(slot, false);
    };
    const building = reused ? null : this.builder.build(primaryZones(this.config), this.rebuild, forkWorkers);
    if (building === null) forkWorkers();
    const periodMs = Math.min(1000, (this.config.workerTimeout * 1000) / 4);
    this.heartbeat = setInterval(() => this.beat(), periodMs);
    const built: BuildReport = building === null ? { outcome: { kind: 'ok', ...reused!, ms: Math.round(performance.now() - t0) }, peakRssMB: 0 } : await building;
    forkWorkers();
    this.logBuild(built.outcome, built.peakRssMB);
    if (built.outcome.kind === 'error') throw ShardnsError.fromJSON(built.outcome.error);
    this.zones = built.outcome.zones;
    // Secondary zones serve what the state directory kept from their last transfer (if not expired).
    // The secondary side (transfers in, catalogs: ~20 modules) loads only when a secondary zone is configured.
    if (this.config.zones.some((z) => z.type === 'secondary')) {
      const { SecondaryService } = await import('./xfr/secondary-service.js');
      const secondary = new SecondaryService(this.config, this.log, this.builder, () => this.publish(), (r) => this.ops.transferredIn(r.kind, r.outcome));
      await secondary.start();
      this.secondary = secondary;
    }
    this.images = servedImages(this.allZones());
    this.ops.zonesLoaded(this.allZones());
    for (const slot of this.slots) this.sendStart(slot);
    await started;
    // Images of earlier versions (and a dead builder's temporary files) go once everyone maps the current ones.
    this.removeUnused();
    this.notifyOut();
    // Secondary zones are checked with their primaries once every worker serves.
    this.secondary?.begin();
  }

  /** Every zone served: the primary zones and the secondary zones with data. */
  private allZones(): BuiltZone[] {
    return [...this.zones, ...(this.secondary?.servedZones() ?? [])];
  }

  /** The secondary zones without data, and the catalogs' members (for the workers). */
  private standing(): ZoneStanding {
    return this.secondary?.standing() ?? { dark: [], members: [] };
  }

  /**
   * A secondary zone changed (a transfer, an expiry, a catalog member
   * added or removed): every worker maps what is served now. Rounds are
   * serialized; each sends the whole current set, so the last one wins.
   */
  private publish(): void {
    if (this.phase !== 'running') {
      // Still starting: the start message carries the current set.
      this.images = servedImages(this.allZones());
      return;
    }
    this.publishing = this.publishing.then(async () => {
      const images = servedImages(this.allZones());
      this.images = images;
      const t0 = performance.now();
      const results = await this.mapAll(images);
      const failed = results.filter((r) => !r.outcome.ok);
      this.log.debug(`${results.length - failed.length} of ${results.length} workers map the zones served now (${Math.round(performance.now() - t0)} ms)`);
      for (const r of failed) this.log.error(`worker ${r.id}: cannot map the zones: ${r.outcome.ok ? '' : ShardnsError.fromJSON(r.outcome.error).describe()}`);
      if (failed.length === 0) {
        this.ops.zonesLoaded(this.allZones());
        this.removeUnused();
      }
      this.notifyOut();
    });
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
   * Reloads the zones: the builder parses and compiles what changed (in its
   * own process), then every worker maps the new images and swaps them in
   * whole. A zone that does not build leaves every worker on the old
   * version; the report says why.
   */
  async reload(origin?: string): Promise<ReloadReport> {
    // A secondary zone has no file to read again: its primaries are asked now instead (as `knotc zone-refresh`).
    if (origin !== undefined && this.secondary?.refresh(origin, 'shardns ctl reload')) {
      return { kind: 'ok', zones: [], warnings: [`zone ${origin} is a secondary: a refresh from its primaries has started (the log says how it ends)`], workers: 0, buildMs: 0, mapMs: 0, failed: [] };
    }
    const only = origin === undefined ? null : primaryZones(this.config).filter((z) => z.name === origin);
    const built = await this.builder.build(only ?? primaryZones(this.config));
    const outcome = built.outcome;
    if (outcome.kind === 'error') {
      this.ops.reloaded(null, 0);
      return { kind: 'error', errors: outcome.errors, warnings: outcome.warnings };
    }
    this.logZones(outcome.zones);
    // One zone reloaded: the others keep their images (the same reference, so the same version).
    const zones = only === null ? outcome.zones : this.zones.map((z) => outcome.zones.find((n) => n.origin === z.origin) ?? z);
    this.zones = zones;
    const images = servedImages(this.allZones());
    // From here on a replacement worker maps the new version too.
    this.images = images;
    const t0 = Date.now();
    const results = await this.mapAll(images);
    const failed = results.filter((r) => !r.outcome.ok).map((r) => `worker ${r.id}: ${r.outcome.ok ? '' : ShardnsError.fromJSON(r.outcome.error).describe()}`);
    this.ops.reloaded(this.allZones(), failed.length);
    if (failed.length === 0) this.removeUnused();
    this.notifyOut();
    return { kind: 'ok', zones: outcome.zones, warnings: outcome.warnings, workers: results.length, buildMs: outcome.ms, mapMs: Date.now() - t0, failed };
  }

  /** The images being served (what a replacement worker maps). */
  servedImages(): readonly ServedImage[] {
    return this.images;
  }

  /** Sends `map` to every worker process (ready or still starting) and waits for each answer. */
  private mapAll(images: ServedImage[]): Promise<{ id: number; outcome: MapOutcome }[]> {
    const asks = this.slots
      .filter((s) => s.child?.connected)
      .map(
        (slot) =>
          new Promise<{ id: number; outcome: MapOutcome } | null>((resolve) => {
            const seq = ++this.seq;
            const timer = setTimeout(() => {
              this.mapWaiters.delete(seq);
              resolve(null);
            }, MAP_TIMEOUT_MS);
            this.mapWaiters.set(seq, (outcome) => {
              clearTimeout(timer);
              resolve({ id: slot.id, outcome });
            });
            this.send(slot, { type: 'map', seq, images, zones: this.standing() });
          }),
      );
    return Promise.all(asks).then((all) => all.filter((r): r is { id: number; outcome: MapOutcome } => r !== null));
  }

  /**
   * Holds image removal: during an upgrade two supervisors share the state
   * directory, and each serves images the other does not know of (the new
   * version's, the old workers' still mapped and still what the old one's
   * replacement workers would map). Neither deletes anything until the
   * upgrade is decided.
   */
  holdRemoval(): void {
    this.removalHeld = true;
  }

  /** Ends the hold (the upgrade is over: the other supervisor is gone) and deletes what nothing serves. */
  releaseRemoval(): void {
    this.removalHeld = false;
    if (this.phase === 'running') this.removeUnused();
  }

  /** The workers and zones, for `shardns ctl status`. */
  status(): SupervisorStatus {
    const now = Date.now();
    return {
      phase: this.phase,
      workers: this.slots.map((s) => ({ id: s.id, pid: s.child ? s.pid : null, ready: s.child !== null && s.readyAt !== null, uptimeS: s.child ? Math.round((now - s.forkedAt) / 100) / 10 : 0, restarts: s.restarts })),
      zones: this.zones.map((z) => ({ origin: z.origin, serial: z.serial, records: z.records, file: z.sourceFiles[0] ?? '', image: z.imagePath })),
      secondaries: this.secondary?.status() ?? [],
    };
  }

  /** Asks the builder to delete images no worker maps any more (one state directory per server). */
  private removeUnused(): void {
    // A reload that began meanwhile (SIGHUP during start) may have written an image not yet served,
    // or the builder that answered is still syncing it: then this runs when the builder is gone.
    if (this.builder.busy) this.removalPending = true;
    if (this.builder.busy || this.removalHeld) return;
    this.removalPending = false;
    const r = this.builder.removeUnused([...this.images.map((i) => i.path), ...(this.secondary?.keptImages() ?? [])]);
    if (r.kind === 'error') this.log.warn(`could not remove unused zone images: ${r.error.describe()}`);
    else if (r.removed.length > 0) this.log.debug(`removed ${r.removed.length} unused zone image file(s)`);
  }

  /** A removal skipped while a builder ran: done now that none runs (if the server is still running and removal not held). */
  private removeUnusedIfPending(): void {
    if (this.removalPending && this.phase === 'running') this.removeUnused();
  }

  /** Logs a build: warnings, then a line per zone, or the errors. */
  private logBuild(outcome: BuildOutcome, peakRssMB: number): void {
    for (const w of outcome.warnings) this.log.warn(w);
    this.logZones(outcome.zones);
    if (outcome.kind === 'ok') this.log.debug(peakRssMB > 0 ? `zone build took ${outcome.ms} ms, builder peak ${peakRssMB} MB` : `every zone image reused, checked in ${outcome.ms} ms (no builder needed)`);
  }

  /** `zone example.com.: serial 7, 34 records; image reused in 2 ms: sources unchanged` */
  private logZones(zones: readonly BuiltZone[]): void {
    for (const z of zones) {
      // The source: the zone file (a secondary's line, with its primary, is the transfer's).
      const from = z.sourceFiles[0] === undefined ? '' : `; from file ${displayPath(z.sourceFiles[0])}`;
      this.log.info(`zone ${z.origin}: serial ${z.serial}, ${z.records} records; image ${z.reused ? 'reused' : 'built'} in ${Math.round(z.ms)} ms: ${z.reason}${from}`, { image: z.imagePath });
    }
  }

  /**
   * NOTIFY out (RFC 1996): once every worker serves the zones, their
   * `notify` targets are told of each serial not told yet (every zone at
   * start, the changed ones after a reload).
   */
  private notifyOut(): void {
    const zones = this.allZones().map((z) => ({ origin: z.origin, serial: z.serial, soa: () => servedSoa(z) }));
    if (this.notifier !== undefined) {
      this.notifier?.served(zones);
      return;
    }
    // The notifier loads only when a zone has `notify` targets; rounds asked for meanwhile go out in order once it has.
    if (!this.config.zones.some((z) => z.notify.length > 0)) {
      this.notifier = null;
      return;
    }
    this.notifierLoading ??= import('./xfr/notifier.js').then(
      ({ Notifier }) => {
        this.notifier = this.phase === 'stopping' ? null : Notifier.forConfig(this.config, this.log);
      },
      (err: unknown) => {
        this.notifier = null;
        this.log.error(`NOTIFY out is off: ${(err as Error).message}`);
      },
    );
    void this.notifierLoading.then(() => this.notifier?.served(zones));
  }

  /** Planned shutdown: workers stop reading, finish, exit; stragglers are killed after the timeout. */
  stop(): Promise<void> {
    if (this.phase === 'stopping') return Promise.resolve();
    this.phase = 'stopping';
    this.notifier?.close();
    this.secondary?.stop();
    this.builder.close();
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
    // The logs end (dnstap STOP) once the workers sent their last records; then the metrics listener closes.
    return done.finally(() => clearTimeout(timer)).then(() => this.ops.close());
  }

  /** Kills every worker at once (second Ctrl-C, or a failed start). */
  killAll(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.child?.kill('SIGKILL');
    }
    void this.ops.close();
  }

  /** Forks the slot's worker; `start`: also tell it what to serve (a replacement; at first start the images come later). */
  private spawn(slot: Slot, start = true): void {
    slot.restartTimer = null;
    slot.readyAt = null;
    slot.killedFor = null;
    slot.fatal = null;
    slot.lastPong = Date.now();
    slot.forkedAt = Date.now();
    slot.heard = false;
    const child = fork(WORKER_SCRIPT, [String(slot.id)], {
      // The slot's sockets follow the IPC channel, as descriptors 4, 5, … (src/ops/listeners.ts).
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...childSockets(slot.sockets).stdio],
      execArgv: WORKER_NODE_FLAGS,
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
    if (start) this.sendStart(slot);
  }

  /** Who the worker is, the settings, and the images to map (those every other worker serves). */
  private sendStart(slot: Slot): void {
    this.send(slot, startMessage(slot.id, this.config, this.images, childSockets(slot.sockets).sockets, this.standing()));
  }

  private send(slot: Slot, msg: ToWorker): void {
    const child = slot.child;
    if (child?.connected) child.send(msg, (err) => err && this.log.debug(`IPC to worker ${slot.id} failed: ${err.message}`));
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case 'pong':
        slot.lastPong = Date.now();
        slot.heard = true;
        break;
      case 'ready':
        slot.readyAt = Date.now();
        slot.lastPong = Date.now();
        slot.heard = true;
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
      case 'mapped':
        this.mapWaiters.get(m.seq)?.(m.outcome);
        this.mapWaiters.delete(m.seq);
        break;
      case 'log':
        this.ops.logBatch(m.batch);
        break;
      case 'notify':
        this.secondary?.notified(m.origin, m.serial, m.from);
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
    slot.restarts++;
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
      // A process not yet heard from is still being loaded by Node (slower on a loaded machine than
      // a short --worker-timeout); it gets FIRST_ANSWER_MS, then the timeout as every worker does.
      if (now - slot.lastPong > (slot.heard ? timeoutMs : Math.max(timeoutMs, FIRST_ANSWER_MS))) {
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

/** What `shardns ctl status` shows of the supervisor: its phase, each worker slot, each zone served. */
export interface SupervisorStatus {
  phase: 'starting' | 'running' | 'stopping';
  workers: { id: number; pid: number | null; ready: boolean; uptimeS: number; restarts: number }[];
  zones: { origin: string; serial: number; records: number; file: string; image: string }[];
  /** The secondary zones (configured and catalog members): standing, serial, last transfer. */
  secondaries?: SecondaryStatus[];
}

/** The SOA record a NOTIFY for `zone` carries: read from its image, when that holds the serial being announced (else none is sent). */
function servedSoa(zone: BuiltZone): NotifySoa | null {
  const soa = peekSoa(zone.imagePath);
  return soa !== null && soa.serial === zone.serial ? soa : null;
}

/** What workers are told to map: each built zone's origin and image file. */
function servedImages(zones: readonly BuiltZone[]): ServedImage[] {
  return zones.map((z) => ({ origin: z.origin, path: z.imagePath }));
}
