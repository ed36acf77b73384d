/** The table from owner-name keys to their records: a string hash table with the hashes and each name's record list kept in typed arrays. */

import { dataFromWire } from '../rdata/rdata.js';
import { packetType } from '../rdata/rrtypes.js';
import { NONE, type RecordStore } from './record-store.js';
import type { ZoneRecord } from './zone.js';

/**
 * FNV-1a over the UTF-16 code units of a key. Good enough for names, and
 * cheap next to what it saves: a miss in a JS Map of a million fresh strings
 * touches several cache lines per probe (bucket, entries, each candidate
 * string's header), while here a miss mostly reads one slot and one hash.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * Owner-name key → the records at that name, in the order ZoneBuilder keeps
 * them. Each name is a number (its entry index, in the order names were
 * first seen) with its key, the spelling of its first record's owner, and
 * the first and last of its records in the RecordStore's lists; the builder
 * writes through `find`, `add` and the store, with a hash computed once per
 * record. Reads as a ReadonlyMap of dns-packet shaped records, made from
 * the wire octets each time they are read: fine for checks, printing and
 * tests; walks over a big zone (the compiler, the checks) use the indexes.
 */
export class NameTable implements ReadonlyMap<string, ZoneRecord[]> {
  /** Two words per slot: entry index + 1 (0 is empty), and the key's hash (one cache line read per probe). */
  private slots = new Int32Array(2 * 1024);
  private mask = 1023;
  /** The first record of each name's list. */
  head = new Int32Array(512);
  /** The last record of each name's list. */
  tail = new Int32Array(512);
  /**
   * Per name, at least the octets its records' RDATA take with their
   * 2-octet lengths (ZoneBuilder adds each record it links; a record that
   * takes over a duplicate's place adds its own again): no RRset of a name
   * below the limit can be over it, so the size check walks only the others.
   */
  octets = new Float64Array(512);
  /** Per name, 1 when it has an NS, MX or SRV record, whose target the checks look up (ZoneBuilder sets it). */
  targets = new Uint8Array(512);
  private readonly keyList: string[] = [];
  /** Each name's owner as its first record spelled it (a name string, names.ts). */
  readonly owners: string[] = [];

  constructor(readonly store: RecordStore) {}

  get size(): number {
    return this.keyList.length;
  }

  /** Makes room for about `names` names while the table is empty (a big zone then never rehashes). */
  expect(names: number): void {
    if (this.keyList.length > 0) return;
    let slots = 1024;
    while (slots < 2 * names && slots < 1 << 26) slots *= 2;
    if (slots <= this.mask + 1) return;
    this.slots = new Int32Array(2 * slots);
    this.mask = slots - 1;
    this.head = new Int32Array(slots >> 1);
    this.tail = new Int32Array(slots >> 1);
    this.octets = new Float64Array(slots >> 1);
    this.targets = new Uint8Array(slots >> 1);
  }

  /** The entry index of a key with hash `h`, or -1. */
  find(key: string, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const s = slots[2 * p]!;
      if (s === 0) return -1;
      if (slots[2 * p + 1] === h && this.keyList[s - 1] === key) return s - 1;
    }
  }

  /** Adds a key known to be absent, owned as `owner`, with its first record (stored, unlinked); returns its entry index. */
  add(key: string, h: number, owner: string, record: number): number {
    const index = this.keyList.length;
    this.keyList.push(key);
    this.owners.push(owner);
    if (index >= this.head.length) {
      const n = this.head.length * 2;
      const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(n);
        b.set(a);
        return b;
      };
      this.head = grow(this.head);
      this.tail = grow(this.tail);
      const octets = new Float64Array(n);
      octets.set(this.octets);
      this.octets = octets;
      const targets = new Uint8Array(n);
      targets.set(this.targets);
      this.targets = targets;
    }
    this.head[index] = record;
    this.tail[index] = record;
    if ((index + 1) * 2 > this.mask) this.grow();
    this.place(this.slots, this.mask, index + 1, h);
    return index;
  }

  /** The key of an entry. */
  keyAt(index: number): string {
    return this.keyList[index]!;
  }

  /** The owner of record `r` at entry `index`, as its line spelled it. */
  ownerOf(index: number, r: number): string {
    return this.store.spelling.get(r) ?? this.owners[index]!;
  }

  /** Record `r` of entry `index` as a dns-packet shaped record (a fresh object). */
  record(index: number, r: number): ZoneRecord {
    const s = this.store;
    const code = s.code[r]!;
    return { name: this.ownerOf(index, r), type: packetType(code), class: 'IN', ttl: s.ttl[r]!, data: dataFromWire(code, s.rdata(r)) as ZoneRecord['data'] };
  }

  /** The records of an entry, in order (fresh objects). */
  at(index: number): ZoneRecord[] {
    const out: ZoneRecord[] = [];
    for (let r = this.head[index]!; r !== NONE; r = this.store.next[r]!) out.push(this.record(index, r));
    return out;
  }

  private place(slots: Int32Array, mask: number, entry: number, h: number): void {
    let p = h & mask;
    while (slots[2 * p] !== 0) p = (p + 1) & mask;
    slots[2 * p] = entry;
    slots[2 * p + 1] = h;
  }

  /** Doubles the slots, placing every entry again (its hash is in its slot). */
  private grow(): void {
    const old = this.slots;
    const size = 2 * (this.mask + 1);
    this.slots = new Int32Array(2 * size);
    this.mask = size - 1;
    for (let p = 0; p < old.length; p += 2) if (old[p] !== 0) this.place(this.slots, this.mask, old[p]!, old[p + 1]!);
  }

  get(key: string): ZoneRecord[] | undefined {
    const i = this.find(key, hashKey(key));
    return i < 0 ? undefined : this.at(i);
  }

  has(key: string): boolean {
    return this.find(key, hashKey(key)) >= 0;
  }

  forEach(fn: (value: ZoneRecord[], key: string, map: ReadonlyMap<string, ZoneRecord[]>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.keyList.length; i++) fn.call(thisArg, this.at(i), this.keyList[i]!, this);
  }

  *entries(): MapIterator<[string, ZoneRecord[]]> {
    for (let i = 0; i < this.keyList.length; i++) yield [this.keyList[i]!, this.at(i)];
  }

  keys(): MapIterator<string> {
    return this.keyList.values();
  }

  *values(): MapIterator<ZoneRecord[]> {
    for (let i = 0; i < this.keyList.length; i++) yield this.at(i);
  }

  [Symbol.iterator](): MapIterator<[string, ZoneRecord[]]> {
    return this.entries();
  }
}
