/**
 * QueryPipeline: what a worker does with each message — DNS cookies, reply
 * cache, answer(), SERVFAIL on a throw, response rate limiting, counters,
 * forwarding and the forwarded reply (kept in the reply cache too). No
 * sockets: tests drive it in process, the worker only wires sockets and IPC to it.
 */

import { ttlFor, type CacheLimits, type CachedAnswer } from '../forward/answer-ttl.js';
import type { Resolution } from '../forward/forwarder.js';
import type { UpstreamQuestion } from '../forward/transport.js';
import { ClientAddress } from '../abuse/client-address.js';
import { COOKIE_BAD, COOKIE_CLIENT_ONLY, COOKIE_VALID, type CookieVerdict, type ServerCookies } from '../abuse/cookies.js';
import { RRL_DROP, RRL_SEND, slipReply, type ResponseRateLimiter } from '../abuse/rrl.js';
import { ipv4Text, sockaddrIpv4, sockaddrText } from '../net/sockaddr.js';
import type { InPlaceHandler, MessageHandler } from '../net/udp.js';
import type { TcpMessageHandler, TcpReply } from '../net/tcp.js';
import type { ReplyStream } from '../xfr/stream.js';
import { answer, answerInto, DROP, servfail, type AnswerContext, type AnswerOutcome, type Client, type ForwardRequest, type InPlaceOutcome, type Transport } from './answer.js';
import { queryShape, type QueryShape, type ReplyCache } from './answer-cache.js';
import type { Counters } from './counters.js';
import { BADCOOKIE, badCookieReply, cookieReply } from './edns.js';
import { HEADER_LENGTH, questionEnd, RCODE, headerOnlyReply } from './header.js';
import { cookieDataAt, cookieDataLength, findCookie, MALFORMED_COOKIE, NO_COOKIE, readCookieOnlyQuery, readPlainQuery } from './query.js';
import { forwardedReply } from './forwarded.js';
import type { ZoneSet } from '../auth/zone-set.js';

/** Where names outside our zones are resolved: the Forwarder (a fake in tests). Its promises should not reject. */
export interface Resolver {
  resolve(q: UpstreamQuestion): Resolution;
}

/** What the client gets when forward-max questions are already out: SERVFAIL, at once, kept nowhere. */
const OVER_MAX_ANSWER: CachedAnswer = { rcode: 'SERVFAIL', ad: false, answers: [], authorities: [], additionals: [] };

/** What a pipeline works with. */
export interface PipelineOptions {
  /** Read on every query: a reload assigns `ctx.zones`, and the reply cache empties itself when it sees the new set. */
  ctx: AnswerContext;
  counters: Counters;
  /** Encoded replies by question; null when the reply cache is off. */
  replies: ReplyCache | null;
  /** null when forwarding is off. */
  forwarder: Resolver | null;
  /**
   * The forward cache's limits. A forwarded NOERROR or NXDOMAIN reply is
   * kept in the reply cache too, for the TTL these give (ttlFor), unless
   * the forward cache is off (maxEntries 0).
   */
  forwardLimits: CacheLimits;
  /** Told, at most once a second, about a query whose handling threw (it was answered SERVFAIL and counted). */
  onInternalError: (message: string) => void;
  /** The clock (ms): for that limit, RRL's seconds and cookie timestamps. */
  now?: () => number;
  /**
   * Response rate limiting of UDP replies (src/abuse/rrl.ts; NSD limits UDP
   * only: a TCP client proved its address). Absent or null: off.
   */
  rrl?: ResponseRateLimiter | null;
  /**
   * DNS cookies (RFC 7873, RFC 9018; src/abuse/cookies.ts). Absent or null:
   * COOKIE options are ignored, as by a server that does not know them. The
   * reply cache must be made with `cookies` alike.
   */
  cookies?: ServerCookies | null;
  /**
   * `inPlace` answers a plain query the reply cache misses too (the
   * default). Off: it answers hits only, and every miss takes `handle`
   * (the UDP thread's pipeline, src/net/udp-thread-loop.ts, which holds no
   * zones and passes misses to the worker's main thread).
   */
  missesInPlace?: boolean;
}

