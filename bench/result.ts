/** The shape of a benchmark result as saved in bench/results/*.json, and the summaries the report is made of. */

import type { WorkerShare } from './balance.js';
import type { DnsperfStats } from './dnsperf.js';
import type { QueryKind } from './queries.js';
import { runLabel, type ServerKind } from './servers.js';
import type { ServerSigning, SignedSample } from './signed-check.js';
import type { Denial } from './signzone.js';
import type { WireQueryOptions } from './wire-queries.js';

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
  /** Worker counts of the zone-scale step (a single number in results from before lists). */
  scaleWorkers: number | number[];
  /** Zone-scale step: longest wait for one server's first correct answer, in seconds. */
  scaleTimeoutSec?: number;
  /** shardns variants of the load test (absent in results from before variants: shipped settings only). */
  variants?: string[];
  /** `auth` (the load test against every server), `forward` (the cached-forwarding scenario), `miss` (the cache-missing load test). */
  scenarios?: string[];
  /** Forwarding scenario: cache settings and worker counts of the forwarding shardns. */
  forwardCache?: string[];
  forwardWorkers?: number[];
  /** Cache-missing scenario: the random-subdomain share of its query file, and its worker counts. */
  missShare?: number;
  missWorkers?: number[];
  /** Signed scenarios: the denial methods signed and measured (`nsec`, `nsec3`), and the worker counts. */
  signed?: Denial[];
  signedWorkers?: number[];
}

/** The zone and the query file of the load test. */
export interface LoadSetup {
  zone: { origin: string; file: string; records: number; generated: boolean };
  queries: { count: number; seed: number; kinds: Record<QueryKind, number>; types: Record<string, number>; mixedCase: number; notes: string[] };
}

/** One measured dnsperf run against one server. */
export interface LoadRun {
  server: ServerKind;
  /** shardns only: the variant (`default`, `mmsg`, `dgram-nocache`, …); absent in older results. */
  variant?: string;
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
  /** The shardns variant these counters are from (absent: shipped settings). */
  variant?: string;
  shares: WorkerShare[];
  /** Busiest worker over idlest worker (1 is even). */
  maxMin: number;
  /** dnsperf's client sockets: each is one 4-tuple, which the kernel hashes to one worker. */
  clients: number;
}

/** One start of a server on a generated zone: how long until it answered, and its memory then. */
export interface ScaleStart {
  ok: boolean;
  /** Seconds from starting the server to its first correct answer for the zone's last address record. */
  firstAnswerSec?: number;
  /**
   * Seconds until every worker was ready: for shardns the supervisor's
   * "listening on … with N workers" line (the first answer can come from the
   * first worker that loaded); for NSD and Knot the first answer (NSD forks
   * its servers after loading, Knot is one process).
   */
  allReadySec?: number;
  /** Sums over the server's processes a second after all were ready (the median of five readings 200 ms apart): resident, each one's peak, proportional share (PSS). */
  rssMB?: number;
  peakRssMB?: number;
  pssMB?: number;
  /** Parts of the PSS sum (smaps_rollup Pss_Anon, Pss_File, Pss_Shmem; absent on kernels without them): heap, mapped files, shared memory. */
  pssAnonMB?: number;
  pssFileMB?: number;
  pssShmemMB?: number;
  /** Processes whose PSS could not be read (no smaps_rollup): their RSS is in pssMB instead. */
  pssFromRss?: number;
  /** Sum of each process's private pages (Private_Clean + Private_Dirty): what PSS would be if no other process on the machine mapped the same executable. */
  privateMB?: number;
  /** shardns: workers killed for missed heartbeats while it started (its log's "missed heartbeats" lines). */
  heartbeatKills?: number;
  error?: string;
}

/** Loading one generated zone in one server: the first start, and a restart on the same zone and state. */
export interface ScaleEntry extends ScaleStart {
  records: number;
  server: ServerKind;
  workers: number;
  zoneMB: number;
  /** shardns: whether it was given --state-dir (only when its --help lists the flag). */
  stateDir?: boolean;
  /** The server stopped and started again on the same zone file, the same folder and (shardns) the same state directory. */
  restart?: ScaleStart;
}

/** One measured dnsperf run against a forwarding shardns (every name outside its zones, cached after the first time). */
export interface ForwardRun extends LoadRun {
  /** The cache setting: `on`, `default`, `off` or a number of entries (see --forward-cache). */
  setting: string;
  /** The forwarder's --cache-size, or null when left at shardns's default. */
  cacheSize: number | null;
  /** Queries the upstream received during the run (its workers' counters, read before and after). */
  upstreamQueries: number;
  /** CPU the upstream used during the run (not part of cpuSec). */
  upstreamCpuSec: number;
}

