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

const kbField = (text: string, name: string): number | undefined => {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

/** The proportional-set lines of /proc/<pid>/smaps_rollup, in kB. */
export interface PssKb {
  /** `Pss:`: each resident page counted 1/n in each of the n processes that map it. */
  pss: number;
  /** `Pss_Anon:`, `Pss_File:`, `Pss_Shmem:` (Linux 5.9 and later): heap and stacks, mapped files, shared memory. */
  anon?: number;
  file?: number;
  shmem?: number;
  /**
   * `Private_Clean:` + `Private_Dirty:`: pages no other process maps. Unlike
   * PSS, it does not move with how many other processes on the machine map
   * the same executable and libraries (other Node programs running beside).
   */
  private?: number;
}

/**
 * Reads the `Pss:` line of a smaps_rollup text (proc(5)) and, when present,
 * its parts; null when there is no `Pss:` line. `Pss_Dirty:` and the parts
 * are not mistaken for `Pss:`.
 */
export function parseRollup(text: string): PssKb | null {
  const pss = kbField(text, 'Pss');
  if (pss === undefined) return null;
  const out: PssKb = { pss };
  const anon = kbField(text, 'Pss_Anon');
  const file = kbField(text, 'Pss_File');
  const shmem = kbField(text, 'Pss_Shmem');
  if (anon !== undefined) out.anon = anon;
  if (file !== undefined) out.file = file;
  if (shmem !== undefined) out.shmem = shmem;
  const clean = kbField(text, 'Private_Clean');
  const dirty = kbField(text, 'Private_Dirty');
  if (clean !== undefined && dirty !== undefined) out.private = clean + dirty;
  return out;
}

/** A process's PSS (kB) by kind of mapping, from /proc/<pid>/smaps. */
export interface PssByMapping {
  /** The `[heap]` mapping: the brk heap, glibc malloc's main arena (native allocations of the main thread, ArrayBuffer backing stores among them). */
  brkKb: number;
  /** Anonymous mappings other than `[heap]` and `[stack]`: V8's heap pages, other malloc arenas, mmapped allocations, thread stacks. */
  anonKb: number;
  /** Mappings of files (the executable, libraries, mapped zone images). */
  fileKb: number;
  /** Everything else (`[stack]`, `[vdso]`, …). */
  otherKb: number;
}

/**
 * Sums the `Pss:` lines of an smaps text (proc(5)) by kind of mapping: a
 * header line `start-end perms offset dev inode [path]` starts each
 * mapping; a path starting with `/` is a file, `[heap]` the brk heap, none
 * an anonymous mapping.
 */
export function parseSmapsPss(text: string): PssByMapping {
  const out: PssByMapping = { brkKb: 0, anonKb: 0, fileKb: 0, otherKb: 0 };
  let kind: keyof PssByMapping = 'otherKb';
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1]!.trim();
      kind = path === '' ? 'anonKb' : path === '[heap]' ? 'brkKb' : path.startsWith('/') ? 'fileKb' : 'otherKb';
      continue;
    }
    const pss = /^Pss:\s+(\d+) kB/.exec(line);
    if (pss) out[kind] += Number(pss[1]);
  }
  return out;
}

/** {@link parseSmapsPss} of a live process; null when it is gone or its smaps cannot be read. */
export function pssByMapping(pid: number, procRoot = '/proc'): PssByMapping | null {
  try {
    return parseSmapsPss(readFileSync(`${procRoot}/${pid}/smaps`, 'utf8'));
  } catch {
    return null;
  }
}

/** Memory of one process in kB (see {@link memoryKb}). */
export interface ProcessMemoryKb {
  rssKb: number;
  peakKb: number;
  /** Pss, or VmRSS when smaps_rollup cannot be read (then `pssFromRss`). */
  pssKb: number;
  pssAnonKb?: number;
  pssFileKb?: number;
  pssShmemKb?: number;
  /** Private_Clean + Private_Dirty (see {@link PssKb}). */
  privateKb?: number;
  pssFromRss?: true;
}

/**
 * Memory of one process in kB: resident now and at its peak (VmRSS, VmHWM
 * from status), and its proportional share (Pss from smaps_rollup: a page
 * shared by n processes counts 1/n in each) with its parts. Zeros when it is gone.
 */
