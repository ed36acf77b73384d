/**
 * DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): the
 * verdict on a query's COOKIE option, and the COOKIE option of the reply (the
 * client's cookie and a server cookie: version 1, reserved zeros, a timestamp,
 * and SipHash-2-4 over those and the client's address under a server secret),
 * with the secret rotated and the previous one still accepted. Pure: the
 * caller gives the time; node:crypto's HMAC derives rotating secrets
 * (node:crypto loaded for the first one: src/lazy-crypto.ts).
 */

import { createRequire } from 'node:module';
import { nodeCrypto } from '../lazy-crypto.js';
import type SipHashModule from 'siphash';
import type { ClientAddress } from './client-address.js';

/**
 * siphash is a CommonJS package: require(), not import, as src/dns/dns-packet.ts
 * explains (an import runs Node's CommonJS export lexer over it: ~2 ms of
 * every worker's start here, and memory kept).
 */
const SipHash = createRequire(import.meta.url)('siphash') as typeof SipHashModule;

/** A COOKIE option's data: an 8-octet client cookie, alone or with an 8–32-octet server cookie (RFC 7873 §4). */
export const CLIENT_COOKIE_LENGTH = 8;
/** The COOKIE option data we send: the client cookie and our 16-octet server cookie (RFC 9018 §4). */
export const REPLY_COOKIE_LENGTH = 24;
/** RFC 9018 §4.1: the only version defined. */
const VERSION = 1;
/** RFC 9018 §4.3: a server cookie is invalid once its timestamp is more than an hour past… */
const MAX_AGE = 3600;
/** …or more than five minutes ahead (clocks of servers sharing a secret differ a little). */
const MAX_AHEAD = 300;
/** RFC 9018 §4.3: a cookie older than half an hour is replaced; a younger one is sent back as it came. */
const RENEW_AGE = 1800;

/** Knot's default secret lifetime (mod-cookies secret-lifetime: 26 hours), within RFC 7873 §7.1's advice. */
export const SECRET_LIFETIME = 26 * 3600;

/** The query had a client cookie only (RFC 7873 §5.2.3): answered, with a server cookie to learn. */
export const COOKIE_CLIENT_ONLY = { kind: 'client-only' } as const;
/** The query had a server cookie we made, for this client, in its lifetime (RFC 7873 §5.2.5). */
export const COOKIE_VALID = { kind: 'valid' } as const;
/** The query had a server cookie that is not (or no longer) ours for this client (RFC 7873 §5.2.4). */
export const COOKIE_BAD = { kind: 'bad' } as const;
/** What a query's COOKIE option says about its sender. */
export type CookieVerdict = typeof COOKIE_CLIENT_ONLY | typeof COOKIE_VALID | typeof COOKIE_BAD;

/**
 * Where the server secrets come from: given (the first makes cookies, every
 * one is accepted: to roll over, put the new one first and keep the old one
 * second a while; servers sharing an address share these, as NSD's
 * cookie-secret), or derived from a seed, a new secret every `lifetime`
 * seconds with the previous one still accepted (every worker derives the same
 * ones, with nothing sent between them).
 */
export type CookieSecrets = { kind: 'fixed'; secrets: Uint8Array[] } | { kind: 'rotating'; seed: Uint8Array; lifetime: number };

/** A 128-bit secret as SipHash's key: four little-endian words. */
function sipKey(secret: Uint8Array): Uint32Array {
  if (secret.length !== 16) throw new Error(`a cookie secret has 16 octets, got ${secret.length}`);
  const b = Buffer.from(secret.buffer, secret.byteOffset, 16);
  return Uint32Array.of(b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8), b.readUInt32LE(12));
}

/** One worker's server cookies. */
export class ServerCookies {
  /** After judge(): the reply's COOKIE option data, the client cookie then our server cookie. */
  readonly reply = new Uint8Array(REPLY_COOKIE_LENGTH);
  /** Client cookie, version, reserved, timestamp and client address: what SipHash reads (RFC 9018 §4.4). */
  private readonly input = new Uint8Array(32);
  private readonly input4 = this.input.subarray(0, 20);
  /** The keys accepted now; the first makes cookies. */
  private keys: Uint32Array[];
  /** The rotation period the keys are for (rotating secrets only). */
  private epoch = Number.NaN;

  constructor(private readonly secrets: CookieSecrets) {
    if (secrets.kind === 'fixed' && secrets.secrets.length === 0) throw new Error('give at least one cookie secret');
    this.keys = secrets.kind === 'fixed' ? secrets.secrets.map(sipKey) : [];
  }

