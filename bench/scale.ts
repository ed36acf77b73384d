/** Zone scale: how long each server takes from start to its first correct answer for a generated zone, and its memory then. */

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateZone } from './gen-zone.js';
import { freePort } from './ports.js';
import { groupMemoryMB } from './procstat.js';
import type { ProcessGroups } from './processes.js';
import type { ScaleEntry } from './result.js';
import { startServer, type Probe, type ServerKind } from './servers.js';

const A_LINE = /^(\S+)\s+(?:\d+\s+)?(?:IN\s+)?A\s+(\d+\.\d+\.\d+\.\d+)\s*$/;
const NS_LINE = /^(\S+)\s+(?:\d+\s+)?(?:IN\s+)?NS\s+\S+/;

/**
 * The question that shows a server has the whole zone: the last address
 * record of the file (not glue below a delegation, which would get a
 * referral). Understands the generator's shape: one record per line, owner
 * names relative to `origin` or absolute.
 */
export function lastAddressProbe(text: string, origin: string): Probe | null {
  const apex = origin.replace(/\.$/, '');
  const abs = (owner: string): string => (owner === '@' ? apex : owner.endsWith('.') ? owner.slice(0, -1) : `${owner}.${apex}`);
  const lines = text.split('\n');
  const cuts = new Set<string>();
  for (const l of lines) {
    const m = NS_LINE.exec(l);
    if (m && !m[1]!.startsWith('$') && abs(m[1]!).toLowerCase() !== apex.toLowerCase()) cuts.add(abs(m[1]!).toLowerCase());
  }
  const belowCut = (name: string): boolean => {
    let n = name.toLowerCase();
    while (n.includes('.') && n !== apex.toLowerCase()) {
      if (cuts.has(n)) return true;
      n = n.slice(n.indexOf('.') + 1);
    }
    return false;
  };
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = A_LINE.exec(lines[i]!);
    if (!m || m[1]!.startsWith('$') || m[1]!.startsWith('*')) continue;
    const name = abs(m[1]!);
    if (!belowCut(name)) return { name, type: 'A', expect: m[2]! };
  }
  return null;
}

/** What the zone-scale step needs. */
export interface ScaleOptions {
  sizes: number[];
  servers: ServerKind[];
  workers: number;
  /** A temp folder of this run. */
  dir: string;
  origin: string;
  /** Longest wait for one server to answer. */
  timeoutMs: number;
  log: (line: string) => void;
}

/** For each size: generate the zone (bench/gen-zone.ts), start each server on it in turn, time the first correct answer, read its memory, stop it. */
export async function measureScale(groups: ProcessGroups, o: ScaleOptions): Promise<ScaleEntry[]> {
  const out: ScaleEntry[] = [];
  for (const records of o.sizes) {
    const text = generateZone(records, o.origin);
    const file = join(o.dir, `scale-${records}.zone`);
    writeFileSync(file, text);
    const zoneMB = Buffer.byteLength(text) / 1048576;
    const probe = lastAddressProbe(text, o.origin);
    for (const kind of o.servers) {
      const entry: ScaleEntry = { records, server: kind, workers: o.workers, zoneMB, ok: false };
      if (probe === null) {
        entry.error = 'the generated zone has no address record to ask for';
        out.push(entry);
        continue;
      }
      const dir = join(o.dir, `scale-${kind}-${records}`);
      mkdirSync(dir, { recursive: true });
      try {
        const server = await startServer(groups, { kind, workers: o.workers, port: await freePort(), zone: { origin: o.origin, file }, dir, probe, timeoutMs: o.timeoutMs });
        const mem = groupMemoryMB(server.process.pgid);
        await groups.stop(server.process);
        Object.assign(entry, { ok: true, firstAnswerSec: server.readyMs / 1000, rssMB: mem.rssMB, peakRssMB: mem.peakMB, pssMB: mem.pssMB });
        o.log(`scale ${records} records, ${kind}: first correct answer after ${(server.readyMs / 1000).toFixed(2)} s, RSS ${mem.rssMB.toFixed(0)} MB (peak ${mem.peakMB.toFixed(0)} MB, PSS ${mem.pssMB.toFixed(0)} MB)`);
      } catch (err) {
        entry.error = (err as Error).message;
        o.log(`scale ${records} records, ${kind}: ${entry.error.split('\n')[0]}`);
      }
      out.push(entry);
    }
    rmSync(file, { force: true });
  }
  return out;
}
