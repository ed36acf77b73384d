/**
 * Benchmark: the CPU of making an AXFR's messages, in-process, without a
 * socket: the generated zone compiled into an image once, then the whole
 * zone walked into transfer messages (src/xfr/axfr.ts) several times;
 * reports ns per record and MB of messages. What a server worker spends
 * filling messages for `kdig` (bench/axfr.ts measures the whole transfer
 * beside NSD and Knot).
 *
 *   npm run build && node dist/bench/axfr-messages.js [--records 1000000] [--runs 5] [--gc] [--warm N] [--zone FILE]
 *
 * `--warm N` first runs the worker's warm-up (src/xfr/warm-up.ts) for N
 * messages (0: none, the default), as a fresh worker does before its first
 * transfer, and reports its CPU.
 *
 * `--gc` runs a full garbage collection between transfers, with nothing of
 * the last one referenced, as an idle worker's memory reducer does between
 * two transfers: V8 frees the hidden classes no live object has, and the
 * code compiled against them (see keepShapes in src/xfr/axfr.ts).
 *
 * `--zone FILE` reads that file (origin example.com.) instead of the
 * generated one: e.g. the same zone in canonical order (`shardns check
 * --print`), whose image keeps names and RDATA in the order AXFR walks them.
 */

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compileZone } from '../src/zone/image/compile.js';
import { ZoneImage } from '../src/zone/image/image.js';
import { loadZoneFile } from '../src/zone/parse/load.js';
import { axfrStream } from '../src/xfr/axfr.js';
import { GENERATED_BY, writeZone } from './gen-zone.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const records = option('--records', 1_000_000);
const runs = option('--runs', 5);
const dir = join(tmpdir(), 'shardns-bench');
mkdirSync(dir, { recursive: true });
const zoneAt = process.argv.indexOf('--zone');
const file = zoneAt < 0 ? join(dir, `gen-${records}.zone`) : process.argv[zoneAt + 1]!;
if (zoneAt < 0 && (!existsSync(file) || !readFileSync(file, { encoding: 'latin1' }).startsWith(GENERATED_BY))) writeZone(file, records);
/** The zone compiled into an image, as a worker maps it; the parsed zone is let go (a worker's heap holds none: a full collection here would mark it all). */
function compiled(): ZoneImage {
  const loaded = loadZoneFile('example.com.', file);
  if (!loaded.ok) throw new Error(`zone did not load: ${JSON.stringify(loaded.errors.slice(0, 3))}`);
  const octets = compileZone(loaded.zone, { origin: 'example.com.', source: 'bench' });
  // An image's octets start on an 8-octet boundary, as a mapping's do.
  const aligned = new Uint8Array(new ArrayBuffer(octets.length));
  aligned.set(octets);
  return new ZoneImage(aligned);
}
const image = compiled();
const warm = option('--warm', 0);
if (warm > 0) {
  const queue: (() => void)[] = [];
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  // Imported only when asked: this file is also copied into older builds' dist/bench/ to compare them (without warm-up.js).
  const { warmTransferPath } = await import('../src/xfr/warm-up.js');
  warmTransferPath(image, { messages: warm, messageSize: option('--warm-size', 2048), schedule: (fn) => queue.push(fn), cpuMs, done: (o) => console.log(`warm-up: ${JSON.stringify(o)}`) });
  while (queue.length > 0) queue.shift()!();
}
const question = Buffer.from([7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 252, 0, 1]);

const fullGc = process.argv.includes('--gc') ? gcFunction() : null;

/** V8's gc(), exposed at run time. */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** One whole transfer made in a scope of its own (nothing of it is referenced after). */
function transfer(): { messages: number; bytes: number } {
  const stream = axfrStream(image, { head: { id: 1, flags: 0, question }, opt: null, signer: null });
  let messages = 0;
  let bytes = 0;
  for (let m = stream.next(); m !== null; m = stream.next()) {
    messages++;
    bytes += m.length;
  }
  stream.close();
  return { messages, bytes };
}

for (let run = 0; run < runs; run++) {
  if (run > 0) fullGc?.();
  const before = process.cpuUsage();
  const { messages, bytes } = transfer();
  const used = process.cpuUsage(before);
  const ms = (used.user + used.system) / 1000;
  console.log(`run ${run + 1}: ${ms.toFixed(0)} ms CPU, ${((ms * 1e6) / (image.recordCount + 1)).toFixed(0)} ns/record, ${messages} messages, ${(bytes / 1e6).toFixed(1)} MB`);
}
