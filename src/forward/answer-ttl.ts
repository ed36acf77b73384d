/** What a forwarded answer is kept as, and for how long (RFC 1035 §7.4, RFC 2308 §5): apart from the LRU cache (src/forward/cache.ts), so the answer path can time a reply without loading the cache. */

import type { Answer } from 'dns-packet';

/** What an upstream answered, as kept: rcode and the three sections (no OPT). */
export interface CachedAnswer {
  rcode: string;
  /** Authentic Data as the upstream set it (kept only when the client asked with DO). */
  ad: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /**
   * Answered here, not by an upstream: a hosts file's entry, or NXDOMAIN for
   * a domain sent nowhere. The reply then has AA=1, as dnsmasq answers these.
   */
  local?: boolean;
  /** An Extended DNS Error (RFC 8914) for the reply's OPT: 3 for a stale answer (RFC 8767 §6), 20 for a name with no upstream. */
  extendedError?: number;
  /**
   * Seconds a reply built from this answer may be kept by the reply cache,
   * when the forwarder decides it rather than the TTLs: 0 for local and
   * stale answers (a hosts edit shows at once, a refreshed answer replaces a
   * stale one), and for cached ones the time left before the prefetch window.
   * Never set on what an upstream sent (the forward cache keeps that by ttlFor).
   */
  reuseTtl?: number;
}

/** Cache limits and TTL caps. */
export interface CacheLimits {
  /** 0 turns the cache off (every question goes upstream; identical ones in flight still share). */
  maxEntries: number;
  maxBytes: number;
  /** Positive TTLs are raised to at least this (seconds). */
  minTtl: number;
  /** and cut to at most this (seconds). */
  maxTtl: number;
  /** Negative answers (NXDOMAIN, NODATA) are kept at most this long (RFC 2308 §5 suggests ≤ 3 h). */
  maxNegativeTtl: number;
  /** SERVFAIL is kept only this long (RFC 2308 §7.1), so a failing upstream is not asked in a loop. */
  servfailTtl: number;
  /**
   * Seconds an expired NOERROR or NXDOMAIN answer is kept past its TTL, to be
   * given when no upstream can answer (RFC 8767 §4 "maximum stale timer");
   * 0 or absent: expired answers are dropped.
   */
  staleMax?: number;
}

/**
 * How long an answer may be kept, in seconds, or 0 for "do not keep".
 * `reuseTtl` when the forwarder set one. Positive: the smallest TTL of the answer and authority records, within
 * [minTtl, maxTtl]. NXDOMAIN and NODATA: min(SOA TTL, SOA MINIMUM) of the SOA
 * in authority (RFC 2308 §5), not kept without one. SERVFAIL: servfailTtl.
 */
export function ttlFor(a: CachedAnswer, limits: CacheLimits): number {
  if (a.reuseTtl !== undefined) return a.reuseTtl;
  if (a.rcode === 'SERVFAIL') return limits.servfailTtl;
  if (a.rcode !== 'NOERROR' && a.rcode !== 'NXDOMAIN') return 0;
  const negative = a.rcode === 'NXDOMAIN' || a.answers.length === 0;
  if (negative) {
    const soa = a.authorities.find((r) => r.type === 'SOA') as (Answer & { ttl?: number; data: { minimum: number } }) | undefined;
    if (!soa) return 0;
    return Math.min(soa.ttl ?? 0, soa.data.minimum, limits.maxNegativeTtl);
  }
  let ttl = Infinity;
  for (const r of [...a.answers, ...a.authorities]) ttl = Math.min(ttl, (r as { ttl?: number }).ttl ?? 0);
  return Math.max(limits.minTtl, Math.min(limits.maxTtl, ttl));
}
