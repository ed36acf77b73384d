/** A real NSD on a loopback high port whose query counter a test can read (nsd-control over a unix socket), as an upstream whose traffic is observed. */

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { udpQuery } from './dns-client.js';
import { until } from './server.js';

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

/** Starts NSD serving `zones` (origin without trailing dot → file) on 127.0.0.1:port, rate limiting off, control on a unix socket. */
export async function startCountedNsd(zones: { name: string; file: string }[], port: number): Promise<CountedNsd> {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-nsdc-'));
  const conf = join(dir, 'nsd.conf');
  const zoneBlocks = zones
    .map((z) => {
      const copy = join(dir, basename(z.file));
      copyFileSync(z.file, copy);
      return `zone:\n  name: "${z.name}"\n  zonefile: "${copy}"\n`;
    })
    .join('');
  writeFileSync(
    conf,
    `server:\n  ip-address: 127.0.0.1@${port}\n  port: ${port}\n  username: ""\n  zonesdir: "${dir}"\n  database: ""\n` +
      `  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n` +
      `  rrl-ratelimit: 0\n  server-count: 1\n  verbosity: 1\nremote-control:\n  control-enable: yes\n  control-interface: ${dir}/nsd.ctl\n${zoneBlocks}`,
  );
  const proc = spawn('nsd', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const stop = (): void => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const queries = (): number => {
    const r = spawnSync('nsd-control', ['-c', conf, 'stats_noreset'], { encoding: 'utf8' });
    const m = /^num\.queries=(\d+)$/m.exec(r.stdout ?? '');
    if (!m) throw new Error(`nsd-control stats_noreset gave no num.queries:\n${r.stdout}${r.stderr}`);
    return Number(m[1]);
  };
  const up = await until(async () => {
    try {
      await udpQuery(zones[0]!.name, 'SOA', 'IN', port);
      return true;
    } catch {
      return false;
    }
  }, 10_000, 100);
  if (!up) {
    stop();
    throw new Error(`NSD did not start:\n${log}`);
  }
  return { port, queries, stop };
}
