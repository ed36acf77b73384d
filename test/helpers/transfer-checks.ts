/** What the zone transfer tests check against any peer: dig and kdig present, a zone as `dig axfr` prints it, and the SOA serial every worker serves. */

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { buildQuery, decodeReply, udpExchange } from './dns-client.js';
import type { PeerKey } from './knot.js';

/** Why dig (which reads the zones back) cannot be run here, or null. */
export function digUnavailable(): string | null {
  return spawnSync('dig', ['-v'], { encoding: 'utf8' }).error ? 'dig not installed — apt-get install bind9-dnsutils' : null;
}

/** Why kdig (Knot's client) cannot be run here, or null. */
export function kdigUnavailable(): string | null {
  return spawnSync('kdig', ['-V'], { encoding: 'utf8' }).error ? 'kdig not installed — apt-get install knot-dnsutils' : null;
}

/** The zone as `dig axfr` prints it from 127.0.0.1:`port`, signed with `key`: one line a record, sorted, the closing SOA and TSIG left out. */
export function axfr(port: number, zone: string, key: PeerKey): string[] {
  const r = spawnSync('dig', ['-p', String(port), '@127.0.0.1', '-y', `${key.algorithm}:${key.name}:${key.secret}`, zone, 'AXFR', '+nocmd', '+nostats', '+nocomments', '+noadditional'], { encoding: 'utf8' });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';') && !/\sTSIG\s/.test(l))
    .map((l) => l.split(/\s+/).join(' '));
  if (lines.length < 2) throw new Error(`dig axfr ${zone} from port ${port} gave:\n${r.stdout}${r.stderr}`);
  // An AXFR ends with the SOA it began with (RFC 5936 §2.2).
  expect(lines.at(-1)).to.equal(lines[0]);
  return lines.slice(0, -1).sort();
}

/** The RCODE and the serial of the SOA answer a server gives for `zone` (one UDP query; each from a new port, so the kernel spreads them over shardns's workers). */
export async function soaOf(port: number, zone: string): Promise<{ rcode: string; serial: number }> {
  const bytes = await udpExchange(buildQuery(zone, 'SOA'), port);
  if (bytes === null) return { rcode: 'TIMEOUT', serial: -1 };
  const r = decodeReply(bytes);
  const soa = r.answers?.find((a) => a.type === 'SOA') as { data: { serial: number } } | undefined;
  return { rcode: r.rcode ?? '?', serial: soa?.data.serial ?? -1 };
}

/** Whether `n` queries in a row (spread over the workers) all see `serial`. */
export async function everyWorkerServes(port: number, zone: string, serial: number, n = 24): Promise<boolean> {
  for (let i = 0; i < n; i++) if ((await soaOf(port, zone)).serial !== serial) return false;
  return true;
}
