/** The table from owner-name keys to their records: a string hash table with the hashes kept in typed arrays. */

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

/** The records of a table entry as an array. */
function records(v: ZoneRecord | ZoneRecord[]): ZoneRecord[] {
  return Array.isArray(v) ? v : [v];
}

/**
 * Owner-name key → the records at that name, in insertion order. Reads as a
 * ReadonlyMap; the builder writes through `find`, `add` and `replace`, which
 * take a hash computed once per record. A name with a single record keeps
 * the record itself and hands out a one-element array when read: most names
 * of big zones have one record, and a million arrays cost more memory and
 * collector time than their records.
 */
export class NameTable implements ReadonlyMap<string, ZoneRecord[]> {
  private slots = new Int32Array(1024); // entry index + 1; 0 is empty
  private mask = 1023;
  private hashes = new Int32Array(512);
  private readonly keyList: string[] = [];
  private readonly valueList: (ZoneRecord | ZoneRecord[])[] = [];

  get size(): number {
    return this.keyList.length;
  }

  /** The entry index of a key with hash `h`, or -1. */
  find(key: string, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const s = slots[p]!;
      if (s === 0) return -1;
      if (this.hashes[s - 1] === h && this.keyList[s - 1] === key) return s - 1;
    }
  }

  /** Adds a key known to be absent with its first record; returns its entry index. */
  add(key: string, h: number, value: ZoneRecord): number {
    const index = this.keyList.length;
    this.keyList.push(key);
    this.valueList.push(value);
    if (index >= this.hashes.length) {
      const grown = new Int32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[index] = h;
    if ((index + 1) * 2 > this.mask) this.grow();
    else this.place(index, h);
    return index;
  }

  /** The records of an entry. */
  at(index: number): ZoneRecord[] {
    return records(this.valueList[index]!);
  }

  /** Replaces the records of an entry. */
  replace(index: number, value: ZoneRecord[]): void {
    this.valueList[index] = value.length === 1 ? value[0]! : value;
  }

  private place(index: number, h: number): void {
    const mask = this.mask;
    let p = h & mask;
    while (this.slots[p] !== 0) p = (p + 1) & mask;
    this.slots[p] = index + 1;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < this.keyList.length; i++) this.place(i, this.hashes[i]!);
  }

  /**
   * Every entry's records as stored, in insertion order: a record alone, or
   * the array of several. For walks over a whole big zone (the compiler),
   * which would otherwise get a fresh one-element array per name.
   */
  rawValues(): readonly (ZoneRecord | readonly ZoneRecord[])[] {
    return this.valueList;
  }

  get(key: string): ZoneRecord[] | undefined {
    const i = this.find(key, hashKey(key));
    return i < 0 ? undefined : records(this.valueList[i]!);
  }

  has(key: string): boolean {
    return this.find(key, hashKey(key)) >= 0;
  }

  forEach(fn: (value: ZoneRecord[], key: string, map: ReadonlyMap<string, ZoneRecord[]>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.keyList.length; i++) fn.call(thisArg, records(this.valueList[i]!), this.keyList[i]!, this);
  }

  *entries(): MapIterator<[string, ZoneRecord[]]> {
    for (let i = 0; i < this.keyList.length; i++) yield [this.keyList[i]!, records(this.valueList[i]!)];
  }

  keys(): MapIterator<string> {
    return this.keyList.values();
  }

  *values(): MapIterator<ZoneRecord[]> {
    for (let i = 0; i < this.valueList.length; i++) yield records(this.valueList[i]!);
  }

  [Symbol.iterator](): MapIterator<[string, ZoneRecord[]]> {
    return this.entries();
  }
}
