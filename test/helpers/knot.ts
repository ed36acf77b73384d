/** Starts a real Knot DNS (Debian package knot) on a loopback high port, as a primary of zone files or a secondary of another server, as a peer for tests. */

import { spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer } from './peer-process.js';

/** Why Knot cannot be used here, or null when it can. */
export function knotUnavailable(): string | null {
  const r = spawnSync('knotd', ['--version'], { encoding: 'utf8' });
  if (r.error) return 'knotd not installed — apt-get install knot';
  const c = spawnSync('knotc', ['--version'], { encoding: 'utf8' });
  return c.error ? 'knotc not installed — apt-get install knot' : null;
}

/** A TSIG key as both sides are given it. */
export interface PeerKey {
  name: string;
  algorithm: string;
  /** Base64. */
  secret: string;
}

/**
 * A zone Knot serves: from a file (primary), or transferred from `primary`
 * (secondary), or a catalog zone Knot generates from its member zones
 * (`catalog-role: generate`, Knot 3.2). A zone from a file becomes a member
 * of such a catalog with `catalogZone` (`catalog-role: member`), in the
 * catalog group `catalogGroup` when given. A primary or catalog zone may
 * say who may transfer it (`transfer`: each address with the key it must
 * sign with; a catalog without it gives its AXFR to loopback), whom to
 * NOTIFY of each change (`notify`), and more zone settings (`lines`, e.g.
 * `zonefile-load: difference`).
 */
export type KnotZone =
  | ({ name: string; file: string; catalogZone?: string; catalogGroup?: string } & PrimarySettings)
  | ({ name: string; catalog: 'generate' } & PrimarySettings)
  | {
      name: string;
      /** Where to transfer it from: address, port, and the key to sign with (and to require on NOTIFY). */
      primary: { address: string; port: number; key?: string };
    };

/** What a zone Knot is the primary of may say besides its data. */
export interface PrimarySettings {
  transfer?: { address: string; key?: string }[];
  notify?: { address: string; port: number; key?: string }[];
  lines?: string[];
}

/** A running knotd. */
export interface Knot {
  port: number;
  proc: ChildProcess;
  /** Its working folder (zone files it writes are there). */
  dir: string;
  /** Everything it logged. */
  log(): string;
  /** Runs knotc against it; resolves with its output. */
  ctl(...args: string[]): string;
  /** Rewrites its configuration to serve `zones` instead (the keys kept) and has it reload (`knotc reload`); returns knotc's output. */
  reconfigure(zones: KnotZone[]): string;
  stop(): void;
}