/** What happened before the measured rounds of one forwarding setting: the probe and the warm-up fill the cache. */
export interface ForwardFill {
  setting: string;
  workers: number;
  /** Queries dnsperf had answered in the warm-up (one pass through the file; 0 without a warm-up). */
  warmupCompleted: number;
  /** Queries the upstream received from the start until the first measured round (probe and warm-up). */
  upstreamQueries: number;
}

/** The forwarding scenario: its query file, its upstream, and its runs. */
export interface ForwardResult {
  /** Lines of its query file, and the distinct questions among them (case folded). */
  queries: number;
  distinctQuestions: number;
  /** Lines of the load test's file left out: names below a delegation (the upstream answers those with referrals, which a forwarder does not cache). */
  leftOut: number;
  /** How the upstream ran, e.g. `shardns, 1 worker, --forward none, same zone`. */
  upstream: string;
  /** shardns's default --cache-size. */
  defaultCacheSize: number;
  fills: ForwardFill[];
  runs: ForwardRun[];
}

/** The cache-missing load test: the auth scenario's servers and reporting, with a query file that is mostly a random-subdomain flood. */
export interface MissResult {
  /** Share of the file that is fresh random names (kind `random`). */
  share: number;
  load: LoadSetup;
  runs: LoadRun[];
  balance: BalanceEntry[];
}

/** One server's signature check in a signed scenario: the sample questions asked with dig before its load, and what they say. */
export interface SignedCheck {
  server: ServerKind;
  variant?: string;
  workers: number;
  /** `signed`: every sample carried what RFC 4035 §3.1 asks; `unsigned`: some did not (the report says "unsigned answers"); `unchecked`: replies missing. */
  signing: ServerSigning;
  samples: SignedSample[];
}

/**
 * A signed scenario with one denial method: the load test (`signed`) or the
 * cache-missing load test (`signed-miss`) on the zone signed at run time,
 * every query with DO=1 and EDNS 1232; how the zone was signed, the query
 * file, the runs and each server's signature check.
 */
export interface SignedResult {
  scenario: 'signed' | 'signed-miss';
  denial: Denial;
  signing: {
    /** dnssec-signzone's version line. */
    signer: string;
    /** `ECDSAP256SHA256`: one KSK and one ZSK. */
    algorithm: string;
    /** Seconds to make the keys and sign the zone. */
    seconds: number;
    /** Records per type in the signed file. */
    types: Record<string, number>;
  };
  /** What every query carried besides its question (EDNS payload size, DO, RD). */
  query: WireQueryOptions;
  /** signed-miss: the share of the file that is fresh random names. */
  share?: number;
  load: LoadSetup;
  runs: LoadRun[];
  balance: BalanceEntry[];
  checks: SignedCheck[];
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
  /** The cached-forwarding scenario, when it ran. */
  forward?: ForwardResult | null;
  /** The cache-missing load test, when it ran. */
  miss?: MissResult | null;
  /** The signed scenarios that ran: per denial method, `signed` and then `signed-miss`. */
  signed?: SignedResult[];
  /** Things the reader should know (a peer measured at fewer worker counts, …). */
  notes?: string[];
  /** Servers left out, and why (not installed, not root). */
  skipped: { server: ServerKind; reason: string }[];
  /** Steps that failed; the rest of the run went on. */
  errors: string[];
}

