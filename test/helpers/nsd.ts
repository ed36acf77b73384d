/** Starts a real NSD (Debian package nsd) on a loopback high port with given zones, as a peer for tests. */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { udpQuery } from './dns-client.js';
import { until } from './server.js';

/** Why NSD cannot be used here, or null when it can. */
export function nsdUnavailable(): string | null {
  const r = spawnSync('nsd', ['-v'], { encoding: 'utf8' });
  return r.error ? 'nsd not installed — apt-get install nsd' : null;
}

/** A running NSD. */
export interface Nsd {
  port: number;
  proc: ChildProcess;
  stop(): void;
}

/** Starts NSD serving `zones` (origin → file) on 127.0.0.1:port with rate limiting off; resolves once it answers. */
export async function startNsd(zones: { name: string; file: string }[], port: number): Promise<Nsd> {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-nsd-'));
  const zoneBlocks = zones
    .map((z) => {
      const copy = join(dir, basename(z.file));
      copyFileSync(z.file, copy);
      return `zone:\n  name: "${z.name}"\n  zonefile: "${copy}"\n`;
    })
    .join('');
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:\n  ip-address: 127.0.0.1@${port}\n  port: ${port}\n  username: ""\n  zonesdir: "${dir}"\n  database: ""\n` +
      `  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n` +
      `  rrl-ratelimit: 0\n  server-count: 1\n  verbosity: 1\n  hide-version: no\nremote-control:\n  control-enable: no\n${zoneBlocks}`,
  );
  const proc = spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const stop = (): void => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const first = zones[0]?.name ?? '.';
  const up = await until(async () => {
    try {
      await udpQuery(first, 'SOA', 'IN', port);
      return true;
    } catch {
      return false;
    }
  }, 10_000, 100);
  if (!up) {
    stop();
    throw new Error(`NSD did not start:\n${log}`);
  }
  return { port, proc, stop };
}
