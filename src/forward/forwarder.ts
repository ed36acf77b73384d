/** Resolving names outside our zones: local answers (hosts files, split DNS's domains sent nowhere), then the cache, then the name's upstreams with failover, shared in-flight queries, stale answers when no upstream answers (RFC 8767). */

import type { Answer } from 'dns-packet';
import { AnswerCache, cacheKey, type CacheLimits, type CachedAnswer } from './cache.js';
import { forwardRoutes, type ForwardRoutes } from './forward-routes.js';
import type { HostsTable } from './hosts.js';
import { DotPool, type DotOptions, type DotStats } from './tls.js';
import { exchangeTcp, exchangeUdp, type Exchange, type UpstreamQuestion } from './transport.js';
import { formatUpstream, type Upstream } from './upstreams.js';

/** How the forwarder asks upstreams and how much it keeps. */
export interface ForwarderOptions {
  /** The default upstreams (`--forward`): names in no forward zone go there; none: such names are REFUSED. */
  upstreams: Upstream[];
  /** Conditional forwarding (`forward-zones`): a name in one of these domains goes to its most specific one's upstreams, or nowhere. */
  routes?: ForwardRoutes;
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
  /**
   * Serve-stale (RFC 8767, with `cache.staleMax` > 0): a client whose
   * question's answer expired gets the expired answer (TTL 30) if the
   * refresh has not brought a fresh one within this long (§4 "client
   * response timer"; 1.8 s, under a stub's usual 2 s), or at once when the
   * refresh fails sooner. Default 1800.
   */
  staleAnswerTimeoutMs?: number;
  /**
   * After a refresh of a stale answer failed, the stale answer is given at
   * once for this long before the upstreams are asked again (§4 "failure
   * recheck timer", BIND's stale-refresh-time). Default 30 000.
   */
  staleRefreshMs?: number;
  /**
   * Prefetch, as Unbound's: a cached answer asked for in the last tenth of
   * its TTL is refreshed from the upstreams in the background, so a name in
   * use never expires from the cache. Default off.
   */
  prefetch?: boolean;
  /**
   * DNS over TLS, for `tls://` upstreams: the CAs to trust and the
   * connections' timings. Needed when any upstream is one (a tls://
   * upstream is never asked in plain DNS).
   */
  dot?: DotOptions;
  /** Hears about upstreams being retired and coming back, and about forward-max being reached. */
  onEvent?: (message: string) => void;
}

const STALE_ANSWER_TIMEOUT_MS = 1800;
const STALE_REFRESH_MS = 30_000;

/** Counters a worker can report. */
export interface ForwarderStats extends DotStats {
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
  /** Questions answered here: NXDOMAIN for a domain sent nowhere, REFUSED for a name with no upstream. */
  localAnswers: number;
  /** Questions answered from the hosts files. */
  hostsAnswers: number;
  /** Questions answered with an expired answer because no upstream gave a fresh one in time (RFC 8767). */
  staleAnswers: number;
  /** Cached answers refreshed before they expired because they were asked for in the last tenth of their TTL. */
  prefetches: number;
}

/** Prefetch window: the last tenth of a TTL (Unbound's prefetch). */
const PREFETCH_SHARE = 0.1;

