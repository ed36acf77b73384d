/** ZoneSet: the zones served (one compiled image each) and which of them holds a name: the longest origin that is a suffix of it. Pure. */

import { nameHash } from '../zone/image/format.js';
import type { ZoneImage } from '../zone/image/image.js';
import { sameOctets } from './wire-name.js';

/** DS (RFC 4034 §5): answered by the parent side of a cut. */
const T_DS = 43;

/**
 * The zones a worker answers from. A name belongs to the zone whose origin is
 * its longest suffix (a child zone we serve beats its parent). Names are
 * lower-cased wire names; origins are found by one hash per suffix, no string
 * is built. Swapping zones (a reload) means a new ZoneSet: its identity is
 * what the reply cache keys its contents to.
 */
export class ZoneSet {
  /** nameHash of the origin's lower-cased wire name → the images with that hash. */
  private readonly byHash = new Map<number, ZoneImage[]>();
  private readonly list: ZoneImage[] = [];
  private readonly shortest: number = Infinity;
  private readonly longest: number = 0;
  /** nameHash of a dark origin's lower-cased wire name → those origins (see {@link isDark}). */
  private readonly darkByHash = new Map<number, Uint8Array[]>();
  /** How many zones are ours but have no data to serve. */
  readonly darkCount: number = 0;

  /**
   * The set of these images; of two with the same origin, the later one
   * serves. `dark`: the lower-cased wire origins of zones that are ours but
   * have nothing to serve (a secondary zone before its first transfer, or
   * expired: RFC 1035 §4.3.5): their names are answered SERVFAIL, as NSD
   * and Knot answer them, rather than refused or forwarded.
   */
  constructor(images: Iterable<ZoneImage>, dark: readonly Uint8Array[] = []) {
    for (const image of images) {
      const key = image.originKey;
      const h = nameHash(key, 0, key.length);
      const same = this.byHash.get(h) ?? [];
      const old = same.findIndex((z) => z.originKey.length === key.length && sameOctets(z.originKey, 0, key, 0, key.length));
      if (old >= 0) {
        this.list.splice(this.list.indexOf(same[old]!), 1);
        same.splice(old, 1);
      }
      same.push(image);
      this.byHash.set(h, same);
      this.list.push(image);
    }
    for (const z of this.list) {
      this.shortest = Math.min(this.shortest, z.originKey.length);
      this.longest = Math.max(this.longest, z.originKey.length);
    }
    for (const key of dark) {
      const h = nameHash(key, 0, key.length);
      this.darkByHash.set(h, [...(this.darkByHash.get(h) ?? []), key]);
      this.shortest = Math.min(this.shortest, key.length);
      this.longest = Math.max(this.longest, key.length);
    }
    this.darkCount = dark.length;
  }

  /**
   * Whether the lower-cased wire name `name[start, end)` belongs to a dark
   * zone: the longest origin that is a suffix of it is one without data
   * (a served child zone below a dark one still answers).
   */
  isDark(name: Uint8Array, start: number, end: number): boolean {
    if (this.darkCount === 0) return false;
    for (let p = start; end - p >= this.shortest; p += name[p]! + 1) {
      const len = end - p;
      if (len <= this.longest) {
        const h = nameHash(name, p, end);
        for (const d of this.darkByHash.get(h) ?? []) if (d.length === len && sameOctets(d, 0, name, p, len)) return true;
        for (const z of this.byHash.get(h) ?? []) if (z.originKey.length === len && sameOctets(z.originKey, 0, name, p, len)) return false;
      }
      if (name[p] === 0) break;
    }
    return false;
  }

  /** Number of zones. */
  get size(): number {
    return this.list.length;
  }

  /** The zones, in the order given. */
  images(): readonly ZoneImage[] {
    return this.list;
  }

  /**
   * The zone whose origin is the longest suffix of the lower-cased wire name
   * `name[start, end)`, or undefined: not ours.
   */
  find(name: Uint8Array, start: number, end: number): ZoneImage | undefined {
    for (let p = start; end - p >= this.shortest; p += name[p]! + 1) {
      const len = end - p;
      if (len <= this.longest) {
        const candidates = this.byHash.get(nameHash(name, p, end));
        if (candidates !== undefined) {
          for (const z of candidates) if (z.originKey.length === len && sameOctets(z.originKey, 0, name, p, len)) return z;
        }
      }
      if (name[p] === 0) break;
    }
    return undefined;
  }

  /**
   * The zone that answers a question: {@link find}'s, except that a DS
   * question for a zone's own apex belongs to the parent side of the cut
   * (RFC 4035 §3.1.4.1) when we serve the parent too.
   */
  forQuestion(name: Uint8Array, start: number, end: number, qtype: number): ZoneImage | undefined {
    const zone = this.find(name, start, end);
    if (zone === undefined || qtype !== T_DS || end - start !== zone.originKey.length || name[start] === 0) return zone;
    return this.find(name, start + name[start]! + 1, end) ?? zone;
  }
}
