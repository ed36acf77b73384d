/** Starts a real NSD (Debian package nsd) on a loopback high port as a secondary of another server's zones, as a peer for transfer tests. */

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerKey } from './knot.js';
import { startPeer } from './peer-process.js';

/** A running NSD secondary. */
export interface NsdSecondary {
  port: number;
  proc: ChildProcess;
  log(): string;
  stop(): void;
}

/**
 * Starts NSD on 127.0.0.1:port as a secondary of `zones`, each transferred
 * from `primary` (signed with `key` when given; NOTIFY from the primary's
 * address accepted under the same key). Rate limiting off, one server
 * process; it gives the zones by AXFR to loopback clients (same key).
 * Resolves once NSD answers (a zone answers after its first
 * transfer: use `until`).
 */
export async function startNsdSecondary(zones: string[], primary: { address: string; port: number }, port: number, key: PeerKey | null): Promise<NsdSecondary> {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-nsd2-'));
  const spec = key === null ? 'NOKEY' : key.name;
  const keyBlock = key === null ? '' : `key:\n  name: "${key.name}"\n  algorithm: ${key.algorithm}\n  secret: "${key.secret}"\n`;
  const zoneBlocks = zones
    .map((z) => `zone:\n  name: "${z}"\n  zonefile: "${dir}/${z.replace(/\.$/, '')}.zone"\n  allow-notify: ${primary.address} ${spec}\n  request-xfr: ${primary.address}@${primary.port} ${spec}\n  provide-xfr: 127.0.0.0/8 ${spec}\n`)
    .join('');
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:\n  ip-address: 127.0.0.1@${port}\n  port: ${port}\n  username: ""\n  zonesdir: "${dir}"\n  database: ""\n` +
      `  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n  xfrdir: "${dir}"\n` +
      `  rrl-ratelimit: 0\n  server-count: 1\n  verbosity: 2\n  hide-version: no\nremote-control:\n  control-enable: no\n${keyBlock}${zoneBlocks}`,
  );
  const { proc, log, stop } = await startPeer('NSD', 'nsd', ['-d', '-c', join(dir, 'nsd.conf')], dir, port, { name: 'id.server', type: 'TXT', klass: 'CH' });
  return { port, proc, log, stop };
}
