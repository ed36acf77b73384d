/**
 * The dns2 bench peer's lookup: one name and type in one ZoneTree → a tagged outcome with dns-packet RRsets
 * (RFC 1034 §4.3.2, RFC 4592, RFC 6672). shardns itself looks up zone images (src/auth/lookup.ts).
 */

import type { Answer } from 'dns-packet';
import { nameKey } from '../../src/zone/names.js';
import type { RRset, ZoneTree } from './dns2-tree.js';

/** What one zone says about a question. RRsets here carry the owner name to answer with. */
export type LookupResult =
  /** The RRsets that answer (one, or for ANY the first one, RFC 8482 §4.1). */
  | { kind: 'answer'; rrsets: RRset[]; wildcard: boolean }
  /** The name is an alias (RFC 1034 §3.6.2): answer the CNAME and restart at its target. */
  | { kind: 'cname'; cname: RRset; target: string; wildcard: boolean }
  /** A DNAME above the name (RFC 6672 §2.2): the DNAME, a synthesized CNAME, and the new name. */
  | { kind: 'dname'; dname: RRset; cname: RRset; target: string }
  /** The name is at or below a zone cut: refer to the child's servers (RFC 1034 §4.3.2 step 3b). */
  | { kind: 'delegation'; ns: RRset; glue: RRset[] }
  /** The name exists but has no data of that type (RFC 2308 §2.2). */
  | { kind: 'nodata'; soa: RRset; wildcard: boolean }
  /** The name does not exist (RFC 2308 §2.1). */
  | { kind: 'nxdomain'; soa: RRset }
  /** A DNAME substitution would make a name longer than 255 octets (RFC 6672 §2.2): YXDOMAIN. */
  | { kind: 'yxdomain'; dname: RRset };

/** The most CNAME/DNAME links an answer follows before it stops (BIND and NSD use small limits too). */
export const MAX_CHAIN = 8;

/**
 * Looks up `qname` (any case, dns-packet form) of type `qtype` in one zone the
 * name is at or below. Walks from the apex down: a zone cut (NS below the
 * apex) refers, except a DS query at the cut itself, which the parent answers
 * (RFC 4035 §3.1.4.1); a DNAME above the name redirects. Then the exact node,
 * else the wildcard at the closest encloser (RFC 4592 §3.3.1), else NXDOMAIN.
 */
export function lookup(zone: ZoneTree, qname: string, qtype: string): LookupResult {
  const soa = zone.soa();
  if (!soa) throw new Error(`zone ${zone.origin} has no SOA`);
  const qkey = nameKey(qname);
  const labels = labelsBelow(qkey, zone.originKey);

  // A DNAME at the apex redirects every name below it (RFC 6672 §2.3).
  let key = zone.originKey;
  const apexDname = labels.length > 0 ? zone.rrset(key, 'DNAME') : undefined;
  if (apexDname) return synthesize(apexDname, qname, zone.origin);

  // Walk down, node by node, from the apex towards the name.
  let depth = 0;
  for (; depth < labels.length; depth++) {
    const label = labels[labels.length - 1 - depth]!;
    const next = key === '.' ? label : `${label}.${key}`;
    if (!zone.has(next)) break;
    key = next;
    const isTarget = depth === labels.length - 1;
    const ns = zone.rrset(key, 'NS');
    if (ns && !(isTarget && qtype === 'DS')) return { kind: 'delegation', ns, glue: glueFor(zone, ns) };
    const dname = isTarget ? undefined : zone.rrset(key, 'DNAME');
    if (dname) return synthesize(dname, qname, zone.ownerName(key)!);
  }
  if (depth === labels.length) return atName(zone, key, qname, qtype, soa, false);

  // No such name: the source of synthesis is the wildcard child of the closest encloser.
  const wildcard = key === '.' ? '*' : `*.${key}`;
  if (zone.has(wildcard)) return atName(zone, wildcard, qname, qtype, soa, true);
  return { kind: 'nxdomain', soa };
}

/** The answer at an existing name (or a wildcard standing in for it, answered with the query's name). */
function atName(zone: ZoneTree, key: string, qname: string, qtype: string, soa: RRset, wildcard: boolean): LookupResult {
  const own = (set: RRset): RRset => (wildcard ? withOwner(set, qname) : set);
  if (qtype === 'ANY') {
    // RFC 8482 §4.1: one RRset is enough; NSD gives the first one of the name.
    const first = zone.firstRRset(key);
    return first ? { kind: 'answer', rrsets: [own(first)], wildcard } : { kind: 'nodata', soa, wildcard };
  }
  const exact = zone.rrset(key, qtype);
  if (exact) return { kind: 'answer', rrsets: [own(exact)], wildcard };
  const cname = zone.rrset(key, 'CNAME');
  if (cname) return { kind: 'cname', cname: own(cname), target: (cname.records[0] as { data: string }).data, wildcard };
  return { kind: 'nodata', soa, wildcard };
}

/** RFC 6672 §2.2: replace the DNAME owner suffix of qname with the DNAME target. */
function synthesize(dname: RRset, qname: string, owner: string): LookupResult {
  const target = (dname.records[0] as { data: string }).data;
  const prefix = owner === '.' ? qname : qname.slice(0, qname.length - owner.length - 1);
  const newName = target === '.' ? prefix : `${prefix}.${target}`;
  if (Buffer.byteLength(newName) + 2 > 255) return { kind: 'yxdomain', dname };
  // The synthesized CNAME carries the DNAME's TTL (RFC 6672 §2.3; BIND and NSD do so).
  const record = { name: qname, type: 'CNAME', class: 'IN', ttl: dname.ttl, data: newName } as Answer;
  return { kind: 'dname', dname, cname: { name: qname, type: 'CNAME', ttl: dname.ttl, records: [record] }, target: newName };
}

/** Address records of the NS targets that this zone holds (glue below the cut, or in-zone names). */
function glueFor(zone: ZoneTree, ns: RRset): RRset[] {
  const glue: RRset[] = [];
  for (const r of ns.records) {
    const key = nameKey((r as { data: string }).data);
    for (const type of ['A', 'AAAA']) {
      const set = zone.rrset(key, type);
      if (set) glue.push(set);
    }
  }
  return glue;
}

/** The RRset with another owner name (for wildcard answers); the same object when unchanged. */
function withOwner(set: RRset, owner: string): RRset {
  if (owner === set.name) return set;
  return { ...set, name: owner, records: set.records.map((r) => ({ ...r, name: owner }) as Answer) };
}

/** Labels of `key` above `originKey`, leftmost first (`a.b` for a.b.example.com in example.com). */
function labelsBelow(key: string, originKey: string): string[] {
  if (key.length === originKey.length) return [];
  const prefix = originKey === '.' ? key : key.slice(0, key.length - originKey.length - 1);
  return prefix.split('.');
}
