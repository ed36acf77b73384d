/** Which upstream resolvers to forward to: `--forward` parsing and the `auto` reading of resolv.conf. */

import { isIP } from 'node:net';

/** One upstream resolver. */
export interface Upstream {
  address: string;
  port: number;
}

/** What `--forward` says: a list, `auto` (resolv.conf), or `none` (authoritative only). */
export type ForwardSpec = { mode: 'none' } | { mode: 'auto' } | { mode: 'list'; upstreams: Upstream[] };

/**
 * Parses `--forward`: `none`, `auto`, or a comma list of `ADDR`, `ADDR:PORT`,
 * `[V6ADDR]:PORT` or a bare IPv6 address. A string result is the problem.
 */
export function parseForwardSpec(values: readonly string[]): ForwardSpec | string {
  const items = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (items.length === 1 && (items[0] === 'none' || items[0] === 'auto')) return { mode: items[0] };
  if (items.length === 0) return 'give upstream addresses, "auto" or "none"';
  const upstreams: Upstream[] = [];
  for (const item of items) {
    if (item === 'none' || item === 'auto') return `"${item}" cannot be combined with addresses`;
    const u = parseUpstream(item);
    if (typeof u === 'string') return u;
    upstreams.push(u);
  }
  return { mode: 'list', upstreams };
}

function parseUpstream(item: string): Upstream | string {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
  let address: string;
  let portText: string | undefined;
  if (bracketed) {
    address = bracketed[1]!;
    portText = bracketed[2];
  } else if (isIP(item) === 6) {
    address = item;
  } else {
    const colon = item.lastIndexOf(':');
    address = colon >= 0 ? item.slice(0, colon) : item;
    portText = colon >= 0 ? item.slice(colon + 1) : undefined;
  }
  if (isIP(address) === 0) return `"${item}" is not an upstream address (write 192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:53)`;
  const port = portText === undefined ? 53 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `"${item}": port must be 1–65535`;
  return { address, port };
}

/** `nameserver` lines of a resolv.conf (resolv.conf(5)); IPv6 zone suffixes kept. */
export function resolvConfNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && isIP(m[1]!.split('%')[0]!) !== 0) out.push(m[1]!);
  }
  return out;
}

/**
 * `auto`: the resolv.conf nameservers (port 53), minus any address this
 * server answers on at port 53 itself, so it never asks itself. Listening on
 * a wildcard (0.0.0.0 or ::) at port 53 makes every address of this host's
 * interfaces ours; other loopback addresses stay (Docker's resolver at
 * 127.0.0.11 is redirected by the runtime's NAT, not answered by us). Should
 * a nameserver turn out to be us after all, the shared in-flight query ends
 * the loop in SERVFAIL at the deadline.
 */
export function autoUpstreams(nameservers: readonly string[], listen: readonly string[], port: number, localAddresses: readonly string[]): Upstream[] {
  if (port !== 53) return nameservers.map((address) => ({ address, port: 53 }));
  const ours = new Set(listen.map(normalize));
  const wildcard4 = listen.includes('0.0.0.0');
  const wildcard6 = listen.includes('::');
  const local = new Set(localAddresses.map(normalize));
  return nameservers
    .filter((ns) => {
      const a = normalize(ns);
      if (ours.has(a)) return false;
      const v4 = isIP(a) === 4;
      return !((v4 ? wildcard4 : wildcard6) && local.has(a));
    })
    .map((address) => ({ address, port: 53 }));
}

function normalize(a: string): string {
  return a.split('%')[0]!.toLowerCase();
}

/** `192.0.2.53:53` or `[2001:db8::53]:53`. */
export function formatUpstream(u: Upstream): string {
  return isIP(u.address) === 6 ? `[${u.address}]:${u.port}` : `${u.address}:${u.port}`;
}
