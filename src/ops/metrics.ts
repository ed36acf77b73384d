/** The Prometheus metrics (prom-client): workers' counters summed so they never go backwards, sockets' kernel drops, zones, reloads, restarts, logs. */

import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { WorkerCounters } from '../ipc.js';
import { VERSION } from '../version.js';
import { cumulative, UPSTREAM_BUCKETS } from './histogram.js';
import { flattenNumbers, MonotonicTotals, type Flat } from './totals.js';

/** One worker's answer to a stats request: its slot, its pid, its counters. */
export interface WorkerReport {
  id: number;
  pid: number;
  counters: WorkerCounters;
}

/** What a zone build or reuse said about one zone. */
export interface ZoneFacts {
  origin: string;
  serial: number;
  records: number;
  /** How long its image took to build, or to check for reuse (ms). */
  ms: number;
}

/** What a reload did: every worker swapped, some did not (`partial`), or the build failed and nothing changed. */
export type ReloadOutcome = 'ok' | 'partial' | 'failed';

/** Logs the workers feed: their names in metrics and in reports. */
export const LOGS = ['dnstap', 'query-log'] as const;
/** One of {@link LOGS}. */
export type LogName = (typeof LOGS)[number];

/** Worker counters that are gauges: the current process's value, never added up over processes. */
const GAUGES = new Set(['replyCache.entries', 'tcpConnections.open', 'tcpConnections.idle']);

/** Plain counters summed over workers: metric name, help, key in the flattened counters. */
const SUMMED: readonly [string, string, string][] = [
  ['shardns_dropped_total', 'Messages received and not answered (a reply, not a query, or too short for a header).', 'dropped'],
  ['shardns_truncated_total', 'Replies sent with TC=1 (the answer did not fit the client\'s UDP size).', 'truncated'],
  ['shardns_internal_errors_total', 'Queries whose handling threw: answered SERVFAIL and logged.', 'internalErrors'],
  ['shardns_reply_cache_hits_total', 'Queries answered from the reply cache (encoded replies).', 'replyCache.hits'],
  ['shardns_reply_cache_misses_total', 'Queries the reply cache did not hold.', 'replyCache.misses'],
  ['shardns_reply_cache_not_admitted_total', 'Replies not stored in the reply cache (a question asked once, or too big).', 'replyCache.notAdmitted'],
  ['shardns_forward_cache_hits_total', 'Forwarded questions answered from the forward cache.', 'forwarding.cacheHits'],
  ['shardns_forward_cache_misses_total', 'Forwarded questions asked upstream.', 'forwarding.cacheMisses'],
  ['shardns_forward_shared_total', 'Forwarded questions that joined an identical one in flight.', 'forwarding.shared'],
  ['shardns_forward_over_max_total', 'Forward-cache misses answered SERVFAIL at once because forward-max questions were in flight.', 'forwardOverMax'],
  ['shardns_upstream_queries_total', 'Attempts at one upstream (a question may take several).', 'forwarding.upstreamQueries'],
  ['shardns_upstream_failures_total', 'Upstream attempts that timed out or failed in transport.', 'forwarding.upstreamFailures'],
  ['shardns_tcp_connections_accepted_total', 'TCP connections admitted.', 'tcpConnections.accepted'],
  ['shardns_rrl_limited_total', 'UDP replies held back by response rate limiting (dropped or sent truncated).', 'rrl.limited'],
  ['shardns_rrl_slipped_total', 'Rate-limited replies sent truncated (TC=1) so a real client retries over TCP.', 'rrl.slipped'],
  ['shardns_udp_thread_received_total', 'Datagrams the UDP threads read (--io thread; 0 with the other engines).', 'udpThread.received'],
  ['shardns_udp_thread_receive_calls_total', 'recvmmsg calls of the UDP threads that returned datagrams: received over calls is the mean batch.', 'udpThread.recvCalls'],
  ['shardns_udp_thread_cache_hits_total', 'Queries the UDP threads answered from their copy of the reply cache.', 'udpThread.cacheHits'],
  ['shardns_udp_thread_passed_total', 'Datagrams the UDP threads passed to their worker\'s main thread (every query their copy did not answer).', 'udpThread.passed'],
  ['shardns_udp_thread_send_failures_total', 'Replies of the UDP engine in thread mode that the kernel refused.', 'udpThread.sendFailures'],
  ['shardns_udp_thread_coalesce_waits_total', 'Short waits of the UDP threads after a busy batch (--udp-coalesce-us).', 'udpThread.coalesceWaits'],
];

