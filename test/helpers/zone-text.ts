/** Small zone files written at test time, for upstream peers (NSD, Unbound) and our own zones. */

import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes a zone file for `origin` (no trailing dot) with an SOA (negative TTL
 * `minimum`), an NS and `records` (owner-relative lines such as `www 300 A
 * 192.0.2.1`), in a new temporary folder; returns its path.
 */
export function writeZone(origin: string, records: readonly string[], opts: { ttl?: number; minimum?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-zone-'));
  chmodSync(dir, 0o755);
  const file = join(dir, `${origin || 'root'}.zone`);
  const ttl = opts.ttl ?? 300;
  const text = [
    `$ORIGIN ${origin}.`,
    `$TTL ${ttl}`,
    `@ IN SOA ns.${origin}. hostmaster.${origin}. 1 3600 600 86400 ${opts.minimum ?? 60}`,
    `@ IN NS ns.${origin}.`,
    `ns IN A 127.0.0.1`,
    ...records,
    '',
  ].join('\n');
  writeFileSync(file, text);
  return file;
}
