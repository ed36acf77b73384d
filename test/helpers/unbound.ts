/** Starts a real Unbound (Debian package unbound) on a loopback high port as a peer for tests: plain DNS, or DNS over TLS with a given certificate, answering local data (no Internet needed). */

import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { udpQuery } from './dns-client.js';
import { startPeer } from './peer-process.js';

/** Why Unbound cannot be used here, or null when it can. */
export function unboundUnavailable(): string | null {
  return spawnSync('unbound', ['-V']).error ? 'unbound not installed — apt-get install unbound' : null;
}

/** A running Unbound. */
export interface Unbound {
  port: number;
  proc: ChildProcess;
  /** Everything it logged. */
  log(): string;
  /** Queries it has received (total.num.queries of `unbound-control stats_noreset`). */
  queries(): number;
  stop(): void;
}

/** How to start it. */
export interface UnboundOptions {
  address?: string;
  port: number;
  /** DNS over TLS on `port` (TCP) with this certificate and key, as well as plain DNS over UDP on it. */
  tls?: { certFile: string; keyFile: string };
  /** `local-zone` lines' zones (answered from local data: static). */
  localZones: string[];
  /** `local-data` records, e.g. `www.dot.test. 300 IN A 192.0.2.53`. */
  localData: string[];
  /** Extra `server:` lines. */
  extra?: string[];
  /** Forward every other name here (`forward-zone: "."`), e.g. `127.0.0.1@5300`. */
  forwardTo?: string;
}

/** Starts Unbound and resolves once it answers (over TLS when `tls` is given). */
export async function startUnbound(o: UnboundOptions): Promise<Unbound> {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-unbound-'));
  chmodSync(dir, 0o755);
  const address = o.address ?? '127.0.0.1';
  const conf = join(dir, 'unbound.conf');
  const lines = [
    'server:',
    `  interface: ${address}@${o.port}`,
    `  port: ${o.port}`,
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${dir}/unbound.pid"`,
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  num-threads: 1',
    '  do-not-query-localhost: no',
    '  module-config: "iterator"',
    '  access-control: 127.0.0.0/8 allow',
    '  access-control: ::1/128 allow',
    '  statistics-cumulative: yes',
    '  extended-statistics: no',
    ...(o.tls ? [`  tls-port: ${o.port}`, `  tls-service-key: "${o.tls.keyFile}"`, `  tls-service-pem: "${o.tls.certFile}"`] : []),
    ...o.localZones.map((z) => `  local-zone: "${z}" static`),
    ...o.localData.map((d) => `  local-data: "${d}"`),
    ...(o.extra ?? []).map((l) => `  ${l}`),
    'remote-control:',
    '  control-enable: yes',
    `  control-interface: "${dir}/unbound.ctl"`,
    ...(o.forwardTo ? ['forward-zone:', '  name: "."', `  forward-addr: ${o.forwardTo}`] : []),
    '',
  ];
  writeFileSync(conf, lines.join('\n'));
  const probe = o.localZones[0] ?? '.';
  const { proc, log, stop } = await startPeer('Unbound', 'unbound', ['-d', '-c', conf], dir, o.port, (port) =>
    o.tls ? tcpOpen(address, port) : udpQuery(probe, 'SOA', 'IN', port, address).then(() => true),
  );
  const queries = (): number => {
    const r = spawnSync('unbound-control', ['-c', conf, 'stats_noreset'], { encoding: 'utf8' });
    const m = /^total\.num\.queries=(\d+)$/m.exec(r.stdout ?? '');
    if (!m) throw new Error(`unbound-control stats_noreset gave no total.num.queries:\n${r.stdout}${r.stderr}`);
    return Number(m[1]);
  };
  return { port: o.port, proc, log, queries, stop };
}

/** Does something accept TCP connections there? */
function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host, port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
