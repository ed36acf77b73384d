/**
 * The fuzz targets: one input in, the code under test run on it as a worker
 * runs it, every invariant checked. A throw out of the code, a broken
 * invariant (a Finding) or a handler call over the target's time limit is a
 * finding. Shared by the fuzz runner (fuzz/run.ts) and the corpus replay
 * test (test/unit/fuzz-corpus.test.ts).
 */

import dnsPacket, { type Packet } from 'dns-packet';
import { answer, type AnswerContext, type AnswerOutcome, type Transport } from '../src/dns/answer.js';
import { withExactNames } from '../src/dns/exact-names.js';
import { forwardedReply } from '../src/dns/forwarded.js';
import { questionEnd } from '../src/dns/header.js';
import { AnswerCache, cacheKey, ttlFor, type CachedAnswer } from '../src/forward/cache.js';
import { toCached } from '../src/forward/forwarder.js';
import { matches, type UpstreamQuestion } from '../src/forward/transport.js';
import type { ReplyStream } from '../src/xfr/stream.js';
import { compileZone } from '../src/zone/image/compile.js';
import { ZoneImage } from '../src/zone/image/image.js';
import { parseZone, parseZoneText } from '../src/zone/parse/parser.js';
import { printZone } from '../src/zone/parse/print.js';
import { FORWARD_LIMITS, fuzzContext, fuzzPipeline, oneAddress, type FuzzPipeline } from './context.js';

/** An invariant the input broke (as opposed to an exception thrown by the code under test). */
export class Finding extends Error {
  override name = 'Finding';
  /** @param kind what broke, the same for every input that breaks it (the runner tells findings apart by it); `detail` is this input's. */
  constructor(
    readonly kind: string,
    detail = '',
  ) {
    super(detail === '' ? kind : `${kind}: ${detail}`);
  }
}

/** One fuzz target. */
export interface FuzzTarget {
  /** Its name: the folder of its crashes (fuzz/crashes/<name>/) and of its own seeds. */
  readonly name: string;
  /** What it runs, for the runner's report. */
  readonly about: string;
  /** Folders under fuzz/corpus/ whose files seed it. */
  readonly seeds: readonly string[];
  /** Largest input generated (octets). */
  readonly maxLength: number;
  /** What the input is: DNS messages, a TCP byte stream, or zone file text (the generator differs). */
  readonly input: 'message' | 'stream' | 'reply' | 'zone';
  /**
   * Runs one input; throws on a finding; returns how long the slowest
   * handler call took (ms): the call the time limit is about, not the checks
   * around it.
   */
  run(data: Buffer): number;
  /** The longest one handler call may take on this input (ms). */
  limitMs(data: Buffer): number;
  /** The open finding (fuzz/crashes/README.md) this input reaches, if the target can tell; see openCause. */
  readonly open?: (data: Buffer) => string | null;
}

/** No input may take more than a millisecond in a query handler (issue 17). */
const HANDLER_LIMIT_MS = 1;

/** Clients the query targets ask from: allowed to recurse over IPv4 and IPv6, and one that is not. */
const CLIENTS = ['127.0.0.1', '::1', '192.0.2.9'] as const;

function fail(kind: string, detail = ''): never {
  throw new Finding(kind, detail);
}

/**
 * fn's result and the CPU time it took (ms): CPU, not wall time, so other
 * processes on a busy machine do not make an input look slow.
 */
function timed<T>(fn: () => T): [T, number] {
  const t0 = process.cpuUsage();
  const r = fn();
  const t = process.cpuUsage(t0);
  return [r, (t.user + t.system) / 1000];
}

/** The first octets of a buffer as hex, for messages. */
function hex(b: Uint8Array, max = 64): string {
  return Buffer.from(b.subarray(0, max)).toString('hex') + (b.length > max ? '…' : '');
}

