/**
 * In-process micro-benchmark of the reply cache's UDP hit path
 * (ReplyCache.answerInto, what the mmsg engine's in-place handler calls per
 * datagram): the same 5000 questions and replies as the local-resolver
 * benchmark (bench/forward-peers.ts), kept as authoritative replies (no TTL)
 * and as forwarded ones (counted down), ns per hit, median of the rounds.
 *
 *   node dist/bench/reply-cache-hit.js [--rounds 7] [--hits 2000000]
 *
 * Copy it into another build's dist/bench/ to compare two builds in turn.
 */

import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { ReplyCache, queryShape } from '../src/dns/answer-cache.js';
import { ZoneSet } from '../src/auth/zone-set.js';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, hits: { type: 'string' } } });
const rounds = Number(values.rounds ?? 7);
const hits = Number(values.hits ?? 2_000_000);
const NAMES = 5000;

const zones = new ZoneSet([]);
const queries: Buffer[] = [];
const replies: Buffer[] = [];
for (let i = 0; i < NAMES; i++) {
  const name = `h${i}.fwd.bench`;
  queries.push(dnsPacket.encode({ type: 'query', id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] }));
  replies.push(
    dnsPacket.encode({
      type: 'response',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ name, type: 'A', class: 'IN' }],
      answers: [{ name, type: 'A', class: 'IN', ttl: 86400, data: `10.0.${(i >> 8) & 255}.${i & 255}` }],
      authorities: [{ name: 'fwd.bench', type: 'NS', class: 'IN', ttl: 86400, data: 'ns.fwd.bench' }],
      additionals: [{ name: 'ns.fwd.bench', type: 'A', class: 'IN', ttl: 86400, data: '192.0.2.1' }],
    }),
  );
}
// Every query at a slot of its own (the engine's receive area holds a batch of them), replies written at the send area's 4-aligned slots.
const STRIDE = 512;
const recv = Buffer.alloc(NAMES * STRIDE);
queries.forEach((q, i) => q.copy(recv, i * STRIDE));
const send = Buffer.alloc(64 * 4096);

function filled(ttl: number | undefined): ReplyCache {
  const cache = new ReplyCache({ entries: 20000, bytes: 20000 * 2048 });
  for (let i = 0; i < NAMES; i++) {
    const shape = queryShape(queries[i]!, 1232, false, true)!;
    cache.get(queries[i]!, shape, zones);
    cache.put(shape, replies[i]!, zones, ttl);
  }
  return cache;
}

function run(cache: ReplyCache): number {
  let sum = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < hits; k++) {
    const i = k % NAMES;
    const n = cache.answerInto(recv, i * STRIDE, queries[i]!.length, 1232, true, false, zones, send, (k & 63) * 4096, 4096);
    if (n < 0) throw new Error(`miss at ${k}`);
    sum += n;
  }
  const ns = Number(process.hrtime.bigint() - t0) / hits;
  if (sum === 0) throw new Error('nothing written');
  return ns;
}

const caches = { authoritative: filled(undefined), forwarded: filled(86400) };
const results: Record<string, number[]> = { authoritative: [], forwarded: [] };
for (let r = 0; r < rounds; r++) {
  for (const kind of r % 2 ? (['forwarded', 'authoritative'] as const) : (['authoritative', 'forwarded'] as const)) results[kind]!.push(run(caches[kind]));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [kind, xs] of Object.entries(results)) console.log(`${kind.padEnd(14)} ${median(xs).toFixed(1)} ns per hit (rounds: ${xs.map((x) => x.toFixed(1)).join(', ')})`);