/** knotd's configuration serving `zones` on 127.0.0.1:port from folder `dir` (zone files are copied there). */
function knotConf(dir: string, port: number, zones: KnotZone[], keys: PeerKey[]): string {
  const lines: string[] = [
    'server:',
    `  rundir: "${dir}"`,
    '  user: root:root',
    `  listen: 127.0.0.1@${port}`,
    `  pidfile: "${dir}/knot.pid"`,
    '  udp-workers: 1',
    '  tcp-workers: 1',
    '  background-workers: 1',
    'database:',
    `  storage: "${dir}"`,
    'control:',
    `  listen: "${dir}/knot.sock"`,
    'log:',
    '  - target: stderr',
    '    any: info',
  ];
  if (keys.length > 0) {
    lines.push('key:');
    for (const k of keys) lines.push(`  - id: ${k.name}`, `    algorithm: ${k.algorithm}`, `    secret: ${k.secret}`);
  }
  const secondaries = zones.filter((z): z is Extract<KnotZone, { primary: unknown }> => 'primary' in z);
  if (secondaries.length > 0) {
    lines.push('remote:');
    secondaries.forEach((z, i) => {
      lines.push(`  - id: primary${i}`, `    address: ${z.primary.address}@${z.primary.port}`);
      if (z.primary.key) lines.push(`    key: ${z.primary.key}`);
    });
  }
  const served = zones.filter((z): z is Exclude<KnotZone, { primary: unknown }> => !('primary' in z));
  const notifyTargets = served.flatMap((z, i) => (z.notify ?? []).map((t, j) => ({ id: `target${i}_${j}`, t })));
  if (notifyTargets.length > 0) {
    if (secondaries.length === 0) lines.push('remote:');
    for (const { id, t } of notifyTargets) {
      lines.push(`  - id: ${id}`, `    address: ${t.address}@${t.port}`);
      if (t.key) lines.push(`    key: ${t.key}`);
    }
  }
  const acls: string[] = [];
  secondaries.forEach((z, i) => {
    acls.push(`  - id: notify${i}`, `    address: ${z.primary.address}`, '    action: notify');
    if (z.primary.key) acls.push(`    key: ${z.primary.key}`);
    // Tests read the zone back with AXFR from loopback, with the same key.
    acls.push(`  - id: transfer${i}`, '    address: 127.0.0.0/8', '    action: transfer');
    if (z.primary.key) acls.push(`    key: ${z.primary.key}`);
  });
  served.forEach((z, i) =>
    (z.transfer ?? []).forEach((t, j) => {
      acls.push(`  - id: out${i}_${j}`, `    address: ${t.address}`, '    action: transfer');
      if (t.key) acls.push(`    key: ${t.key}`);
    }),
  );
  if (zones.some((z) => 'catalog' in z && z.transfer === undefined)) acls.push('  - id: catalog-transfer', '    address: 127.0.0.0/8', '    action: transfer');
  if (acls.length > 0) lines.push('acl:', ...acls);
  lines.push('zone:');
  for (const z of zones) {
    lines.push(`  - domain: ${z.name}`, `    storage: "${dir}"`, `    file: "${dir}/%s.zone"`);
    if (!('primary' in z)) {
      const i = served.indexOf(z);
      if ('catalog' in z) {
        lines.push('    catalog-role: generate');
        // Knot answers a catalog zone's AXFR only to addresses its ACL lets transfer (Knot 3.2 docs, Catalog zones).
        if (z.transfer === undefined) lines.push('    acl: catalog-transfer');
      } else {
        copyFileSync(z.file, join(dir, `${z.name.replace(/\.$/, '')}.zone`));
        if (z.catalogZone !== undefined) lines.push('    catalog-role: member', `    catalog-zone: ${z.catalogZone}`);
        if (z.catalogGroup !== undefined) lines.push(`    catalog-group: ${z.catalogGroup}`);
      }
      if ((z.transfer ?? []).length > 0) lines.push(`    acl: [${z.transfer!.map((_t, j) => `out${i}_${j}`).join(', ')}]`);
      if ((z.notify ?? []).length > 0) lines.push(`    notify: [${z.notify!.map((_t, j) => `target${i}_${j}`).join(', ')}]`);
      lines.push(...(z.lines ?? []).map((l) => `    ${l}`));
    } else {
      const i = secondaries.indexOf(z);
      // Kept in the journal only, and refreshed no later than NOTIFY tells it to.
      lines.push(`    master: primary${i}`, `    acl: [notify${i}, transfer${i}]`, '    zonefile-sync: -1', '    journal-content: all', '    zonefile-load: none');
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * Starts knotd serving `zones` on 127.0.0.1:port. A secondary zone accepts
 * NOTIFY from its primary's address (signed with its key when one is given),
 * transfers with IXFR first, and gives the zone by AXFR to loopback clients
 * (with the same key); a generated catalog zone gives its AXFR to loopback
 * clients too. Resolves once every zone file zone answers
 * (a secondary's answer comes after its first transfer: use `until`).
 */
export async function startKnot(zones: KnotZone[], port: number, keys: PeerKey[] = []): Promise<Knot> {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-knot-'));
  const conf = join(dir, 'knot.conf');
  writeFileSync(conf, knotConf(dir, port, zones, keys));
  const { proc, log, stop } = await startPeer('Knot', 'knotd', ['-c', conf], dir, port, { name: '.', type: 'SOA', klass: 'CH' });
  return {
    port,
    proc,
    dir,
    log,
    ctl: (...args: string[]) => {
      const r = spawnSync('knotc', ['-c', conf, '-s', join(dir, 'knot.sock'), ...args], { encoding: 'utf8' });
      return `${r.stdout}${r.stderr}`;
    },
    reconfigure: (next: KnotZone[]) => {
      writeFileSync(conf, knotConf(dir, port, next, keys));
      const r = spawnSync('knotc', ['-c', conf, '-s', join(dir, 'knot.sock'), 'reload'], { encoding: 'utf8' });
      return `${r.stdout}${r.stderr}`;
    },
    stop,
  };
}