export function memoryKb(pid: number, procRoot = '/proc'): ProcessMemoryKb {
  let status: string;
  try {
    status = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch {
    return { rssKb: 0, peakKb: 0, pssKb: 0 };
  }
  let rollup: PssKb | null = null;
  try {
    rollup = parseRollup(readFileSync(`${procRoot}/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    /* kernels before 4.14, no permission, or gone: PSS falls back to RSS below */
  }
  const rssKb = kbField(status, 'VmRSS') ?? 0;
  const peakKb = kbField(status, 'VmHWM') ?? 0;
  if (rollup === null) return { rssKb, peakKb, pssKb: rssKb, pssFromRss: true };
  return {
    rssKb,
    peakKb,
    pssKb: rollup.pss,
    ...(rollup.anon !== undefined ? { pssAnonKb: rollup.anon } : {}),
    ...(rollup.file !== undefined ? { pssFileKb: rollup.file } : {}),
    ...(rollup.shmem !== undefined ? { pssShmemKb: rollup.shmem } : {}),
    ...(rollup.private !== undefined ? { privateKb: rollup.private } : {}),
  };
}

/** Memory of a process group in MB (see {@link groupMemoryMB}). */
export interface GroupMemoryMB {
  rssMB: number;
  peakMB: number;
  pssMB: number;
  /** Sums of the PSS parts, when every process had them. */
  pssAnonMB?: number;
  pssFileMB?: number;
  pssShmemMB?: number;
  /** Sum of each process's private pages (Private_Clean + Private_Dirty), when every process had them. */
  privateMB?: number;
  /** Processes whose PSS could not be read (their RSS is in pssMB); absent when none. */
  pssFromRss?: number;
}

/**
 * Memory of a process group, in MB: the sums of each process's resident set,
 * of each one's peak, and of each one's proportional share (PSS, with its
 * anonymous, file and shmem parts). In the RSS sums a page shared between
 * processes (code, copy-on-write after fork, as NSD's server processes share
 * the zone; a zone image every worker maps) counts once per process, so they
 * are an upper bound; the PSS sum counts it once.
 */
export function groupMemoryMB(pgid: number, procRoot = '/proc'): GroupMemoryMB {
  const all = groupPids(pgid, procRoot).map((pid) => memoryKb(pid, procRoot));
  const sum = (f: (m: ProcessMemoryKb) => number): number => all.reduce((a, m) => a + f(m), 0) / 1024;
  const part = (f: (m: ProcessMemoryKb) => number | undefined): number | undefined => (all.length > 0 && all.every((m) => f(m) !== undefined) ? sum((m) => f(m)!) : undefined);
  const out: GroupMemoryMB = { rssMB: sum((m) => m.rssKb), peakMB: sum((m) => m.peakKb), pssMB: sum((m) => m.pssKb) };
  const anon = part((m) => m.pssAnonKb);
  const file = part((m) => m.pssFileKb);
  const shmem = part((m) => m.pssShmemKb);
  if (anon !== undefined) out.pssAnonMB = anon;
  if (file !== undefined) out.pssFileMB = file;
  if (shmem !== undefined) out.pssShmemMB = shmem;
  const priv = part((m) => m.privateKb);
  if (priv !== undefined) out.privateMB = priv;
  const fromRss = all.filter((m) => m.pssFromRss).length;
  if (fromRss > 0) out.pssFromRss = fromRss;
  return out;
}

/**
 * {@link groupMemoryMB} read `samples` times, `gapMs` apart, each figure the
 * median of its readings: one reading can catch a process between a GC and
 * the kernel taking its pages back, or mid-way through touching a mapping.
 * A part is given only when every reading had it.
 */
export async function sampledGroupMemoryMB(pgid: number, samples: number, gapMs: number, procRoot = '/proc'): Promise<GroupMemoryMB> {
  const reads: GroupMemoryMB[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
    reads.push(groupMemoryMB(pgid, procRoot));
  }
  return medianMemory(reads);
}

/** Per figure, the median of several readings of a group's memory (a part only when every reading had it). */
export function medianMemory(reads: readonly GroupMemoryMB[]): GroupMemoryMB {
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const h = Math.floor(s.length / 2);
    return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
  };
  const out: GroupMemoryMB = { rssMB: median(reads.map((r) => r.rssMB)), peakMB: median(reads.map((r) => r.peakMB)), pssMB: median(reads.map((r) => r.pssMB)) };
  for (const k of ['pssAnonMB', 'pssFileMB', 'pssShmemMB', 'privateMB', 'pssFromRss'] as const) {
    const xs = reads.map((r) => r[k]);
    if (reads.length > 0 && xs.every((x) => x !== undefined)) out[k] = median(xs as number[]);
  }
  return out;
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
