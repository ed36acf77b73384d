/** Server CPU time and memory from /proc: per-process stat lines, summed over a process group. */

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat the benchmark uses (times in clock ticks). */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  utime: number;
  stime: number;
}

/**
 * Parses one /proc/<pid>/stat line (proc(5)). The command name sits in
 * parentheses and may itself hold spaces and parentheses, so the fields are
 * counted from the last `)`.
 */
export function parseStat(line: string): ProcStat {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  const f = line.slice(close + 2).trim().split(/\s+/);
  // f[0] is field 3 (state), so field n is f[n - 3].
  if (f.length < 13) throw new Error(`short /proc stat line: ${line.slice(0, 80)}`);
  return {
    pid: Number(line.slice(0, open).trim()),
    comm: line.slice(open + 1, close),
    state: f[0]!,
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    utime: Number(f[11]),
    stime: Number(f[12]),
  };
}

/** Clock ticks per second (the unit of utime and stime); 100 on every Linux we know. */
export function clockTicks(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}

/** Every live process in process group `pgid` (zombies left out). */
export function groupStats(pgid: number, procRoot = '/proc'): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    let st: ProcStat;
    try {
      st = parseStat(readFileSync(`${procRoot}/${entry}/stat`, 'utf8'));
    } catch {
      continue; // exited while we looked
    }
    if (st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') out.push(st);
  }
  return out;
}

/** Live pids of a process group. */
export function groupPids(pgid: number, procRoot = '/proc'): number[] {
  return groupStats(pgid, procRoot).map((s) => s.pid);
}

/** CPU ticks (user + system) per pid at one moment. */
export type CpuSample = Map<number, number>;

/** Samples the CPU ticks of every process in the group. */
export function sampleCpu(pgid: number, procRoot = '/proc'): CpuSample {
  return new Map(groupStats(pgid, procRoot).map((s) => [s.pid, s.utime + s.stime]));
}

/**
 * CPU seconds the group used between two samples. A process that started in
 * between counts in full; one that exited in between is lost (its last ticks
 * cannot be read), so a negative difference is never produced.
 */
export function cpuSecondsBetween(before: CpuSample, after: CpuSample, ticksPerSecond: number): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += Math.max(0, t - (before.get(pid) ?? 0));
  return ticks / ticksPerSecond;
}

const kbField = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);

/**
 * Memory of one process in kB: resident now and at its peak (VmRSS, VmHWM
 * from status), and its proportional share (Pss from smaps_rollup: a page
 * shared by n processes counts 1/n in each). Zeros when it is gone.
 */
export function memoryKb(pid: number, procRoot = '/proc'): { rssKb: number; peakKb: number; pssKb: number } {
  let status: string;
  try {
    status = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch {
    return { rssKb: 0, peakKb: 0, pssKb: 0 };
  }
  let rollup = '';
  try {
    rollup = readFileSync(`${procRoot}/${pid}/smaps_rollup`, 'utf8');
  } catch {
    /* kernels before 4.14, or gone: PSS falls back to RSS below */
  }
  const rssKb = kbField(status, 'VmRSS');
  return { rssKb, peakKb: kbField(status, 'VmHWM'), pssKb: rollup ? kbField(rollup, 'Pss') : rssKb };
}

/**
 * Memory of a process group, in MB: the sums of each process's resident set,
 * of each one's peak, and of each one's proportional share. In the RSS sums a
 * page shared between processes (code, copy-on-write after fork, as NSD's
 * server processes share the zone) counts once per process, so they are an
 * upper bound; the PSS sum counts it once.
 */
export function groupMemoryMB(pgid: number, procRoot = '/proc'): { rssMB: number; peakMB: number; pssMB: number } {
  let rss = 0;
  let peak = 0;
  let pss = 0;
  for (const pid of groupPids(pgid, procRoot)) {
    const m = memoryKb(pid, procRoot);
    rss += m.rssKb;
    peak += m.peakKb;
    pss += m.pssKb;
  }
  return { rssMB: rss / 1024, peakMB: peak / 1024, pssMB: pss / 1024 };
}

/** The machine's CPU counters from /proc/stat (all CPUs), in ticks. */
export interface SystemCpu {
  busy: number;
  total: number;
}

/** Parses the `cpu ` line of /proc/stat: idle and iowait are idle, the rest busy. */
export function parseSystemCpu(text: string): SystemCpu {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no "cpu " line in /proc/stat');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are already in user)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** Reads the machine's CPU counters. */
export function systemCpu(procRoot = '/proc'): SystemCpu {
  return parseSystemCpu(readFileSync(`${procRoot}/stat`, 'utf8'));
}

/** How many CPUs were busy on average between two system samples (0 … cores). */
export function busyCores(before: SystemCpu, after: SystemCpu, cores: number): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * cores : 0;
}
