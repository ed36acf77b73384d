/**
 * The local-resolver benchmark (issue 18): shardns as a caching forwarder
 * beside Unbound and dnsmasq in front of the same upstream NSD (cached CPU
 * per query, same run, alternating rounds); shardns with 10,000 forward zones
 * against none (worker memory, CPU per query); and a DNS-over-TLS upstream
 * (Unbound with a CA made by openssl here) under 1,000 QPS of cache misses
 * (TLS handshakes per minute).
 *
 *   node dist/bench/forward-peers.js [--rounds 3] [--duration 10] [--only cached,zones,dot] [--dot-seconds 60] [--forward-zones 10000] [--shardns-io mmsg,thread] [--floors block,mmsg] [--baseline DIR] [--qps N] [--clients 8] [--outstanding 200]
 *
 * `--shardns-io` runs one shardns per UDP engine in the cached scenario
 * (`mmsg`, the default, is labelled `shardns`; others `shardns <engine>`);
 * `--floors` adds the kernel floor (bench/floor/udp-floor.c) in those modes
 * as peers there: a C responder answering every query with one canned A
 * record, the cost of the I/O alone. `--baseline DIR` adds another build's
 * shardns (DIR/bin/shardns.js, built) with each engine of `--shardns-io`,
 * for A/B in the same run. `--qps N` offers the cached scenario's load at N queries a
 * second (dnsperf -Q) instead of as fast as answers come: every server then
 * gets the same arrivals, so its CPU per query does not depend on how long
 * the machine's other load made it wait (which sets its batch sizes).
 * `--clients 1 --outstanding 1` is a ping-pong: one query in flight, every
 * datagram a wake-up of its own (batches of one).
 *
 * `--forward-zones 0` runs the zones scenario with two identical servers
 * (neither has forward zones): the differences it shows are the
 * measurement's noise.
 */

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCounters } from './balance.js';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { answerData } from './dns.js';
import { dnsperfArgs, parseDnsperf, runDnsperf, type DnsperfStats } from './dnsperf.js';
import { freePort } from './ports.js';
import { killGroup, ProcessGroups, type Tracked } from './processes.js';
import { clockTicks, cpuSecondsBetween, groupPids, groupStats, memoryKb, pssByMapping, sampleCpu } from './procstat.js';
import { ROOT } from './root.js';
import { buildFloor, FLOOR_BINARY } from './floor.js';
import { collectGarbage, evaluateIn } from './inspector.js';

/** The forwarders compared. */
const FORWARDERS = ['shardns', 'unbound', 'dnsmasq'] as const;
type Forwarder = (typeof FORWARDERS)[number];

/** Distinct names in the upstream's zone, each asked for A: all fit every forwarder's cache. */
const NAMES = 5000;
const ORIGIN = 'fwd.bench';
/** dnsperf load, as the main benchmark's defaults (bench/options.ts). */
const CLIENTS = 8;
const OUTSTANDING = 200;

interface Options {
  rounds: number;
  durationSec: number;
  only: Set<string>;
  dotSeconds: number;
  dotQps: number;
  /** Forward zones of the second server in the zones scenario (0: an A/A run, the noise). */
  forwardZones: number;
  /** UDP engines of the shardns forwarders in the cached scenario (one server each). */
  shardnsIo: string[];
  /** Kernel floor modes added as peers in the cached scenario. */
  floors: string[];
  /** Another build's folder (its bin/shardns.js, built): one more shardns per engine of `shardnsIo` in the cached scenario, labelled `shardns baseline` (mmsg) or `shardns baseline <engine>`. */
  baseline: string | null;
  /** The cached scenario's load at a fixed rate (dnsperf -Q), not as fast as answers come. */
  qps: number | null;
  /** dnsperf clients (-c) and queries in flight (-q) in the cached scenario's measured runs. */
  clients: number;
  outstanding: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      only: { type: 'string' },
      'dot-seconds': { type: 'string' },
      'dot-qps': { type: 'string' },
      'forward-zones': { type: 'string' },
      'shardns-io': { type: 'string' },
      floors: { type: 'string' },
      baseline: { type: 'string' },
      qps: { type: 'string' },
      clients: { type: 'string' },
      outstanding: { type: 'string' },
    },
  });
  return {
    rounds: Number(values.rounds ?? 3),
    durationSec: Number(values.duration ?? 10),
    only: new Set((values.only ?? 'cached,zones,dot').split(',')),
    dotSeconds: Number(values['dot-seconds'] ?? 60),
    dotQps: Number(values['dot-qps'] ?? 1000),
    forwardZones: Number(values['forward-zones'] ?? 10_000),
    shardnsIo: (values['shardns-io'] ?? 'mmsg').split(',').filter(Boolean),
    floors: (values.floors ?? '').split(',').filter(Boolean),
    baseline: values.baseline ?? null,
    qps: values.qps !== undefined ? Number(values.qps) : null,
    clients: Number(values.clients ?? CLIENTS),
    outstanding: Number(values.outstanding ?? OUTSTANDING),
  };
}

