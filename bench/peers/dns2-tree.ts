/**
 * The dns2 bench peer's zone model: owner names (empty non-terminals included) and RRsets by type, as
 * dns-packet objects, for dns2-lookup.ts. shardns answered this way before zone images; it now answers
 * from compiled images (src/auth), and only this peer keeps the object model.
 */

import type { Answer } from 'dns-packet';
import { isAtOrBelow, nameKey, parentName } from '../../src/zone/names.js';
import type { Zone, ZoneRecord } from '../../src/zone/parse/zone.js';

/** The records of one owner name and type (RFC 2181 §5), in zone-file order. */
export interface RRset {
  /** Owner name to answer with (dns-packet form). */
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly records: readonly Answer[];
}

/**
 * A loaded zone indexed for lookup. It shares the zone's map of owner names
 * (no copy of the records) and adds the empty non-terminals (RFC 4592 §2.2.2):
 * names that own nothing but have descendants, which exist for lookup and
 * block wildcards above them.
 */
export class ZoneTree {
  /** The origin in dns-packet form, as configured. */
  readonly origin: string;
  /** The origin's lookup key (lower case). */
  readonly originKey: string;
  private readonly nodes: ReadonlyMap<string, ZoneRecord[]>;
  /** Empty non-terminals: key → the name in the case of the descendant that implied it. */
  private readonly empty = new Map<string, string>();

  constructor(zone: Zone) {
    const originKey = nameKey(zone.origin);
    this.origin = zone.origin;
    this.originKey = originKey;
    this.nodes = zone.nodes;
    for (const [key, records] of zone.nodes) {
      let k = key;
      let n = records[0]?.name ?? key;
      while (k !== originKey && k !== '.') {
        k = parentName(k);
        n = parentName(n);
        if (this.nodes.has(k) || this.empty.has(k) || !isAtOrBelow(k, originKey)) break;
        this.empty.set(k, n);
      }
    }
  }

  /** Does this name exist (owns records, or is an empty non-terminal)? */
  has(key: string): boolean {
    return this.nodes.has(key) || this.empty.has(key);
  }

  /** The owner name as the zone wrote it, for a key that exists. */
  ownerName(key: string): string | undefined {
    return this.nodes.get(key)?.[0]?.name ?? this.empty.get(key);
  }

  /** The RRset of an owner key and type, or undefined. RRSIG gives every signature at the name. */
  rrset(key: string, type: string): RRset | undefined {
    const records = this.nodes.get(key);
    if (!records) return undefined;
    let found: ZoneRecord[] | undefined;
    for (const r of records) {
      if (r.type !== type) {
        if (found && type !== 'RRSIG') break; // the records of one RRset are adjacent
        continue;
      }
      (found ??= []).push(r);
    }
    if (!found) return undefined;
    return { name: found[0]!.name, type, ttl: found[0]!.ttl, records: found as unknown as Answer[] };
  }

  /** The first RRset at a name, in zone-file order (for ANY, RFC 8482 §4.1), or undefined. */
  firstRRset(key: string): RRset | undefined {
    const first = this.nodes.get(key)?.[0];
    return first ? this.rrset(key, first.type) : undefined;
  }

  /** The apex SOA RRset (a loaded zone always has one). */
  soa(): RRset | undefined {
    return this.rrset(this.originKey, 'SOA');
  }
}
