/** One measured dnsperf run against one running server: CPU from /proc around it, memory after it, shardns's counters outside the CPU window. */

import { availableParallelism } from 'node:os';
import { readCounters, sharesBetween, type WorkerCounters, type WorkerShare } from './balance.js';
import { runDnsperf } from './dnsperf.js';
import type { ProcessGroups } from './processes.js';
import { busyCores, cpuSecondsBetween, groupMemoryMB, sampleCpu, systemCpu } from './procstat.js';
import type { LoadRun } from './result.js';
import type { ServerHandle } from './servers.js';

/** How dnsperf loads the server. */
export interface Load {
  queryFile: string;
  durationSec: number;
  clients: number;
  outstanding: number;
  /** The query file is dnsperf's binary format (dnsperf -B): whole messages, with their EDNS and DO bit. */
  binary?: boolean;
}

/** What a measured run gives besides its LoadRun. */
export interface Measured {
  run: LoadRun;
  /** shardns: replies per worker during the run. */
  shares?: WorkerShare[];
  /** With an upstream: the queries it received and the CPU it used during the run. */
  upstream?: { queries: number; cpuSec: number };
}

/** Queries a shardns received, over all its workers (a replaced worker's successor counts from 0). */
function queriesBetween(before: readonly WorkerCounters[], after: readonly WorkerCounters[]): number {
  let n = 0;
  for (const a of after) {
    const b = before.find((x) => x.id === a.id && x.pid === a.pid);
    n += (a.values.queries ?? 0) - (b?.values.queries ?? 0);
  }
  return n;
}

/**
 * Runs dnsperf against `s` once. The server's CPU is the sum over its process
 * group between a sample just before and one just after dnsperf; an
 * `upstream` (a shardns the server forwards to) is sampled the same way,
 * apart, and its counters give the queries it received. Counters are read
 * outside the CPU window: asking for them costs the supervisor and workers a
 * little.
 */
export async function measureRun(groups: ProcessGroups, s: ServerHandle, load: Load, round: number, hz: number, upstream?: ServerHandle): Promise<Measured> {
  const before = s.kind === 'shardns' ? await readCounters(s.process, s.workers) : undefined;
  const upBefore = upstream ? await readCounters(upstream.process, upstream.workers) : undefined;
  const sys0 = systemCpu();
  const cpu0 = sampleCpu(s.process.pgid);
  const up0 = upstream ? sampleCpu(upstream.process.pgid) : undefined;
  const { stats } = await runDnsperf(groups, { port: s.port, queryFile: load.queryFile, durationSec: load.durationSec, clients: load.clients, outstanding: load.outstanding, timeoutSec: 2, ...(load.binary === true ? { binary: true } : {}) });
  const cpu1 = sampleCpu(s.process.pgid);
  const up1 = upstream ? sampleCpu(upstream.process.pgid) : undefined;
  const sys1 = systemCpu();
  const mem = groupMemoryMB(s.process.pgid);
  const cpuSec = cpuSecondsBetween(cpu0, cpu1, hz);
  const run: LoadRun = {
    server: s.kind,
    ...(s.variant !== undefined ? { variant: s.variant } : {}),
    workers: s.workers,
    round,
    dnsperf: stats,
    cpuSec,
    cpuUsPerQuery: stats.completed > 0 ? (cpuSec / stats.completed) * 1e6 : NaN,
    rssMB: mem.rssMB,
    peakRssMB: mem.peakMB,
    pssMB: mem.pssMB,
    machineBusyCores: busyCores(sys0, sys1, availableParallelism()),
  };
  const out: Measured = { run };
  if (before !== undefined) out.shares = sharesBetween(before, await readCounters(s.process, s.workers));
  if (upstream && upBefore && up0 && up1) {
    out.upstream = { queries: queriesBetween(upBefore, await readCounters(upstream.process, upstream.workers)), cpuSec: cpuSecondsBetween(up0, up1, hz) };
  }
  return out;
}

/** Queries the shardns `s` has received so far, over all its workers. */
export async function queriesSoFar(s: ServerHandle): Promise<number> {
  return queriesBetween([], await readCounters(s.process, s.workers));
}
