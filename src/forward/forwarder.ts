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
  /** Hears about upstreams being retired and coming back. */
  onEvent?: (message: string) => void;
}

/** Counters a worker can report. */
export interface ForwarderStats {
  cacheHits: number;
  cacheMisses: number;
  upstreamQueries: number;
  upstreamFailures: number;
  shared: number;
}

interface Health {
  /** Smoothed round-trip time (ms); unknown upstreams start at 0 so each is tried. */
  srtt: number;
  failures: number;
  retiredUntil: number;
}

/** Consecutive failures after which an upstream is retired for a while. */
const RETIRE_AFTER = 3;
const RETIRE_MS = 30_000;

/**
 * Resolves questions through the cache and the upstreams. Never rejects: when
 * every upstream fails within the deadline the answer is SERVFAIL (and that
 * is cached briefly). Identical questions in flight share one upstream query.
 */
export class Forwarder {
  readonly stats: ForwarderStats = { cacheHits: 0, cacheMisses: 0, upstreamQueries: 0, upstreamFailures: 0, shared: 0 };
  private readonly cache: AnswerCache;
  private readonly inFlight = new Map<string, Promise<CachedAnswer>>();
  private readonly health = new Map<string, Health>();

  constructor(
    private readonly options: ForwarderOptions,
    now: () => number = Date.now,
  ) {
    this.cache = new AnswerCache(options.cache, now);
    for (const u of options.upstreams) this.health.set(formatUpstream(u), { srtt: 0, failures: 0, retiredUntil: 0 });
  }

  /** The answer for a question, from the cache or the upstreams. */
  resolve(q: UpstreamQuestion): Promise<CachedAnswer> {
    const key = cacheKey(q.name, q.type, q.klass, q.dnssecOk);
    const cached = this.cache.get(key);
    if (cached) {
      this.stats.cacheHits++;
      return Promise.resolve(cached);
    }
    const pending = this.inFlight.get(key);
    if (pending) {
      this.stats.shared++;
      return pending;
    }
    this.stats.cacheMisses++;
    const asked = this.ask(q).then((answer) => {
      this.inFlight.delete(key);
      this.cache.put(key, answer);
      return answer;
    });
    this.inFlight.set(key, asked);
    return asked;
  }

  /** Tries upstreams, best first, until one answers or the deadline passes. */
  private async ask(q: UpstreamQuestion): Promise<CachedAnswer> {
    const deadline = Date.now() + this.options.deadlineMs;
    let fallback: CachedAnswer | null = null;
    while (Date.now() < deadline) {
      const order = this.ordered();
      for (const u of order) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const result = await this.attempt(u, q, Math.min(this.options.attemptTimeoutMs, left));
        if (result.kind !== 'reply') continue;
        const answer = toCached(result.packet);
        // SERVFAIL or REFUSED from one upstream: another may do better (failover).
        if (answer.rcode === 'NOERROR' || answer.rcode === 'NXDOMAIN') return answer;
        fallback = answer;
      }
      if (order.length === 0) break;
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
