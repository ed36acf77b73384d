/** A worker's defences against abuse, made from the config: its RRL table and its server cookies (or null where turned off). */

import type { Config } from '../config.js';
import { parseSecret } from './cookie-secret.js';
import { SECRET_LIFETIME, ServerCookies } from './cookies.js';
import { PrefixList } from './prefix-list.js';
import { ResponseRateLimiter } from './rrl.js';
import { randomSeed31 } from '../lazy-crypto.js';

/** What the query pipeline is given. */
export interface AbuseGuards {
  rrl: ResponseRateLimiter | null;
  cookies: ServerCookies | null;
}

/**
 * The RRL table (`--rrl 0`: none) keyed with a random seed of its own, and
 * the server cookies (`--cookies off`: none) with the given secrets, or with
 * secrets rotating every 26 hours derived from the config's seed (the same
 * in every worker of this start). The config was validated: a bad setting
 * here is a bug, and throws.
 */
export function abuseGuards(config: Pick<Config, 'rrl' | 'rrlSlip' | 'rrlIpv4Prefix' | 'rrlIpv6Prefix' | 'rrlExempt' | 'rrlSize' | 'cookies' | 'cookieSecret' | 'cookieSeed'>): AbuseGuards {
  const exempt = PrefixList.compile(config.rrlExempt);
  if (typeof exempt === 'string') throw new Error(`rrl-exempt: ${exempt}`);
  const rrl =
    config.rrl > 0
      ? new ResponseRateLimiter({ rate: config.rrl, slip: config.rrlSlip, ipv4Prefix: config.rrlIpv4Prefix, ipv6Prefix: config.rrlIpv6Prefix, buckets: config.rrlSize, exempt }, randomSeed31())
      : null;
  if (config.cookies === 'off') return { rrl, cookies: null };
  const secrets = config.cookieSecret.map((hex) => {
    const s = parseSecret(hex);
    if (typeof s === 'string') throw new Error(`cookie-secret: ${s}`);
    return s;
  });
  const cookies = new ServerCookies(secrets.length > 0 ? { kind: 'fixed', secrets } : { kind: 'rotating', seed: Uint8Array.from(Buffer.from(config.cookieSeed, 'hex')), lifetime: SECRET_LIFETIME });
  return { rrl, cookies };
}