/** One server (or shardns variant) at one worker count, over its rounds. */
export interface Summary {
  server: ServerKind;
  variant?: string;
  /** `shardns`, `shardns dgram`, `NSD`, … */
  label: string;
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

/** shardns (one variant) over a peer at one worker count, same run. */
export interface Ratio {
  workers: number;
  /** The shardns row: `shardns`, `shardns dgram`, … */
  shardns: string;
  variant?: string;
  peer: ServerKind;
  /** shardns QPS / peer QPS: above 1 means shardns answered more. */
  qps: number;
  /** shardns µs CPU per query / peer's: above 1 means shardns spends more CPU per answer. */
  cpu: number;
  /** The same ratio round by round (each round's shardns run over that round's peer run); absent without rounds to pair. */
  cpuByRound?: RoundSpread;
}

/** Median, lowest and highest of per-round ratios, and how many rounds were paired. */
export interface RoundSpread {
  median: number;
  min: number;
  max: number;
  rounds: number;
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const mean = (v: number[]): number => (v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length);

/** The rounds of one server (or variant) at one worker count, summed up. */
function summarizeGroup(g: readonly LoadRun[]): Summary {
  const qps = g.map((r) => r.dnsperf.qps);
  const completed = g.reduce((a, r) => a + r.dnsperf.completed, 0);
  const sent = g.reduce((a, r) => a + r.dnsperf.sent, 0);
  const lost = g.reduce((a, r) => a + r.dnsperf.lost, 0);
  const first = g[0]!;
  return {
    server: first.server,
    ...(first.variant !== undefined ? { variant: first.variant } : {}),
    label: runLabel(first.server, first.variant),
    workers: first.workers,
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
  };
}

/** Runs grouped by `key`, groups in order of first appearance. */
function groupBy<T>(items: readonly T[], key: (x: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const x of items) {
    const k = key(x);
    const g = groups.get(k);
    if (g) g.push(x);
    else groups.set(k, [x]);
  }
  return [...groups.values()];
}

/**
 * Summaries per server (and shardns variant) and worker count, ordered by
 * worker count, then shardns (variants in the order they ran), NSD, Knot, dns2.
 */
export function summarize(runs: readonly LoadRun[], order: readonly ServerKind[] = ['shardns', 'nsd', 'knot', 'dns2']): Summary[] {
  const out = groupBy(runs, (r) => `${r.workers}\u0000${r.server}\u0000${r.variant ?? ''}`).map(summarizeGroup);
  const rank = (k: ServerKind): number => (order.indexOf(k) < 0 ? order.length : order.indexOf(k));
  return out.sort((a, b) => a.workers - b.workers || rank(a.server) - rank(b.server));
}

/**
 * shardns / peer for QPS and CPU per query, for every shardns variant and
 * worker count where both ran; with the runs, also the CPU ratio round by
 * round. Pairing runs of the same round shows whether a gap in the totals
 * outlasts the machine's noise: a slow patch of a shared 2-core machine
 * weighs on both runs of a round more than on runs far apart.
 */
export function ratios(summaries: readonly Summary[], runs: readonly LoadRun[] = []): Ratio[] {
  const out: Ratio[] = [];
  for (const s of summaries) {
    if (s.server !== 'shardns') continue;
    for (const p of summaries) {
      if (p.server === 'shardns' || p.workers !== s.workers) continue;
      const byRound = roundRatios(runs, s, p);
      out.push({
        workers: s.workers,
        shardns: s.label,
        ...(s.variant !== undefined ? { variant: s.variant } : {}),
        peer: p.server,
        qps: s.qps / p.qps,
        cpu: s.cpuUsPerQuery / p.cpuUsPerQuery,
        ...(byRound ? { cpuByRound: byRound } : {}),
      });
    }
  }
  return out;
}

/** CPU per query of `a`'s run over `b`'s run, for every round both ran at their worker count. */
function roundRatios(runs: readonly LoadRun[], a: Summary, b: Summary): RoundSpread | undefined {
  const of = (x: Summary): Map<number, number> =>
    new Map(runs.filter((r) => r.server === x.server && r.variant === x.variant && r.workers === x.workers).map((r) => [r.round, r.cpuUsPerQuery]));
  const ra = of(a);
  const rb = of(b);
  const v: number[] = [];
  for (const [round, cpu] of ra) {
    const other = rb.get(round);
    if (other !== undefined && other > 0 && Number.isFinite(cpu)) v.push(cpu / other);
  }
  if (v.length === 0) return undefined;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), rounds: v.length };
}

/** One forwarding setting at one worker count, over its rounds. */
export interface ForwardSummary extends Summary {
  setting: string;
  cacheSize: number | null;
  upstreamQueries: number;
  /** Upstream queries over queries answered (dnsperf's completed), over all rounds. */
  upstreamShare: number;
  /** The upstream's CPU per answer the forwarder gave, in microseconds: add it to cpuUsPerQuery for the cost of both. */
  upstreamCpuUsPerAnswer: number;
}

/** Summaries of the forwarding scenario, per worker count and cache setting, in the order they ran. */
export function summarizeForward(runs: readonly ForwardRun[]): ForwardSummary[] {
  return groupBy(runs, (r) => `${r.workers}\u0000${r.setting}`)
    .map((g) => {
      const completed = g.reduce((a, r) => a + r.dnsperf.completed, 0);
      const upstreamQueries = g.reduce((a, r) => a + r.upstreamQueries, 0);
      const upstreamCpu = g.reduce((a, r) => a + r.upstreamCpuSec, 0);
      return {
        ...summarizeGroup(g),
        setting: g[0]!.setting,
        cacheSize: g[0]!.cacheSize,
        upstreamQueries,
        upstreamShare: completed > 0 ? upstreamQueries / completed : NaN,
        upstreamCpuUsPerAnswer: completed > 0 ? (upstreamCpu / completed) * 1e6 : NaN,
      };
    })
    .sort((a, b) => a.workers - b.workers);
}

/** What a signed scenario's checks say about one server (variant) at one worker count; undefined when it was not checked. */
export function signingOf(checks: readonly SignedCheck[], s: Pick<Summary, 'server' | 'variant' | 'workers'>): ServerSigning | undefined {
  return checks.find((c) => c.server === s.server && c.variant === s.variant && c.workers === s.workers)?.signing;
}
