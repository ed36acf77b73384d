/**
 * QueryPipeline: what a worker does with each message — reply cache, answer(),
 * SERVFAIL on a throw, counters, forwarding and the forwarded reply (kept in
 * the reply cache too). No sockets: tests drive it in process, the worker
 * only wires sockets and IPC to it.
 */

import { ttlFor, type CacheLimits, type CachedAnswer } from '../forward/cache.js';
import type { Resolution } from '../forward/forwarder.js';
import type { UpstreamQuestion } from '../forward/transport.js';
import { sockaddrIpv4, sockaddrText } from '../net/sockaddr.js';
import type { InPlaceHandler, MessageHandler } from '../net/udp.js';
import { answer, DROP, servfail, type AnswerContext, type AnswerOutcome, type ForwardRequest, type Transport } from './answer.js';
import { queryShape, type QueryShape, type ReplyCache } from './answer-cache.js';
import type { Counters } from './counters.js';
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
  /** The clock for that limit (ms). */
  now?: () => number;
}

/** Errors are told at most this often (ms); every one is counted. */
const ERROR_LOG_INTERVAL = 1000;

/**
 * One worker's query pipeline. `handle` is the engines' MessageHandler
 * (bound per transport by `handler`); `inPlace` the mmsg engine's
 * allocation-free hit path. No exception escapes either, and no promise
 * rejects: a bug in one query answers SERVFAIL.
 */
export class QueryPipeline {
  /** The UDP hit path: a cached reply written straight into the engine's send area (-1: take `handle`); null without a reply cache. */
  readonly inPlace: InPlaceHandler | null;
  private readonly now: () => number;
  private lastErrorTold = -Infinity;

  constructor(private readonly options: PipelineOptions) {
    this.now = options.now ?? Date.now;
    const { ctx, counters, replies } = options;
    this.inPlace =
      replies === null
        ? null
        : (q, qOff, qLen, peer, peerOff, out, outOff, cap) => {
            let allowed = false;
            const v4 = sockaddrIpv4(peer, peerOff);
            if (ctx.recursion !== null) allowed = v4 >= 0 ? ctx.recursion.allowsIpv4(v4) : ctx.recursion.allows(sockaddrText(peer, peerOff));
            const written = replies.answerInto(q, qOff, qLen, ctx.ednsUdpSize, allowed, v4 < 0, ctx.zones, out, outOff, cap);
            if (written >= 0) counters.recordUdpAt(out, outOff);
            return written;
          };
  }

  /** `handle` for one transport, as the engines take it; `cacheTried`: the engine tried `inPlace` first. */
  handler(transport: Transport, cacheTried = false): MessageHandler {
    return (msg, address) => this.handle(msg, transport, address, cacheTried);
  }

  /**
   * One message from `address`: the reply to send now, null to send nothing,
   * or a promise of either when the question is forwarded. Reply-cache hits
   * skip answer(); answers and forwarded replies are cached by the shape of
   * the query (answer-cache.ts). `cacheTried`: the engine already looked the
   * query up in place, so a miss is not looked up twice.
   */
  handle(msg: Buffer, transport: Transport, address: string, cacheTried = false): Buffer | null | Promise<Buffer | null> {
    const { ctx, counters, replies } = this.options;
    const zones = ctx.zones;
    let out: AnswerOutcome;
    let shape: QueryShape | null = null;
    try {
      const allowed = ctx.recursion !== null && ctx.recursion.allows(address);
      shape = replies ? queryShape(msg, ctx.ednsUdpSize, transport === 'tcp', allowed, address.includes(':')) : null;
      const hit = shape && !cacheTried ? replies!.get(msg, shape, zones) : undefined;
      if (hit) {
        counters.record(transport, hit);
        return hit;
      }
      out = answer(msg, ctx, { transport, address });
      if (shape && out.kind === 'reply') replies!.put(shape, out.bytes, zones);
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
        counters.record(transport, out.bytes);
        return out.bytes;
      case 'forward':
        return this.forward(out, msg, transport, shape, zones);
    }
  }

  /**
   * Asks the resolver, then builds the reply (SERVFAIL for anything that
   * fails); a good one is kept for the shape, if the zones are still those it
   * was asked under. A forward-cache hit, or a question over forward-max
   * (SERVFAIL, counted), is answered at once; the rest when the upstreams answer.
   */
  private forward(request: ForwardRequest, msg: Buffer, transport: Transport, shape: QueryShape | null, zones: ZoneSet): Buffer | null | Promise<Buffer | null> {
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
      return this.failed(err, msg, transport);
    }
    switch (resolution.kind) {
      case 'cached':
        return this.reply(request, resolution.answer, msg, transport, shape, zones);
      case 'over-max':
        counters.forwardOverMax();
        return this.reply(request, OVER_MAX_ANSWER, msg, transport, null, zones);
      case 'asked': {
        // The engine reuses the query's memory for the next batch: keep what a late SERVFAIL needs.
        const original = Buffer.from(msg);
        return resolution.answer.then(
          (a) => this.reply(request, a, original, transport, shape, zones),
          (err: unknown) => this.failed(err, original, transport),
        );
      }
    }
  }

  /** The client's reply to a forwarded question, counted; a NOERROR or NXDOMAIN one is kept in the reply cache (`shape` non-null) for its TTL. */
  private reply(request: ForwardRequest, a: CachedAnswer, query: Buffer, transport: Transport, shape: QueryShape | null, zones: ZoneSet): Buffer | null {
    const { ctx, counters, replies, forwardLimits } = this.options;
    try {
      const reply = forwardedReply(request, a, ctx);
      counters.record(transport, reply);
      // The encoded reply is kept too, so the next asker skips decode and encode.
      if (shape && replies && forwardLimits.maxEntries > 0 && (a.rcode === 'NOERROR' || a.rcode === 'NXDOMAIN')) replies.put(shape, reply, zones, ttlFor(a, forwardLimits));
      return reply;
    } catch (err) {
      return this.failed(err, query, transport);
    }
  }

  /** SERVFAIL for a forwarded question whose handling threw, counted and told. */
  private failed(err: unknown, query: Buffer, transport: Transport): Buffer | null {
    this.internalError(err);
    const reply = servfail(query);
    this.options.counters.record(transport, reply);
    return reply;
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