/** The octets of a message's first question (name, type, class), or null when it has none that reads (QDCOUNT 0, a pointer in it, cut short). */
function questionOctets(msg: Uint8Array): Buffer | null {
  if (msg.length < 12 || ((msg[4]! << 8) | msg[5]!) === 0) return null;
  const end = questionEnd(msg);
  return end < 0 ? null : Buffer.from(msg.subarray(12, end));
}

/**
 * A reply to `query` is well formed: a header at least, the query's ID and
 * opcode, QR=1, decodable by dns-packet, within the transport's size (over
 * UDP 512 octets without EDNS, our EDNS size with it: RFC 1035 §4.2.1,
 * RFC 6891 §6.2.5), the question echoed as asked, octet for octet (case
 * and every octet of every label: fuzz finding Q2).
 */
function checkReply(query: Uint8Array, reply: Uint8Array, transport: Transport, what: string): void {
  if (reply.length < 12) fail(`${what}: a reply shorter than a header`, hex(reply));
  if (reply[0] !== query[0] || reply[1] !== query[1]) fail(`${what}: the reply's ID is not the query's`);
  if ((reply[2]! & 0x80) === 0) fail(`${what}: a reply with QR=0`);
  if (((reply[2]! >> 3) & 0xf) !== ((query[2]! >> 3) & 0xf)) fail(`${what}: the reply's opcode is not the query's`);
  let p: Packet;
  try {
    p = dnsPacket.decode(Buffer.from(reply));
  } catch (e) {
    fail(`${what}: the reply does not decode`, `${(e as Error).message}: ${hex(reply)}`);
  }
  const opt = (p.additionals ?? []).some((r) => r.type === 'OPT');
  if (transport === 'udp' && reply.length > (opt ? 1232 : 512)) fail(`${what}: a UDP reply ${opt ? 'over our EDNS size 1232' : 'over 512 without EDNS'}`, `${reply.length} octets`);
  if (reply.length > 65535) fail(`${what}: a reply over 65535 octets`);
  const asked = questionOctets(query);
  const echoed = (p.questions?.length ?? 0) > 0 ? reply.subarray(12, 12 + (asked?.length ?? 0)) : null;
  if (asked && echoed && !asked.equals(echoed)) fail(`${what}: the reply's question is not the query's`, `${hex(echoed)}, asked ${hex(asked)}`);
}

/** answer()'s outcome is one it may give: drop only a short message or a response, forward only for a client that may recurse, replies well formed. */
function checkOutcome(ctx: AnswerContext, query: Buffer, out: AnswerOutcome, transport: Transport, address: string): void {
  const what = `answer() over ${address.includes(':') ? 'IPv6 ' : ''}${transport}`;
  switch (out.kind) {
    case 'stream':
      if (transport === 'udp') fail(`${what}: a stream of messages for a UDP query`);
      drain(out.stream, query, transport, what);
      return;
    case 'drop':
      // RFC 1035 §4.1.1: never answer a response; a message without a header has nothing to answer.
      if (query.length >= 12 && (query[2]! & 0x80) === 0) fail(`${what}: dropped a query (QR=0)`);
      return;
    case 'reply':
      return checkReply(query, out.bytes, transport, what);
    case 'forward': {
      if (ctx.recursion === null || !ctx.recursion.allows(address)) fail(`${what}: forwarded for a client outside allow-recursion`);
      if (out.id !== query.readUInt16BE(0)) fail(`${what}: a forward request with another ID`);
      // The reply to the client once the upstream has answered, as the pipeline builds it.
      const up: UpstreamQuestion = { name: out.target, type: String(out.question.type), klass: 'IN', dnssecOk: out.edns?.dnssecOk ?? false, checkingDisabled: false };
      for (const a of [oneAddress(up), { rcode: 'SERVFAIL', ad: false, answers: [], authorities: [], additionals: [] }]) {
        checkReply(query, forwardedReply(out, a, ctx), transport, `${what}, then forwardedReply`);
      }
      return;
    }
  }
}

