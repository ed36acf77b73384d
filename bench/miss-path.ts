/**
 * The CPU one worker spends per UDP query without the kernel, in process:
 * the query pipeline wired as a worker wires it with default settings
 * (reply cache with second-miss admission, RRL, cookies), driven through the
 * real recvmmsg/sendmmsg engine (src/net/mmsg.ts) over a stand-in C library
 * whose recvmmsg hands out encoded queries (as dnsperf sends them: RD set, no
 * EDNS, the file's case) and whose sendmmsg takes every reply. What is left
 * out is the system calls' own cost, the same for every build, so an A/B of
 * two builds compares the code that changed.
 *
 *   npx tsc -p . && node --max-semi-space-size=1 dist/bench/miss-path.js [--records 10000] [--queries 200000] [--random 0.8] [--rounds 5]
 *
 * (`--max-semi-space-size=1`: as the supervisor starts workers, src/supervisor.ts.)
 *
 * `--recursion on` (the default) answers as a worker does with forwarding on
 * (`--forward auto` and a nameserver in resolv.conf, as on most machines): the
 * loopback sender may recurse, so each reply has RA and each miss asks the
 * ACL; every name asked is in the zone, so nothing is forwarded. `off`: as
 * with `--forward none`.
 *
 * Prints CPU ns per query (best and median of the rounds) for the
 * cache-missing mix (`--random` of the names fresh random ones, each asked
 * once) and for the load test's mix (every question asked many times: reply
 * cache hits), and what the replies were (rcodes).
 */

import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { generateZone } from './gen-zone.js';
import { generateQueries } from './queries.js';
import { WILDCARD_BLOCK } from './run.js';
import { abuseGuards } from '../src/abuse/guards.js';
import { defaults } from '../src/config.js';
import { compileAcl } from '../src/forward/acl.js';
import { ReplyCache } from '../src/dns/answer-cache.js';
import type { AnswerContext } from '../src/dns/answer.js';
import { Counters } from '../src/dns/counters.js';
import { QueryPipeline } from '../src/dns/pipeline.js';
import { MMSG_DEFAULTS, serveUdpMmsg } from '../src/net/mmsg.js';
import type { OpenSocket } from '../src/net/reuseport.js';
import { libc as realLibc, MMSG_LAYOUT as L, type Libc } from '../src/sys/libc.js';
import { loadZones } from '../src/zones.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '10000' },
    queries: { type: 'string', default: '200000' },
    random: { type: 'string', default: '0.8' },
    rounds: { type: 'string', default: '5' },
    recursion: { type: 'string', default: 'on' },
  },
});

/**
 * A C library whose recvmmsg fills the engine's slots from `queries` (each
 * from 127.0.0.1, a port of its own per slot) and whose sendmmsg takes every
 * entry; memory is plain ArrayBuffers at made-up addresses. Everything else
 * is the real library's.
 */
class FeedLibc {
  private readonly blocks: { address: bigint; buffer: ArrayBuffer }[] = [];
  private next = 0x1000_0000n;
  queries: Uint8Array[] = [];
  position = 0;
  sent = 0;
  /** Per receive slot: its data and sender-address views (found once). */
  private slots: { data: Uint8Array; name: Uint8Array }[] | null = null;

  alloc(length: number): bigint {
    const address = this.next;
    this.next += BigInt(length + 4096) & ~4095n;
    this.blocks.push({ address, buffer: new ArrayBuffer(length) });
    return address;
  }

  view(address: bigint, length: number): ArrayBuffer {
    const b = this.at(address);
    if (b.offset !== 0 || b.buffer.byteLength < length) throw new Error('view of a block from its start only');
    return b.buffer;
  }

  free(): void {}

  close(): { kind: 'ok'; value: undefined } {
    return { kind: 'ok', value: undefined };
  }

  watchReadable(_fd: number, onReadable: () => void): { stop(): void; close(): void } {
    this.readable = onReadable;
    return { stop: () => undefined, close: () => undefined };
  }

  readable: () => void = () => undefined;

  recvmmsg(_fd: number, vec: bigint, vlen: number): number {
    const v = this.at(vec);
    const dv = new DataView(v.buffer);
    const slots = (this.slots ??= this.findSlots(dv, v.offset, vlen));
    let got = 0;
    for (; got < vlen && this.position < this.queries.length; got++) {
      const q = this.queries[this.position++]!;
      slots[got]!.data.set(q);
      dv.setUint32(v.offset + got * L.mmsghdr + L.len, q.length, true);
      dv.setInt32(v.offset + got * L.mmsghdr + L.flags, 0, true);
      dv.setUint32(v.offset + got * L.mmsghdr + L.namelen, 16, true);
    }
    return got > 0 ? got : -11; // EAGAIN
  }

  sendmmsg(_fd: number, _vec: bigint, vlen: number): number {
    this.sent += vlen;
    return vlen;
  }

