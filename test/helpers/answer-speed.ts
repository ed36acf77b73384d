/**
 * The cost of one answer() call with no reply cache, in process: a generated
 * zone (bench/gen-zone.ts), the bench's query mix (bench/queries.ts) encoded
 * once, then N calls round-robin over it after a warm-up, best of a few runs.
 *
 *   npx tsc -p . && node dist/test/helpers/answer-speed.js [--records 10000] [--calls 100000] [--random 0.8]
 *
 * Prints CPU µs per call for the whole mix and per kind of query.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { generateZone } from '../../bench/gen-zone.js';
import { generateQueries } from '../../bench/queries.js';
import { answer, type AnswerContext } from '../../src/dns/answer.js';
import { loadZones } from '../../src/zones.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '10000' }, calls: { type: 'string', default: '100000' }, random: { type: 'string', default: '0' }, rounds: { type: 'string', default: '5' } } });
const records = Number(values.records);
const calls = Number(values.calls);

const dir = mkdtempSync(join(tmpdir(), 'shardns-speed-'));
const file = join(dir, 'example.com.zone');
writeFileSync(file, generateZone(records));
const loaded = loadZones([{ name: 'example.com.', file }]);
rmSync(dir, { recursive: true });
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const ctx: AnswerContext = { identity: { server: 'w', version: 'v' }, zones: loaded.zones, recursion: null, ednsUdpSize: 1232, nsid: Buffer.from('w') };
const mix = generateQueries(loaded.loaded[0]!, { count: 10_000, randomSubdomain: Number(values.random) });
const queries = mix.queries.map((q, i) =>
  dnsPacket.encode({
    type: 'query',
    id: i & 0xffff,
    flags: 0,
    questions: [{ name: q.name, type: q.type as 'A', class: 'IN' }],
    additionals: i % 2 === 0 ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never] : [],
  }),
);
const client = { transport: 'udp' as const, address: '127.0.0.1' };

/** CPU µs per call over `n` calls of the given queries (CPU time: the machine may be shared). */
function run(qs: Buffer[], n: number): number {
  let sink = 0;
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const out = answer(qs[i % qs.length]!, ctx, client) as unknown as { length?: number; kind?: string } | null;
    if (out !== null) sink += out.length ?? 1;
  }
  const used = process.cpuUsage(start);
  if (sink === -1) console.log(sink);
  return (used.user + used.system) / n;
}

run(queries, calls); // warm up
let best = Infinity;
for (let r = 0; r < Number(values.rounds); r++) best = Math.min(best, run(queries, calls));
const perKind: string[] = [];
for (const kind of Object.keys(mix.kinds)) {
  const qs = queries.filter((_, i) => mix.queries[i]!.kind === kind);
  if (qs.length === 0) continue;
  run(qs, calls / 10);
  perKind.push(`${kind} ${run(qs, calls / 5).toFixed(2)}`);
}
console.log(`${records} records, ${calls} calls: ${best.toFixed(2)} µs per answer() (best of ${values.rounds}); by kind (µs): ${perKind.join(', ')}`);