  /**
   * Judges the COOKIE option data `q[at, at + len)` (8, or 16 to 40 octets:
   * other lengths are FORMERR, RFC 7873 §5.2.2, and the caller's to find)
   * from `client` at `now` (seconds since 1970) and leaves the reply's
   * option data in `reply`. A server cookie is ours when it is version 1,
   * its timestamp is no more than an hour old nor five minutes ahead, and
   * its hash matches under a secret still accepted (its reserved octets are
   * hashed as they came, RFC 9018 §4.2). A valid cookie younger than half an
   * hour (and not from the future) made with the current secret, its reserved
   * octets zero, is sent back as it came; otherwise a new one is made,
   * stamped `now`.
   */
  judge(q: Uint8Array, at: number, len: number, client: ClientAddress, now: number): CookieVerdict {
    const reply = this.reply;
    for (let i = 0; i < CLIENT_COOKIE_LENGTH; i++) reply[i] = q[at + i]!;
    this.rotate(now);
    if (len === CLIENT_COOKIE_LENGTH) {
      this.make(client, now);
      return COOKIE_CLIENT_ONLY;
    }
    const stamp = ((q[at + 12]! << 24) | (q[at + 13]! << 16) | (q[at + 14]! << 8) | q[at + 15]!) >>> 0;
    // RFC 1982 serial arithmetic: the timestamp wraps in 2106.
    const age = (now - stamp) | 0;
    if (len !== REPLY_COOKIE_LENGTH || q[at + 8] !== VERSION || age > MAX_AGE || age < -MAX_AHEAD) {
      this.make(client, now);
      return COOKIE_BAD;
    }
    const input = this.input;
    for (let i = 0; i < 16; i++) input[i] = q[at + i]!;
    const message = client.writeOctets(input, 16) === 4 ? this.input4 : input;
    for (let k = 0; k < this.keys.length; k++) {
      const h = SipHash.hash(this.keys[k]!, message);
      if (!matches(h.l, h.h, q, at + 16)) continue;
      if (k === 0 && age >= 0 && age < RENEW_AGE && q[at + 9] === 0 && q[at + 10] === 0 && q[at + 11] === 0) {
        for (let i = CLIENT_COOKIE_LENGTH; i < REPLY_COOKIE_LENGTH; i++) reply[i] = q[at + i]!;
      } else {
        this.make(client, now);
      }
      return COOKIE_VALID;
    }
    this.make(client, now);
    return COOKIE_BAD;
  }

  /** A server cookie for the client cookie in `reply` (RFC 9018 §4): version 1, reserved zeros, `now`, the hash under the current secret. */
  private make(client: ClientAddress, now: number): void {
    const reply = this.reply;
    const input = this.input;
    reply[8] = VERSION;
    reply[9] = reply[10] = reply[11] = 0;
    reply[12] = now >>> 24;
    reply[13] = (now >>> 16) & 0xff;
    reply[14] = (now >>> 8) & 0xff;
    reply[15] = now & 0xff;
    for (let i = 0; i < 16; i++) input[i] = reply[i]!;
    const message = client.writeOctets(input, 16) === 4 ? this.input4 : input;
    const h = SipHash.hash(this.keys[0]!, message);
    writeHash(h.l, h.h, reply, 16);
  }

  /** Rotating secrets: the keys of this period and the last, derived again when a period begins. */
  private rotate(now: number): void {
    if (this.secrets.kind !== 'rotating') return;
    const epoch = Math.floor(now / this.secrets.lifetime);
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.keys = [rotatingSecret(this.secrets.seed, epoch), rotatingSecret(this.secrets.seed, epoch - 1)].map(sipKey);
  }
}

/** The secret of rotation period `epoch`: the first 16 octets of HMAC-SHA256(seed, label and period). */
export function rotatingSecret(seed: Uint8Array, epoch: number): Uint8Array {
  return nodeCrypto().createHmac('sha256', seed).update(`shardns DNS cookie secret ${epoch}`).digest().subarray(0, 16);
}

/** SipHash's 64-bit result is written little-endian (its reference implementation's U64TO8_LE, as NSD and BIND send it). */
function writeHash(l: number, h: number, out: Uint8Array, at: number): void {
  out[at] = l & 0xff;
  out[at + 1] = (l >>> 8) & 0xff;
  out[at + 2] = (l >>> 16) & 0xff;
  out[at + 3] = l >>> 24;
  out[at + 4] = h & 0xff;
  out[at + 5] = (h >>> 8) & 0xff;
  out[at + 6] = (h >>> 16) & 0xff;
  out[at + 7] = h >>> 24;
}

/** Whether the 8 octets at `q[at]` are the hash (l, h) as writeHash writes it. */
function matches(l: number, h: number, q: Uint8Array, at: number): boolean {
  const ql = (q[at]! | (q[at + 1]! << 8) | (q[at + 2]! << 16) | (q[at + 3]! << 24)) >>> 0;
  const qh = (q[at + 4]! | (q[at + 5]! << 8) | (q[at + 6]! << 16) | (q[at + 7]! << 24)) >>> 0;
  // No early exit between the halves (NSD compares with CRYPTO_memcmp).
  return ((ql ^ l) | (qh ^ h)) === 0;
}