/** One engine slot: the message at an offset inside a larger buffer, with other octets after it (the mmsg engine hands out such views). */
function inSlot(data: Buffer, fill: number): Buffer {
  const slot = Buffer.alloc(data.length + 64, fill);
  data.copy(slot, 5);
  return slot.subarray(5, 5 + data.length);
}

/** Splits a TCP byte stream into its messages (RFC 1035 §4.2.2: a 2-octet length before each); a partial one at the end is left out. */
export function tcpFrames(stream: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let off = 0;
  while (stream.length - off >= 2) {
    const len = (stream[off]! << 8) | stream[off + 1]!;
    if (stream.length - off - 2 < len) break;
    frames.push(stream.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return frames;
}

/** Fails with the internal errors a pipeline told (a query whose handling threw, answered SERVFAIL). */
function noInternalErrors(p: FuzzPipeline, what: string): void {
  const errors = p.takeErrors();
  if (errors.length > 0) fail(`${what}: an internal error (answered SERVFAIL)`, errors[0]);
}

/** Flips the case of the ASCII letters in the first question's name (labels walked; nothing when the name is not plain labels). */
function flipQuestionCase(q: Buffer): Buffer | null {
  const out = Buffer.from(q);
  let at = 12;
  for (;;) {
    if (at >= out.length) return null;
    const len = out[at]!;
    if (len === 0) break;
    if (len > 63 || at + 1 + len > out.length) return null;
    for (let i = at + 1; i <= at + len; i++) {
      const c = out[i]!;
      if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) out[i] = c ^ 0x20;
    }
    at += len + 1;
  }
  return out;
}

/** Lower-cases ASCII letters (names compare so, RFC 4343). */
function foldCase(b: Uint8Array): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < out.length; i++) if (out[i]! >= 0x41 && out[i]! <= 0x5a) out[i] = out[i]! | 0x20;
  return out;
}

function same(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : Buffer.compare(a, b) === 0;
}

/** The messages of a stream (a zone transfer), each checked; the first, or null when it gave none. At most 1000 are read. */
function drain(stream: ReplyStream, query: Buffer, transport: Transport, what: string): Buffer | null {
  let first: Buffer | null = null;
  try {
    for (let i = 0; i < 1000; i++) {
      const m = stream.next();
      if (m === null) break;
      checkReply(query, m, transport, `${what}, message ${i} of a stream`);
      first ??= m;
    }
  } finally {
    stream.close();
  }
  return first;
}

/** A pipeline's synchronous reply (forwarded names are answered from the instant resolver, so no promise is expected); a stream is drained and checked, its first message returned. */
function handled(p: FuzzPipeline, msg: Buffer, transport: Transport, address: string): Buffer | null {
  const out = p.pipeline.handle(msg, transport, address);
  if (out instanceof Promise) fail('the pipeline returned a promise for a question the resolver had answered at once');
  if (out === null || Buffer.isBuffer(out)) return out;
  return drain(out, msg, transport, `QueryPipeline.handle over ${transport}`);
}

/** answer() on one UDP datagram from each client, in an engine slot and alone; the two must agree. */
function queryUdp(): FuzzTarget {
  let ctx: AnswerContext | null = null;
  return {
    name: 'query-udp',
    about: 'answer() on one UDP datagram, from clients that may and may not recurse (src/dns/answer.ts, src/auth/)',
    seeds: ['query-udp'],
    maxLength: 1232,
    input: 'message',
    run(data) {
      ctx ??= fuzzContext();
      let worst = 0;
      for (const address of CLIENTS) {
        const [out, ms] = timed(() => answer(inSlot(data, 0xff), ctx!, { transport: 'udp', address }));
        worst = Math.max(worst, ms);
        checkOutcome(ctx, data, out, 'udp', address);
        if (address === '127.0.0.1') {
          // Octets past the message must not matter: the same query alone gives the same outcome.
          const alone = answer(Buffer.from(data), ctx, { transport: 'udp', address });
          if (alone.kind !== out.kind || (alone.kind === 'reply' && out.kind === 'reply' && !same(alone.bytes, out.bytes))) fail('answer() read past the end of the message: another outcome for the same octets in an engine slot');
        }
      }
      return worst;
    },
    limitMs: () => HANDLER_LIMIT_MS,
    open: openCause,
  };
}

