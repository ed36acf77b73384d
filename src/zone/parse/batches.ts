/** BIND's grouping of master-file lines into batches, which decides how TTLs and duplicates inside an RRset are settled. */

import { nameKey } from '../names.js';

/**
 * BIND's loader collects the records of consecutive lines with the same
 * owner (compared with case) into one batch and adds the batch to the zone
 * when the owner changes. One exception: under an owner that has NS records,
 * lines owned by one of those NS targets (glue) go to a separate glue batch,
 * and the owner's batch stays open, so a later line with that owner joins it
 * again. Inside a batch a differing TTL takes the first one's; between
 * batches the later TTL wins (see ZoneBuilder). This class numbers batches
 * the same way.
 */
export class Batches {
  private seq = 0;
  private owner: string | null = null;
  private current = 0;
  private nsTargets: Set<string> | null = null;
  private glueOwner: string | null = null;
  private glue = 0;

  /** The batch of a line with an explicit owner. */
  explicit(owner: string): number {
    if (this.glueOwner !== null && owner !== this.glueOwner) this.glueOwner = null;
    if (owner !== this.owner && owner !== this.glueOwner) {
      if (this.nsTargets !== null && this.nsTargets.has(nameKey(owner))) {
        this.glueOwner = owner;
        this.glue = ++this.seq;
      } else {
        this.owner = owner;
        this.current = ++this.seq;
        this.nsTargets = null;
      }
    }
    return this.active();
  }

  /** The batch of a line whose owner is omitted: whichever batch is open. */
  active(): number {
    return this.glueOwner !== null ? this.glue : this.current;
  }

  /** Notes an NS record added in the open batch (glue records do not count). */
  ns(target: string): void {
    if (this.glueOwner !== null) return;
    (this.nsTargets ??= new Set()).add(nameKey(target));
  }

  /** Closes every open batch ($INCLUDE does, on the way in and out); returns a fresh batch for what follows. */
  close(): number {
    this.owner = null;
    this.glueOwner = null;
    this.nsTargets = null;
    this.current = ++this.seq;
    return this.current;
  }

  /** A batch of its own (each $GENERATE record is one). */
  single(): number {
    return ++this.seq;
  }
}
