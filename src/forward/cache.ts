/** The forwarding cache: upstream answers kept for their TTL (RFC 1035 §7.4), negatives per RFC 2308, then stale for stale-max (RFC 8767), LRU-bounded. */

import type { Answer } from 'dns-packet';
import { LRUCache } from 'lru-cache';
import { nameKey } from '../zone/names.js';
import { ttlFor, type CachedAnswer, type CacheLimits } from './answer-ttl.js';

/** What is kept and for how long live in answer-ttl.ts (the answer path loads that alone); given here too for the cache's users. */
export { ttlFor, type CachedAnswer, type CacheLimits };

/** The TTL of every record of a stale answer (RFC 8767 §4: 30 seconds). */
export const STALE_TTL = 30;
/** Extended DNS Error 3, Stale Answer (RFC 8914 §4.4), in a stale reply's OPT. */
export const EDE_STALE_ANSWER = 3;

interface Entry {
  answer: CachedAnswer;
  storedAt: number;
  ttl: number;
  /** Until then (ms) a stale entry is given at once, without asking upstream (RFC 8767 §4 "failure recheck timer"). */
  failedUntil: number;
}

/**
 * What the cache holds for a key: a fresh answer (TTLs counted down;
 * `expiresInMs` left of its `ttl`), an expired one within stale-max (TTLs
 * 30, the Stale Answer EDE; `recentlyFailed`: a refresh failed within the
 * failure recheck time), or nothing.
 */
export type CacheLookup =
  | { kind: 'fresh'; answer: CachedAnswer; ttl: number; expiresInMs: number }
  | { kind: 'stale'; answer: CachedAnswer; recentlyFailed: boolean }
  | { kind: 'miss' };

const MISS: CacheLookup = { kind: 'miss' };

/**
 * The key of a question: the name string (src/zone/names.ts: one string per
 * octet sequence, so `a\.b` and `a.b` differ) with ASCII letters lower-cased
 * (RFC 4343), type, class, whether DNSSEC
 * records were asked for (DO), and whether validation was turned off (CD).
 * CD is sent upstream, and a validating upstream answers it with data it
 * would refuse without (RFC 4035 §3.2.2): a CD=1 answer must never reach a
 * CD=0 asker.
 */
export function cacheKey(name: string, type: string, klass: string, dnssecOk: boolean, checkingDisabled: boolean): string {
  return `${nameKey(name)}\u0000${type}\u0000${klass}\u0000${dnssecOk ? 1 : 0}${checkingDisabled ? 1 : 0}`;
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
    this.lru.set(key, { answer, storedAt: this.now(), ttl, failedUntil: 0 });
    return ttl;
  }

  /** The answer with every TTL reduced by its age, or undefined when absent or expired. */
  get(key: string): CachedAnswer | undefined {
    const hit = this.lookup(key);
    return hit.kind === 'fresh' ? hit.answer : undefined;
  }

  /**
   * What is held for `key`: fresh (TTLs reduced by its age in whole
   * seconds), stale (expired less than stale-max ago; only NOERROR and
   * NXDOMAIN answers are given stale), or a miss; an entry past stale-max
   * is dropped.
   */
  lookup(key: string): CacheLookup {
    const e = this.lru.get(key);
    if (!e) return MISS;
    const now = this.now();
    const ageMs = now - e.storedAt;
    if (ageMs < e.ttl * 1000) {
      const age = Math.floor(ageMs / 1000);
      return { kind: 'fresh', answer: withTtls(e.answer, (t) => Math.max(0, t - age)), ttl: e.ttl, expiresInMs: e.ttl * 1000 - ageMs };
    }
    const staleMax = this.limits.staleMax ?? 0;
    if (ageMs >= (e.ttl + staleMax) * 1000 || (e.answer.rcode !== 'NOERROR' && e.answer.rcode !== 'NXDOMAIN')) {
      this.lru.delete(key);
      return MISS;
    }
    return { kind: 'stale', answer: { ...withTtls(e.answer, () => STALE_TTL), extendedError: EDE_STALE_ANSWER, reuseTtl: 0 }, recentlyFailed: now < e.failedUntil };
  }

  /** A refresh of a stale entry failed: for `forMs` it is given at once, without asking upstream. */
  refreshFailed(key: string, forMs: number): void {
    const e = this.lru.peek(key);
    if (e) e.failedUntil = this.now() + forMs;
  }

  /** Number of entries. */
  get size(): number {
    return this.lru.size;
  }
}

/** A copy of an answer with every record's TTL mapped. */
function withTtls(a: CachedAnswer, ttl: (t: number) => number): CachedAnswer {
  const map = (rs: Answer[]): Answer[] => rs.map((r) => ({ ...r, ttl: ttl((r as { ttl?: number }).ttl ?? 0) }) as Answer);
  return { ...a, answers: map(a.answers), authorities: map(a.authorities), additionals: map(a.additionals) };
}

/** A rough size of an answer in memory, for the byte cap: its JSON length plus per-record overhead. */
function estimateBytes(a: CachedAnswer): number {
  let n = 64;
  for (const r of [...a.answers, ...a.authorities, ...a.additionals]) n += 96 + JSON.stringify((r as { data?: unknown }).data ?? '').length + r.name.length;
  return n;
}
