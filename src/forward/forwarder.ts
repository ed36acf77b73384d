/** Resolving names outside our zones: cache first, then upstreams with failover, shared in-flight queries. */

import type { Answer } from 'dns-packet';
import { AnswerCache, cacheKey, type CacheLimits, type CachedAnswer } from './cache.js';
import { exchangeTcp, exchangeUdp, type Exchange, type UpstreamQuestion } from './transport.js';
import { formatUpstream, type Upstream } from './upstreams.js';

/** How the forwarder asks upstreams and how much it keeps. */
export interface ForwarderOptions {
  upstreams: Upstream[];
  /** One attempt at one upstream (RFC 5452 and common practice: about a second). */
  attemptTimeoutMs: number;
  /** All attempts together; after this the client gets SERVFAIL. */
  deadlineMs: number;
  cache: CacheLimits;
  /**
   * Upstream questions in flight at most (`--forward-max`, as dnsmasq's
   * `dns-forward-max`): a cache miss beyond it is not asked (`over-max`),
   * so a flood of unique names with a slow or silent upstream holds at most
   * this many sockets, timers and pending replies.
   */
  maxInFlight: number;
  /** Hears about upstreams being retired and coming back, and about forward-max being reached. */
  onEvent?: (message: string) => void;
}

/** Counters a worker can report. */
export interface ForwarderStats {
  /** Questions answered from the cache. */
  cacheHits: number;
  /** Questions asked upstream (not those that shared one in flight, nor those over forward-max). */
  cacheMisses: number;
  /** Attempts at one upstream (a question may take several). */
  upstreamQueries: number;
  /** Attempts that timed out or failed in transport. */
  upstreamFailures: number;
  /** Questions that joined an identical one in flight. */
  shared: number;
}

/**
 * What the forwarder made of a question: an answer from the cache (at
 * once), one on its way from the upstreams, or none because `maxInFlight`
 * questions are already out (the caller answers SERVFAIL at once).
 */
export type Resolution =
  | { kind: 'cached'; answer: CachedAnswer }
  | { kind: 'asked'; answer: Promise<CachedAnswer> }
  | { kind: 'over-max' };

const OVER_MAX: Resolution = { kind: 'over-max' };

interface Health {
  /** Smoothed round-trip time (ms); unknown upstreams start at 0 so each is tried. */
  srtt: number;
  failures: number;
  retiredUntil: number;
}

/** Consecutive failures after which an upstream is retired for a while. */
const RETIRE_AFTER = 3;
const RETIRE_MS = 30_000;
/** forward-max being reached is told at most this often (ms). */
const OVER_MAX_TELL_MS = 60_000;

/**
 * Resolves questions through the cache and the upstreams. Never rejects: when
 * every upstream fails within the deadline, or each has answered SERVFAIL or
 * REFUSED, the answer is SERVFAIL (and that is cached briefly). Identical
 * questions in flight share one upstream query; at most `maxInFlight`
 * distinct ones are out at a time.
 */
export class Forwarder {
  readonly stats: ForwarderStats = { cacheHits: 0, cacheMisses: 0, upstreamQueries: 0, upstreamFailures: 0, shared: 0 };
  private readonly cache: AnswerCache;
  private readonly inFlight = new Map<string, Promise<CachedAnswer>>();
  private readonly health = new Map<string, Health>();
  private overMaxToldAt = -Infinity;

  constructor(
    private readonly options: ForwarderOptions,
    now: () => number = Date.now,
  ) {
    this.cache = new AnswerCache(options.cache, now);
    for (const u of options.upstreams) this.health.set(formatUpstream(u), { srtt: 0, failures: 0, retiredUntil: 0 });
  }

  /**
   * The answer for a question: from the cache, from an identical question
   * in flight, or from the upstreams; `over-max` when it would be a new
   * upstream question while `maxInFlight` are out (dnsmasq's dns-forward-max:
   * cached names keep being answered, misses fail at once).
   */
  resolve(q: UpstreamQuestion): Resolution {
    const key = cacheKey(q.name, q.type, q.klass, q.dnssecOk, q.checkingDisabled);
    const cached = this.cache.get(key);
    if (cached) {
      this.stats.cacheHits++;
      return { kind: 'cached', answer: cached };
    }
    const pending = this.inFlight.get(key);
    if (pending) {
      this.stats.shared++;
      return { kind: 'asked', answer: pending };
    }
    if (this.inFlight.size >= this.options.maxInFlight) {
      this.tellOverMax();
      return OVER_MAX;
    }
    this.stats.cacheMisses++;
    const asked = this.ask(q).then((answer) => {
      this.inFlight.delete(key);
      this.cache.put(key, answer);
      return answer;
    });
    this.inFlight.set(key, asked);
    return { kind: 'asked', answer: asked };
  }