/** A TCP connection's octets through the pipeline's handler, message by message, as src/net/tcp.ts frames them. */
function queryTcp(): FuzzTarget {
  let ctx: AnswerContext | null = null;
  return {
    name: 'query-tcp',
    about: 'a TCP stream of length-prefixed messages through QueryPipeline.handle (reply cache on), as src/net/tcp.ts frames it',
    seeds: ['query-tcp'],
    maxLength: 4096,
    input: 'stream',
    run(data) {
      ctx ??= fuzzContext();
      // A fresh pipeline per input: what one input does must not depend on the inputs before it.
      const p = fuzzPipeline(ctx, true);
      let worst = 0;
      for (const frame of tcpFrames(data)) {
        // src/net/tcp.ts closes the connection on a frame shorter than a header.
        if (frame.length < 12) break;
        const msg = Buffer.from(frame);
        const [reply, ms] = timed(() => handled(p, msg, 'tcp', '127.0.0.1'));
        worst = Math.max(worst, ms);
        noInternalErrors(p, 'QueryPipeline.handle over tcp');
        // A dropped message closes the connection (a response sent as a query).
        if (reply === null) {
          if ((msg[2]! & 0x80) === 0) fail('QueryPipeline.handle over tcp dropped a query (QR=0)');
          break;
        }
        // RFC 1035 §4.1.1: a response is never answered (a reply to it could bounce between two servers).
        if ((msg[2]! & 0x80) !== 0) fail('QueryPipeline.handle over tcp answered a response (QR=1)');
        checkReply(msg, reply, 'tcp', 'QueryPipeline.handle over tcp');
      }
      return worst;
    },
    limitMs: () => HANDLER_LIMIT_MS,
    open: (data) => {
      for (const frame of tcpFrames(data)) {
        if (frame.length < 12) return null;
        const cause = openCause(frame);
        if (cause) return cause;
      }
      return null;
    },
  };
}

/** sockaddr_in of 127.0.0.1 as recvmmsg fills it (family in host order, port and address in network order). */
function loopbackSockaddr(): Buffer {
  const s = Buffer.alloc(16);
  s.writeUInt16LE(2, 0);
  s.writeUInt16BE(5353, 2);
  s.set([127, 0, 0, 1], 4);
  return s;
}

/**
 * The reply cache against answer(): one query asked three times (miss, miss
 * that admits it, hit) and in place, then again with another ID, RD flipped
 * and the question's case flipped: every reply must be the one a pipeline
 * without a cache gives (names compared case-insensitively for the hit that
 * patched another case in, RFC 4343).
 */
