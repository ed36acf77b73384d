/**
 * The supervisor's side of metrics, health and the logs: the HTTP
 * listener (--metrics), the metrics' state fed by the supervisor's events,
 * readiness worked out from the workers' own reports, and the writers of
 * the records the workers send (--dnstap, --query-log).
 */

import type { Config, HostPort } from '../config.js';
import { ShardnsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ServedImage } from '../mapped-zones.js';
import type { OpsHttpServer, Readiness } from './http.js';
import type { LogWriter } from './log-writer.js';
import type { LogName, Metrics, ReloadOutcome, WorkerReport, ZoneFacts } from './metrics.js';
import { readUdpDrops } from './socket-drops.js';
import type { LogBatch } from './worker-ops.js';

/** How long the writers stay open after the workers exited, for their last batches (ms). */
const LAST_BATCH_MS = 50;

/** How long an upgraded supervisor waits for its predecessor to let go of the metrics port, and how often it tries (ms). */
const TAKEOVER_MS = 120_000;
const TAKEOVER_STEP_MS = 250;

/** What the supervisor offers: its workers' reports, the zone version served, whether it is running. */
export interface OpsSource {
  /** Asks every running worker for its counters (those that do not answer in time are left out). */
  stats(): Promise<WorkerReport[]>;
  /** The images of the zone version being served. */
  servedImages(): readonly ServedImage[];
  /** Started and not stopping. */
  running(): boolean;
  /** Per worker slot, the processes that died or stalled and were replaced. */
  restarts(): readonly number[];
}