  /** Upstream questions in flight now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Tells that forward-max was reached, at most once a minute. */
  private tellOverMax(): void {
    const now = Date.now();
    if (now - this.overMaxToldAt < OVER_MAX_TELL_MS) return;
    this.overMaxToldAt = now;
    this.options.onEvent?.(
      `forward-max reached: ${this.options.maxInFlight} upstream questions in flight; new cache misses get SERVFAIL until some are answered (cached names are still answered; raise --forward-max, or find out why the upstreams are slow)`,
    );
  }

  /**
   * Tries upstreams, best first, until one answers NOERROR or NXDOMAIN or the
   * deadline passes; silent ones are tried again while time is left. Any
   * other rcode (SERVFAIL, REFUSED, …) is that upstream's definitive answer:
   * it is not asked this question again, the others are asked once each,
   * and then the client has SERVFAIL (as Unbound and dnsmasq do; asking
   * again would only repeat the answer, at the upstream's cost).
   */
  private async ask(q: UpstreamQuestion): Promise<CachedAnswer> {
    const deadline = Date.now() + this.options.deadlineMs;
    const answered = new Set<Upstream>();
    let fallback: CachedAnswer | null = null;
    while (Date.now() < deadline) {
      const order = this.ordered().filter((u) => !answered.has(u));
      if (order.length === 0) break;
      for (const u of order) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const result = await this.attempt(u, q, Math.min(this.options.attemptTimeoutMs, left));
        if (result.kind !== 'reply') continue;
        const answer = toCached(result.packet);
        if (answer.rcode === 'NOERROR' || answer.rcode === 'NXDOMAIN') return answer;
        // SERVFAIL or REFUSED from this one: another may do better (failover), this one will not.
        answered.add(u);
        fallback = answer;
      }
      // Each upstream has been asked at least once, and one has answered for good: that is the answer.
      if (fallback) break;
      // Failures that come back at once (no route, refused) must not spin until the deadline.
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(100, deadline - Date.now()))));
    }
    return fallback && fallback.rcode === 'SERVFAIL' ? fallback : servfail();
  }

  /** One attempt: UDP, and TCP when the UDP reply is truncated. Keeps the upstream's health. */
  private async attempt(u: Upstream, q: UpstreamQuestion, timeoutMs: number): Promise<Exchange> {
    this.stats.upstreamQueries++;
    const started = Date.now();
    let result = await exchangeUdp(u, q, timeoutMs);
    if (result.kind === 'truncated') result = await exchangeTcp(u, q, Math.max(1, timeoutMs - (Date.now() - started)));
    const h = this.health.get(formatUpstream(u))!;
    if (result.kind === 'reply') {
      if (h.retiredUntil > 0) this.options.onEvent?.(`upstream ${formatUpstream(u)} answers again`);
      h.srtt = h.srtt === 0 ? result.ms : 0.7 * h.srtt + 0.3 * result.ms;
      h.failures = 0;
      h.retiredUntil = 0;
    } else {
      this.stats.upstreamFailures++;
      h.failures++;
      h.srtt = Math.max(h.srtt, timeoutMs);
      if (h.failures >= RETIRE_AFTER && h.retiredUntil <= Date.now()) {
        h.retiredUntil = Date.now() + RETIRE_MS;
        this.options.onEvent?.(`upstream ${formatUpstream(u)} failed ${h.failures} times (${result.kind === 'error' ? result.message : result.kind}); retired for ${RETIRE_MS / 1000} s`);
      }
    }
    return result;
  }

  /** Live upstreams by smoothed RTT, then retired ones (still better than nothing). */
  private ordered(): Upstream[] {
    const now = Date.now();
    const scored = this.options.upstreams.map((u) => ({ u, h: this.health.get(formatUpstream(u))! }));
    const live = scored.filter((s) => s.h.retiredUntil <= now).sort((a, b) => a.h.srtt - b.h.srtt);
    const retired = scored.filter((s) => s.h.retiredUntil > now).sort((a, b) => a.h.retiredUntil - b.h.retiredUntil);
    return [...live, ...retired].map((s) => s.u);
  }
}

function toCached(p: { rcode?: string; flag_ad?: boolean; answers?: Answer[]; authorities?: Answer[]; additionals?: Answer[] }): CachedAnswer {
  return {
    rcode: p.rcode ?? 'SERVFAIL',
    ad: p.flag_ad === true,
    answers: p.answers ?? [],
    authorities: p.authorities ?? [],
    additionals: (p.additionals ?? []).filter((r) => r.type !== 'OPT'),
  };
}

function servfail(): CachedAnswer {
  return { rcode: 'SERVFAIL', ad: false, answers: [], authorities: [], additionals: [] };
}
