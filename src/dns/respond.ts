/** Authoritative response sections for one IN question: chains, referrals, negatives, additionals. */

import type { Answer } from 'dns-packet';
import { lookup, MAX_CHAIN } from '../zone/lookup.js';
import { nameKey, parentName } from '../zone/names.js';
import type { RRset, ZoneTree } from '../zone/tree.js';
import { RCODE } from './header.js';
import type { ZoneSet } from './zoneset.js';

/** The sections and flags of an authoritative response, before EDNS and size limits. */
export interface Sections {
  rcode: number;
  aa: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** The authority section may be left out to fit (RFC 2181 §9); the answer may not. */
  optionalAuthority: boolean;
  /** The additional section is glue a referral needs (RFC 9471 §3); without it, truncate. */
  requiredAdditional: boolean;
  /** When a CNAME/DNAME chain leads out of our zones: the name it leads to (a resolver may chase it). */
  leadsOutTo: string | null;
}

/**
 * Builds the response to `qname`/`qtype` from our zones, or null when no zone
 * holds the name (the caller refuses or forwards). CNAME and DNAME chains are
 * followed through every zone we serve (RFC 1034 §4.3.2 step 3a), at most
 * MAX_CHAIN links, stopping at a loop. The final link decides the RCODE
 * (RFC 6604 §2.1). Like NSD: positive answers carry the zone's NS RRset in
 * authority with address records for it; negative ones the SOA with
 * TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3); referrals have AA clear.
 */
export function respond(zones: ZoneSet, qname: string, qtype: string): Sections | null {
  const first = zoneFor(zones, qname, qtype);
  if (!first) return null;

  const out: Sections = { rcode: RCODE.NOERROR, aa: true, answers: [], authorities: [], additionals: [], optionalAuthority: false, requiredAdditional: false, leadsOutTo: null };
  const seen = new Set<string>();
  let zone: ZoneTree | undefined = first;
  let name = qname;
  for (let link = 0; zone && link <= MAX_CHAIN; link++) {
    seen.add(nameKey(name));
    const r = lookup(zone, name, qtype);
    switch (r.kind) {
      case 'answer':
        for (const set of r.rrsets) out.answers.push(...set.records);
        addAdditionals(zone, r.rrsets, out);
        // NSD adds the zone's NS to positive answers, but not to the minimal ANY
        // answer (RFC 8482) nor to a DS answered at a cut from the parent side.
        if (qtype !== 'ANY' && !(qtype === 'DS' && nameKey(name) !== zone.originKey)) addZoneNs(zone, out, r.rrsets);
        // A record already in the answer is not repeated in additional (as NSD: ns1's A asked for itself).
        out.additionals = out.additionals.filter((a) => !out.answers.includes(a));
        return out;
      case 'cname':
      case 'dname': {
        if (r.kind === 'dname') out.answers.push(...r.dname.records);
        out.answers.push(...r.cname.records);
        // The synthesized CNAME is itself the answer to a CNAME question (RFC 6672 §3.2).
        if (qtype === 'CNAME') return out;
        // A loop, or a target outside our zones: the links found are the answer (as NSD gives it).
        if (seen.has(nameKey(r.target))) return out;
        name = r.target;
        zone = zoneFor(zones, name, qtype);
        if (!zone) out.leadsOutTo = name;
        break;
      }
      case 'delegation':
        // A referral; at the end of a chain, the chain is answered and its end referred (as NSD does).
        if (link === 0) out.aa = false;
        out.authorities.push(...r.ns.records);
        pushUnique(out.additionals, r.glue);
        out.requiredAdditional = r.glue.length > 0;
        return out;
      case 'nodata':
        out.authorities.push(negativeSoa(r.soa));
        return out;
      case 'nxdomain':
        out.rcode = RCODE.NXDOMAIN;
        out.authorities.push(negativeSoa(r.soa));
        return out;
      case 'yxdomain':
        out.answers.push(...r.dname.records);
        out.rcode = RCODE.YXDOMAIN;
        return out;
    }
  }
  // Left our zones, or too many links: what was found is the answer; the resolver chases the rest.
  return out;
}

/**
 * The zone to ask: the longest matching origin, except that a DS query for a
 * zone's own apex belongs to the parent zone when we serve it (RFC 4035 §3.1.4.1).
 */
function zoneFor(zones: ZoneSet, name: string, qtype: string): ZoneTree | undefined {
  const zone = zones.find(name);
  if (zone && qtype === 'DS' && nameKey(name) === zone.originKey && zone.originKey !== '.') {
    return zones.find(parentName(zone.originKey)) ?? zone;
  }
  return zone;
}

/** RFC 2308 §3: the SOA in a negative answer has TTL min(SOA TTL, SOA MINIMUM). */
function negativeSoa(soa: RRset): Answer {
  const record = soa.records[0] as Answer;
  const ttl = Math.min(soa.ttl, (record as { data: { minimum: number } }).data.minimum);
  return ttl === soa.ttl ? record : ({ ...record, ttl } as Answer);
}

/** NSD puts the zone's NS RRset in authority of positive answers, with its addresses in additional. */
function addZoneNs(zone: ZoneTree, out: Sections, answered: RRset[]): void {
  const ns = zone.rrset(zone.originKey, 'NS');
  if (!ns || answered.includes(ns)) return;
  if (answered.some((a) => a.type === 'NS' && nameKey(a.name) === zone.originKey)) return;
  out.authorities.push(...ns.records);
  out.optionalAuthority = true;
  pushUnique(out.additionals, addressesOf(zone, ns.records));
}

/**
 * Additional section processing (RFC 1035 §3.3.9, §3.3.11, RFC 2782):
 * addresses of MX, SRV and NS targets in the same zone (as NSD: not from our other zones).
 */
function addAdditionals(zone: ZoneTree, sets: RRset[], out: Sections): void {
  for (const set of sets) {
    if (set.type !== 'MX' && set.type !== 'SRV' && set.type !== 'NS') continue;
    pushUnique(out.additionals, addressesOf(zone, set.records));
  }
}

function targetOf(r: Answer): string | null {
  const data = (r as { data?: unknown }).data;
  if (typeof data === 'string') return data; // NS
  if (data && typeof data === 'object') {
    const d = data as { exchange?: string; target?: string };
    return d.exchange ?? d.target ?? null; // MX, SRV
  }
  return null;
}

function addressesOf(zone: ZoneTree, records: readonly Answer[]): RRset[] {
  const sets: RRset[] = [];
  for (const r of records) {
    const target = targetOf(r);
    if (target === null || target === '.') continue;
    const key = nameKey(target);
    for (const type of ['A', 'AAAA']) {
      const set = zone.rrset(key, type);
      if (set) sets.push(set);
    }
  }
  return sets;
}

function pushUnique(into: Answer[], sets: RRset[]): void {
  for (const set of sets) {
    for (const r of set.records) if (!into.includes(r)) into.push(r);
  }
}
