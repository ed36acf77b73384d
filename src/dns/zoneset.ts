/** The zones a worker serves, and which one a name belongs to (the longest matching origin). */

import { nameKey, parentName } from '../zone/names.js';
import type { ZoneTree } from '../zone/tree.js';

/** Every zone served, found by longest suffix match (a child zone beats its parent). */
export class ZoneSet {
  private readonly byOrigin = new Map<string, ZoneTree>();

  constructor(zones: Iterable<ZoneTree>) {
    for (const z of zones) this.byOrigin.set(z.originKey, z);
  }

  /** The zone whose origin is the longest suffix of `name`, or undefined (not ours). */
  find(name: string): ZoneTree | undefined {
    if (this.byOrigin.size === 0) return undefined;
    let key = nameKey(name);
    for (;;) {
      const zone = this.byOrigin.get(key);
      if (zone) return zone;
      if (key === '.') return undefined;
      key = parentName(key);
    }
  }

  /** Number of zones. */
  get size(): number {
    return this.byOrigin.size;
  }

  /** The zones, for listing. */
  zones(): IterableIterator<ZoneTree> {
    return this.byOrigin.values();
  }
}
