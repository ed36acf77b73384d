/**
 * Response rate limiting (RRL): how many replies of one kind one client
 * prefix is sent per second, counted in a fixed table of buckets in one typed
 * array, with NSD's accounting (rrl.c: a rate smoothed over the last second,
 * limited at twice the configured responses per second) and NSD's outcome
 * for a limited reply (dropped, or every `slip`-th one sent truncated so a
 * real client retries over TCP). Pure: the caller gives the time; nothing is
 * allocated per reply.
 */

import type { ClientAddress } from './client-address.js';
import { maskWord, type PrefixList } from './prefix-list.js';
import { fmix, responseKey } from './response-class.js';

/** NSD's defaults (nsd.conf(5), rrl.h): 200 responses a second, every 2nd limited one truncated, per /24, 1,000,000 buckets; per IPv6 /56 as BIND (NSD: /64). */
export const RRL_DEFAULTS = { rate: 200, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, buckets: 1_000_000 } as const;

/** How RRL is set up. */
export interface RrlSettings {
  /** Responses per second one prefix gets of one class and name; above it replies are limited. */
  rate: number;
  /** Every slip-th limited reply is sent truncated (TC=1, no records); 0: none is, 1: all are. */
  slip: number;
  /** IPv4 clients are counted per prefix of this length (NSD and BIND: 24). */
  ipv4Prefix: number;
  /** IPv6 clients are counted per prefix of this length, at most 64 (BIND: 56, NSD: 64). */
  ipv6Prefix: number;
  /** Buckets in the table; more means fewer collisions (a collision resets a bucket, it never limits a stranger). */
  buckets: number;
  /** Clients never limited. */
  exempt: PrefixList;
}

/** Send the reply as it is. */
export const RRL_SEND = { kind: 'send' } as const;
/** Send it truncated: header and question, TC=1 (a real client retries over TCP, RFC 7766 §1). */
export const RRL_SLIP = { kind: 'slip' } as const;
/** Send nothing. */
export const RRL_DROP = { kind: 'drop' } as const;
/** What becomes of one reply. */
export type RrlVerdict = typeof RRL_SEND | typeof RRL_SLIP | typeof RRL_DROP;

/** Words per bucket: key, rate, counter (replies this second), stamp (the second the counter is for). */
const BUCKET = 4;
const K_KEY = 0;
const K_RATE = 1;
const K_COUNT = 2;
const K_STAMP = 3;

/** One worker's RRL table (each worker counts what it answers, as each NSD server process does). */
export class ResponseRateLimiter {
  private readonly table: Int32Array;
  private readonly buckets: number;
  /** Twice the rate: the smoothed rate r(t) = c(t) + r(t-1)/2 settles at twice the responses per second. */
  private readonly limit: number;
  private readonly slip: number;
  private readonly mask4: number;
  private readonly mask6: Uint32Array;
  /** Limited replies since the last truncated one. */
  private sinceSlip = 0;

  /** `seed` keys the bucket hash, so nobody outside can aim two clients at one bucket; give a random one. */
  constructor(
    private readonly settings: RrlSettings,
    private readonly seed: number,
  ) {
    this.buckets = Math.max(1, Math.floor(settings.buckets));
    // Its own zero-filled ArrayBuffer: pages a flood never reaches cost no memory.
    this.table = new Int32Array(this.buckets * BUCKET);
    this.limit = settings.rate * 2;
    this.slip = settings.slip;
    this.mask4 = maskWord(settings.ipv4Prefix);
    const v6 = Math.min(64, settings.ipv6Prefix);
    this.mask6 = Uint32Array.of(maskWord(v6), maskWord(v6 - 32));
  }

  /** Whether this client is on the exempt list. */
  exempt(client: ClientAddress): boolean {
    return this.settings.exempt.matches(client);
  }

  /**
   * Counts the reply at `buf[at, at + len)` about to go to `client` at
   * `now` (whole seconds) and says what to send: the reply, a truncated
   * one, or nothing. The bucket is the client's prefix, the reply's class
   * and name (response-class.ts); the first reply past the limit in a
   * second is limited, and so is every one while the smoothed rate stays
   * at or above it.
   */
  judge(buf: Uint8Array, at: number, len: number, client: ClientAddress, now: number): RrlVerdict {
    if (this.limit <= 0) return RRL_SEND;
    let h = responseKey(buf, at, len, this.seed);
    const w = client.words;
    if (client.family === 4) {
      h = Math.imul(h ^ 4, 0x01000193);
      h = Math.imul(h ^ (w[0]! & this.mask4), 0x01000193);
    } else {
      h = Math.imul(h ^ 6, 0x01000193);
      h = Math.imul(h ^ (w[0]! & this.mask6[0]!), 0x01000193);
      h = Math.imul(h ^ (w[1]! & this.mask6[1]!), 0x01000193);
    }
    const key = fmix(h);
    if (this.update(((key % this.buckets) * BUCKET) | 0, key | 0, now | 0) < this.limit) return RRL_SEND;
    if (this.slip === 0) return RRL_DROP;
    if (++this.sinceSlip >= this.slip) {
      this.sinceSlip = 0;
      return RRL_SLIP;
    }
    return RRL_DROP;
  }

  /**
   * Counts one reply in the bucket at `b` and returns the rate it measures
   * (NSD's rrl_update): a bucket holding another key starts over for this
   * one; a step of one second halves the old rate and adds the last
   * second's count; longer steps halve once per second; a stamp from the
   * future starts over. The measure is the larger of the rate and this
   * second's count plus half the rate, so a sudden flood is caught within
   * its first second.
   */
  private update(b: number, key: number, now: number): number {
    const t = this.table;
    if (t[b + K_KEY] !== key) {
      t[b + K_KEY] = key;
      t[b + K_RATE] = 0;
      t[b + K_COUNT] = 1;
      t[b + K_STAMP] = now;
      return 1;
    }
    let rate = t[b + K_RATE]! >>> 0;
    let count = t[b + K_COUNT]! >>> 0;
    const elapsed = (now - t[b + K_STAMP]!) | 0;
    if (elapsed === 0) {
      count++;
    } else {
      if (elapsed === 1) rate = (rate >>> 1) + count;
      else if (elapsed > 16 || elapsed < 0) rate = 0;
      else rate = (rate >>> elapsed) + (count >>> (elapsed - 1));
      count = 1;
      t[b + K_STAMP] = now;
    }
    t[b + K_RATE] = rate;
    t[b + K_COUNT] = count;
    const half = rate >>> 1;
    return count > half ? count + half : rate;
  }
}

/**
 * Turns the reply at `buf[at, at + len)` into the truncated reply a slip
 * sends (as NSD's rrl_slip): the header with TC set and no records, and the
 * question. Returns its length (the header alone when there is no readable
 * question).
 */
export function slipReply(buf: Uint8Array, at: number, len: number): number {
  buf[at + 2] = buf[at + 2]! | 0x02;
  for (let i = 6; i < 12; i++) buf[at + i] = 0;
  let off = at + 12;
  const end = at + len;
  if (buf[at + 4] === 0 && buf[at + 5] === 1) {
    for (;;) {
      if (off >= end) break;
      const l = buf[off]!;
      if (l === 0) {
        off++;
        break;
      }
      if ((l & 0xc0) === 0xc0) {
        off += 2;
        break;
      }
      off += l + 1;
    }
    if (off + 4 <= end) return off + 4 - at;
  }
  buf[at + 4] = 0;
  buf[at + 5] = 0;
  return 12;
}