/** The supervisor's metrics, health endpoint and log writers; each part exists only when its setting is on. */
export class SupervisorOps {
  /** Made in start() when --metrics is on: prom-client loads only then (tens of ms of every start, an upgrade's included). */
  private metrics: Metrics | null = null;
  private http: OpsHttpServer | null = null;
  private readonly writers = new Map<LogName, LogWriter>();
  private source: OpsSource | null = null;
  /** Trying to take the metrics port over from a previous supervisor (an upgrade). */
  private takeover: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly procRoot = '/proc',
  ) {}

  /**
   * Opens the log outputs and the HTTP listener (before any worker forks,
   * so /health answers while the zones build). Throws a ShardnsError that
   * says what to do when one cannot be opened or bound. `predecessor`: an
   * upgrade, whose previous supervisor still runs: its dnstap file is kept
   * (renamed, not truncated) and its metrics port is taken over once it
   * lets go (until then the previous one answers scrapes).
   */
  async start(source: OpsSource, options: { predecessor?: boolean } = {}): Promise<void> {
    this.source = source;
    const { dnstap, queryLog, metrics } = this.config;
    // The writers (node:net, the dnstap schema) and the HTTP listener (node:http) load only when their setting is on.
    if (dnstap !== null || queryLog !== null) {
      const { openDnstapWriter, openQueryLogWriter } = await import('./log-writer.js');
      if (dnstap !== null) this.writers.set('dnstap', opened(openDnstapWriter(dnstap, this.log, options.predecessor === true)));
      if (queryLog !== null) this.writers.set('query-log', opened(openQueryLogWriter(queryLog, this.log)));
    }
    if (metrics === null) return;
    const { Metrics } = await import('./metrics.js');
    this.metrics = new Metrics(this.config.workers);
    const r = await this.listen(metrics);
    if (r === 'ok') return;
    if (!r.inUse || options.predecessor !== true) throw r.error;
    this.log.info(`metrics: ${metrics.address}:${metrics.port} is still the previous supervisor's; this one takes it over when it lets go`);
    this.takeOver(metrics, Date.now() + TAKEOVER_MS);
  }

  /** Binds the metrics listener, or says why not (`inUse`: the port is taken). */
  private async listen(at: HostPort): Promise<'ok' | { inUse: boolean; error: ShardnsError }> {
    const { serveOpsHttp } = await import('./http.js');
    const r = await serveOpsHttp(at, { metrics: () => this.scrape(), readiness: () => this.readiness() });
    if (r.kind === 'error') return r;
    if (this.closed) {
      await r.server.close();
      return 'ok';
    }
    this.http = r.server;
    this.log.info(`metrics on http://${at.address.includes(':') ? `[${at.address}]` : at.address}:${r.server.port}/metrics (also /health and /ready)`);
    return 'ok';
  }

  /** Tries the metrics port again every TAKEOVER_STEP_MS until it is free or `until` passes. */
  private takeOver(at: HostPort, until: number): void {
    this.takeover = setTimeout(() => {
      this.takeover = null;
      if (this.closed) return;
      void this.listen(at).then((r) => {
        if (r === 'ok') return;
        if (r.inUse && Date.now() < until) this.takeOver(at, until);
        else this.log.error(`metrics: ${r.inUse ? `${at.address}:${at.port} is still in use after ${TAKEOVER_MS / 1000} s; no metrics until a restart` : r.error.describe()}`, { code: 'E_METRICS' });
      });
    }, TAKEOVER_STEP_MS);
    this.takeover.unref();
  }

  /** A worker's batch of records: written, or counted as dropped when the output is behind. */
  logBatch(batch: LogBatch): void {
    const w = this.writers.get(batch.log);
    if (w === undefined) return;
    if (!w.write(batch.bytes)) this.metrics?.logDropped(batch.log, batch.records);
  }

  /** The zone version now served everywhere (at start, or after a reload). */
  zonesLoaded(zones: readonly ZoneFacts[]): void {
    this.metrics?.zonesLoaded(zones);
  }

  /** A secondary zone's refresh ended (a transfer, or an SOA check). */
  transferredIn(type: string, outcome: string): void {
    this.metrics?.transferredIn(type, outcome);
  }

  /** A reload finished: `failedWorkers` kept the old version (0: all took the new one); null zones: the build failed. */
  reloaded(zones: readonly ZoneFacts[] | null, failedWorkers: number): void {
    const outcome: ReloadOutcome = zones === null ? 'failed' : failedWorkers > 0 ? 'partial' : 'ok';
    this.metrics?.reloaded(outcome);
    if (zones !== null && failedWorkers === 0) this.metrics?.zonesLoaded(zones);
  }

  /** One scrape: fresh reports from the workers and the kernel's drops, then the exposition. */
  private async scrape(): Promise<{ contentType: string; body: string }> {
    const metrics = this.metrics!;
    const reports = this.source ? await this.source.stats() : [];
    metrics.collect(reports, readUdpDrops(this.procRoot), this.source?.restarts() ?? []);
    return { contentType: metrics.contentType, body: await metrics.render() };
  }

  /** Ready: running, every worker slot answers, and each serves the images of the current zone version. */
  async readiness(): Promise<Readiness> {
    const source = this.source;
    if (source === null || !source.running()) return { ready: false, why: ['starting or stopping'] };
    const reports = await source.stats();
    const want = sortedPaths(source.servedImages().map((i) => i.path));
    const why: string[] = [];
    for (let id = 0; id < this.config.workers; id++) {
      const r = reports.find((x) => x.id === id);
      if (r === undefined) why.push(`worker ${id}: not serving (starting, restarting, or not answering)`);
      else if (sortedPaths(r.counters.ops?.images ?? []) !== want) why.push(`worker ${id} (pid ${r.pid}): serves an older zone version (its reload failed: see the log)`);
    }
    return why.length === 0 ? { ready: true } : { ready: false, why };
  }

  /** Ends the logs properly (dnstap STOP) and stops listening; after the workers have exited. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.takeover) clearTimeout(this.takeover);
    // A worker's last batch, sent just before it exited, may still be in its IPC pipe when its exit is seen.
    if (this.writers.size > 0) await new Promise((r) => setTimeout(r, LAST_BATCH_MS));
    await Promise.all([...this.writers.values()].map((w) => w.close()));
    this.writers.clear();
    await this.http?.close();
    this.http = null;
  }
}

function opened(w: LogWriter | ShardnsError): LogWriter {
  if (w instanceof ShardnsError) throw w;
  return w;
}

function sortedPaths(paths: readonly string[]): string {
  return [...paths].sort().join('\n');
}