function replyCache(): FuzzTarget {
  let ctx: AnswerContext | null = null;
  let plain: FuzzPipeline | null = null;
  const peer = loopbackSockaddr();
  const out = Buffer.alloc(65536 + 8);
  return {
    name: 'reply-cache',
    about: 'QueryPipeline with a ReplyCache (hits, in-place hits, ID/RD/case patched) against the same pipeline without one (src/dns/answer-cache.ts)',
    seeds: ['query-udp'],
    maxLength: 1232,
    input: 'message',
    run(data) {
      ctx ??= fuzzContext();
      plain ??= fuzzPipeline(ctx, false);
      const p = fuzzPipeline(ctx, true);
      let worst = 0;
      const ask = (pipe: FuzzPipeline, msg: Buffer, transport: Transport): Buffer | null => {
        const [reply, ms] = timed(() => handled(pipe, msg, transport, '127.0.0.1'));
        worst = Math.max(worst, ms);
        noInternalErrors(pipe, `QueryPipeline.handle over ${transport}`);
        return reply;
      };
      const msg = Buffer.from(data);
      for (const transport of ['udp', 'tcp'] as const) {
        const fresh = ask(plain, msg, transport);
        if (fresh !== null && msg.length >= 12 && (msg[2]! & 0x80) !== 0) fail(`QueryPipeline.handle over ${transport} answered a response (QR=1)`);
        if (fresh !== null) checkReply(msg, fresh, transport, `QueryPipeline.handle over ${transport}`);
        for (let i = 1; i <= 3; i++) {
          const r = ask(p, msg, transport);
          if (!same(r, fresh)) fail(`reply cache over ${transport}: a reply other than the pipeline's without a cache`, `ask ${i}: ${r === null ? 'no reply' : hex(r)} where that gives ${fresh === null ? 'none' : hex(fresh)}`);
        }
      }
      // The mmsg engine's hit path writes the stored reply into its send area.
      const [n, ms] = timed(() => p.pipeline.inPlace!(msg, 0, msg.length, peer, 0, out, 8, out.length - 8));
      worst = Math.max(worst, ms);
      const fresh = ask(plain, msg, 'udp');
      if (n >= 0 && !same(out.subarray(8, 8 + n), fresh)) fail('reply cache in place: a reply other than the pipeline\'s without a cache', `${hex(out.subarray(8, 8 + n))} where that gives ${fresh === null ? 'none' : hex(fresh)}`);
      // Another asker of the same question: another ID, RD flipped, the name in another case.
      const other = flipQuestionCase(msg);
      if (other !== null && other.length >= 12) {
        other[0] = other[0]! ^ 0x5a;
        other[1] = other[1]! ^ 0xa5;
        other[2] = other[2]! ^ 0x01;
        const want = ask(plain, other, 'udp');
        const got = ask(p, other, 'udp');
        if (want === null || got === null ? want !== got : !foldCase(want).equals(foldCase(got))) {
          fail('reply cache, another ID/RD/case: a reply other than the pipeline\'s without a cache', `${got === null ? 'no reply' : hex(got)} where that gives ${want === null ? 'none' : hex(want)}`);
        }
        // The octets the cache patched must be the asker's, exactly: ID, flags, and the question as asked.
        if (want !== null && got !== null && !got.subarray(0, 4).equals(want.subarray(0, 4))) fail('reply cache: the hit does not carry the asker\'s ID and flags');
      }
      return worst;
    },
    limitMs: () => HANDLER_LIMIT_MS,
    open: openCause,
  };
}

/** Default question for a reply that has none: what the forwarder asked. */
const SOME_QUESTION: UpstreamQuestion = { name: 'www.example.net', type: 'A', klass: 'IN', dnssecOk: false, checkingDisabled: false };

/**
 * An upstream's reply octets through what the forwarder does with them:
 * matches() (RFC 5452 §9.1, with the reply's own ID and question, so it is
 * the reply to what we asked), toCached, the forward cache (TTLs, RFC 2308),
 * and the client's reply built from it (forwardedReply, fitted to UDP 512,
 * EDNS 1232 with DO, and TCP), also after our own CNAME chain, and the reply
 * cache's copy of it.
 */
