/** The table from owner names to their records: names as wire octets in one arena, found through an integer hash table, each name's record list kept in typed arrays. */

import { nameHash } from '../image/format.js';
import { nameOfOwnWire, writeNameWire } from '../names.js';
import { dataFromWire } from '../rdata/rdata.js';
import { packetType } from '../rdata/rrtypes.js';
import { grown } from './grown.js';
import { NONE, type RecordStore } from './record-store.js';
import type { ZoneRecord } from './zone.js';

/**
 * Owner name → the records at that name, in the order ZoneBuilder keeps
 * them. Each name is a number (its entry index, in the order names were
 * first seen) with its name in wire form in one arena, laid out as the
 * image's names region lays out an entry (doc/zone-image.md): the wire
 * length, the lower-cased wire name (RFC 4343 §3: ASCII case folded), then
 * the wire name as its first record's owner spelled it; so the compiler
 * takes the names as they are, and a million names are a few typed arrays,
 * not two million long-lived strings for the collector to trace. Names are
 * found by an open-addressing table of entry indexes keyed by the FNV-1a
 * hash of the lower-cased wire name (the image's own name hash, format.ts
 * nameHash), compared octet by octet. Per name it also keeps the first and
 * last of its records in the RecordStore's lists; the builder writes
 * through `findWire`, `addWire` and the store. Reads as a ReadonlyMap of
 * dns-packet shaped records keyed by name key (names.ts nameKey), made
 * from the octets each time they are read: fine for checks, printing and
 * tests; walks over a big zone (the compiler, the checks) use the indexes.
 */
export class NameTable implements ReadonlyMap<string, ZoneRecord[]> {
  /** Two words per slot: entry index + 1 (0 is empty), and the name's hash (one cache line read per probe). */
  private slots = new Int32Array(2 * 1024);
  private mask = 1023;
  private count = 0;
  /** The names: per entry its wire length, its lower-cased wire name, its wire name as spelled (see above). */
  names = new Uint8Array(1 << 16);
  /** Octets of `names` in use. */
  namesUsed = 0;
  /** Per entry, where its lower-cased wire name starts in `names` (its length octet is just before). */
  nameAt = new Uint32Array(512);
  /** Per entry, nameHash of its lower-cased wire name. */
  hash = new Uint32Array(512);
  /** Whether `names` was lent (lendNames): it is then the borrower's, and the table copies it before writing again. */
  private lent = false;
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

  constructor(readonly store: RecordStore) {}

  get size(): number {
    return this.count;
  }

  /** Makes room for about `names` names (and `octets` of name arena) while the table is empty (a big zone then never rehashes). */
  expect(names: number, octets = 0): void {
    if (this.count > 0) return;
    let slots = 1024;
    while (slots < 2 * names && slots < 1 << 26) slots *= 2;
    if (slots > this.mask + 1) {
      this.slots = new Int32Array(2 * slots);
      this.mask = slots - 1;
      this.head = new Int32Array(slots >> 1);
      this.tail = new Int32Array(slots >> 1);
      this.octets = new Float64Array(slots >> 1);
      this.targets = new Uint8Array(slots >> 1);
      this.nameAt = new Uint32Array(slots >> 1);
      this.hash = new Uint32Array(slots >> 1);
    }
    let w = this.names.length;
    while (w < octets && w < 1 << 30) w *= 2;
    if (w > this.names.length) this.names = new Uint8Array(w);
  }

