/** Worker balance: shardns's per-worker counters (logged by the supervisor on SIGUSR1) before and after a run. */

import type { Tracked } from './processes.js';

/** One worker's counters as the supervisor logged them. */
export interface WorkerCounters {
  id: number;
  pid: number;
  /** Every `key=number` on the line: queries, udp, tcp, dropped, truncated, internalErrors, rcodes.NOERROR, … */
  values: Record<string, number>;
}

/** What one worker answered during a run. */
export interface WorkerShare {
  id: number;
  pid: number;
  /** Replies sent (queries received minus those dropped). */
  answered: number;
}

const LINE = /worker (\d+) \(pid (\d+)\) counters((?:[ \t]+[\w.]+=\d+)*)/g;

/**
 * Reads the supervisor's counter lines, e.g.
 * `… INFO  supervisor[123]: worker 0 (pid 456) counters queries=10 udp=10 tcp=0 dropped=0 …`;
 * the last line for each worker wins. Sorted by worker id.
 */
export function parseCounterLines(text: string): WorkerCounters[] {
  const byId = new Map<number, WorkerCounters>();
  for (const m of text.matchAll(LINE)) {
    const values: Record<string, number> = {};
    for (const kv of m[3]!.trim().split(/\s+/).filter(Boolean)) {
      const eq = kv.indexOf('=');
      values[kv.slice(0, eq)] = Number(kv.slice(eq + 1));
    }
    byId.set(Number(m[1]), { id: Number(m[1]), pid: Number(m[2]), values });
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

const answered = (c: WorkerCounters | undefined): number => (c ? (c.values.queries ?? 0) - (c.values.dropped ?? 0) : 0);

/**
 * Replies per worker between two readings. A worker whose pid changed was
 * replaced in between: everything its successor counted is new.
 */
export function sharesBetween(before: readonly WorkerCounters[], after: readonly WorkerCounters[]): WorkerShare[] {
  return after.map((a) => {
    const b = before.find((x) => x.id === a.id && x.pid === a.pid);
    return { id: a.id, pid: a.pid, answered: answered(a) - answered(b) };
  });
}

/** Adds the shares of several runs worker by worker. */
export function addShares(runs: readonly WorkerShare[][]): WorkerShare[] {
  const byId = new Map<number, WorkerShare>();
  for (const run of runs) {
    for (const s of run) {
      const t = byId.get(s.id);
      if (t) t.answered += s.answered;
      else byId.set(s.id, { ...s });
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** The busiest worker's count over the idlest one's (1 is perfect; Infinity when one got nothing). */
export function maxMinRatio(shares: readonly WorkerShare[]): number {
  if (shares.length === 0) return NaN;
  const v = shares.map((s) => s.answered);
  const max = Math.max(...v);
  const min = Math.min(...v);
  return min > 0 ? max / min : max > 0 ? Infinity : 1;
}

/**
 * Asks the supervisor (SIGUSR1) for every worker's counters and waits for the
 * `workers` lines it logs in answer.
 */
export async function readCounters(supervisor: Tracked, workers: number, timeoutMs = 5000): Promise<WorkerCounters[]> {
  const since = supervisor.mark();
  process.kill(supervisor.proc.pid!, 'SIGUSR1');
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = parseCounterLines(supervisor.outputSince(since));
    if (found.length >= workers) return found;
    if (Date.now() > end) throw new Error(`shardns logged counters for ${found.length} of ${workers} workers within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
