/** Starts a real BIND 9 (Debian package bind9, `named`) on a loopback high port, as a primary of zone files or a secondary of another server, with rndc on a port of its own, as a peer for tests. */

import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerKey } from './knot.js';
import { startPeer } from './peer-process.js';

/** Why BIND cannot be used here, or null when it can. */
export function bindUnavailable(): string | null {
  if (spawnSync('named', ['-v'], { encoding: 'utf8' }).error) return 'named not installed — apt-get install bind9';
  return spawnSync('rndc', ['-h'], { encoding: 'utf8' }).error ? 'rndc not installed — apt-get install bind9' : null;
}

/**
 * A zone BIND serves: from a file (primary; copied into BIND's folder as
 * `<name>zone`), with who may transfer it (`transferKey`: only requests
 * signed with that key), whom it NOTIFYs of each change (`notify`, signed
 * with its key; `notify explicit`, so never the NS names' port 53) and
 * `ixfr-from-differences yes` (a reload of an edited file keeps the
 * difference, so BIND has an IXFR to give); or transferred from `primary`
 * (secondary: NOTIFY accepted from it, the zone given by AXFR to loopback
 * clients signing with the same key).
 */
export type BindZone =
  | { name: string; file: string; transferKey?: string; notify?: { address: string; port: number; key?: string }[] }
  | { name: string; primary: { address: string; port: number; key?: string } };

/** A running named. */
export interface Bind {
  port: number;
  proc: ChildProcess;
  /** Its working folder (zone files, journals). */
  dir: string;
  /** Everything it logged. */
  log(): string;
  /** The file BIND reads zone `name` from (a primary's copy): edit it, then `rndc('reload', name)`. */
  zoneFile(name: string): string;
  /** Runs rndc against it; its exit status and output. */
  rndc(...args: string[]): { status: number | null; output: string };
  stop(): void;
}

/** A key statement of named.conf (and rndc.conf). */
function keyStatement(k: PeerKey): string {
  return `key "${k.name}" { algorithm ${k.algorithm}; secret "${k.secret}"; };`;
}

/** A zone's file name in BIND's folder. */
function fileOf(dir: string, name: string): string {
  return join(dir, `${name.replace(/\.$/, '')}.zone`);
}

/** named.conf serving `zones` on 127.0.0.1:port from `dir`, rndc on 127.0.0.1:controlPort with `rndcKey`. */
function bindConf(dir: string, port: number, controlPort: number, zones: BindZone[], keys: PeerKey[], rndcKey: PeerKey): string {
  const lines = [
    'options {',
    `  directory "${dir}";`,
    `  pid-file "${dir}/named.pid";`,
    `  session-keyfile "${dir}/session.key";`,
    `  managed-keys-directory "${dir}";`,
    `  listen-on port ${port} { 127.0.0.1; };`,
    '  listen-on-v6 { none; };',
    '  recursion no;',
    '  dnssec-validation no;',
    '  notify explicit;',
    // Tests change zones within a second or two of each other: no rate limits on transfers and NOTIFY.
    '  serial-query-rate 1000;',
    '  notify-rate 1000;',
    '  notify-delay 0;',
    '  startup-notify-rate 1000;',
    '};',
    keyStatement(rndcKey),
    `controls { inet 127.0.0.1 port ${controlPort} allow { 127.0.0.1; } keys { "${rndcKey.name}"; }; };`,
    'logging { channel out { stderr; severity info; print-time yes; print-category yes; }; category default { out; }; category xfer-in { out; }; category xfer-out { out; }; category notify { out; }; category security { out; }; category general { out; }; };',
    ...keys.map(keyStatement),
  ];
  for (const z of zones) {
    if ('primary' in z) {
      const p = z.primary;
      const signedBy = p.key ? ` key "${p.key}"` : '';
      lines.push(
        `zone "${z.name}" {`,
        '  type secondary;',
        `  file "${fileOf(dir, z.name)}";`,
        `  primaries { ${p.address} port ${p.port}${signedBy}; };`,
        `  allow-notify { ${p.address}; };`,
        `  allow-transfer { ${p.key ? `key "${p.key}"` : '127.0.0.0/8'}; };`,
        '};',
      );
    } else {
      copyFileSync(z.file, fileOf(dir, z.name));
      const notify = z.notify ?? [];
      lines.push(
        `zone "${z.name}" {`,
        '  type primary;',
        `  file "${fileOf(dir, z.name)}";`,
        '  ixfr-from-differences yes;',
        `  allow-transfer { ${z.transferKey ? `key "${z.transferKey}"` : '127.0.0.0/8'}; };`,
        ...(notify.length > 0 ? ['  notify explicit;', `  also-notify { ${notify.map((t) => `${t.address} port ${t.port}${t.key ? ` key "${t.key}"` : ''};`).join(' ')} };`] : ['  notify no;']),
        '};',
      );
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * Starts `named -g` (foreground, logging to stderr, as the user running the
 * tests) serving `zones` on 127.0.0.1:port, with rndc on a port of its own
 * and a key made for this run. Resolves once it answers `version.bind`.
 */
export async function startBind(zones: BindZone[], port: number, controlPort: number, keys: PeerKey[] = []): Promise<Bind> {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-bind-'));
  const rndcKey: PeerKey = { name: 'rndc-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  const conf = join(dir, 'named.conf');
  writeFileSync(conf, bindConf(dir, port, controlPort, zones, keys, rndcKey));
  const rndcConf = join(dir, 'rndc.conf');
  writeFileSync(rndcConf, `${keyStatement(rndcKey)}\noptions { default-key "${rndcKey.name}"; default-server 127.0.0.1; default-port ${controlPort}; };\n`);
  const check = spawnSync('named-checkconf', [conf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`named-checkconf refused the test's named.conf:\n${check.stdout}${check.stderr}\n${bindConf(dir, port, controlPort, zones, keys, rndcKey)}`);
  const { proc, log, stop } = await startPeer('BIND', 'named', ['-g', '-n', '1', '-c', conf], dir, port, { name: 'version.bind', type: 'TXT', klass: 'CH' });
  return {
    port,
    proc,
    dir,
    log,
    zoneFile: (name: string) => fileOf(dir, name),
    rndc: (...args: string[]) => {
      const r = spawnSync('rndc', ['-c', rndcConf, ...args], { encoding: 'utf8' });
      return { status: r.status, output: `${r.stdout}${r.stderr}` };
    },
    stop,
  };
}