/**
 * What the forwarder made of a question: an answer at hand (`cached`: from
 * the cache, or local: a domain sent nowhere, a hosts entry), one on its way
 * from the upstreams, or none because `maxInFlight` questions are already
 * out (the caller answers SERVFAIL at once).
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
  readonly stats: ForwarderStats = { cacheHits: 0, cacheMisses: 0, upstreamQueries: 0, upstreamFailures: 0, shared: 0, localAnswers: 0, hostsAnswers: 0, staleAnswers: 0, prefetches: 0, tlsHandshakes: 0, tlsResumed: 0, tlsFailures: 0 };
  private readonly cache: AnswerCache;
  private readonly routes: ForwardRoutes;
  private hosts: HostsTable | null = null;
  /** DNS-over-TLS connections; null without tls:// upstreams. */
  private readonly dot: DotPool | null;
  private readonly inFlight = new Map<string, Promise<CachedAnswer>>();
  private readonly health = new Map<string, Health>();
  private overMaxToldAt = -Infinity;

  constructor(
    private readonly options: ForwarderOptions,
    now: () => number = Date.now,
  ) {
    this.cache = new AnswerCache(options.cache, now);
    this.routes = options.routes ?? forwardRoutes([]);
    const anyTls = this.routes.anyTls || options.upstreams.some((u) => u.tlsName !== undefined);
    if (anyTls && !options.dot) throw new Error('tls:// upstreams need ForwarderOptions.dot');
    this.dot = anyTls && options.dot ? new DotPool({ ...options.dot, onEvent: options.dot.onEvent ?? options.onEvent }, this.stats) : null;
  }

  /** Closes the DNS-over-TLS connections (at shutdown). */
  close(): void {
    this.dot?.close();
  }

  /**
   * Answers from these hosts files from now on (a file was edited). The
   * cache is kept: hosts names are looked up before it.
   */
  setHosts(table: HostsTable | null): void {
    this.hosts = table;
  }

  /**
   * The answer for a question: from the hosts files (IN only); local for a name in a domain sent nowhere
   * (NXDOMAIN) or with no upstream at all (REFUSED); else from the cache,
   * from an identical question in flight, or from the upstreams of its most
   * specific forward zone (never others: a corporate name must not leak to
   * public resolvers when the VPN's are down) or the default ones;
   * `over-max` when it would be a new upstream question while `maxInFlight`
   * are out (dnsmasq's dns-forward-max: cached names keep being answered,
   * misses fail at once).
   */
  resolve(q: UpstreamQuestion): Resolution {
    if (this.hosts !== null && q.klass === 'IN') {
      const fromHosts = this.hosts.answer(q.name, q.type);
      if (fromHosts !== null) {
        this.stats.hostsAnswers++;
        return { kind: 'cached', answer: fromHosts };
      }
    }
    const route = this.routes.route(q.name);
    let upstreams: readonly Upstream[];
    if (route.kind === 'nowhere') return this.local(NXDOMAIN_HERE);
    else if (route.kind === 'upstreams') upstreams = route.upstreams;
    else if (this.options.upstreams.length > 0) upstreams = this.options.upstreams;
    else return this.local(REFUSED_HERE);
    const key = cacheKey(q.name, q.type, q.klass, q.dnssecOk, q.checkingDisabled);
    const held = this.cache.lookup(key);
    if (held.kind === 'fresh') {
      this.stats.cacheHits++;
      if (!this.options.prefetch) return { kind: 'cached', answer: held.answer };
      const windowMs = held.ttl * 1000 * PREFETCH_SHARE;
      if (held.expiresInMs <= windowMs && !this.inFlight.has(key) && this.inFlight.size < this.options.maxInFlight) {
        this.stats.prefetches++;
        void this.refresh(key, q, upstreams);
      }
      // The reply cache keeps the reply only until the window opens, so an asker in the window reaches this point.
      return { kind: 'cached', answer: { ...held.answer, reuseTtl: Math.max(0, Math.floor((held.expiresInMs - windowMs) / 1000)) } };
    }
    const stale = held.kind === 'stale' ? held.answer : null;
    // RFC 8767 §4: within the failure recheck time after a failed refresh, the stale answer at once.
    if (held.kind === 'stale' && held.recentlyFailed) return this.staleNow(held.answer);
    let pending = this.inFlight.get(key);
    if (pending) {
      this.stats.shared++;
    } else {
      if (this.inFlight.size >= this.options.maxInFlight) {
        this.tellOverMax();
        // An answer that expired is better than SERVFAIL.
        return stale !== null ? this.staleNow(stale) : OVER_MAX;
      }
      this.stats.cacheMisses++;
      pending = this.refresh(key, q, upstreams);
    }
    return { kind: 'asked', answer: stale !== null ? this.orStale(pending, stale) : pending };
  }

  /**
   * Asks the upstreams and keeps what they say; shared by every asker of
   * `key` while in flight. An answer that is no answer (SERVFAIL, REFUSED,
   * nothing) replaces no entry: a fresh one (a failed prefetch) stays, a
   * stale one is given at once for the failure recheck time. With prefetch
   * on, the reply cache may keep the reply until the prefetch window opens.
   */
  private refresh(key: string, q: UpstreamQuestion, upstreams: readonly Upstream[]): Promise<CachedAnswer> {
    const asked = this.ask(q, upstreams).then((answer) => {
      this.inFlight.delete(key);
      const held = answered(answer) ? 'miss' : this.cache.lookup(key).kind;
      if (held === 'stale') this.cache.refreshFailed(key, this.options.staleRefreshMs ?? STALE_REFRESH_MS);
      if (held !== 'miss') return answer;
      const ttl = this.cache.put(key, answer);
      return this.options.prefetch && ttl > 0 && answered(answer) ? { ...answer, reuseTtl: Math.floor(ttl * (1 - PREFETCH_SHARE)) } : answer;
    });
    this.inFlight.set(key, asked);
    return asked;
  }

  /**
   * The refresh's answer if it is one (NOERROR, NXDOMAIN) and comes within
   * the stale answer timeout; else the stale answer: when the timeout
   * passes first, or the refresh fails sooner. The refresh goes on either
   * way, and what it brings is kept. Never stale when an upstream answered.
   */
  private orStale(refresh: Promise<CachedAnswer>, stale: CachedAnswer): Promise<CachedAnswer> {
    return new Promise((resolve) => {
      let done = false;
      const give = (a: CachedAnswer, isStale: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (isStale) this.stats.staleAnswers++;
        resolve(a);
      };
      const timer = setTimeout(() => give(stale, true), this.options.staleAnswerTimeoutMs ?? STALE_ANSWER_TIMEOUT_MS);
      void refresh.then((a) => (answered(a) ? give(a, false) : give(stale, true)));
    });
  }

  /** A stale answer given at once, counted. */
  private staleNow(stale: CachedAnswer): Resolution {
    this.stats.staleAnswers++;
    return { kind: 'cached', answer: stale };
  }

  /** A local answer, counted. */
  private local(answer: CachedAnswer): Resolution {
    this.stats.localAnswers++;
    return { kind: 'cached', answer };
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
  private async ask(q: UpstreamQuestion, upstreams: readonly Upstream[]): Promise<CachedAnswer> {
    const deadline = Date.now() + this.options.deadlineMs;
    const answered = new Set<Upstream>();
    let fallback: CachedAnswer | null = null;
    while (Date.now() < deadline) {
      const order = this.ordered(upstreams).filter((u) => !answered.has(u));
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

  /** One attempt: over TLS for a tls:// upstream; else UDP, and TCP when the UDP reply is truncated. Keeps the upstream's health. */
  private async attempt(u: Upstream, q: UpstreamQuestion, timeoutMs: number): Promise<Exchange> {
    this.stats.upstreamQueries++;
    const started = Date.now();
    let result: Exchange;
    if (u.tlsName !== undefined) {
      result = await this.dot!.exchange(u, q, timeoutMs);
    } else {
      result = await exchangeUdp(u, q, timeoutMs);
      if (result.kind === 'truncated') result = await exchangeTcp(u, q, Math.max(1, timeoutMs - (Date.now() - started)));
    }
    const h = this.healthOf(u);
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

  /** An upstream's health record, shared by every domain that uses it; made when it is first asked (10,000 forward zones' upstreams are not all in use). */
  private healthOf(u: Upstream): Health {
    const key = formatUpstream(u);
    let h = this.health.get(key);
    if (h === undefined) this.health.set(key, (h = { srtt: 0, failures: 0, retiredUntil: 0 }));
    return h;
  }

  /** Live upstreams by smoothed RTT, then retired ones (still better than nothing). */
  private ordered(upstreams: readonly Upstream[]): Upstream[] {
    const now = Date.now();
    const scored = upstreams.map((u) => ({ u, h: this.healthOf(u) }));
    const live = scored.filter((s) => s.h.retiredUntil <= now).sort((a, b) => a.h.srtt - b.h.srtt);
    const retired = scored.filter((s) => s.h.retiredUntil > now).sort((a, b) => a.h.retiredUntil - b.h.retiredUntil);
    return [...live, ...retired].map((s) => s.u);
  }
}

/**
 * What is kept of an upstream's reply: its rcode (SERVFAIL when it has none),
 * AD, and its sections without the OPT. Exported for the fuzz targets
 * (fuzz/targets.ts).
 */
export function toCached(p: { rcode?: string; flag_ad?: boolean; answers?: Answer[]; authorities?: Answer[]; additionals?: Answer[] }): CachedAnswer {
  return {
    rcode: p.rcode ?? 'SERVFAIL',
    ad: p.flag_ad === true,
    answers: p.answers ?? [],
    authorities: p.authorities ?? [],
    additionals: (p.additionals ?? []).filter((r) => r.type !== 'OPT'),
  };
}

/**
 * A name in a domain sent nowhere (`forward-zones` with `"to": "none"`):
 * NXDOMAIN from here, as dnsmasq's `--server=/domain/` and `--address=/domain/`
 * answer; no SOA (there is no zone), so no cache keeps it (RFC 2308 §5).
 */
const NXDOMAIN_HERE: CachedAnswer = { rcode: 'NXDOMAIN', ad: false, answers: [], authorities: [], additionals: [], local: true, reuseTtl: 0 };

/** A name in no forward zone while there are no default upstreams (`--forward none`): REFUSED, as without forwarding (RFC 8914 EDE 20, Not Authoritative). */
const REFUSED_HERE: CachedAnswer = { rcode: 'REFUSED', ad: false, answers: [], authorities: [], additionals: [], reuseTtl: 0, extendedError: 20 };

/** An upstream's answer proper (RFC 8767 §4: anything else, SERVFAIL included, lets a stale answer stand). */
function answered(a: CachedAnswer): boolean {
  return a.rcode === 'NOERROR' || a.rcode === 'NXDOMAIN';
}

function servfail(): CachedAnswer {
  return { rcode: 'SERVFAIL', ad: false, answers: [], authorities: [], additionals: [] };
}
