/** The forwarding cache: upstream answers kept for their TTL (RFC 1035 §7.4), negatives per RFC 2308, LRU-bounded. */

import type { Answer } from 'dns-packet';
import { LRUCache } from 'lru-cache';

/** What an upstream answered, as kept: rcode and the three sections (no OPT). */
export interface CachedAnswer {
  rcode: string;
  /** Authentic Data as the upstream set it (kept only when the client asked with DO). */
  ad: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
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
}

interface Entry {
  answer: CachedAnswer;
  storedAt: number;
  ttl: number;
}

/**
 * The key of a question: lower-cased name, type, class, whether DNSSEC
 * records were asked for (DO), and whether validation was turned off (CD).
 * CD is sent upstream, and a validating upstream answers it with data it
 * would refuse without (RFC 4035 §3.2.2): a CD=1 answer must never reach a
 * CD=0 asker.
 */
export function cacheKey(name: string, type: string, klass: string, dnssecOk: boolean, checkingDisabled: boolean): string {
  return `${name.toLowerCase()}\u0000${type}\u0000${klass}\u0000${dnssecOk ? 1 : 0}${checkingDisabled ? 1 : 0}`;
}

/**
 * How long an answer may be kept, in seconds, or 0 for "do not keep".
 * Positive: the smallest TTL of the answer and authority records, within
 * [minTtl, maxTtl]. NXDOMAIN and NODATA: min(SOA TTL, SOA MINIMUM) of the SOA
 * in authority (RFC 2308 §5), not kept without one. SERVFAIL: servfailTtl.
 */
export function ttlFor(a: CachedAnswer, limits: CacheLimits): number {
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

/** An LRU cache of upstream answers whose TTLs count down as they age. */
export class AnswerCache {
  private readonly lru: LRUCache<string, Entry>;

  constructor(
    private readonly limits: CacheLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.lru = new LRUCache<string, Entry>({
      max: Math.max(1, limits.maxEntries),
      maxSize: limits.maxBytes,
      sizeCalculation: (e) => Math.max(1, estimateBytes(e.answer)),
      ttlAutopurge: false,
    });
  }

  /** Keeps an answer if its TTL allows; returns the TTL used (0: not kept). */
  put(key: string, answer: CachedAnswer): number {
    if (this.limits.maxEntries === 0) return 0;
    const ttl = ttlFor(answer, this.limits);
    if (ttl <= 0) return 0;
    this.lru.set(key, { answer, storedAt: this.now(), ttl });
    return ttl;
  }

  /** The answer with every TTL reduced by its age, or undefined when absent or expired. */
  get(key: string): CachedAnswer | undefined {
    const e = this.lru.get(key);
    if (!e) return undefined;
    const age = Math.floor((this.now() - e.storedAt) / 1000);
    if (age >= e.ttl) {
      this.lru.delete(key);
      return undefined;
    }
    const down = (rs: Answer[]): Answer[] => rs.map((r) => ({ ...r, ttl: Math.max(0, ((r as { ttl?: number }).ttl ?? 0) - age) }) as Answer);
    return { ...e.answer, answers: down(e.answer.answers), authorities: down(e.answer.authorities), additionals: down(e.answer.additionals) };
  }

  /** Number of entries. */
  get size(): number {
    return this.lru.size;
  }
}

/** A rough size of an answer in memory, for the byte cap: its JSON length plus per-record overhead. */
function estimateBytes(a: CachedAnswer): number {
  let n = 64;
  for (const r of [...a.answers, ...a.authorities, ...a.additionals]) n += 96 + JSON.stringify((r as { data?: unknown }).data ?? '').length + r.name.length;
  return n;
}