/**
 * The metrics registry and the state behind it. The supervisor feeds it:
 * each scrape's worker reports and kernel drops (`collect`), and events as
 * they happen (zones loaded, reloads, log records its writers could not
 * write). Labels are bounded by the configuration: worker slot, transport,
 * rcode, opcode, zone, endpoint; never a client or a query name.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly workers = new MonotonicTotals((k) => GAUGES.has(k));
  private readonly sockets = new MonotonicTotals();
  private restarts: readonly number[] = [];
  private readonly zones = new Map<string, ZoneFacts>();
  private readonly reloads: Record<ReloadOutcome, number> = { ok: 0, partial: 0, failed: 0 };
  private lastReloadOk = 0;
  /** Transfers in and refresh checks of secondary zones, by `TYPE outcome`. */
  private readonly transfersIn = new Map<string, number>();
  private readonly writerDropped: Record<LogName, number> = { dnstap: 0, 'query-log': 0 };
  private live = new Set<number>();
  /** The workers' totals summed, worked out once per collect (every family reads it). */
  private summed: Flat = new Map();

  constructor(private readonly slots: number) {
    const counter = (name: string, help: string, labelNames: string[], values: () => Iterable<[Record<string, string>, number]>): void => {
      const c: Counter<string> = new Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          c.reset();
          for (const [labels, v] of values()) c.inc(labels, v);
        },
      });
    };
    const gauge = (name: string, help: string, labelNames: string[], values: () => Iterable<[Record<string, string>, number]>): void => {
      const g: Gauge<string> = new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          g.reset();
          for (const [labels, v] of values()) g.set(labels, v);
        },
      });
    };
    const sum = (): Flat => this.summed;

    gauge('shardns_build_info', 'The running version (always 1).', ['version'], () => [[{ version: VERSION }, 1]]);
    counter('shardns_queries_total', 'Messages received, by transport.', ['transport'], () =>
      ['udp', 'tcp'].map((t): [Record<string, string>, number] => [{ transport: t }, sum().get(t) ?? 0]),
    );
    counter('shardns_replies_total', 'Replies sent, by transport and rcode.', ['transport', 'rcode'], () => labelled(sum(), /^byTransport\.(udp|tcp)\.rcodes\.(\w+)$/, ['transport', 'rcode']));
    counter('shardns_query_opcodes_total', 'Replies sent, by transport and the opcode of their query.', ['transport', 'opcode'], () =>
      labelled(sum(), /^byTransport\.(udp|tcp)\.opcodes\.(\w+)$/, ['transport', 'opcode']),
    );
    for (const [name, help, key] of SUMMED) counter(name, help, [], () => [[{}, sum().get(key) ?? 0]]);
    counter('shardns_cookies_total', 'Queries with a DNS COOKIE option, by verdict: clientOnly, valid (our server cookie), bad, malformed.', ['verdict'], () => labelled(sum(), /^cookies\.(\w+)$/, ['verdict']));
    counter('shardns_transfers_total', 'Zone transfers asked over TCP, by type and the rcode of the reply: NOERROR given, REFUSED not allowed, NOTAUTH not our zone or TSIG failed.', ['type', 'rcode'], () =>
      labelled(sum(), /^transfers\.(AXFR|IXFR)\.(\w+)$/, ['type', 'rcode']),
    );
    counter('shardns_tcp_connections_closed_total', 'TCP connections closed or refused, by reason.', ['reason'], () => labelled(sum(), /^tcpConnections\.closed\.(\w+)$/, ['reason']));
    gauge('shardns_reply_cache_entries', 'Replies held in the reply caches of the running workers.', [], () => [[{}, sum().get('replyCache.entries') ?? 0]]);
    gauge('shardns_tcp_connections_open', 'TCP connections held by the running workers.', [], () => [[{}, sum().get('tcpConnections.open') ?? 0]]);
    this.registry.registerMetric(
      presetHistogram('shardns_upstream_resolution_seconds', 'Time from asking the upstreams to their answer (every attempt), per forward-cache miss.', () => {
        const s = sum();
        return { counts: UPSTREAM_BUCKETS.map((_, i) => s.get(`ops.upstreamLatency.counts.${i}`) ?? 0).concat(s.get(`ops.upstreamLatency.counts.${UPSTREAM_BUCKETS.length}`) ?? 0), sum: s.get('ops.upstreamLatency.sum') ?? 0 };
      }),
    );

    const perWorker = (pick: (t: Flat) => number): [Record<string, string>, number][] =>
      this.workers.keys().map((id) => [{ worker: id }, pick(this.workers.totals(id))]);
    counter('shardns_worker_received_total', 'Messages received, per worker slot.', ['worker'], () => perWorker((t) => t.get('queries') ?? 0));
    counter('shardns_worker_answered_total', 'Replies sent, per worker slot.', ['worker'], () => perWorker((t) => (t.get('queries') ?? 0) - (t.get('dropped') ?? 0)));
    gauge('shardns_worker_up', 'Whether the worker slot answered the last stats request (1) or not (0: restarting, stalled).', ['worker'], () =>
      Array.from({ length: this.slots }, (_, id): [Record<string, string>, number] => [{ worker: String(id) }, this.live.has(id) ? 1 : 0]),
    );
    counter('shardns_worker_restarts_total', 'Worker processes replaced after they died or stalled, per slot.', ['worker'], () =>
      Array.from({ length: this.slots }, (_, id): [Record<string, string>, number] => [{ worker: String(id) }, this.restarts[id] ?? 0]),
    );
    counter('shardns_udp_receive_drops_total', 'Datagrams the kernel dropped for a UDP socket (its receive buffer was full), from /proc/net/udp, per worker slot and endpoint.', ['worker', 'endpoint'], () =>
      this.sockets.keys().map((key): [Record<string, string>, number] => {
        const [worker = '', endpoint = ''] = key.split(' ');
        return [{ worker, endpoint }, this.sockets.totals(key).get('drops') ?? 0];
      }),
    );

    gauge('shardns_zone_serial', 'The SOA serial of each zone served.', ['zone'], () => [...this.zones.values()].map((z) => [{ zone: z.origin }, z.serial]));
    gauge('shardns_zone_records', 'Records in each zone served.', ['zone'], () => [...this.zones.values()].map((z) => [{ zone: z.origin }, z.records]));
    gauge('shardns_zone_image_build_seconds', 'How long the served image of each zone took to build (or, when reused, to check).', ['zone'], () =>
      [...this.zones.values()].map((z) => [{ zone: z.origin }, z.ms / 1000]),
    );
    counter('shardns_reloads_total', 'Zone reloads (SIGHUP), by outcome: ok, partial (some workers kept the old zones), failed (nothing changed).', ['outcome'], () =>
      (['ok', 'partial', 'failed'] as const).map((o) => [{ outcome: o }, this.reloads[o]]),
    );
    counter('shardns_transfers_in_total', 'Refreshes of secondary zones, by what ended them (SOA: found current by an SOA query; IXFR, AXFR: a transfer) and outcome (ok, failed).', ['type', 'outcome'], () =>
      [...this.transfersIn].map(([k, n]) => {
        const [type, outcome] = k.split(' ');
        return [{ type: type!, outcome: outcome! }, n];
      }),
    );
    gauge('shardns_reload_last_success_timestamp_seconds', 'When the zones last loaded in every worker (start or reload), seconds since the epoch.', [], () => [[{}, this.lastReloadOk]]);
    counter('shardns_log_records_total', 'Records the workers made for a log: dnstap messages, query log lines.', ['log'], () =>
      LOGS.map((l) => [{ log: l }, sum().get(`ops.logs.${l}.records`) ?? 0]),
    );
    counter('shardns_log_records_dropped_total', 'Log records dropped because the writer fell behind or its collector was away.', ['log'], () =>
      LOGS.map((l) => [{ log: l }, (sum().get(`ops.logs.${l}.dropped`) ?? 0) + this.writerDropped[l]]),
    );
  }

  /**
   * One scrape's facts: each running worker's report, the kernel's drops
   * per socket inode, and each slot's restarts so far. A slot whose process
   * changed since its last report adds the old process's counts to a base
   * (the totals do not go back); a slot that did not report counts as down.
   */
  collect(reports: readonly WorkerReport[], drops: ReadonlyMap<number, number>, restarts: readonly number[]): void {
    this.restarts = [...restarts];
    this.workers.beginRound();
    this.sockets.beginRound();
    this.live = new Set(reports.map((r) => r.id));
    for (const r of reports) {
      const { ops, ...counters } = r.counters;
      const flat = flattenNumbers(counters);
      if (ops !== undefined) {
        flattenNumbers(ops.upstreamLatency, 'ops.upstreamLatency', flat);
        flattenNumbers(ops.logs, 'ops.logs', flat);
        for (const s of ops.udpSockets) {
          const d = drops.get(s.inode);
          if (d !== undefined) this.sockets.update(`${r.id} ${s.endpoint}`, s.inode, new Map([['drops', d]]));
        }
      }
      this.workers.update(String(r.id), r.pid, flat);
    }
    this.summed = this.workers.sum();
  }

  /** Zones built or reused (at start or in a reload that every worker took). */
  zonesLoaded(zones: readonly ZoneFacts[], now = Date.now()): void {
    this.zones.clear();
    for (const z of zones) this.zones.set(z.origin, z);
    this.lastReloadOk = now / 1000;
  }

  /** A secondary zone's refresh ended: `type` SOA, IXFR or AXFR; `outcome` ok or failed. */
  transferredIn(type: string, outcome: string): void {
    const k = `${type} ${outcome}`;
    this.transfersIn.set(k, (this.transfersIn.get(k) ?? 0) + 1);
  }

  /** A reload's outcome. */
  reloaded(outcome: ReloadOutcome): void {
    this.reloads[outcome]++;
  }

  /** Records the supervisor's writer dropped (its output fell behind, or the collector was away). */
  logDropped(log: LogName, records: number): void {
    this.writerDropped[log] += records;
  }

  /** The exposition text. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The exposition's content type (text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Counter values whose flattened key matches `pattern`, its groups as labels. */
function labelled(flat: Flat, pattern: RegExp, names: readonly string[]): [Record<string, string>, number][] {
  const out: [Record<string, string>, number][] = [];
  for (const [k, v] of flat) {
    const m = pattern.exec(k);
    if (!m) continue;
    const labels: Record<string, string> = {};
    names.forEach((n, i) => (labels[n] = m[i + 1]!));
    out.push([labels, v]);
  }
  return out;
}

/**
 * A histogram whose buckets were counted elsewhere (in the workers) and
 * are summed here: prom-client's Histogram only takes observations one by
 * one, so this is a collector the registry formats like its own
 * histograms (the `get()` shape prom-client's Histogram returns).
 */
function presetHistogram(name: string, help: string, read: () => { counts: number[]; sum: number }): Metric {
  const collector = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const { counts, sum } = read();
      const buckets = cumulative(counts);
      const count = buckets[buckets.length - 1]?.count ?? 0;
      return {
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: [
          ...buckets.map((b) => ({ metricName: `${name}_bucket`, labels: { le: b.le }, value: b.count })),
          { metricName: `${name}_sum`, labels: {}, value: sum },
          { metricName: `${name}_count`, labels: {}, value: count },
        ],
      };
    },
  };
  return collector as unknown as Metric;
}
