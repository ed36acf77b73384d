/** Who may use us as a resolver: `--allow-recursion` CIDR lists, checked with node:net BlockList. */

import { BlockList, isIP } from 'node:net';
import { ipv4Text } from '../net/sockaddr.js';
import { parseIPv4, parseIPv6 } from '../zone/rdata/address.js';

/** The default: loopback, RFC 1918 private, RFC 6598 shared, link-local, and ULA (RFC 4193) clients. */
export const DEFAULT_RECURSION_ACL = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'];

/** A compiled ACL: is this client address allowed? */
export interface Acl {
  allows(address: string): boolean;
  /** allows() for an IPv4 address given as an unsigned 32-bit number (no string made on the hot path). */
  allowsIpv4(address: number): boolean;
}

/** Compiles CIDR strings (`10.0.0.0/8`, `::1`, `any`, `none`); a string result is the problem. */
export function compileAcl(entries: readonly string[]): Acl | string {
  const list = new BlockList();
  let any = false;
  for (const entry of entries) {
    if (entry === 'any') {
      any = true;
      continue;
    }
    if (entry === 'none') continue;
    const [addr = '', bits] = entry.split('/');
    // Our strict readers, not node:net isIP: its IPv6 pattern is compiled on first use (~2-5 ms of every worker's start).
    const family = parseIPv4(addr) !== null ? 4 : parseIPv6(addr) !== null ? 6 : 0;
    if (family === 0) return `"${entry}" is not an address or CIDR block (write 10.0.0.0/8, ::1 or fc00::/7)`;
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return `"${entry}": prefix length must be 0–${max}`;
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  const check = (address: string): boolean => {
    const a = address.split('%')[0]!;
    const family = isIP(a);
    if (family === 0) return false;
    // An IPv4-mapped IPv6 client (::ffff:10.0.0.1) is checked as the IPv4 address too.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a)?.[1];
    return list.check(a, family === 4 ? 'ipv4' : 'ipv6') || (mapped !== undefined && list.check(mapped, 'ipv4'));
  };
  if (any) return { allows: () => true, allowsIpv4: () => true };
  return {
    allows: remembered(check),
    allowsIpv4: remembered((address: number) => list.check(ipv4Text(address), 'ipv4')),
  };
}

/** Client addresses whose verdict is remembered (cleared when full). */
const MEMO_ENTRIES = 4096;

/** `check` with its recent verdicts remembered: BlockList.check costs more than the rest of a cached answer. */
function remembered<K>(check: (key: K) => boolean): (key: K) => boolean {
  const seen = new Map<K, boolean>();
  return (key) => {
    let verdict = seen.get(key);
    if (verdict === undefined) {
      if (seen.size >= MEMO_ENTRIES) seen.clear();
      verdict = check(key);
      seen.set(key, verdict);
    }
    return verdict;
  };
}