function forwarded(): FuzzTarget {
  let plainCtx: AnswerContext | null = null;
  let zoneCtx: AnswerContext | null = null;
  const clock = { now: 5_000_000 };
  return {
    name: 'forwarded',
    about: "an upstream's reply: matches(), toCached, the forward cache, forwardedReply and the reply cache (src/forward/, src/dns/forwarded.ts)",
    seeds: ['forwarded'],
    maxLength: 4096,
    input: 'reply',
    run(data) {
      plainCtx ??= fuzzContext(false);
      zoneCtx ??= fuzzContext(true);
      let q = SOME_QUESTION;
      try {
        // Header counts the message cannot hold: dns-packet would decode tens of thousands of records from it (names
        // read at offset NaN, as at 0: 1.2 s for 176 octets, Jazzer.js timeout-9b9b9192…); matches() refuses such a
        // message before decoding, so the question to ask it with does not matter.
        if (!countsFit(data)) throw new Error('counts that cannot fit');
        // Names as the forwarder reads them (transport.ts matches): name strings that keep every octet.
        const p = withExactNames(() => dnsPacket.decode(data));
        const question = p.questions?.[0];
        if (p.questions?.length === 1 && question) q = { name: question.name, type: String(question.type), klass: String(question.class), dnssecOk: false, checkingDisabled: false };
      } catch {
        // Not decodable: matches() must say so.
      }
      const id = data.length >= 2 ? data.readUInt16BE(0) : 0;
      let [accepted, worst] = timed(() => matches(data, id, q));
      if (accepted.kind !== 'reply') return worst;
      const cached = toCached(accepted.packet);
      const ttl = ttlFor(cached, FORWARD_LIMITS);
      if (!Number.isFinite(ttl) || ttl < 0) fail('ttlFor gave a TTL that is not a number of seconds', String(ttl));
      // The forward cache keeps it and gives it back with TTLs counted down.
      const cache = new AnswerCache(FORWARD_LIMITS, () => clock.now);
      const key = cacheKey(q.name, q.type, 'IN', false, false);
      cache.put(key, cached);
      const fromCache = cache.get(key) ?? cached;
      const withType = (name: string): Buffer | null => {
        // The client's question (the name string's octets); a type or name that cannot be written is no client's.
        try {
          return withExactNames(() => dnsPacket.encode({ type: 'query', id: 0x4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: q.type as 'A', class: 'IN' }] }));
        } catch {
          return null;
        }
      };
      const variants: { name: string; ctx: AnswerContext; transport: Transport; edns: boolean }[] = [
        { name: q.name, ctx: plainCtx, transport: 'udp', edns: false },
        { name: q.name, ctx: plainCtx, transport: 'udp', edns: true },
        { name: q.name, ctx: plainCtx, transport: 'tcp', edns: true },
        // Our CNAME (test/fixtures/answers/example.com.zone) leads out of our zones: the upstream's answer follows our chain.
        { name: 'external.example.com', ctx: zoneCtx, transport: 'udp', edns: true },
      ];
      for (const v of variants) {
        const bare = withType(v.name);
        if (bare === null) continue;
        const query = v.edns ? withEdns(bare) : bare;
        const p = fuzzPipeline(v.ctx, true);
        p.resolver.answerFor = (): CachedAnswer => fromCache;
        const what = `forwarded reply over ${v.transport}${v.edns ? ' with EDNS DO' : ''}${v.ctx === zoneCtx ? ' after our CNAME chain' : ''}`;
        for (let i = 0; i < 3; i++) {
          const [reply, ms] = timed(() => handled(p, query, v.transport, '127.0.0.1'));
          worst = Math.max(worst, ms);
          noInternalErrors(p, what);
          if (reply === null) fail(`${what}: no reply`);
          checkReply(query, reply, v.transport, what);
        }
      }
      return worst;
    },
    limitMs: () => HANDLER_LIMIT_MS,
  };
}

/** Whether a message's header counts can fit its length: each question at least 5 octets, each record 11 (RFC 1035 §4.1.2, §4.1.3). */
function countsFit(msg: Buffer): boolean {
  if (msg.length < 12) return false;
  const records = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  return msg.readUInt16BE(4) * 5 + records * 11 <= msg.length - 12;
}

