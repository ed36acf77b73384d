/** A real NSD on a loopback high port whose query counter a test can read (nsd-control over a unix socket), as an upstream whose traffic is observed. */

import { spawnSync } from 'node:child_process';
import { startNsd } from './nsd.js';

/** Why this helper cannot run here, or null. */
export function countedNsdUnavailable(): string | null {
  if (spawnSync('nsd', ['-v']).error) return 'nsd not installed — apt-get install nsd';
  if (spawnSync('nsd-control', ['-h']).error) return 'nsd-control not installed — apt-get install nsd';
  return null;
}

/** A running NSD with its counter. */
export interface CountedNsd {
  port: number;
  /** Queries NSD has received so far (num.queries of `nsd-control stats_noreset`). */
  queries(): number;
  stop(): void;
}

/** Starts NSD serving `zones` (origin without trailing dot → file) on 127.0.0.1:port, rate limiting off, control on a unix socket (startNsd). */
export async function startCountedNsd(zones: { name: string; file: string }[], port: number): Promise<CountedNsd> {
  const nsd = await startNsd(zones, port, [], { control: true });
  const queries = (): number => {
    const r = spawnSync('nsd-control', ['-c', nsd.conf, 'stats_noreset'], { encoding: 'utf8' });
    const m = /^num\.queries=(\d+)$/m.exec(r.stdout ?? '');
    if (!m) throw new Error(`nsd-control stats_noreset gave no num.queries:\n${r.stdout}${r.stderr}`);
    return Number(m[1]);
  };
  return { port, queries, stop: nsd.stop };
}