/** Why a tool is missing, with what to do. */
function missing(bin: string, args: string[], pkg: string): string | null {
  return spawnSync(bin, args).error ? `${bin} not installed — apt-get install ${pkg}` : null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A started server and how to measure it. */
interface Running {
  label: string;
  port: number;
  tracked: Tracked;
  /** The 127.0.0.1 port its Node processes open their inspector on at SIGUSR1 (`--inspect-port` in NODE_OPTIONS), when given one. */
  inspectPort?: number;
}

/** The upstream: NSD serving NAMES A records with a long TTL (nothing expires during the run). */
async function startUpstream(groups: ProcessGroups, dir: string): Promise<Running> {
  const port = await freePort();
  const zone = join(dir, 'fwd.zone');
  const lines = [`$ORIGIN ${ORIGIN}.`, '$TTL 86400', `@ SOA ns hostmaster 1 7200 3600 1209600 3600`, '@ NS ns', 'ns A 192.0.2.1'];
  for (let i = 0; i < NAMES; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  writeFileSync(zone, `${lines.join('\n')}\n`);
  const conf = join(dir, 'nsd.conf');
  writeFileSync(
    conf,
    `server:\n  ip-address: 127.0.0.1@${port}\n  port: ${port}\n  do-ip6: no\n  server-count: 1\n  rrl-ratelimit: 0\n  username: ""\n  zonesdir: "${dir}"\n  database: ""\n` +
      `  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n  verbosity: 0\nremote-control:\n  control-enable: no\nzone:\n  name: "${ORIGIN}"\n  zonefile: "${zone}"\n`,
  );
  const tracked = groups.spawn('NSD upstream', 'nsd', ['-d', '-c', conf]);
  await ready(tracked, port, 'h0', '10.0.0.0');
  return { label: 'NSD', port, tracked };
}

async function ready(t: Tracked, port: number, host: string, expect: string): Promise<void> {
  if (!(await answers(port, `${host}.${ORIGIN}`, expect, 30_000))) throw new Error(`${t.name} gave no answer:\n${t.output().slice(-2000)}`);
}

/** Asks (RD=1: a resolver answers a query without RD from its cache only) until the answer holds `expect`. */
async function answers(port: number, name: string, expect: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const reply = await new Promise<Buffer | null>((resolve) => {
      const sock = dgram.createSocket('udp4');
      const timer = setTimeout(() => {
        sock.close();
        resolve(null);
      }, 300);
      sock.on('message', (m) => {
        clearTimeout(timer);
        sock.close();
        resolve(m);
      });
      sock.on('error', () => undefined);
      sock.send(dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
    });
    if (reply && answerData(dnsPacket.decode(reply), 'A').includes(expect)) return true;
    await sleep(50);
  }
  return false;
}

/** A folder anyone may read and write (shardns started as root runs as another user). */
function openDir(parent: string, name: string): string {
  const d = join(parent, name);
  mkdirSync(d, { recursive: true });
  chmodSync(d, 0o777);
  return d;
}

/**
 * shardns, 1 worker, forwarding to the upstream; extra flags (a config with
 * forward zones, --answer-cache 0, a tls:// upstream). `inspect`: its Node
 * processes get `--inspect-port=127.0.0.1:PORT` (a free port) through
 * NODE_OPTIONS, so the worker opens its inspector there on SIGUSR1 (nothing
 * listens until then).
 */
async function startShardns(groups: ProcessGroups, dir: string, label: string, forward: string, extra: string[] = [], inspect = false, bin = join(ROOT, 'bin/shardns.js')): Promise<Running> {
  const port = await freePort();
  const inspectPort = inspect ? await freePort(new Set([port])) : undefined;
  const env = inspectPort === undefined ? process.env : { ...process.env, NODE_OPTIONS: [process.env['NODE_OPTIONS'], `--inspect-port=127.0.0.1:${inspectPort}`].filter(Boolean).join(' ') };
  const state = openDir(dir, `state-${label.replace(/\W+/g, '-')}`);
  const tracked = groups.spawn(label, process.execPath, [bin, 'serve', '--workers', '1', '--port', String(port), '--listen', '127.0.0.1', '--forward', forward, '--etc-hosts', 'off', '--state-dir', state, '--log-level', 'info', ...extra], { env });
  await tracked.waitFor(/listening on .* with \d+ workers?/, 30_000);
  return { label, port, tracked, ...(inspectPort !== undefined ? { inspectPort } : {}) };
}

/** Unbound, 1 thread, the upstream as a stub zone (an authoritative server), caches big enough, no prefetch or serve-expired. */
async function startUnboundForwarder(groups: ProcessGroups, dir: string, upstream: number): Promise<Running> {
  const port = await freePort();
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `  interface: 127.0.0.1@${port}`,
      `  port: ${port}`,
      '  do-ip6: no',
      '  num-threads: 1',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${dir}/unbound.pid"`,
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 0',
      '  do-not-query-localhost: no',
      '  module-config: "iterator"',
      '  access-control: 127.0.0.0/8 allow',
      '  msg-cache-size: 64m',
      '  rrset-cache-size: 128m',
      '  so-rcvbuf: 4m',
      '  so-sndbuf: 4m',
      '  ratelimit: 0',
      '  ip-ratelimit: 0',
      `stub-zone:`,
      `  name: "${ORIGIN}."`,
      `  stub-addr: 127.0.0.1@${upstream}`,
      'remote-control:',
      '  control-enable: no',
      '',
    ].join('\n'),
  );
  const tracked = groups.spawn('Unbound', 'unbound', ['-d', '-c', conf]);
  await ready(tracked, port, 'h0', '10.0.0.0');
  return { label: 'Unbound', port, tracked };
}

