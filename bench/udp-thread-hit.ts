/**
 * In-process micro-benchmark of the --io thread's per-datagram work: the
 * thread's own pipeline (src/net/udp-thread-batch.ts threadPipeline, made from
 * the default config with forwarding on: recursion ACL, cookies, RRL with
 * loopback exempt) and its batch step (hitBatch) over batches of queries from
 * 127.0.0.1, every one a hit of a forwarded reply (TTLs counted down), as in
 * the cached scenario of bench/forward-peers.ts (5000 names, dnsperf's plain
 * queries with RD). No syscalls: this is the thread's user time per query
 * outside the kernel and the koffi calls.
 *
 *   node dist/bench/udp-thread-hit.js [--rounds 7] [--queries 2000000] [--batch 8]
 *
 * `--batch`: datagrams per recvmmsg (the thread saw about 7 a call in the cached scenario).
 *
 * Prints ns per query (wall) and µs of user CPU per query, median of the rounds.
 * Copy the built file into another build's dist/bench/ to compare two builds in turn.
 */

import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { defaults } from '../src/config.js';
import { Counters } from '../src/dns/counters.js';
import { queryShape } from '../src/dns/answer-cache.js';
import { libc, MMSG_LAYOUT as L } from '../src/sys/libc.js';
import { IOVEC, MMSGHDR, mmsgVectors, NAME } from '../src/net/mmsg-vectors.js';
import { hitBatch, threadPipeline } from '../src/net/udp-thread-batch.js';
import { MMSG_DEFAULTS } from '../src/net/mmsg.js';
import { MISS_HEADER } from '../src/net/udp-thread-protocol.js';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, queries: { type: 'string' }, batch: { type: 'string' } } });
const rounds = Number(values.rounds ?? 7);
const total = Number(values.queries ?? 2_000_000);
const n = Number(values.batch ?? 8);
const NAMES = 5000;
/** The engines' slot sizes (MMSG_DEFAULTS, as the thread gets them). */
const RECV = MMSG_DEFAULTS.recvSize;
const SEND = MMSG_DEFAULTS.sendSize;

const config = defaults(2);
let errors = 0;
const { pipeline, replies, ctx, clock } = threadPipeline(config, true, 20000, 20000 * 1024, Counters.sharedBuffer(), () => errors++);
const queries: Buffer[] = [];
for (let i = 0; i < NAMES; i++) {
  const name = `h${i}.fwd.bench`;
  const q = dnsPacket.encode({ type: 'query', id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });
  queries.push(q);
  const reply = dnsPacket.encode({
    type: 'response',
    id: 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name, type: 'A', class: 'IN' }],
    answers: [{ name, type: 'A', class: 'IN', ttl: 86400, data: `10.0.${(i >> 8) & 255}.${i & 255}` }],
  });
  const shape = queryShape(q, config.ednsUdpSize, false, true, false, config.cookies === 'on')!;
  replies.put(shape, reply, ctx.zones, 86400);
}

const vectors = mmsgVectors(libc, n, RECV, SEND);
const missBuf = Buffer.allocUnsafeSlow(n * (MISS_HEADER + RECV));
const batch = hitBatch({ pipeline, vectors, n, recvSize: RECV, sendSize: SEND, missBuf, onError: () => errors++ });
const nameOff = n * (MMSGHDR + IOVEC);
const { recvVec, recvData } = vectors;

/** Fills the receive vector with the queries from `first` on, as recvmmsg would: octets, lengths, a sockaddr_in of 127.0.0.1:port. */
function fill(first: number): void {
  for (let i = 0; i < n; i++) {
    const q = queries[(first + i) % NAMES]!;
    q.copy(recvData.bytes, i * RECV);
    const h = i * MMSGHDR;
    recvVec.view.setUint32(h + L.len, q.length, true);
    recvVec.view.setInt32(h + L.flags, 0, true);
    recvVec.view.setUint32(h + L.namelen, 16, true);
    const a = nameOff + i * NAME;
    recvVec.bytes.fill(0, a, a + NAME);
    recvVec.view.setUint16(a, 2, true); // AF_INET
    recvVec.view.setUint16(a + 2, 40000 + (i & 7), false);
    recvVec.bytes.set([127, 0, 0, 1], a + 4);
  }
}

// Batches prepared once (filling is the kernel's work, not the thread's): the struct area as recvmmsg leaves it, and
// the queries; each round puts them back in turn, the queries' octets only (as the kernel writes them).
const prepared: { vec: Buffer; first: number }[] = [];
for (let first = 0; first < NAMES; first += n) {
  fill(first);
  prepared.push({ vec: Buffer.from(recvVec.bytes), first });
}

/** Puts batch `b` in the receive area as recvmmsg would have left it. */
function load(b: number): void {
  const p = prepared[b % prepared.length]!;
  p.vec.copy(recvVec.bytes);
  for (let i = 0; i < n; i++) queries[(p.first + i) % NAMES]!.copy(recvData.bytes, i * RECV);
}

function run(): { ns: number; userUs: number } {
  const batches = Math.ceil(total / n);
  let sent = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    load(b);
    clock.hold();
    const r = batch(n);
    clock.release();
    if (r.missBytes !== 0) throw new Error(`a miss in batch ${b}`);
    sent += r.replies;
  }
  const ns = Number(process.hrtime.bigint() - t0) / (batches * n);
  const cpu = process.cpuUsage(cpu0);
  if (sent !== batches * n) throw new Error(`${batches * n - sent} not answered`);
  return { ns, userUs: cpu.user / (batches * n) };
}

/** The bench's own cost, putting the batches in: measured alone (to take off by eye). */
function copiesOnly(): number {
  const batches = Math.ceil(total / n);
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) load(b);
  return Number(process.hrtime.bigint() - t0) / (batches * n);
}

const ns: number[] = [];
const user: number[] = [];
const copy: number[] = [];
for (let r = 0; r < rounds; r++) {
  const x = run();
  ns.push(x.ns);
  user.push(x.userUs);
  copy.push(copiesOnly());
}
if (errors > 0) throw new Error(`${errors} errors`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(
  `thread hit path, batch ${n}: ${median(ns).toFixed(1)} ns/query wall (rounds ${ns.map((x) => x.toFixed(0)).join(', ')}), ${median(user).toFixed(3)} µs user/query; ` +
    `of which copying the prepared batch in ${median(copy).toFixed(1)} ns/query`,
);
