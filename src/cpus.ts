/** How many CPUs this process may really use: affinity mask and cgroup CPU quota. */

import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

/**
 * CPUs this process may use: the affinity mask (Cpus_allowed_list in
 * /proc/self/status) capped by a cgroup CPU quota, rounded up, at least 1.
 * cgroup v2 `cpu.max` ("max 100000" or "150000 100000"), v1 `cpu.cfs_quota_us`.
 */
export function usableCpus(readFile: (path: string) => string | null = tryRead): number {
  // Not availableParallelism() alone: from libuv 1.49 (Node 22+) it also applies
  // cpu.max, rounded down, so --cpus 1.5 would give 1 instead of 2.
  const affinity = affinityCpus(readFile) ?? availableParallelism();
  const quota = cgroupQuota(readFile);
  return Math.max(1, quota === null ? affinity : Math.min(affinity, Math.ceil(quota)));
}

/**
 * The cgroup CPU quota in CPUs (1.5 for "150000 100000"), or null when unlimited
 * or unknown. For cgroup v2 every ancestor of this process's cgroup (from
 * /proc/self/cgroup) may set `cpu.max`; the smallest wins.
 */
export function cgroupQuota(readFile: (path: string) => string | null): number | null {
  const ratio = (q: string | undefined, p: string | undefined): number | null => {
    const qn = Number(q);
    const pn = Number(p);
    return q !== 'max' && qn > 0 && pn > 0 ? qn / pn : null;
  };
  const self = readFile('/proc/self/cgroup') ?? '';
  const v2path = /^0::(\/.*)$/m.exec(self)?.[1];
  if (v2path !== undefined) {
    let best: number | null = null;
    const parts = v2path.split('/').filter(Boolean);
    for (let i = parts.length; i >= 0; i--) {
      const dir = ['/sys/fs/cgroup', ...parts.slice(0, i)].join('/');
      const max = readFile(`${dir}/cpu.max`);
      if (max === null) continue;
      const [q, p] = max.trim().split(/\s+/);
      const r = ratio(q, p);
      if (r !== null && (best === null || r < best)) best = r;
    }
    if (best !== null) return best;
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const q = readFile(`${dir}/cpu.cfs_quota_us`);
    const p = readFile(`${dir}/cpu.cfs_period_us`);
    if (q !== null && p !== null) return ratio(q.trim(), p.trim());
  }
  return null;
}

/** CPUs in this process's affinity mask, from `Cpus_allowed_list: 0-3,8` in /proc/self/status. */
export function affinityCpus(readFile: (path: string) => string | null): number | null {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFile('/proc/self/status') ?? '')?.[1];
  if (!list) return null;
  let n = 0;
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) return null;
    n += b === undefined ? 1 : b - a + 1;
  }
  return n > 0 ? n : null;
}

function tryRead(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
