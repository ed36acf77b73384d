/** Running dnsperf (Debian package dnsperf) and reading the statistics it prints. */

import { spawnSync } from 'node:child_process';
import type { ProcessGroups } from './processes.js';

/** What dnsperf reports for one run. Latencies in seconds, as printed. */
export interface DnsperfStats {
  sent: number;
  completed: number;
  lost: number;
  /** Answers per rcode name (`NOERROR`, `NXDOMAIN`, …). */
  rcodes: Record<string, number>;
  runTimeSec: number;
  qps: number;
  latencyAvgSec: number;
  latencyMinSec: number;
  latencyMaxSec: number;
  latencyStdDevSec: number;
  /** Mean octets per query and per reply ("Average packet size: request N, response M"; absent when not printed). */
  requestAvgBytes?: number;
  responseAvgBytes?: number;
}

const num = (s: string): number => Number(s.replace(/,/g, ''));

/**
 * Parses dnsperf's closing statistics ("Queries sent", "Queries completed",
 * "Queries lost", "Response codes", "Run time (s)", "Queries per second",
 * "Average Latency (s): X (min Y, max Z)", "Latency StdDev (s)"). Throws
 * naming every field it could not find.
 */
export function parseDnsperf(text: string): DnsperfStats {
  const missing: string[] = [];
  const grab = (label: string, re: RegExp): RegExpExecArray | null => {
    const m = re.exec(text);
    if (!m) missing.push(label);
    return m;
  };
  const sent = grab('Queries sent', /^\s*Queries sent:\s+([\d,]+)/m);
  const completed = grab('Queries completed', /^\s*Queries completed:\s+([\d,]+)/m);
  const lost = grab('Queries lost', /^\s*Queries lost:\s+([\d,]+)/m);
  const runTime = grab('Run time (s)', /^\s*Run time \(s\):\s+([\d.]+)/m);
  const qps = grab('Queries per second', /^\s*Queries per second:\s+([\d.]+)/m);
  const latency = grab('Average Latency (s)', /^\s*Average Latency \(s\):\s+([\d.]+)\s+\(min\s+([\d.]+),\s*max\s+([\d.]+)\)/m);
  const stddev = grab('Latency StdDev (s)', /^\s*Latency StdDev \(s\):\s+([\d.]+)/m);
  if (missing.length > 0) throw new Error(`dnsperf output lacks ${missing.join(', ')}:\n${text.slice(-1500)}`);
  const sizes = /^\s*Average packet size:\s+request\s+(\d+),\s*response\s+(\d+)/m.exec(text);
  const rcodes: Record<string, number> = {};
  const rc = /^\s*Response codes:\s+(.*)$/m.exec(text);
  if (rc) for (const m of rc[1]!.matchAll(/([A-Z][A-Z0-9]*)\s+([\d,]+)\s+\(/g)) rcodes[m[1]!] = num(m[2]!);
  return {
    sent: num(sent![1]!),
    completed: num(completed![1]!),
    lost: num(lost![1]!),
    rcodes,
    runTimeSec: Number(runTime![1]),
    qps: Number(qps![1]),
    latencyAvgSec: Number(latency![1]),
    latencyMinSec: Number(latency![2]),
    latencyMaxSec: Number(latency![3]),
    latencyStdDevSec: Number(stddev![1]),
    ...(sizes ? { requestAvgBytes: Number(sizes[1]), responseAvgBytes: Number(sizes[2]) } : {}),
  };
}

/** How dnsperf is run against one server. */
export interface DnsperfOptions {
  port: number;
  queryFile: string;
  durationSec: number;
  clients: number;
  /** Queries in flight at most (dnsperf -q), over all clients. */
  outstanding: number;
  /** Seconds before an unanswered query counts as lost (dnsperf -t). */
  timeoutSec: number;
  /** Stop after this many passes through the query file (dnsperf -n), or at durationSec, whichever comes first. */
  passes?: number;
  /** The file holds whole DNS messages, each after a 2-octet length (dnsperf -B; bench/wire-queries.ts), not `name type` lines. */
  binary?: boolean;
  /** Queries per second at most (dnsperf -Q); absent: as fast as answers come. */
  maxQps?: number;
}

/** The dnsperf command line: UDP to 127.0.0.1 only, time-limited (and limited to a number of passes through the file, when asked; a binary file read with -B). */
export function dnsperfArgs(o: DnsperfOptions): string[] {
  return [
    '-s', '127.0.0.1',
    '-p', String(o.port),
    '-m', 'udp',
    '-d', o.queryFile,
    '-l', String(o.durationSec),
    '-c', String(o.clients),
    '-q', String(o.outstanding),
    '-t', String(o.timeoutSec),
    ...(o.passes !== undefined ? ['-n', String(o.passes)] : []),
    ...(o.binary === true ? ['-B'] : []),
    ...(o.maxQps !== undefined ? ['-Q', String(o.maxQps)] : []),
  ];
}

/** Why dnsperf cannot run here, with what to do, or null when it can. */
export function dnsperfUnavailable(): string | null {
  const r = spawnSync('dnsperf', ['-h'], { encoding: 'utf8' });
  return r.error ? 'dnsperf not installed — apt-get install dnsperf' : null;
}

/** dnsperf's version line, e.g. `2.10.0`. */
export function dnsperfVersion(): string {
  const r = spawnSync('dnsperf', ['-h'], { encoding: 'utf8' });
  return /Version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/**
 * Runs dnsperf for the set time (killed if it overruns by 30 s) and returns
 * its statistics and its full output.
 */
export async function runDnsperf(groups: ProcessGroups, o: DnsperfOptions): Promise<{ stats: DnsperfStats; output: string }> {
  const t = groups.spawn('dnsperf', 'dnsperf', dnsperfArgs(o));
  const deadline = setTimeout(() => void groups.stop(t, 0), (o.durationSec + o.timeoutSec + 30) * 1000);
  const { code, signal } = await t.exited;
  await Promise.race([t.closed, new Promise((r) => setTimeout(r, 2000))]);
  clearTimeout(deadline);
  await groups.stop(t, 0);
  const output = t.output();
  if (code !== 0) throw new Error(`dnsperf failed (${code ?? signal}):\n${output.slice(-1500)}`);
  return { stats: parseDnsperf(output), output };
}
