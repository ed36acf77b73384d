/** The shape of a benchmark result as saved in bench/results/*.json, and the summaries the report is made of. */

import type { WorkerShare } from './balance.js';
import type { DnsperfStats } from './dnsperf.js';
import type { QueryKind } from './queries.js';
import type { ServerKind } from './servers.js';

/** Where and with what the benchmark ran. */
export interface BenchMeta {
  /** ISO time the run started. */
  date: string;
  node: string;
  cpuModel: string;
  /** CPUs this process may use (the load generator shares them). */
  cores: number;
  kernel: string;
  dnsperf: string;
  /** Version of each server that took part. */
  versions: Partial<Record<ServerKind, string>>;
  /** CPUs busy on the machine during one second before the benchmark started (other work competing with it). */
  backgroundBusyCores?: number;
  /** The shardns commit (and "+dirty" for uncommitted changes), when in a git checkout. */
  commit?: string;
}

/** The options the run used. */
export interface BenchOptions {
  workers: number[];
  durationSec: number;
  rounds: number;
  warmupSec: number;
  clients: number;
  outstanding: number;
  servers: ServerKind[];
  scale: number[];
  scaleWorkers: number;
}

/** The zone and the query file of the load test. */
export interface LoadSetup {
  zone: { origin: string; file: string; records: number; generated: boolean };
  queries: { count: number; seed: number; kinds: Record<QueryKind, number>; types: Record<string, number>; mixedCase: number; notes: string[] };
}

/** One measured dnsperf run against one server. */
export interface LoadRun {
  server: ServerKind;
  workers: number;
  /** 1-based; within a round the servers run one after another. */
  round: number;
  dnsperf: DnsperfStats;
  /** utime + stime over every process of the server (supervisor and workers; all NSD processes; Knot's one process). */
  cpuSec: number;
  /** cpuSec per answered query, in microseconds. */
  cpuUsPerQuery: number;
  /** Sum of each server process's resident set at the end of the run, and of each one's peak so far. */
  rssMB: number;
  peakRssMB: number;
  /** Sum of each server process's proportional set size at the end of the run (shared pages counted once). */
  pssMB: number;
  /** CPUs busy on the whole machine during the run (server, dnsperf and anything else). */
  machineBusyCores: number;
}

/** Replies per shardns worker, added over all rounds of one worker count. */
export interface BalanceEntry {
  workers: number;
  shares: WorkerShare[];
  /** Busiest worker over idlest worker (1 is even). */
  maxMin: number;
  /** dnsperf's client sockets: each is one 4-tuple, which the kernel hashes to one worker. */
  clients: number;
}

/** Loading one generated zone in one server. */
export interface ScaleEntry {
  records: number;
  server: ServerKind;
  workers: number;
  zoneMB: number;
  ok: boolean;
  /** Seconds from starting the server to its first correct answer for the zone's last address record. */
  firstAnswerSec?: number;
  /** Sums over the server's processes just after that answer: resident, each one's peak, proportional share. */
  rssMB?: number;
  peakRssMB?: number;
  pssMB?: number;
  error?: string;
}

/** Everything one `npm run bench` measured (bench/results/bench-<date>.json). */
export interface BenchResult {
  schema: 1;
  meta: BenchMeta;
  options: BenchOptions;
  load: LoadSetup | null;
  runs: LoadRun[];
  balance: BalanceEntry[];
  scale: ScaleEntry[];
  /** Servers left out, and why (not installed, not root). */
  skipped: { server: ServerKind; reason: string }[];
  /** Steps that failed; the rest of the run went on. */
  errors: string[];
}

/** One server at one worker count, over its rounds. */
export interface Summary {
  server: ServerKind;
  workers: number;
  runs: number;
  /** Mean over the rounds, and the lowest and highest round. */
  qps: number;
  qpsMin: number;
  qpsMax: number;
  /** Total CPU over total answered queries, in microseconds. */
  cpuUsPerQuery: number;
  sent: number;
  lost: number;
  lostPct: number;
  /** Means over the rounds, in milliseconds. */
  latencyAvgMs: number;
  latencyStdDevMs: number;
  latencyMaxMs: number;
  peakRssMB: number;
  machineBusyCores: number;
}

/** shardns over a peer at one worker count, same run. */
export interface Ratio {
  workers: number;
  peer: ServerKind;
  /** shardns QPS / peer QPS: above 1 means shardns answered more. */
  qps: number;
  /** shardns µs CPU per query / peer's: above 1 means shardns spends more CPU per answer. */
  cpu: number;
}

const mean = (v: number[]): number => (v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length);

/** Summaries per server and worker count, ordered by worker count, then shardns, NSD, Knot. */
export function summarize(runs: readonly LoadRun[], order: readonly ServerKind[] = ['shardns', 'nsd', 'knot']): Summary[] {
  const groups = new Map<string, LoadRun[]>();
  for (const r of runs) {
    const key = `${r.workers}\u0000${r.server}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: Summary[] = [];
  for (const g of groups.values()) {
    const qps = g.map((r) => r.dnsperf.qps);
    const completed = g.reduce((a, r) => a + r.dnsperf.completed, 0);
    const sent = g.reduce((a, r) => a + r.dnsperf.sent, 0);
    const lost = g.reduce((a, r) => a + r.dnsperf.lost, 0);
    out.push({
      server: g[0]!.server,
      workers: g[0]!.workers,
      runs: g.length,
      qps: mean(qps),
      qpsMin: Math.min(...qps),
      qpsMax: Math.max(...qps),
      cpuUsPerQuery: completed > 0 ? (g.reduce((a, r) => a + r.cpuSec, 0) / completed) * 1e6 : NaN,
      sent,
      lost,
      lostPct: sent > 0 ? (lost / sent) * 100 : 0,
      latencyAvgMs: mean(g.map((r) => r.dnsperf.latencyAvgSec * 1000)),
      latencyStdDevMs: mean(g.map((r) => r.dnsperf.latencyStdDevSec * 1000)),
      latencyMaxMs: Math.max(...g.map((r) => r.dnsperf.latencyMaxSec * 1000)),
      peakRssMB: Math.max(...g.map((r) => r.peakRssMB)),
      machineBusyCores: mean(g.map((r) => r.machineBusyCores)),
    });
  }
  const rank = (k: ServerKind): number => (order.indexOf(k) < 0 ? order.length : order.indexOf(k));
  return out.sort((a, b) => a.workers - b.workers || rank(a.server) - rank(b.server));
}

/** shardns / peer for QPS and CPU per query, for every worker count where both ran. */
export function ratios(summaries: readonly Summary[]): Ratio[] {
  const out: Ratio[] = [];
  for (const s of summaries) {
    if (s.server !== 'shardns') continue;
    for (const p of summaries) {
      if (p.server === 'shardns' || p.workers !== s.workers) continue;
      out.push({ workers: s.workers, peer: p.server, qps: s.qps / p.qps, cpu: s.cpuUsPerQuery / p.cpuUsPerQuery });
    }
  }
  return out;
}
