/** Which names and RRsets of a loaded zone are authoritative, in canonical order: what the NSEC chain links and what must be signed (RFC 4035 §2.2). */

import { canonicalSortKey, isAtOrBelow, nameKey } from '../zone/names.js';
import { recordTypeCode, rrsets, type Zone, type ZoneRecord } from '../zone/parse/zone.js';
import { T } from '../zone/rdata/rrtypes.js';

/**
 * What a name is in its zone:
 * - `apex`: the zone's own name;
 * - `authoritative`: a name with data of this zone;
 * - `delegation`: a zone cut (NS below the apex), where only DS and NSEC
 *   are authoritative (RFC 4035 §2.2);
 * - `occluded`: below a zone cut or a DNAME (glue, or data no query reaches):
 *   not signed, not in the NSEC chain;
 * - `nsec3`: holds only NSEC3 records (and their RRSIGs): the hashed names
 *   of an NSEC3 chain, outside the NSEC chain (RFC 5155 §7.1).
 */
export type NameRole = 'apex' | 'authoritative' | 'delegation' | 'occluded' | 'nsec3';

/** One name of the zone with its records, grouped into RRsets. */
export interface WalkedName {
  /** The owner as the zone file spelled it (a name string, names.ts). */
  readonly name: string;
  /** Its lookup key (lower case). */
  readonly key: string;
  readonly role: NameRole;
  /** The name's RRsets (RRSIGs in sets of their own, by type covered). */
  readonly sets: ZoneRecord[][];
  /** The type numbers present, sorted, RRSIG and NSEC included. */
  readonly types: number[];
}

/** Every name of the zone in canonical order (RFC 4034 §6.1), each with its role. */
export function walkZone(zone: Zone): WalkedName[] {
  const originKey = nameKey(zone.origin);
  const keys = [...zone.nodes.keys()].map((key) => ({ key, sort: canonicalSortKey(key) }));
  keys.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
  const out: WalkedName[] = [];
  let cut: string | null = null;
  for (const { key } of keys) {
    const records = zone.nodes.get(key)!;
    const sets = rrsets(records);
    const types = [...new Set(records.map(recordTypeCode))].sort((a, b) => a - b);
    let role: NameRole;
    if (cut !== null && key !== cut && isAtOrBelow(key, cut)) {
      role = 'occluded';
    } else {
      cut = null;
      if (key === originKey) role = 'apex';
      else if (types.includes(T.NS)) role = 'delegation';
      else if (types.every((t) => t === T.NSEC3 || t === T.RRSIG) && types.includes(T.NSEC3)) role = 'nsec3';
      else role = 'authoritative';
      if (role === 'delegation' || types.includes(T.DNAME)) cut = key;
    }
    out.push({ name: records[0]!.name, key, role, sets, types });
  }
  return out;
}

/**
 * True when the RRset of type `code` at a name of this role must be signed
 * (RFC 4035 §2.2): every RRset of authoritative data but RRSIG; at a
 * delegation only DS and NSEC (the NS there and glue are the child's).
 */
export function mustBeSigned(role: NameRole, code: number): boolean {
  if (code === T.RRSIG) return false;
  if (role === 'delegation') return code === T.DS || code === T.NSEC;
  return role !== 'occluded';
}

/**
 * The types an NSEC at this name must list (RFC 4034 §4.1.2): the types
 * present; at a delegation only NS, DS, NSEC and RRSIG (RFC 4035 §2.3).
 */
export function nsecTypes(name: WalkedName): number[] {
  if (name.role !== 'delegation') return name.types;
  return name.types.filter((t) => t === T.NS || t === T.DS || t === T.NSEC || t === T.RRSIG);
}