  /** The entry index of the lower-cased wire name `lower[at, at + len)` with hash `h` (nameHash of it), or -1. */
  findWire(lower: Uint8Array, at: number, len: number, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const names = this.names;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const s = slots[2 * p]!;
      if (s === 0) return -1;
      if (slots[2 * p + 1] !== (h | 0)) continue;
      const e = this.nameAt[s - 1]!;
      if (names[e - 1] !== len) continue;
      let k = 0;
      while (k < len && names[e + k] === lower[at + k]) k++;
      if (k === len) return s - 1;
    }
  }

  /**
   * Adds a name known to be absent: `lower[lowerAt, +len)` its lower-cased
   * wire name with hash `h`, `owner[ownerAt, +len)` its wire name as
   * spelled; with its first record (stored, unlinked). Returns its entry index.
   */
  addWire(lower: Uint8Array, lowerAt: number, owner: Uint8Array, ownerAt: number, len: number, h: number, record: number): number {
    const index = this.count;
    if (index >= this.head.length) this.growEntries();
    let o = this.namesUsed;
    if (this.lent || o + 1 + 2 * len > this.names.length) {
      let size = this.names.length * 2;
      while (size < o + 1 + 2 * len) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.names.subarray(0, o));
      this.names = grown;
      this.lent = false;
    }
    const names = this.names;
    names[o++] = len;
    for (let k = 0; k < len; k++) names[o + k] = lower[lowerAt + k]!;
    for (let k = 0; k < len; k++) names[o + len + k] = owner[ownerAt + k]!;
    this.namesUsed = o + 2 * len;
    this.nameAt[index] = o;
    this.hash[index] = h >>> 0;
    this.head[index] = record;
    this.tail[index] = record;
    this.count = index + 1;
    if ((index + 1) * 2 > this.mask) this.grow();
    this.place(this.slots, this.mask, index + 1, h | 0);
    return index;
  }

  /**
   * The names arena for the compiler to make its names region of, without
   * a copy: `names[0, namesUsed)` as the table keeps it, the borrower free
   * to write past `namesUsed` (it must not change what is before). The
   * first call hands out the table's own arena, and the table copies it
   * before it adds a name again; a later call gets a copy (the first
   * borrower may still be writing past the end).
   */
  lendNames(): Uint8Array {
    if (this.lent) return this.names.slice(0, Math.max(this.namesUsed, 1));
    this.lent = true;
    return this.names;
  }

  /** Adds a name given as a name string (names.ts), known to be absent, with its first record; returns its entry index. */
  addName(name: string, record: number): number {
    const len = writeNameWire(name, SCRATCH, 0);
    lowerWire(SCRATCH, 0, len, SCRATCH_LOWER, 0);
    return this.addWire(SCRATCH_LOWER, 0, SCRATCH, 0, len, nameHash(SCRATCH_LOWER, 0, len), record);
  }

  /** The entry index of a name given as a name string or key (names.ts), or -1. */
  findName(name: string): number {
    const len = writeNameWire(name, SCRATCH, 0);
    lowerWire(SCRATCH, 0, len, SCRATCH_LOWER, 0);
    return this.findWire(SCRATCH_LOWER, 0, len, nameHash(SCRATCH_LOWER, 0, len));
  }

  /** Whether entry `index`'s name as spelled is `owner[at, at + len)`, octet for octet. */
  spelledAs(index: number, owner: Uint8Array, at: number, len: number): boolean {
    const e = this.nameAt[index]!;
    const names = this.names;
    if (names[e - 1] !== len) return false;
    for (let k = 0; k < len; k++) if (names[e + len + k] !== owner[at + k]) return false;
    return true;
  }

  /** The key of an entry (names.ts nameKey of its name), made from its octets. */
  keyAt(index: number): string {
    return nameOfOwnWire(this.names, this.nameAt[index]!);
  }

  /** The name of an entry as its first record spelled it (a name string), made from its octets. */
  ownerAt(index: number): string {
    const e = this.nameAt[index]!;
    return nameOfOwnWire(this.names, e + this.names[e - 1]!);
  }

  /** The owner of record `r` at entry `index`, as its line spelled it. */
  ownerOf(index: number, r: number): string {
    return this.store.spelling.get(r) ?? this.ownerAt(index);
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

  private growEntries(): void {
    const n = this.head.length * 2;
    this.head = grown(this.head, n);
    this.tail = grown(this.tail, n);
    this.octets = grown(this.octets, n);
    this.targets = grown(this.targets, n);
    this.nameAt = grown(this.nameAt, n);
    this.hash = grown(this.hash, n);
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
    const i = this.findName(key);
    return i < 0 ? undefined : this.at(i);
  }

  has(key: string): boolean {
    return this.findName(key) >= 0;
  }

  forEach(fn: (value: ZoneRecord[], key: string, map: ReadonlyMap<string, ZoneRecord[]>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.count; i++) fn.call(thisArg, this.at(i), this.keyAt(i), this);
  }

  *entries(): MapIterator<[string, ZoneRecord[]]> {
    for (let i = 0; i < this.count; i++) yield [this.keyAt(i), this.at(i)];
  }

  *keys(): MapIterator<string> {
    for (let i = 0; i < this.count; i++) yield this.keyAt(i);
  }

  *values(): MapIterator<ZoneRecord[]> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }

  [Symbol.iterator](): MapIterator<[string, ZoneRecord[]]> {
    return this.entries();
  }
}

/**
 * Writes the wire name `wire[at, at + len)` with ASCII letters folded to
 * lower case (RFC 4343 §3) at `out[to]`. Length octets (at most 63) are
 * never letters, so every octet goes through the same test.
 */
export function lowerWire(wire: Uint8Array, at: number, len: number, out: Uint8Array, to: number): void {
  for (let k = 0; k < len; k++) {
    const c = wire[at + k]!;
    out[to + k] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
}

/** Room for one wire name (at most 255 octets), as written and lower-cased. */
const SCRATCH = new Uint8Array(256);
const SCRATCH_LOWER = new Uint8Array(256);