/** The longest query `inPlace` answers a miss for from its own copy (longer ones get a view of the engine's memory). */
const MISS_QUERY_ROOM = 4096;

/** Errors are told at most this often (ms); every one is counted. */
const ERROR_LOG_INTERVAL = 1000;

/**
 * One worker's query pipeline. `handle` is the engines' MessageHandler
 * (bound per transport by `handler`); `inPlace` the mmsg engine's
 * in-place path (hits and plain misses, replies written into the send area). No exception escapes either, and no promise
 * rejects: a bug in one query answers SERVFAIL.
 */
export class QueryPipeline {
  /**
   * The UDP in-place path: a cached reply, or the answer to a plain query
   * the cache misses, written straight into the engine's send area (-1:
   * take `handle`); null without a reply cache.
   */
  readonly inPlace: InPlaceHandler | null;
  private readonly now: () => number;
  private readonly rrl: ResponseRateLimiter | null;
  private readonly cookies: ServerCookies | null;
  private lastErrorTold = -Infinity;
  /** The sender of the datagram `inPlace` has in hand (read from its sockaddr). */
  private readonly peer = new ClientAddress();
  /** The sender of the message `handle` has in hand (read from its address text). */
  private readonly sender = new ClientAddress();
  /**
   * A datagram `inPlace` rate-limited to nothing: the engine knows no "send
   * nothing" from it, so it returns -1 and the engine hands the same bytes to
   * `handle` at once, which sends nothing for them. Its memory and offset,
   * or null.
   */
  private dropBuffer: ArrayBufferLike | null = null;
  private dropOffset = 0;
  /**
   * A question `inPlace` answered as a miss and found to be forwarded: it
   * returns -1 and the engine hands the same bytes to `handle` at once,
   * which forwards this request rather than answering the query again. The
   * request, and the memory and offset of its datagram, or null.
   */
  private handOver: ForwardRequest | null = null;
  private handOverBuffer: ArrayBufferLike | null = null;
  private handOverOffset = 0;
  /** The client of a miss `inPlace` answers itself (one at a time). */
  private readonly missClient: Client = { transport: 'udp', address: '', cookie: undefined };
  /** The query of a miss `inPlace` answers, copied, and views of its first n octets by n (made once each): no Buffer per query. */
  private readonly missQuery = Buffer.alloc(MISS_QUERY_ROOM);
  private readonly missViews: (Buffer | undefined)[] = [];
  /** The last IPv4 sender `inPlace` answered a miss for, and its address as text (most datagrams come from a sender seen just before). */
  private lastV4 = -1;
  private lastV4Text = '';

  constructor(private readonly options: PipelineOptions) {
    this.now = options.now ?? Date.now;
    const { ctx, counters, replies } = options;
    const rrl = (this.rrl = options.rrl ?? null);
    const cookies = (this.cookies = options.cookies ?? null);
    if (replies !== null && replies.cookies !== (cookies !== null)) throw new Error(`the reply cache was made ${replies.cookies ? 'with' : 'without'} cookies, the pipeline ${cookies !== null ? 'has' : 'has none'}: make them alike`);
    const peer = this.peer;
    this.inPlace =
      replies === null
        ? null
        : (q, qOff, qLen, from, fromOff, out, outOff, cap) => {
            this.dropBuffer = null;
            this.handOver = null;
            let allowed = false;
            const v4 = sockaddrIpv4(from, fromOff);
            if (ctx.recursion !== null) allowed = v4 >= 0 ? ctx.recursion.allowsIpv4(v4) : ctx.recursion.allows(sockaddrText(from, fromOff));
            let known = false;
            let verdict: CookieVerdict | null = null;
            if (cookies !== null) {
              const found = findCookie(q, qOff, qLen);
              if (found !== NO_COOKIE) {
                // A malformed cookie (FORMERR) and a bad one (BADCOOKIE) are answered by `handle`, which counts the verdict.
                if (found === MALFORMED_COOKIE) return -1;
                known = peer.fromSockaddr(from, fromOff);
                verdict = cookies.judge(q, cookieDataAt(found), cookieDataLength(found), peer, this.seconds());
                if (verdict === COOKIE_BAD) return -1;
              }
            }
            const zones = ctx.zones;
            let written = replies.answerInto(q, qOff, qLen, ctx.ednsUdpSize, allowed, v4 < 0, zones, out, outOff, cap, verdict !== null ? cookies!.reply : null);
            if (written < 0) {
              // A miss of a plain query is answered here too, its reply written straight into the send area;
              // anything else takes the full path (a question to forward is handed over to it: see handOver).
              if (!replies.missedLast || options.missesInPlace === false) return -1;
              written = this.answerMiss(q, qOff, qLen, v4, from, fromOff, zones, verdict !== null ? cookies!.reply : undefined, out, outOff, cap);
              if (written < 0) return -1;
            }
            if (verdict !== null) counters.cookie(verdict === COOKIE_VALID ? 'valid' : 'clientOnly');
            let length = written;
            // RRL classifies the reply from its bytes, here as on the full path; a valid server cookie proves the address (RFC 7873 §5.3).
            if (rrl !== null && verdict !== COOKIE_VALID && (known || peer.fromSockaddr(from, fromOff)) && !rrl.exempt(peer)) {
              const v = rrl.judge(out, outOff, written, peer, this.seconds());
              if (v === RRL_DROP) {
                counters.limited(false);
                this.dropBuffer = q.buffer;
                this.dropOffset = q.byteOffset + qOff;
                return -1;
              }
              if (v !== RRL_SEND) {
                counters.limited(true);
                length = slipReply(out, outOff, written);
              }
            }
            counters.recordUdpAt(out, outOff);
            return length;
          };
  }