/** dnsmasq in the foreground, no resolv.conf or hosts, the upstream as its server, a cache for every name. */
async function startDnsmasq(groups: ProcessGroups, dir: string, upstream: number): Promise<Running> {
  const port = await freePort();
  const tracked = groups.spawn('dnsmasq', 'dnsmasq', [
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    `--server=127.0.0.1#${upstream}`,
    '--cache-size=10000',
    '--dns-forward-max=1000',
    `--pid-file=${dir}/dnsmasq.pid`,
    '--user=root',
  ]);
  await ready(tracked, port, 'h0', '10.0.0.0');
  return { label: 'dnsmasq', port, tracked };
}

/** dnsperf's query file: every name once, A. */
function queryFile(dir: string): string {
  const file = join(dir, 'queries.txt');
  writeFileSync(file, Array.from({ length: NAMES }, (_, i) => `h${i}.${ORIGIN} A`).join('\n') + '\n');
  return file;
}

/** User and system CPU ticks by pid of a process group (all threads of each process). */
function sampleSplit(pgid: number): Map<number, { user: number; sys: number }> {
  return new Map(groupStats(pgid).map((st) => [st.pid, { user: st.utime, sys: st.stime }]));
}

/** One measured run: dnsperf for the duration, the server's CPU from /proc around it (total, and user and system apart). */
async function measure(groups: ProcessGroups, s: Running, file: string, durationSec: number, hz: number, load: { maxQps?: number; clients?: number; outstanding?: number } = {}): Promise<{ stats: DnsperfStats; cpuUs: number; userUs: number; sysUs: number }> {
  const before = sampleCpu(s.tracked.pgid);
  const splitBefore = sampleSplit(s.tracked.pgid);
  const { stats } = await runDnsperf(groups, { port: s.port, queryFile: file, durationSec, clients: load.clients ?? CLIENTS, outstanding: load.outstanding ?? OUTSTANDING, timeoutSec: 2, ...(load.maxQps !== undefined ? { maxQps: load.maxQps } : {}) });
  const after = sampleCpu(s.tracked.pgid);
  const splitAfter = sampleSplit(s.tracked.pgid);
  const cpu = cpuSecondsBetween(before, after, hz);
  let user = 0;
  let sys = 0;
  for (const [pid, t] of splitAfter) {
    const b = splitBefore.get(pid) ?? { user: 0, sys: 0 };
    user += Math.max(0, t.user - b.user);
    sys += Math.max(0, t.sys - b.sys);
  }
  const per = (seconds: number): number => (stats.completed > 0 ? (seconds / stats.completed) * 1e6 : NaN);
  return { stats, cpuUs: per(cpu), userUs: per(user / hz), sysUs: per(sys / hz) };
}

/** The kernel floor (bench/floor/udp-floor.c) in one mode, 1 process, answering every query with 10.0.0.0 (the readiness check's answer). */
async function startFloor(groups: ProcessGroups, mode: string): Promise<Running> {
  const why = buildFloor();
  if (why !== null) throw new Error(why);
  const port = await freePort();
  const label = `floor ${mode}`;
  const tracked = groups.spawn(label, FLOOR_BINARY, [mode, String(port), '1', '10.0.0.0']);
  await ready(tracked, port, 'h0', '10.0.0.0');
  return { label, port, tracked };
}

/**
 * Questions the warm-up keeps outstanding: under shardns's default
 * forward-max (150) and dnsmasq's dns-forward-max here (1000), so every name
 * is asked upstream and cached. With OUTSTANDING (200) shardns answered about
 * 3,900 of the 5,000 misses SERVFAIL at once (forward-max, not cached), and
 * its first measured round fetched them.
 */
const WARM_OUTSTANDING = 100;

/** One pass through the query file: fills the cache. */
async function warm(groups: ProcessGroups, s: Running, file: string): Promise<void> {
  await runDnsperf(groups, { port: s.port, queryFile: file, durationSec: 60, passes: 1, clients: CLIENTS, outstanding: WARM_OUTSTANDING, timeoutSec: 2 });
}

/** The worker process(es) of a shardns. */
function workerPids(s: Running): number[] {
  return groupPids(s.tracked.pgid).filter((pid) => {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return false;
    }
    return cmd.includes('dns-worker') || cmd.startsWith('shardns worker');
  });
}

/** The worker process(es) of a shardns: their memory (kB) now. */
function workerMemory(s: Running): { rssKb: number; pssKb: number } {
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of workerPids(s)) {
    const m = memoryKb(pid);
    rssKb += m.rssKb;
    pssKb += m.pssKb;
  }
  return { rssKb, pssKb };
}

/** A worker's memory right after a forced full collection: PSS (kB), its part in the brk heap (glibc malloc's main arena), and V8's heap used and total (kB). */
interface CollectedKb {
  pssKb: number;
  pssBrkKb?: number;
  heapUsedKb: number;
  heapTotalKb: number;
}

/**
 * The server's one worker, the same process as at `expected` (its pid when
 * the scenario started): a worker restarted by the supervisor would make
 * every later figure another process's. Throws when it is not.
 */
function sameWorker(s: Running, expected?: number): number {
  const pids = workerPids(s);
  if (pids.length !== 1) throw new Error(`${s.label}: ${pids.length} workers, not 1:\n${s.tracked.output().slice(-2000)}`);
  if (expected !== undefined && pids[0] !== expected) throw new Error(`${s.label}: worker pid ${expected} was replaced by ${pids[0]}: the run's figures are not of one process:\n${s.tracked.output().slice(-2000)}`);
  return pids[0]!;
}

