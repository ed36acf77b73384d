/** A list of address prefixes (CIDR blocks) matched against a ClientAddress with a few word compares, no allocation: the RRL exempt list. Pure. */

import { ClientAddress } from './client-address.js';

/** The RRL exempt list by default: loopback (a local resolver's own clients, and the host's tools). */
export const DEFAULT_RRL_EXEMPT = ['127.0.0.0/8', '::1/128'];

/** Compiled CIDR blocks; `matches` is a linear scan, meant for short lists. */
export class PrefixList {
  private constructor(
    /** IPv4 blocks as (network, mask) pairs. */
    private readonly v4: Uint32Array,
    /** IPv6 blocks as four network words then four mask words each. */
    private readonly v6: Uint32Array,
    /** `any`: every address matches. */
    private readonly any: boolean,
  ) {}

  /**
   * Compiles `10.0.0.0/8`, `2001:db8::/32`, `::1` (a host), `any` or `none`
   * (the syntax of `allow-recursion`); a string result says what is wrong.
   */
  static compile(entries: readonly string[]): PrefixList | string {
    const v4: number[] = [];
    const v6: number[] = [];
    let any = false;
    const a = new ClientAddress();
    for (const entry of entries) {
      if (entry === 'any') {
        any = true;
        continue;
      }
      if (entry === 'none') continue;
      const slash = entry.indexOf('/');
      const text = slash >= 0 ? entry.slice(0, slash) : entry;
      if (!a.fromText(text)) return `"${entry}" is not an address or CIDR block (write 192.0.2.0/24, ::1 or 2001:db8::/32)`;
      const written = text.includes(':') ? 128 : 32;
      const bits = slash >= 0 ? entry.slice(slash + 1) : String(written);
      let prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!(prefix >= 0 && prefix <= written)) return `"${entry}": prefix length must be 0–${written}`;
      // An IPv4-mapped block (::ffff:192.0.2.0/120) is read as the IPv4 block it maps, as addresses are.
      if (a.family === 4 && written === 128) {
        if (prefix < 96) return `"${entry}": an IPv4-mapped block needs a prefix of 96 or more`;
        prefix -= 96;
      }
      if (a.family === 4) {
        const mask = maskWord(prefix);
        v4.push((a.words[0]! & mask) >>> 0, mask);
      } else {
        const masks = [0, 1, 2, 3].map((i) => maskWord(Math.min(32, Math.max(0, prefix - i * 32))));
        v6.push(...masks.map((m, i) => (a.words[i]! & m) >>> 0), ...masks);
      }
    }
    return new PrefixList(Uint32Array.from(v4), Uint32Array.from(v6), any);
  }

  /** Whether the address lies in one of the blocks. */
  matches(a: ClientAddress): boolean {
    if (this.any) return true;
    const w = a.words;
    if (a.family === 4) {
      const v4 = this.v4;
      const x = w[0]!;
      for (let i = 0; i < v4.length; i += 2) if (((x & v4[i + 1]!) >>> 0) === v4[i]) return true;
      return false;
    }
    if (a.family !== 6) return false;
    const v6 = this.v6;
    for (let i = 0; i < v6.length; i += 8) {
      if (((w[0]! & v6[i + 4]!) >>> 0) === v6[i] && ((w[1]! & v6[i + 5]!) >>> 0) === v6[i + 1] && ((w[2]! & v6[i + 6]!) >>> 0) === v6[i + 2] && ((w[3]! & v6[i + 7]!) >>> 0) === v6[i + 3]) return true;
    }
    return false;
  }
}

/** The netmask of a prefix of `bits` (0–32) as an unsigned word. */
export function maskWord(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}
