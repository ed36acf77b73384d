/** Record references: the records a reply section will hold, as places in a zone image (or in owned octets), not as decoded objects. Pure. */

import type { ZoneImage } from '../zone/image/image.js';

const NONE = new Uint8Array(1);

/**
 * One record to write: where its owner name is (an uncompressed wire name),
 * its type, class and TTL, and where its RDLENGTH and RDATA are (as on the
 * wire, ready to copy). For a record of a zone, `image` and `set` say which
 * RRset it came from and the octets are the image's own; a synthesized record
 * (a DNAME's CNAME, a CH answer) points at octets its builder owns. The
 * octets are views: a reference is valid only while the answer that made it
 * runs (an image may be unmapped after).
 */
export class RecordRef {
  /** The image the record is in, or null for a record not read from a zone. */
  image: ZoneImage | null = null;
  /** Its RRset in the image (-1: none). */
  set = -1;
  type = 0;
  /** CLASS: IN, except for identity answers (CH). */
  klass = 1;
  ttl = 0;
  /** The owner name: the uncompressed wire name at `owner[ownerAt]`. */
  owner: Uint8Array = NONE;
  ownerAt = 0;
  /** RDLENGTH (2 octets, big-endian) then RDATA, at `data[dataAt]`. */
  data: Uint8Array = NONE;
  dataAt = 0;
  /** The first record of an RRset (the records after it, its signatures included, go or stay with it when a reply is fitted). */
  first = true;
  /**
   * Written as the zone holds it, under its node's own name: two such
   * references to the same octets are the same record (a wildcard's record
   * under the query's name, or a SOA with its negative TTL, is another).
   */
  own = false;

  /** Whether this is the zone record `other` refers to, under its own name. */
  sameRecord(other: RecordRef): boolean {
    return this.own && other.own && this.dataAt === other.dataAt && this.image === other.image && this.image !== null;
  }
}

/**
 * The records of one section, in order. References are pooled and reused
 * from one reply to the next, so building a section allocates nothing once
 * the pool has grown to the largest section seen.
 */
export class RecordList {
  private readonly pool: RecordRef[] = [];
  private count = 0;

  /** Records in the list. */
  get length(): number {
    return this.count;
  }

  /** The record at `i` (0 ≤ i < length). */
  at(i: number): RecordRef {
    return this.pool[i]!;
  }

  /** Empties the list (its references go back to the pool). */
  clear(): void {
    this.count = 0;
  }

  /**
   * Empties the list and forgets what its references pointed at, so no
   * image stays reachable (or viewed) from the pool once the reply is written.
   */
  release(): void {
    for (let i = 0; i < this.count; i++) {
      const ref = this.pool[i]!;
      ref.image = null;
      ref.owner = NONE;
      ref.data = NONE;
    }
    this.count = 0;
  }

  /** Appends a reference, blank but for `klass` IN, for the caller to fill. */
  add(): RecordRef {
    let ref = this.pool[this.count];
    if (ref === undefined) {
      ref = new RecordRef();
      this.pool.push(ref);
    } else {
      ref.image = null;
      ref.set = -1;
      ref.klass = 1;
      ref.own = false;
      ref.first = true;
    }
    this.count++;
    return ref;
  }

  /**
   * Appends every record of RRset `set` of `image`, in zone order, under the
   * owner name at `owner[ownerAt]`; `own`: that is the node's own name.
   * `joins`: the records belong with the RRset before them (its RRSIGs,
   * RFC 4035 §3.1.1), so fitting keeps or drops them together. `ttl`: a TTL
   * other than the set's (an RRSIG of a negative SOA takes the SOA's).
   */
  addSet(image: ZoneImage, set: number, owner: Uint8Array, ownerAt: number, own: boolean, joins = false, ttl = image.setTtl(set)): void {
    const bytes = image.bytes;
    const type = image.setType(set);
    let at = image.setRdataAt(set);
    for (let i = image.setSize(set); i > 0; i--) {
      const ref = this.add();
      ref.first = i === image.setSize(set) && !joins;
      ref.image = image;
      ref.set = set;
      ref.type = type;
      ref.ttl = ttl;
      ref.owner = owner;
      ref.ownerAt = ownerAt;
      ref.data = bytes;
      ref.dataAt = at;
      ref.own = own;
      at += 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
    }
  }

  /** Whether RRset `set` of `image` is in the list under its node's own name (a response holds an RRset once). */
  hasSet(image: ZoneImage, set: number): boolean {
    for (let i = 0; i < this.count; i++) {
      const r = this.pool[i]!;
      if (r.set === set && r.own && r.image === image) return true;
    }
    return false;
  }

  /** Where the RRset that starts at record `i` ends: the next record that starts one, or the length. */
  groupEnd(i: number): number {
    let j = i + 1;
    while (j < this.count && !this.pool[j]!.first) j++;
    return j;
  }
}