/**
 * Forces a full collection in the server's one worker (`pid`) through its
 * inspector (bench/inspector.ts: SIGUSR1 the first time, then
 * HeapProfiler.collectGarbage; the inspector stays open on 127.0.0.1 for
 * the worker's life, in both servers alike) and reads its PSS right after.
 * Throws when it cannot: the run's memory figures would be missing.
 */
async function collected(s: Running, pid: number): Promise<CollectedKb> {
  sameWorker(s, pid);
  if (s.inspectPort === undefined) throw new Error(`${s.label}: started without an inspector port`);
  let brk: number | undefined;
  const r = await collectGarbage(pid, s.inspectPort, () => {
    const pss = memoryKb(pid).pssKb;
    brk = pssByMapping(pid)?.brkKb;
    return pss;
  });
  if (r.kind === 'error') throw new Error(`${s.label}: ${r.message}`);
  return { pssKb: r.pssKb, ...(brk !== undefined ? { pssBrkKb: brk } : {}), heapUsedKb: r.usedBytes / 1024, heapTotalKb: r.totalBytes / 1024 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

/**
 * One entry of `--shardns-io`: an engine (`mmsg`, `thread`, …), or an engine
 * with batch coalescing, `ENGINE-cN` (`thread-c50`: `--udp-coalesce-us 50`).
 */
function engineVariant(spec: string): { io: string; label: string; args: string[] } {
  const m = /^(\w+?)-c(\d+)$/.exec(spec);
  const io = m ? m[1]! : spec;
  const args = ['--io', io, ...(m ? ['--udp-coalesce-us', m[2]!] : [])];
  const label = io === 'mmsg' && !m ? 'shardns' : `shardns ${io}${m ? ` c${m[2]}` : ''}`;
  return { io, label, args };
}

/** Scenario 1: cached forwarding, shardns beside Unbound and dnsmasq. */
async function cached(groups: ProcessGroups, dir: string, upstream: Running, file: string, o: Options, hz: number, out: string[], json: Record<string, unknown>): Promise<void> {
  const servers: Running[] = [];
  const start: Record<Forwarder, () => Promise<Running>> = {
    shardns: async () => {
      // One shardns per UDP engine asked for; the first is pushed by the caller, the rest here.
      const [first, ...rest] = o.shardnsIo.map(engineVariant);
      for (const v of rest) servers.push(await startShardns(groups, openDir(dir, v.label.replace(/\W+/g, '-')), v.label, `127.0.0.1:${upstream.port}`, v.args));
      return startShardns(groups, openDir(dir, first!.label.replace(/\W+/g, '-')), first!.label, `127.0.0.1:${upstream.port}`, first!.args);
    },
    unbound: () => startUnboundForwarder(groups, openDir(dir, 'unbound'), upstream.port),
    dnsmasq: () => startDnsmasq(groups, openDir(dir, 'dnsmasq'), upstream.port),
  };
  for (const f of FORWARDERS) {
    const why = f === 'unbound' ? missing('unbound', ['-V'], 'unbound') : f === 'dnsmasq' ? missing('dnsmasq', ['--version'], 'dnsmasq-base') : null;
    if (why) {
      out.push(`skip ${f}: ${why}`);
      continue;
    }
    servers.push(await start[f]());
  }
  // The baseline build with each engine asked for, as this build's: A/B of every engine in the same run.
  const baseline = o.baseline;
  if (baseline !== null) {
    // Engines only: a coalescing variant (ENGINE-cN) is this build's setting, which the baseline may not have.
    for (const io of new Set(o.shardnsIo.map((v) => engineVariant(v).io))) {
      const label = io === 'mmsg' ? 'shardns baseline' : `shardns baseline ${io}`;
      servers.push(await startShardns(groups, openDir(dir, label.replace(/\W+/g, '-')), label, `127.0.0.1:${upstream.port}`, ['--io', io], false, join(baseline, 'bin/shardns.js')));
    }
  }
  for (const mode of o.floors) servers.push(await startFloor(groups, mode));
  for (const s of servers) await warm(groups, s, file);
  const runs = new Map<string, { cpuUs: number; userUs: number; sysUs: number; qps: number; lost: number; latencyAvgMs: number; latencyMaxMs: number }[]>();
  for (let round = 1; round <= o.rounds; round++) {
    // Alternate the order each round: no server always goes first.
    const order = round % 2 ? servers : [...servers].reverse();
    for (const s of order) {
      const m = await measure(groups, s, file, o.durationSec, hz, { clients: o.clients, outstanding: o.outstanding, ...(o.qps !== null ? { maxQps: o.qps } : {}) });
      const list = runs.get(s.label) ?? [];
      list.push({ cpuUs: m.cpuUs, userUs: m.userUs, sysUs: m.sysUs, qps: m.stats.qps, lost: m.stats.lost, latencyAvgMs: m.stats.latencyAvgSec * 1000, latencyMaxMs: m.stats.latencyMaxSec * 1000 });
      runs.set(s.label, list);
      console.log(`cached ${s.label} round ${round}: ${Math.round(m.stats.qps)} QPS, ${fmt(m.cpuUs, 2)} µs CPU/query (user ${fmt(m.userUs, 2)}, system ${fmt(m.sysUs, 2)}), lost ${m.stats.lost}, latency avg ${fmt(m.stats.latencyAvgSec * 1000, 3)} max ${fmt(m.stats.latencyMaxSec * 1000, 1)} ms`);
    }
  }
  const usOf = (label: string): number => median((runs.get(label) ?? []).map((r) => r.cpuUs));
  const ratio = (label: string, peer: string): string => (runs.has(peer) && label !== peer ? fmt(usOf(label) / usOf(peer), 2) : '—');
  out.push(
    '',
    `### Cached forwarding, 1 worker/thread each, ${NAMES} names, ${o.rounds} rounds of ${o.durationSec} s${o.qps !== null ? `, ${o.qps} QPS offered (dnsperf -Q)` : ''}, dnsperf -c ${o.clients} -q ${o.outstanding}`,
    '',
    '| forwarder | CPU µs/query (median; each round) | user / system µs (median) | QPS (median) | lost | latency avg / max ms (median) | ÷ Unbound | ÷ dnsmasq |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const [label, list] of runs) {
    const us = median(list.map((r) => r.cpuUs));
    out.push(
      `| ${label} | ${fmt(us, 2)} (${list.map((r) => fmt(r.cpuUs, 2)).join(', ')}) | ${fmt(median(list.map((r) => r.userUs)), 2)} / ${fmt(median(list.map((r) => r.sysUs)), 2)} | ${Math.round(median(list.map((r) => r.qps)))} | ${list.reduce((n, r) => n + r.lost, 0)} | ${fmt(median(list.map((r) => r.latencyAvgMs)), 3)} / ${fmt(median(list.map((r) => r.latencyMaxMs)), 1)} | ${ratio(label, 'Unbound')} | ${ratio(label, 'dnsmasq')} |`,
    );
  }
  json['cached'] = Object.fromEntries(runs);
  for (const s of servers) await groups.stop(s.tracked);
}

/** PSS samples taken at each memory point, and how far apart: one sample lands anywhere in V8's collection cycle (±15 MB here under load). */
const MEMORY_SAMPLES = 5;
const MEMORY_SAMPLE_MS = 200;
/** How often a server's workers' PSS is sampled while it is measured (their mean and peak are the "under load" figures). */
const LOAD_SAMPLE_MS = 250;
/** Idle time after a server's last run before its last memory point: V8's memory reducer shrinks an idle heap some 8 to 30 s after (at 12 s most workers still held the level their last run ended at, anywhere in a 40 MB sawtooth). */
const SETTLE_MS = 30_000;

/** The workers' PSS (kB) of each server, MEMORY_SAMPLES times MEMORY_SAMPLE_MS apart, the servers in turn. */
async function memorySamples(servers: Running[]): Promise<number[][]> {
  const samples: number[][] = servers.map(() => []);
  for (let k = 0; k < MEMORY_SAMPLES; k++) {
    if (k > 0) await sleep(MEMORY_SAMPLE_MS);
    servers.forEach((s, i) => samples[i]!.push(workerMemory(s).pssKb));
  }
  return samples;
}

const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Forced collections at each point, per server, and how far apart: a forced one lands at the same place every time (the live heap). */
const COLLECTED_SAMPLES = 3;
const COLLECTED_SAMPLE_MS = 200;
/** The load run for the forced collections under load: its length, and when in it each collection is forced. */
const COLLECTED_LOAD_SEC = 6;
const COLLECTED_LOAD_AT_MS = [1500, 3000, 4500];

/** COLLECTED_SAMPLES forced collections of each server's worker, the servers in turn. */
async function collectedSamples(servers: Running[], pids: number[]): Promise<CollectedKb[][]> {
  const samples: CollectedKb[][] = servers.map(() => []);
  for (let k = 0; k < COLLECTED_SAMPLES; k++) {
    if (k > 0) await sleep(COLLECTED_SAMPLE_MS);
    for (const [i, s] of servers.entries()) samples[i]!.push(await collected(s, pids[i]!));
  }
  return samples;
}

/** A load run of COLLECTED_LOAD_SEC (not measured for CPU) with a forced collection at each of COLLECTED_LOAD_AT_MS. */
async function collectedUnderLoad(groups: ProcessGroups, s: Running, pid: number, file: string): Promise<CollectedKb[]> {
  const started = Date.now();
  const load = runDnsperf(groups, { port: s.port, queryFile: file, durationSec: COLLECTED_LOAD_SEC, clients: CLIENTS, outstanding: OUTSTANDING, timeoutSec: 2 });
  const samples: CollectedKb[] = [];
  try {
    for (const at of COLLECTED_LOAD_AT_MS) {
      await sleep(Math.max(0, started + at - Date.now()));
      samples.push(await collected(s, pid));
    }
  } finally {
    await load;
  }
  return samples;
}

/**
 * The worker's memory after a forced collection and then malloc_trim(0)
 * (glibc hands the free pages of its arenas back to the kernel), called in
 * the worker through its inspector with koffi, which the worker has loaded
 * already: PSS before and after the trim (kB). What the trim gives back was
 * free memory malloc kept, not memory anything holds.
 */
async function trimmed(s: Running, pid: number): Promise<{ collected: CollectedKb; trimmedPssKb: number; trimmedBrkKb: number }> {
  const c = await collected(s, pid);
  const koffi = JSON.stringify(join(ROOT, 'node_modules/koffi'));
  const r = await evaluateIn(pid, s.inspectPort!, `require(${koffi}).load('libc.so.6').func('int malloc_trim(size_t pad)')(0)`);
  if (r.kind === 'error') throw new Error(`${s.label}: malloc_trim: ${r.message}`);
  return { collected: c, trimmedPssKb: memoryKb(pid).pssKb, trimmedBrkKb: pssByMapping(pid)?.brkKb ?? NaN };
}

/** The points the memory of both servers is taken at, in order. */
const POINTS = ['atStart', 'afterWarmUp', 'underLoad', 'afterRuns'] as const;

/**
 * Scenario 2: 10,000 forward zones against none: worker memory and CPU per
 * query (reply cache on, and off so every query reaches the forwarder).
 * Worker PSS as it is (no collection forced): at start (1 s after both are
 * listening) and after the warm-up, each the median of MEMORY_SAMPLES
 * samples; under load, the mean and the peak of samples every
 * LOAD_SAMPLE_MS while each server is measured (a single sample lands
 * anywhere in V8's collection cycle: under this load a worker sits near its
 * heap limit for seconds, then drops 30 MB at a full collection); and after
 * the runs, once each idled SETTLE_MS after its own last run, the median of
 * MEMORY_SAMPLES samples. Then, at the same points, the worker's PSS and V8
 * heap right after a forced full collection (bench/inspector.ts): what the
 * worker holds, with the garbage gone; under load in a load run of its own
 * after the measured ones (a forced collection in a measured run would
 * count its CPU), after the un-forced samples of every point.
 */
async function zones(groups: ProcessGroups, dir: string, upstream: Running, file: string, o: Options, hz: number, out: string[], json: Record<string, unknown>): Promise<void> {
  const config = join(openDir(dir, 'zones'), 'zones.json');
  const count = o.forwardZones;
  const counted = count.toLocaleString('en');
  const forwardZones = Array.from({ length: count }, (_, i) => ({ name: `d${i}.corp${i % 97}.example.`, to: [`10.${(i >> 8) & 255}.${i & 255}.53`] }));
  writeFileSync(config, JSON.stringify({ 'forward-zones': forwardZones }));
  const rows: string[] = [];
  const gcRows: string[] = [];
  const results: Record<string, unknown> = {};
  for (const answerCache of ['20000', '0']) {
    const plain = await startShardns(groups, dir, `shardns no forward zones, answer-cache ${answerCache}`, `127.0.0.1:${upstream.port}`, ['--answer-cache', answerCache], true);
    const many = await startShardns(groups, dir, `shardns ${counted} forward zones, answer-cache ${answerCache}`, `127.0.0.1:${upstream.port}`, ['--answer-cache', answerCache, '--config', config], true);
    const both = [plain, many];
    const pids = both.map((s) => sameWorker(s));
    const gc: Record<(typeof POINTS)[number], CollectedKb[][]> = { atStart: [], afterWarmUp: [], underLoad: [[], []], afterRuns: [[], []] };
    await sleep(1000);
    const atStart = await memorySamples(both);
    gc.atStart = await collectedSamples(both, pids);
    for (const s of both) await warm(groups, s, file);
    await sleep(1000);
    const afterWarmUp = await memorySamples(both);
    gc.afterWarmUp = await collectedSamples(both, pids);
    const us: number[][] = [[], []];
    const underLoad: number[][] = [[], []];
    const lastRunEnd = [0, 0];
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 ? [0, 1] : [1, 0];
      for (const i of order) {
        const sampler = setInterval(() => underLoad[i]!.push(workerMemory(both[i]!).pssKb), LOAD_SAMPLE_MS);
        const m = await measure(groups, both[i]!, file, o.durationSec, hz).finally(() => clearInterval(sampler));
        us[i]!.push(m.cpuUs);
        lastRunEnd[i] = Date.now();
        console.log(`zones ${both[i]!.label} round ${round}: ${fmt(m.cpuUs, 2)} µs CPU/query, ${Math.round(m.stats.qps)} QPS`);
      }
    }
    // Each server idles SETTLE_MS after its own last run: the one that ran first would otherwise idle a run longer.
    const afterRuns: number[][] = [[], []];
    for (const i of [0, 1].sort((a, b) => lastRunEnd[a]! - lastRunEnd[b]!)) {
      await sleep(Math.max(0, lastRunEnd[i]! + SETTLE_MS - Date.now()));
      afterRuns[i] = (await memorySamples([both[i]!]))[0]!;
      gc.afterRuns[i] = (await collectedSamples([both[i]!], [pids[i]!]))[0]!;
    }
    // The forced collections under load last: the points above stay what they were without them.
    for (const i of [0, 1]) gc.underLoad[i] = await collectedUnderLoad(groups, both[i]!, pids[i]!, file);
    // Last of all (it changes what malloc holds): a forced collection, then malloc_trim(0).
    await sleep(1000);
    const trim = [await trimmed(both[0]!, pids[0]!), await trimmed(both[1]!, pids[1]!)];
    both.forEach((s, i) => sameWorker(s, pids[i]));
    // Per point and server, MB.
    const points = [atStart.map(median), afterWarmUp.map(median), underLoad.map(mean), underLoad.map((xs) => Math.max(...xs)), afterRuns.map(median)].map((p) => p.map((kb) => kb / 1024));
    const cpu = (xs: number[]): string => `${fmt(median(xs), 2)} (${xs.map((x) => fmt(x, 2)).join(', ')})`;
    rows.push(`| answer-cache ${answerCache} | ${cpu(us[0]!)} | ${cpu(us[1]!)} | ${points.map((p) => fmt(p[0]!)).join(' → ')} | ${points.map((p) => fmt(p[1]!)).join(' → ')} | ${points.map((p) => fmt(p[1]! - p[0]!)).join(', ')} |`);
    for (const point of POINTS) {
      const mb = (f: (c: CollectedKb) => number): number[] => gc[point].map((xs) => median(xs.map(f)) / 1024);
      const pss = mb((c) => c.pssKb);
      const heap = mb((c) => c.heapUsedKb);
      const brk = mb((c) => c.pssBrkKb ?? NaN);
      const spread = (f: (c: CollectedKb) => number): string => gc[point].map((xs) => fmt((Math.max(...xs.map(f)) - Math.min(...xs.map(f))) / 1024)).join(', ');
      gcRows.push(`| answer-cache ${answerCache} | ${point} | ${fmt(pss[0]!)} | ${fmt(pss[1]!)} | ${fmt(pss[1]! - pss[0]!)} | ${fmt(heap[0]!)} | ${fmt(heap[1]!)} | ${fmt(heap[1]! - heap[0]!, 2)} | ${fmt(brk[0]!)}, ${fmt(brk[1]!)} | ${spread((c) => c.pssKb)} |`);
    }
    gcRows.push(`| answer-cache ${answerCache} | end, then malloc_trim(0) | ${fmt(trim[0]!.collected.pssKb / 1024)} → ${fmt(trim[0]!.trimmedPssKb / 1024)} | ${fmt(trim[1]!.collected.pssKb / 1024)} → ${fmt(trim[1]!.trimmedPssKb / 1024)} | ${fmt((trim[1]!.collected.pssKb - trim[0]!.collected.pssKb) / 1024)} → ${fmt((trim[1]!.trimmedPssKb - trim[0]!.trimmedPssKb) / 1024)} | ${fmt(trim[0]!.collected.heapUsedKb / 1024)} | ${fmt(trim[1]!.collected.heapUsedKb / 1024)} | ${fmt((trim[1]!.collected.heapUsedKb - trim[0]!.collected.heapUsedKb) / 1024, 2)} | ${fmt(trim[0]!.trimmedBrkKb / 1024)}, ${fmt(trim[1]!.trimmedBrkKb / 1024)} (trimmed) | — |`);
    results[`answerCache${answerCache}`] = { cpuUs: us, pssKb: { atStart, afterWarmUp, underLoad, afterRuns }, collectedKb: gc, trimmed: trim };
    for (const s of both) await groups.stop(s.tracked);
  }
  out.push(
    '',
    `### ${counted} forward zones (1 worker, cached forwarding, ${o.rounds} rounds of ${o.durationSec} s)`,
    '',
    `Worker PSS: at start (1 s after listening) and after the warm-up, the median of ${MEMORY_SAMPLES} samples ${MEMORY_SAMPLE_MS} ms apart; under load, the mean and the peak of samples every ${LOAD_SAMPLE_MS} ms during the server's runs; after the runs, once each idled ${SETTLE_MS / 1000} s after its own last run, the median of ${MEMORY_SAMPLES} samples.`,
    '',
    `| reply cache | CPU µs/query, no forward zones (median; each round) | CPU µs/query, ${counted} | worker PSS MB, none (at start → after warm-up → under load, mean → peak → after runs) | worker PSS MB, ${counted} | difference MB (same five) |`,
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Right after a forced full collection (the worker's inspector, bench/inspector.ts; open from the first one on, in both servers), at the same points after their un-forced samples: the median of ${COLLECTED_SAMPLES} collections ${COLLECTED_SAMPLE_MS} ms apart; under load, in a ${COLLECTED_LOAD_SEC} s load run after the measured ones, at ${COLLECTED_LOAD_AT_MS.map((t) => t / 1000).join(', ')} s. MB.`,
    '',
    `| reply cache | point | PSS, none | PSS, ${counted} | difference | V8 heap used, none | heap used, ${counted} | difference | PSS of the brk heap (malloc's main arena), none, ${counted} | PSS spread of the samples (none, ${counted}) |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...gcRows,
  );
  json['zones'] = results;
}

/** Scenario 3: a DNS-over-TLS upstream (Unbound, test CA) under dotQps of cache misses: TLS handshakes per minute. */
async function dot(groups: ProcessGroups, dir: string, o: Options, out: string[], json: Record<string, unknown>): Promise<void> {
  const why = missing('unbound', ['-V'], 'unbound') ?? missing('openssl', ['version'], 'openssl');
  if (why) {
    out.push('', `DoT scenario skipped: ${why}`);
    return;
  }
  const d = openDir(dir, 'dot');
  const ssl = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: d, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bench CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'dot.key', '-out', 'dot.csr', '-subj', '/CN=dot.bench']);
  writeFileSync(join(d, 'dot.ext'), 'subjectAltName=DNS:dot.bench\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  ssl(['x509', '-req', '-in', 'dot.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'dot.pem', '-days', '2', '-extfile', 'dot.ext']);
  for (const f of ['ca.pem', 'dot.pem', 'dot.key']) chmodSync(join(d, f), 0o644);
  const port = await freePort();
  const conf = join(d, 'unbound.conf');
  // Every name under miss.bench is answered NXDOMAIN from local data at once: each question is a new name, so each is a cache miss for us.
  writeFileSync(
    conf,
    [
      'server:',
      `  interface: 127.0.0.1@${port}`,
      `  tls-port: ${port}`,
      `  tls-service-key: "${d}/dot.key"`,
      `  tls-service-pem: "${d}/dot.pem"`,
      '  do-ip6: no',
      '  num-threads: 1',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${d}"`,
      `  pidfile: "${d}/unbound.pid"`,
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 0',
      '  module-config: "iterator"',
      '  access-control: 127.0.0.0/8 allow',
      '  incoming-num-tcp: 100',
      '  local-zone: "miss.bench." static',
      '  local-data: "www.miss.bench. 60 IN A 192.0.2.80"',
      'remote-control:',
      '  control-enable: no',
      '',
    ].join('\n'),
  );
  const unbound = groups.spawn('Unbound DoT', 'unbound', ['-d', '-c', conf]);
  for (let i = 0; i < 100 && !(await tcpUp(port)); i++) await sleep(100);
  const s = await startShardns(groups, dir, 'shardns DoT', `tls://127.0.0.1:${port}#dot.bench`, ['--tls-ca', join(d, 'ca.pem')]);
  if (!(await answers(s.port, 'www.miss.bench', '192.0.2.80', 10_000))) throw new Error(`shardns over TLS gave no answer:\n${s.tracked.output().slice(-2000)}`);
  const names = Math.ceil(o.dotQps * o.dotSeconds * 1.1);
  const file = join(d, 'misses.txt');
  writeFileSync(file, Array.from({ length: names }, (_, i) => `m${i}-${Math.random().toString(36).slice(2, 8)}.miss.bench A`).join('\n') + '\n');
  const before = await readCounters(s.tracked, 1);
  const t = groups.spawn('dnsperf', 'dnsperf', [...dnsperfArgs({ port: s.port, queryFile: file, durationSec: o.dotSeconds, clients: CLIENTS, outstanding: OUTSTANDING, timeoutSec: 3 }), '-Q', String(o.dotQps)]);
  await t.exited;
  await Promise.race([t.closed, sleep(2000)]);
  await groups.stop(t, 0);
  const stats = parseDnsperf(t.output());
  const after = await readCounters(s.tracked, 1);
  const delta = (k: string): number => (after[0]?.values[`forwarding.${k}`] ?? 0) - (before[0]?.values[`forwarding.${k}`] ?? 0);
  const overMax = (after[0]?.values['forwardOverMax'] ?? 0) - (before[0]?.values['forwardOverMax'] ?? 0);
  const handshakes = delta('tlsHandshakes');
  const minutes = stats.runTimeSec / 60;
  out.push(
    '',
    `### DNS over TLS upstream, ${o.dotQps} QPS of cache misses for ${o.dotSeconds} s (1 worker, Unbound 1 thread)`,
    '',
    '| answered | lost | over forward-max | upstream questions | TLS handshakes during the run (resumed) | since start, the probe\'s included | TLS failures | handshakes per upstream per minute of load |',
    '|---|---|---|---|---|---|---|---|',
    `| ${stats.completed} (${Math.round(stats.qps)} QPS, ${JSON.stringify(stats.rcodes)}) | ${stats.lost} | ${overMax} | ${delta('upstreamQueries')} | ${handshakes} (${delta('tlsResumed')}) | ${after[0]?.values['forwarding.tlsHandshakes'] ?? 0} | ${delta('tlsFailures')} | ${fmt(handshakes / minutes, 2)} |`,
  );
  json['dot'] = { stats, handshakes, resumed: delta('tlsResumed'), failures: delta('tlsFailures'), upstreamQueries: delta('upstreamQueries') };
  await groups.stop(s.tracked);
  await groups.stop(unbound);
}

function tcpUp(port: number): Promise<boolean> {
  return import('node:net').then(
    (net) =>
      new Promise<boolean>((resolve) => {
        const c = net.connect({ host: '127.0.0.1', port });
        c.once('connect', () => {
          c.destroy();
          resolve(true);
        });
        c.once('error', () => resolve(false));
      }),
  );
}

async function main(): Promise<void> {
  const o = options();
  const why = missing('dnsperf', ['-h'], 'dnsperf') ?? missing('nsd', ['-v'], 'nsd');
  if (why) {
    console.error(`forward-peers: ${why}`);
    process.exit(1);
  }
  const groups = new ProcessGroups();
  const dir = mkdtempSync(join(tmpdir(), 'shardns-fwd-bench-'));
  chmodSync(dir, 0o755);
  const hz = clockTicks();
  const out: string[] = [`## Local resolver benchmark (${new Date().toISOString()}, ${availableParallelism()} CPUs, node ${process.version})`];
  const json: Record<string, unknown> = { when: new Date().toISOString(), options: { ...o, only: [...o.only] } };
  try {
    const upstream = await startUpstream(groups, openDir(dir, 'upstream'));
    const file = queryFile(dir);
    if (o.only.has('cached')) await cached(groups, dir, upstream, file, o, hz, out, json);
    if (o.only.has('zones')) await zones(groups, dir, upstream, file, o, hz, out, json);
    await groups.stop(upstream.tracked);
    if (o.only.has('dot')) await dot(groups, dir, o, out, json);
  } finally {
    for (const pgid of groups.pgids()) killGroup(pgid, 'SIGKILL');
  }
  const text = out.join('\n');
  console.log(`\n${text}\n`);
  const results = join(ROOT, 'bench/results');
  mkdirSync(results, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(join(results, `forward-peers-${stamp}.json`), JSON.stringify(json, null, 2));
  writeFileSync(join(results, `forward-peers-${stamp}.md`), `${text}\n`);
}

await main();
