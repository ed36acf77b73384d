/**
 * IXFR applied to a zone image (src/zone/image/patch.ts) beside the full
 * path it replaces (src/xfr/apply.ts + zone-text.ts + parse + compile), in
 * the same process on the same zone and change: a generated zone of N A
 * records, one record changed. Prints the milliseconds of each step, the
 * process CPU time of each path, and the heap/RSS after each.
 *
 *   npm run build && node dist/bench/patch.js [--records 1000000] [--rounds 3]
 */

import { cpuUsage, memoryUsage } from 'node:process';
import { applyVersions } from '../src/xfr/apply.js';
import { diffImages, imageRecords, soaRecord } from '../src/xfr/journal.js';
import { zoneText } from '../src/xfr/zone-text.js';
import { compileZone } from '../src/zone/image/compile.js';
import { ZoneImage } from '../src/zone/image/image.js';
import { patchImage } from '../src/zone/image/patch.js';
import { parseZone } from '../src/zone/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const records = arg('--records', 1_000_000);
const rounds = arg('--rounds', 3);

function text(serial: number, www: string): string {
  const out = ['$ORIGIN example.com.', '$TTL 3600', `@ SOA ns1 hostmaster ${serial} 86400 7200 2419200 300`, '@ NS ns1', 'ns1 A 127.0.0.1', `www A ${www}`];
  for (let i = 0; i < records - 4; i++) out.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return out.join('\n') + '\n';
}

function compile(t: string | Buffer): ZoneImage {
  const r = parseZone({ origin: 'example.com.', file: 'zone.db', readFile: () => t });
  if (!r.ok) throw new Error('zone refused');
  return new ZoneImage(compileZone(r.zone, { origin: 'example.com.', source: 'bench' }));
}

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

const mb = (n: number): string => (n / 1048576).toFixed(0);
console.log(`## IXFR applied to a ${records}-record zone: patchImage beside the full path (one record changed)\n`);
let old = compile(text(1, '192.0.2.1'));
console.log(`image: ${mb(old.bytes.length)} MB, ${old.nodeCount} nodes\n`);
console.log('| round | patch ms (CPU ms) | checksum verify ms | full path ms (CPU ms): apply / text / parse+compile | same nodes and records |');
console.log('|---|---|---|---|---|');
for (let round = 1; round <= rounds; round++) {
  const now = compile(text(round + 1, `192.0.2.${round + 1}`));
  const version = diffImages(old, now);
  const c0 = cpuUsage();
  const p = timed(() => patchImage(old, [version], { origin: 'example.com.', source: 'bench' }));
  const pc = cpuUsage(c0);
  if (p.value.kind !== 'ok') throw new Error(p.value.why);
  const image = p.value.image;
  const v = timed(() => new ZoneImage(image, { verify: true }));
  const c1 = cpuUsage();
  const a = timed(() => applyVersions({ soa: soaRecord(old), ...imageRecords(old) }, old.serial, [version]));
  if (a.value.kind !== 'ok') throw new Error(a.value.why);
  const zone = a.value.zone;
  const t = timed(() => zoneText(zone, ['bench']));
  const c = timed(() => compile(t.value));
  const fc = cpuUsage(c1);
  const same = v.value.nodeCount === c.value.nodeCount && v.value.recordCount === c.value.recordCount && v.value.serial === c.value.serial;
  console.log(`| ${round} | ${p.ms.toFixed(0)} (${((pc.user + pc.system) / 1000).toFixed(0)}) | ${v.ms.toFixed(0)} | ${(a.ms + t.ms + c.ms).toFixed(0)} (${((fc.user + fc.system) / 1000).toFixed(0)}): ${a.ms.toFixed(0)} / ${t.ms.toFixed(0)} / ${c.ms.toFixed(0)} | ${same} |`);
  old = v.value;
}
const m = memoryUsage();
console.log(`\nafter: RSS ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB, external+arrayBuffers ${mb(m.external)} MB`);