  /**
   * A query `inPlace` found plain and missed in the reply cache, answered as
   * the full path answers it (answer(), then the reply offered to the
   * cache) but written at `out[outOff]`: no address text (but for a new
   * sender), query copy or reply Buffer per query. `v4`: the sender's IPv4
   * address, or -1. Returns the reply's length, or -1 for anything but a
   * reply written there (a forward, an error reply, a throw): the full path
   * then answers the query again, SERVFAIL and counted if it throws.
   */
  private answerMiss(q: Buffer, qOff: number, qLen: number, v4: number, from: Buffer, fromOff: number, zones: ZoneSet, cookie: Uint8Array | undefined, out: Buffer, outOff: number, cap: number): number {
    const client = this.missClient;
    if (v4 >= 0) {
      if (v4 !== this.lastV4) {
        this.lastV4 = v4;
        this.lastV4Text = ipv4Text(v4);
      }
      client.address = this.lastV4Text;
    } else {
      client.address = sockaddrText(from, fromOff);
    }
    client.cookie = cookie;
    let outcome: InPlaceOutcome;
    try {
      outcome = answerInto(this.missQueryOf(q, qOff, qLen), this.options.ctx, client, out, outOff, cap);
    } catch {
      return -1;
    } finally {
      client.cookie = undefined;
    }
    if (outcome.kind === 'forward') {
      this.handOver = outcome;
      this.handOverBuffer = q.buffer;
      this.handOverOffset = q.byteOffset + qOff;
    }
    if (outcome.kind !== 'written') return -1;
    this.options.replies!.putMissed(q, qOff, out, outOff, outcome.length, zones);
    return outcome.length;
  }

  /**
   * Whether `inPlace` rate-limited the datagram at `q[qOff…]` to nothing
   * (it returned -1 for it): then counted as dropped, and nothing is to be
   * sent. For an engine that does not hand that datagram to `handle` (the
   * UDP thread, where `handle` is on another thread).
   */
  droppedInPlace(q: Buffer, qOff: number): boolean {
    if (this.dropBuffer === null) return false;
    const limited = q.buffer === this.dropBuffer && q.byteOffset + qOff === this.dropOffset;
    this.dropBuffer = null;
    if (limited) this.options.counters.record('udp', null);
    return limited;
  }

  /** The query at `q[qOff, qOff + qLen)` as a Buffer of its own length: copied into missQuery and seen through a view kept for that length. */
  private missQueryOf(q: Buffer, qOff: number, qLen: number): Buffer {
    if (qLen > MISS_QUERY_ROOM) return q.subarray(qOff, qOff + qLen);
    const copy = this.missQuery;
    for (let i = 0; i < qLen; i++) copy[i] = q[qOff + i]!;
    return (this.missViews[qLen] ??= copy.subarray(0, qLen));
  }