/** The query with an OPT: UDP size 1232, DO set (RFC 6891, RFC 3225). */
function withEdns(query: Buffer): Buffer {
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
  const out = Buffer.concat([query, opt]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}

/** The file the zone target's text is read as, and the one name an $INCLUDE in it may open (the same text again). */
const ZONE_FILE = 'fuzz.zone';
const INCLUDE_FILE = 'inc.zone';

/**
 * Zone file octets through the parser as the builder runs it (parseZone with
 * an injected reader: errors returned, never thrown); a zone it accepts must
 * compile into an image, and its canonical print must read back to the same
 * print (the printer and the parser agree).
 */
function zoneParser(): FuzzTarget {
  return {
    name: 'zone-parser',
    about: 'parseZone on arbitrary file octets, then compileZone and printZone → parse → printZone (src/zone/parse/, src/zone/image/compile.ts)',
    seeds: ['zone-parser'],
    maxLength: 8192,
    input: 'zone',
    run(data) {
      // A $GENERATE may make 2^24 records (as BIND allows): a valid zone, but not one to load per input.
      if (generated(data) > MAX_GENERATED) return 0;
      const origin = data.length % 5 === 0 ? '.' : 'example.com.';
      const readFile = (f: string): Uint8Array => {
        if (f === ZONE_FILE || f === INCLUDE_FILE) return data;
        throw new Error('no such file');
      };
      const [result, ms] = timed(() => parseZone({ origin, file: ZONE_FILE, readFile }));
      if (!result.ok) {
        if (result.errors.length === 0) fail('parseZone refused the zone without saying why');
        for (const d of result.errors) if (!(d.line >= 0 && d.column >= 0) || d.message === '') fail('a diagnostic without a place or a message', JSON.stringify(d));
        return ms;
      }
      const imageOrigin = result.zone.origin === '.' ? '.' : `${result.zone.origin}.`;
      new ZoneImage(compileZone(result.zone, { origin: imageOrigin, source: '' }));
      const printed = printZone(result.zone);
      const again = parseZoneText(origin, printed);
      if (!again.ok) fail('the canonical print of an accepted zone does not read back', again.errors.map((d) => `${d.line}:${d.column}: ${d.message}`).join('; '));
      if (printZone(again.zone) !== printed) fail('the canonical print of an accepted zone reads back as another zone');
      return ms;
    },
    // Loading is linear in the text and in the records $GENERATE makes: 1 ms, plus 1 ms per 16 KiB of text or per 100 records it could make.
    limitMs: (data) => HANDLER_LIMIT_MS * (1 + data.length / 16384 + generated(data) / 100),
  };
}

/** Inputs whose $GENERATE lines could make more records than this are not loaded. */
const MAX_GENERATED = 20_000;

/** The most records the $GENERATE lines of a text could make (their ranges, as written; each $INCLUDE of the text again counts it again). */
function generated(data: Buffer): number {
  const text = data.toString('latin1');
  let n = 0;
  for (const m of text.matchAll(/\$GENERATE[^0-9\n]*(\d+)\s*-\s*(\d+)(?:\s*\/\s*(\d+))?/gi)) {
    const step = Math.max(1, Number(m[3] ?? 1));
    n += Math.max(0, (Number(m[2]) - Number(m[1])) / step + 1);
  }
  const includes = text.match(/\$INCLUDE/gi)?.length ?? 0;
  return n * (1 + includes);
}

/**
 * Which open finding (fuzz/crashes/README.md) a DNS message reaches, told
 * by its octets, or null. With FUZZ_PAST_OPEN=1 the runner skips such
 * inputs, to look for other bugs of the same kinds; add a cause here when a
 * finding is left open, drop it once its fix is in. None is open now: Q1
 * (a pointer in the question), Q2 (question octets lost on the forwarding
 * path) and Q3 (header counts the message cannot hold) are fixed.
 */
export function openCause(_msg: Uint8Array): string | null {
  return null;
}

/** Every target, by name. */
export const TARGETS: readonly FuzzTarget[] = [queryUdp(), queryTcp(), replyCache(), forwarded(), zoneParser()];

/** The target called `name`, or undefined. */
export function targetNamed(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