  private findSlots(dv: DataView, off: number, n: number): { data: Uint8Array; name: Uint8Array }[] {
    const out: { data: Uint8Array; name: Uint8Array }[] = [];
    for (let i = 0; i < n; i++) {
      const h = off + i * L.mmsghdr;
      const name = this.at(dv.getBigUint64(h + L.name, true));
      const iov = this.at(dv.getBigUint64(h + L.iov, true));
      const base = this.at(new DataView(iov.buffer).getBigUint64(iov.offset, true));
      const nameBytes = new Uint8Array(name.buffer, name.offset, 16);
      // sockaddr_in: AF_INET, port 40000 + i, 127.0.0.1.
      nameBytes.set([2, 0, (40000 + i) >> 8, (40000 + i) & 0xff, 127, 0, 0, 1]);
      out.push({ data: new Uint8Array(base.buffer, base.offset, 4096), name: nameBytes });
    }
    return out;
  }

  private at(address: bigint): { buffer: ArrayBuffer; offset: number } {
    for (const b of this.blocks) {
      const off = Number(address - b.address);
      if (off >= 0 && off < b.buffer.byteLength) return { buffer: b.buffer, offset: off };
    }
    throw new Error(`address ${address.toString(16)} is no block of ours`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'shardns-miss-path-'));
const file = join(dir, 'example.com.zone');
writeFileSync(file, generateZone(Number(values.records)) + WILDCARD_BLOCK);
const loaded = loadZones([{ name: 'example.com.', file }]);
rmSync(dir, { recursive: true });
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));

/** As dnsperf sends a line: RD set, no EDNS. */
function encode(name: string, type: string, id: number): Uint8Array {
  return dnsPacket.encode({ type: 'query', id: id & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }] });
}

const count = Number(values.queries);
/** The cache-missing mix of round `seed`: fresh random names differ from round to round, so none is asked twice. */
const missMix = (seed: number): Uint8Array[] => generateQueries(loaded.loaded[0]!, { count, seed, randomSubdomain: Number(values.random) }).queries.map((q, i) => encode(q.name, q.type, i));
const authMix = generateQueries(loaded.loaded[0]!, { count: 50_000, seed: 1 }).queries.map((q, i) => encode(q.name, q.type, i));

/** A worker's pipeline and engine as dns-worker.ts makes them, with default settings. */
async function worker(): Promise<{ feed: FeedLibc; counters: Counters }> {
  const config = defaults(1, dir);
  const acl = compileAcl(config.allowRecursion);
  if (typeof acl === 'string') throw new Error(acl);
  const recursion = values.recursion === 'on' ? acl : null;
  const ctx: AnswerContext = { identity: { server: 'worker-0', version: 'bench' }, zones: loaded.ok ? loaded.zones : (undefined as never), recursion, ednsUdpSize: config.ednsUdpSize, nsid: Buffer.from('worker-0') };
  const counters = new Counters();
  const replies = new ReplyCache({ entries: config.answerCache, bytes: config.answerCache * 2048, admitOnSecondMiss: true, cookies: config.cookies === 'on' });
  const { rrl, cookies } = abuseGuards(config);
  const pipeline = new QueryPipeline({ ctx, counters, replies, forwarder: null, forwardLimits: { maxEntries: 0, maxBytes: 0, minTtl: 0, maxTtl: 0, maxNegativeTtl: 0, servfailTtl: 0 }, onInternalError: (m) => console.error(m), rrl, cookies });
  const feed = new FeedLibc();
  const c = Object.assign(Object.create(realLibc) as Libc, {
    alloc: feed.alloc.bind(feed),
    view: feed.view.bind(feed),
    free: feed.free.bind(feed),
    close: feed.close.bind(feed),
    watchReadable: feed.watchReadable.bind(feed),
    recvmmsg: feed.recvmmsg.bind(feed),
    sendmmsg: feed.sendmmsg.bind(feed),
  });
  const sock = { fd: -1 } as OpenSocket;
  await serveUdpMmsg(sock, pipeline.handler('udp', pipeline.inPlace !== null), (e) => console.error(e.message), { ...MMSG_DEFAULTS, libc: c }, pipeline.inPlace);
  return { feed, counters };
}

/** CPU ns per query for one pass over `queries` (the engine's readable callback called until they are all read). */
function pass(feed: FeedLibc, queries: Uint8Array[]): number {
  feed.queries = queries;
  feed.position = 0;
  const start = process.cpuUsage();
  while (feed.position < queries.length) feed.readable();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / queries.length;
}

function summary(ns: number[]): string {
  const sorted = [...ns].sort((a, b) => a - b);
  return `best ${sorted[0]!.toFixed(0)} ns, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ns`;
}

const rounds = Number(values.rounds);
const { feed, counters } = await worker();
// Warm-up: the JIT, and the reply cache filled with the load test's questions (asked twice: second-miss admission).
pass(feed, authMix);
pass(feed, authMix);
pass(feed, missMix(1000).slice(0, 50_000));
// Made before any is measured: the worker's heap holds none of this.
const missRounds = Array.from({ length: rounds }, (_, r) => missMix(1 + r));
const miss: number[] = [];
const auth: number[] = [];
for (let r = 0; r < rounds; r++) {
  miss.push(pass(feed, missRounds[r]!));
  auth.push(pass(feed, authMix));
}
const snap = counters.snapshot();
console.log(`miss-path: ${values.records} records, recursion ${values.recursion}; cache-missing mix (${Number(values.random) * 100} % fresh random names, ${count} queries a round): ${summary(miss)}; load-test mix (reply cache hits): ${summary(auth)}; ${rounds} rounds; replies ${feed.sent}, rcodes ${JSON.stringify(snap.rcodes)}`);
