/** Starts a real NSD (Debian package nsd) on a loopback high port with given zones, as a peer for tests. */

import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { decodeReply, type Reply } from './dns-client.js';
import type { PeerKey } from './knot.js';
import { startPeer } from './peer-process.js';
import { freePort, startServer, type RunningServer } from './server.js';

/** Why NSD cannot be used here, or null when it can. */
export function nsdUnavailable(): string | null {
  const r = spawnSync('nsd', ['-v'], { encoding: 'utf8' });
  return r.error ? 'nsd not installed — apt-get install nsd' : null;
}

/** A running NSD. */
export interface Nsd {
  port: number;
  proc: ChildProcess;
  /** Its nsd.conf (for nsd-control -c, when started with `control`). */
  conf: string;
  /** Where NSD's copy of a zone file given to startNsd is (by the original's path). */
  zoneFile(file: string): string;
  /** Everything it logged. */
  log(): string;
  stop(): void;
}

/**
 * Starts NSD serving `zones` (origin → file; `lines`: more settings of
 * that zone, e.g. `provide-xfr: 127.0.0.0/8 NOKEY`) on 127.0.0.1:port
 * with rate limiting off; resolves once it answers. `serverLines`: more
 * `server:` settings (nsd.conf lines); `control`: nsd-control on a unix
 * socket; `keys`: TSIG keys the zone lines may name. A zone file is
 * copied into NSD's folder: `zoneFile` gives the copy's path, to change
 * it before a reload.
 */
export async function startNsd(zones: { name: string; file: string; lines?: string[] }[], port: number, serverLines: string[] = [], options: { control?: boolean; keys?: PeerKey[] } = {}): Promise<Nsd> {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-nsd-'));
  const keyBlocks = (options.keys ?? []).map((k) => `key:\n  name: "${k.name}"\n  algorithm: ${k.algorithm}\n  secret: "${k.secret}"\n`).join('');
  const zoneBlocks = zones
    .map((z) => {
      const copy = join(dir, basename(z.file));
      copyFileSync(z.file, copy);
      return `zone:\n  name: "${z.name}"\n  zonefile: "${copy}"\n${(z.lines ?? []).map((l) => `  ${l}\n`).join('')}`;
    })
    .join('');
  const conf = join(dir, 'nsd.conf');
  const control = options.control ? `  control-enable: yes\n  control-interface: ${dir}/nsd.ctl\n` : '  control-enable: no\n';
  writeFileSync(
    conf,
    `server:\n  ip-address: 127.0.0.1@${port}\n  port: ${port}\n  username: ""\n  zonesdir: "${dir}"\n  database: ""\n` +
      `  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n` +
      `  rrl-ratelimit: 0\n  server-count: 1\n  verbosity: 1\n  hide-version: no\n${serverLines.map((l) => `  ${l}\n`).join('')}remote-control:\n${control}${keyBlocks}${zoneBlocks}`,
  );
  const { proc, log, stop } = await startPeer('NSD', 'nsd', ['-d', '-c', conf], dir, port, { name: zones[0]?.name ?? '.', type: 'SOA', klass: 'IN' });
  return { port, proc, conf, zoneFile: (file) => join(dir, basename(file)), log, stop };
}

/** A section's records, sorted, as text both servers' replies are compared by (names JSON-quoted: any octet shows). */
function sectionText(rrs: Reply['answers'] | undefined): string[] {
  return (rrs ?? [])
    .filter((r) => r.type !== 'OPT')
    .map((r) => `${JSON.stringify(r.name)} ${r.ttl} ${r.class} ${r.type} ${JSON.stringify(r.data, (_k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v))}`)
    .sort();
}

/**
 * What a differential test compares of a reply: rcode, size, AA, TC, answer
 * and authority. The additional section counts through the size (NSD orders
 * it by type; same size means the same records, same compression).
 */
export function replySummary(bytes: Buffer | null): Record<string, unknown> {
  if (bytes === null) return { reply: 'none' };
  const p = decodeReply(bytes);
  return { rcode: p.rcode, size: bytes.length, aa: p.flag_aa, tc: p.flag_tc, answer: sectionText(p.answers), authority: sectionText(p.authorities as Reply['answers']) };
}

/**
 * NSD and shardns (1 worker, 127.0.0.1, no forwarding) serving the same
 * zones, each on a port of its own. Origins are given as shardns takes them
 * (`example.com.`, `.`).
 */
export async function startBeside(zones: { name: string; file: string }[]): Promise<{ nsd: Nsd; server: RunningServer }> {
  const nsd = await startNsd(zones.map((z) => ({ name: z.name === '.' ? '.' : z.name.replace(/\.$/, ''), file: z.file })), await freePort());
  const server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', ...zones.flatMap((z) => ['--zone', `${z.name}=${z.file}`])]);
  return { nsd, server };
}
