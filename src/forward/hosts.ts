/** Hosts files (hosts(5)) as answers: names to their A and AAAA records, addresses to PTRs, answered here as dnsmasq answers /etc/hosts. Pure. */

import type { Answer } from 'dns-packet';
import { isIP } from 'node:net';
import type { CachedAnswer } from './cache.js';

/** One hosts file's text and where it came from (for problems). */
export interface HostsSource {
  path: string;
  text: string;
}

/**
 * The TTL of hosts answers: 0, as dnsmasq's `local-ttl` default, so a client
 * never keeps an address the file no longer says (and no cache of ours
 * keeps them either: an edit shows at once).
 */
export const HOSTS_TTL = 0;

interface HostEntry {
  /** The name as first written (owner names of the answers keep the question's case anyway). */
  a: string[];
  aaaa: string[];
}

/**
 * The names and addresses of some hosts files, merged in order: a name
 * listed on several lines has every address; an address's PTR is the first
 * name written for it (its canonical name, hosts(5)).
 */
export class HostsTable {
  /** By name key: lower case, no trailing dot. */
  private readonly byName = new Map<string, HostEntry>();
  /** Reverse name key (`1.0.0.127.in-addr.arpa`) → canonical name. */
  private readonly byReverse = new Map<string, string>();
  /** Lines skipped, each as `file:line: what`. */
  readonly problems: string[] = [];

  constructor(sources: readonly HostsSource[]) {
    for (const s of sources) this.read(s);
  }

  /** Names held. */
  get names(): number {
    return this.byName.size;
  }

  /** Addresses with a PTR. */
  get addresses(): number {
    return this.byReverse.size;
  }

  /**
   * The local answer for a question, or null when the hosts files do not
   * hold its name: A and AAAA from the file (NOERROR with no records when
   * the name has addresses of the other family only, as dnsmasq answers),
   * ANY with both, every other type of a hosts name NODATA (the name is
   * local: nothing about it leaks upstream); PTR for the reverse name of an
   * address in the file. AA=1 (`local`), TTL 0, kept by no cache.
   */
  answer(name: string, type: string): CachedAnswer | null {
    if (this.byName.size === 0) return null;
    const key = keyOf(name);
    const entry = this.byName.get(key);
    if (entry !== undefined) {
      const answers: Answer[] = [];
      if (type === 'A' || type === 'ANY') for (const data of entry.a) answers.push({ name, type: 'A', class: 'IN', ttl: HOSTS_TTL, data } as Answer);
      if (type === 'AAAA' || type === 'ANY') for (const data of entry.aaaa) answers.push({ name, type: 'AAAA', class: 'IN', ttl: HOSTS_TTL, data } as Answer);
      return local(answers);
    }
    if (type === 'PTR') {
      const target = this.byReverse.get(key);
      if (target !== undefined) return local([{ name, type: 'PTR', class: 'IN', ttl: HOSTS_TTL, data: target } as Answer]);
    }
    return null;
  }

  /** Reads one file's lines: `ADDRESS NAME [ALIAS…]`, `#` to the end of a line is a comment. */
  private read(source: HostsSource): void {
    const lines = source.text.split('\n');
    lines.forEach((raw, i) => {
      const fields = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
      if (fields.length === 0) return;
      const where = `${source.path}:${i + 1}`;
      // A scoped IPv6 address (fe80::1%eth0): the address without its zone.
      const address = fields[0]!.split('%')[0]!;
      const family = isIP(address);
      if (family === 0) {
        this.problems.push(`${where}: "${fields[0]}" is not an IP address; line skipped`);
        return;
      }
      if (fields.length === 1) {
        this.problems.push(`${where}: ${address} has no name after it; line skipped`);
        return;
      }
      const names: string[] = [];
      for (const n of fields.slice(1)) {
        if (!validName(n)) this.problems.push(`${where}: "${n}" is not a host name; skipped`);
        else names.push(n.replace(/\.$/, ''));
      }
      for (const n of names) {
        const key = keyOf(n);
        let entry = this.byName.get(key);
        if (entry === undefined) {
          entry = { a: [], aaaa: [] };
          this.byName.set(key, entry);
        }
        const list = family === 4 ? entry.a : entry.aaaa;
        const text = family === 4 ? address : address.toLowerCase();
        if (!list.includes(text)) list.push(text);
      }
      // The unspecified address (blocklists' 0.0.0.0 and ::) names no host: no PTR.
      const reverse = unspecified(address) || names.length === 0 ? null : reverseName(address);
      if (reverse !== null && !this.byReverse.has(reverse)) this.byReverse.set(reverse, names[0]!);
    });
  }
}

/** A NOERROR answer from here. */
function local(answers: Answer[]): CachedAnswer {
  return { rcode: 'NOERROR', ad: false, answers, authorities: [], additionals: [], local: true, reuseTtl: 0 };
}

/** Lower case (RFC 4343), no trailing dot. */
function keyOf(name: string): string {
  const k = name.toLowerCase();
  return k.endsWith('.') ? k.slice(0, -1) : k;
}

/** A host name as hosts(5) has them: letters, digits, hyphens, underscores, dots between labels of at most 63 octets. */
function validName(n: string): boolean {
  return n.length <= 254 && /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i.test(n);
}

function unspecified(address: string): boolean {
  return address === '0.0.0.0' || /^[0:]+$/.test(address);
}

/**
 * The reverse-mapping name of an address, lower case without the trailing
 * dot: `4.3.2.1.in-addr.arpa` (RFC 1035 §3.5), nibbles under `ip6.arpa`
 * (RFC 3596 §2.5).
 */
export function reverseName(address: string): string {
  if (isIP(address) === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const words = ipv6Words(address);
  const nibbles: string[] = [];
  for (let i = 7; i >= 0; i--) {
    const hex = words[i]!.toString(16).padStart(4, '0');
    for (let j = 3; j >= 0; j--) nibbles.push(hex[j]!);
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** The eight 16-bit words of an IPv6 address (`::` expanded, an embedded IPv4 tail read). */
function ipv6Words(address: string): number[] {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [b0, b1, b2, b3] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const h = part(head);
  if (tail === undefined) return h;
  const t = part(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}
