/** Which upstream resolvers to forward to: `--forward` parsing (plain and `tls://` upstreams) and the `auto` reading of resolv.conf. */

import { isIP } from 'node:net';

/** One upstream resolver. */
export interface Upstream {
  address: string;
  port: number;
  /**
   * DNS over TLS (RFC 7858) when present: the authentication domain name the
   * upstream's certificate must carry (RFC 8310 §8, strict profile); absent:
   * plain DNS over UDP, and TCP after a truncated reply.
   */
  tlsName?: string;
}

/** The DNS-over-TLS port (RFC 7858 §3.1). */
export const DOT_PORT = 853;

/** The scheme a DNS-over-TLS upstream is written with (RFC 7858). */
export const TLS_SCHEME = 'tls://';

/** How a `tls://` upstream is written, for the messages that ask for one. */
const TLS_FORM = 'tls://ADDR[:PORT]#NAME, e.g. tls://192.0.2.53#dns.example.net or tls://[2001:db8::53]:853#dns.example.net';

/** What `--forward` says: a list, `auto` (resolv.conf), or `none` (authoritative only). */
export type ForwardSpec = { mode: 'none' } | { mode: 'auto' } | { mode: 'list'; upstreams: Upstream[] };

/**
 * Parses `--forward`: `none`, `auto`, or a comma list of upstreams as
 * {@link parseUpstream} reads them. A string result is the problem.
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

/**
 * One upstream: `ADDR`, `ADDR:PORT`, `[V6ADDR]:PORT` or a bare IPv6 address
 * (plain DNS, port 53), or `tls://` and one of those, then `#NAME` (DNS over
 * TLS, port 853; RFC 8310's strict profile needs the name the certificate is
 * checked against, so it is required). A string result is the problem.
 */
export function parseUpstream(item: string): Upstream | string {
  if (/^tls:\/\//i.test(item)) return parseTlsUpstream(item);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(item)) return `"${item}": only plain addresses and tls:// upstreams are supported (write 192.0.2.53 or ${TLS_FORM})`;
  if (item.includes('#')) return `"${item}": a #NAME is for DNS over TLS only: write ${TLS_FORM}`;
  return parsePlain(item, item, 53);
}

/** `tls://ADDR[:PORT]#NAME`. */
function parseTlsUpstream(item: string): Upstream | string {
  const rest = item.slice('tls://'.length);
  const hash = rest.indexOf('#');
  const name = hash < 0 ? '' : rest.slice(hash + 1).replace(/\.$/, '');
  if (name === '') return `"${item}": give the name the upstream's certificate must carry after # (RFC 8310 strict profile): ${TLS_FORM}`;
  // A host name as certificates carry it (RFC 6125): letters, digits, hyphens, dots; a leading wildcard is not a name to ask for.
  if (!/^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/i.test(name) || name.length > 253) return `"${item}": "${name}" is not a host name to check the certificate against (write e.g. #dns.example.net)`;
  const u = parsePlain(rest.slice(0, hash), item, DOT_PORT);
  if (typeof u === 'string') return u;
  return { ...u, tlsName: name.toLowerCase() };
}

/** An address with an optional port; `item` is what the user wrote, for messages. */
function parsePlain(text: string, item: string, defaultPort: number): Upstream | string {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let address: string;
  let portText: string | undefined;
  if (bracketed) {
    address = bracketed[1]!;
    portText = bracketed[2];
  } else if (isIP(text) === 6) {
    address = text;
  } else {
    const colon = text.lastIndexOf(':');
    address = colon >= 0 ? text.slice(0, colon) : text;
    portText = colon >= 0 ? text.slice(colon + 1) : undefined;
  }
  if (isIP(address) === 0) {
    return defaultPort === DOT_PORT
      ? `"${item}" is not an upstream address: write ${TLS_FORM} (an IP address: the name after # is what the certificate is checked against)`
      : `"${item}" is not an upstream address (write 192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53, or ${TLS_FORM})`;
  }
  const port = portText === undefined ? defaultPort : Number(portText);
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

/** `192.0.2.53:53`, `[2001:db8::53]:53`, or `tls://192.0.2.53:853#dns.example.net`. */
export function formatUpstream(u: Upstream): string {
  const hostPort = isIP(u.address) === 6 ? `[${u.address}]:${u.port}` : `${u.address}:${u.port}`;
  return u.tlsName === undefined ? hostPort : `${TLS_SCHEME}${hostPort}#${u.tlsName}`;
}