  /** Whole seconds since 1970, for RRL and cookie timestamps. */
  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** `handle` for one transport, as the engines take it; `cacheTried`: the engine tried `inPlace` first. Over TCP a reply may be a stream (a zone transfer). */
  handler(transport: 'udp', cacheTried?: boolean): MessageHandler;
  handler(transport: 'tcp', cacheTried?: boolean): TcpMessageHandler;
  handler(transport: Transport, cacheTried = false): MessageHandler | TcpMessageHandler {
    if (transport === 'tcp') return (msg: Buffer, address: string) => this.handleTcp(msg, address);
    return (msg: Buffer, address: string) => this.handle(msg, transport, address, cacheTried);
  }

  /** {@link handle} over TCP, where a reply may also be a stream of messages (a zone transfer, src/xfr/). */
  handleTcp(msg: Buffer, address: string): TcpReply {
    return this.process(msg, 'tcp', address, false);
  }

  /**
   * One message from `address`: the reply to send now, null to send nothing,
   * or a promise of either when the question is forwarded. Reply-cache hits
   * skip answer(); answers and forwarded replies are cached by the shape of
   * the query (answer-cache.ts). `cacheTried`: the engine already looked the
   * query up in place, so a miss is not looked up twice.
   */
  handle(msg: Buffer, transport: Transport, address: string, cacheTried = false): Buffer | null | Promise<Buffer | null> {
    const out = this.process(msg, transport, address, cacheTried);
    if (out === null || Buffer.isBuffer(out) || out instanceof Promise) return out;
    // A stream (a zone transfer) goes only to a caller that sends it message by message: handleTcp.
    out.close();
    return this.failed(new Error('a zone transfer stream reached a handler that sends one message (use handleTcp)'), msg, transport, address);
  }

  /** handle's work: every kind of reply, streams included. */
  private process(msg: Buffer, transport: Transport, address: string, cacheTried: boolean): TcpReply {
    const { ctx, counters, replies } = this.options;
    let handedOver: ForwardRequest | null = null;
    if (this.handOver !== null) {
      // inPlace found this very datagram's question to be forwarded (see handOver).
      if (msg.buffer === this.handOverBuffer && msg.byteOffset === this.handOverOffset) handedOver = this.handOver;
      this.handOver = null;
      this.handOverBuffer = null;
    }
    if (this.dropBuffer !== null) {
      // inPlace rate-limited this very datagram to nothing (see dropBuffer).
      const limited = msg.buffer === this.dropBuffer && msg.byteOffset === this.dropOffset;
      this.dropBuffer = null;
      if (limited) {
        counters.record(transport, null);
        return null;
      }
    }
    const zones = ctx.zones;
    let out: AnswerOutcome;
    let shape: QueryShape | null = null;
    let verdict: CookieVerdict | null = null;
    try {
      // RFC 1035 §4.1.1: a response (QR=1), or less than a header, is never answered, whatever options it holds:
      // a reply to it (BADCOOKIE, FORMERR for a malformed cookie) is itself a response another server could answer.
      if (msg.length < HEADER_LENGTH || (msg[2]! & 0x80) !== 0) {
        counters.record(transport, null);
        return null;
      }
      let cookie: Uint8Array | undefined;
      const cookies = this.cookies;
      if (cookies !== null) {
        const found = findCookie(msg, 0, msg.length);
        if (found === MALFORMED_COOKIE) {
          // RFC 7873 §5.2.2: a COOKIE option too short, too long, or with a server cookie of 1–7 octets.
          counters.cookie('malformed');
          const qEnd = questionEnd(msg);
          return this.deliver(transport, address, headerOnlyReply(msg, RCODE.FORMERR, qEnd), null);
        }
        if (found !== NO_COOKIE) {
          this.sender.fromText(address);
          verdict = cookies.judge(msg, cookieDataAt(found), cookieDataLength(found), this.sender, this.seconds());
          cookie = Buffer.from(cookies.reply);
          counters.cookie(verdict === COOKIE_VALID ? 'valid' : verdict === COOKIE_CLIENT_ONLY ? 'clientOnly' : 'bad');
          // RFC 7873 §5.4: a query with only a COOKIE option (no question) asks for a server cookie: NOERROR with ours for a
          // client cookie alone or with a valid server cookie; BADCOOKIE with a fresh one otherwise, over TCP too (that
          // answer is all the query asks; NSD 4.6 answers NOERROR either way, BIND NOERROR, Knot 3.2 FORMERR).
          const cookieOnly = readCookieOnlyQuery(msg);
          if (cookieOnly !== null) {
            cookieOnly.cookie = cookie;
            return this.deliver(transport, address, cookieReply(msg, -1, cookieOnly, ctx.ednsUdpSize, verdict === COOKIE_BAD ? BADCOOKIE : RCODE.NOERROR), verdict);
          }
          // RFC 7873 §5.2.3, §5.2.4: a server cookie not ours, over UDP, gets BADCOOKIE and ours to retry
          // with (as BIND and Knot answer); over TCP the connection proves the address, so it is answered.
          if (verdict === COOKIE_BAD && transport === 'udp') {
            const plain = readPlainQuery(msg);
            if (plain !== null && plain.kind === 'edns' && plain.request.version === 0) {
              return this.deliver(transport, address, badCookieReply(msg, questionEnd(msg), { ...plain.request, cookie }, ctx.ednsUdpSize), verdict);
            }
          }
        }
      }
      const allowed = ctx.recursion !== null && ctx.recursion.allows(address);
      shape = replies ? queryShape(msg, ctx.ednsUdpSize, transport === 'tcp', allowed, address.includes(':'), cookies !== null) : null;
      const hit = shape && !cacheTried ? replies!.get(msg, shape, zones, cookie ?? null) : undefined;
      if (hit) return this.deliver(transport, address, hit, verdict);
      if (handedOver !== null && transport === 'udp') {
        out = handedOver;
        // The reply's OPT carries this path's copy of the cookie (the one inPlace wrote with is overwritten by the next query).
        if (handedOver.edns !== null) handedOver.edns.cookie = cookie;
      } else {
        out = answer(msg, ctx, cookie !== undefined ? { transport, address, cookie } : { transport, address });
      }
      // A transfer's answer depends on the client's address and key (allow-transfer): never kept.
      if (shape && out.kind === 'reply' && out.perClient !== true) replies!.put(shape, out.bytes, zones);
    } catch (err) {
      this.internalError(err);
      const bytes = servfail(msg);
      out = bytes ? { kind: 'reply', bytes } : DROP;
    }
    switch (out.kind) {
      case 'drop':
        counters.record(transport, null);
        return null;
      case 'reply':
        return this.deliver(transport, address, out.bytes, verdict);
      case 'forward':
        return this.forward(out, msg, transport, address, shape, zones, verdict);
      case 'stream':
        return this.stream(out.stream, msg, transport, address);
    }
  }

  /**
   * A reply of many messages (a zone transfer, TCP only): its first message
   * is made now and counted as the query's reply; the rest come as the
   * connection takes them (src/net/tcp.ts).
   */
  private stream(stream: ReplyStream, msg: Buffer, transport: Transport, address: string): TcpReply {
    let first: Buffer | null;
    try {
      if (transport !== 'tcp') throw new Error('answer() gave a stream of messages for a UDP query');
      first = stream.next();
    } catch (err) {
      stream.close();
      return this.failed(err, msg, transport, address);
    }
    this.options.counters.record(transport, first);
    if (first === null) {
      stream.close();
      return null;
    }
    let given = false;
    return {
      next: () => {
        if (given) return stream.next();
        given = true;
        return first;
      },
      close: () => stream.close(),
      // The first message was made into the stream's ring too: nothing was made after it yet.
      ...(stream.reuseAfter === undefined ? {} : { reuseAfter: stream.reuseAfter }),
    };
  }

  /**
   * What is sent for `bytes`, counted: over UDP, unless the client is exempt
   * or showed a valid server cookie, what RRL makes of it (the reply, a
   * truncated one, or nothing); over TCP the reply.
   */
  private deliver(transport: Transport, address: string, bytes: Buffer, verdict: CookieVerdict | null): Buffer | null {
    let sent: Buffer | null = bytes;
    const rrl = this.rrl;
    if (transport === 'udp' && rrl !== null && verdict !== COOKIE_VALID && this.sender.fromText(address) && !rrl.exempt(this.sender)) {
      const v = rrl.judge(bytes, 0, bytes.length, this.sender, this.seconds());
      if (v === RRL_DROP) {
        this.options.counters.limited(false);
        sent = null;
      } else if (v !== RRL_SEND) {
        this.options.counters.limited(true);
        sent = bytes.subarray(0, slipReply(bytes, 0, bytes.length));
      }
    }
    this.options.counters.record(transport, sent);
    return sent;
  }

  /**
   * Asks the resolver, then builds the reply (SERVFAIL for anything that
   * fails); a good one is kept for the shape, if the zones are still those it
   * was asked under. A forward-cache hit, or a question over forward-max
   * (SERVFAIL, counted), is answered at once; the rest when the upstreams answer.
   */
  private forward(request: ForwardRequest, msg: Buffer, transport: Transport, address: string, shape: QueryShape | null, zones: ZoneSet, verdict: CookieVerdict | null): Buffer | null | Promise<Buffer | null> {
    const { counters, forwarder } = this.options;
    const question: UpstreamQuestion = {
      name: request.target,
      type: request.question.type,
      klass: 'IN',
      dnssecOk: request.edns?.dnssecOk ?? false,
      // CD (RFC 4035 §3.2.2) goes upstream as asked; the forward cache and the reply cache keep it apart.
      checkingDisabled: (request.flags & 0x10) !== 0,
    };
    let resolution: Resolution;
    try {
      if (forwarder === null) throw new Error('answer() asked to forward, but forwarding is off');
      resolution = forwarder.resolve(question);
    } catch (err) {
      return this.failed(err, msg, transport, address);
    }
    switch (resolution.kind) {
      case 'cached':
        return this.reply(request, resolution.answer, msg, transport, address, shape, zones, verdict);
      case 'over-max':
        counters.forwardOverMax();
        return this.reply(request, OVER_MAX_ANSWER, msg, transport, address, null, zones, verdict);
      case 'asked': {
        // The engine reuses the query's memory for the next batch: keep what a late SERVFAIL needs.
        const original = Buffer.from(msg);
        return resolution.answer.then(
          (a) => this.reply(request, a, original, transport, address, shape, zones, verdict),
          (err: unknown) => this.failed(err, original, transport, address),
        );
      }
    }
  }

  /** The client's reply to a forwarded question, counted; a NOERROR or NXDOMAIN one is kept in the reply cache (`shape` non-null) for its TTL. */
  private reply(request: ForwardRequest, a: CachedAnswer, query: Buffer, transport: Transport, address: string, shape: QueryShape | null, zones: ZoneSet, verdict: CookieVerdict | null): Buffer | null {
    const { ctx, replies, forwardLimits } = this.options;
    let reply: Buffer;
    try {
      reply = forwardedReply(request, a, ctx);
      // The encoded reply is kept too, so the next asker skips decode and encode.
      if (shape && replies && forwardLimits.maxEntries > 0 && (a.rcode === 'NOERROR' || a.rcode === 'NXDOMAIN')) replies.put(shape, reply, zones, ttlFor(a, forwardLimits));
    } catch (err) {
      return this.failed(err, query, transport, address);
    }
    return this.deliver(transport, address, reply, verdict);
  }

  /** SERVFAIL for a forwarded question whose handling threw, counted and told. */
  private failed(err: unknown, query: Buffer, transport: Transport, address: string): Buffer | null {
    this.internalError(err);
    const reply = servfail(query);
    if (reply === null) {
      this.options.counters.record(transport, null);
      return null;
    }
    return this.deliver(transport, address, reply, null);
  }

  /** Counts a query whose handling threw, and tells about it unless one was told within the last second. */
  private internalError(err: unknown): void {
    this.options.counters.internalError();
    const now = this.now();
    if (now - this.lastErrorTold <= ERROR_LOG_INTERVAL) return;
    this.lastErrorTold = now;
    this.options.onInternalError(`internal error answering a query (answered SERVFAIL): ${(err as Error)?.stack ?? String(err)}`);
  }
}
