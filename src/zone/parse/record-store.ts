/** The records of a zone as it loads, in typed arrays and one arena of wire RDATA: no object per record, so a million records cost the collector nothing. */

import { rdataWireLength, recordRdata, writeRdata } from '../rdata/rdata.js';
import type { RdataSink } from '../rdata/rdata-io.js';
import { T } from '../rdata/rrtypes.js';
import { grown } from './grown.js';

/*
 * A record is a number (its index). Per record the store keeps its type,
 * its TTL, where its RDATA is in the arena (RFC 1035 §3.2.1 wire form, names
 * uncompressed, exactly as recordRdata writes it) and its neighbours in its
 * name's list: every name's records form one doubly linked list, in the
 * order ZoneBuilder keeps them (each RRset adjacent, RRSIGs by type
 * covered). The owner's spelling is the name's (NameTable), except for the
 * few records whose zone-file line spelled it otherwise (`X` beside `x`),
 * which are kept aside.
 *
 * Records turn back into dns-packet shaped ZoneRecords only when someone
 * reads the zone as such (`shardns check --print`, the DNSSEC check, tests):
 * rdata.ts dataFromWire gives exactly the data the parser read, as
 * test/unit/zone/record-store.test.ts checks for every type.
 */

/** No record (the end of a list). */
export const NONE = -1;

/** The largest arena (the image addresses RDATA with 32-bit offsets anyway). */
const MAX_ARENA = 0xffff_fff0;

/** Typed arrays of one record each, grown together by doubling; the arena is where the RDATA reader writes (an RdataSink). */
export class RecordStore implements RdataSink {
  /** Records stored (some may be unlinked: dropped duplicates). */
  count = 0;
  code = new Uint16Array(1024);
  ttl = new Uint32Array(1024);
  /** Offset of the RDATA in `wire`. */
  at = new Uint32Array(1024);
  /** Octets of RDATA. */
  len = new Uint16Array(1024);
  next = new Int32Array(1024);
  prev = new Int32Array(1024);
  /** Wire RDATA of every record, in the order stored. */
  wire = new Uint8Array(1 << 16);
  /** Octets of `wire` in use. */
  used = 0;
  /** Owner spellings that differ from their name's (record index → name string). */
  readonly spelling = new Map<number, string>();

  /** Makes room for about `records` records and `octets` of RDATA while the store is empty (a big zone then grows nothing). */
  expect(records: number, octets: number): void {
    if (this.count > 0) return;
    let n = this.code.length;
    while (n < records && n < 1 << 28) n *= 2;
    if (n > this.code.length) {
      this.code = new Uint16Array(n);
      this.ttl = new Uint32Array(n);
      this.at = new Uint32Array(n);
      this.len = new Uint16Array(n);
      this.next = new Int32Array(n);
      this.prev = new Int32Array(n);
    }
    let w = this.wire.length;
    while (w < octets && w < MAX_ARENA / 2) w *= 2;
    if (w > this.wire.length) this.wire = new Uint8Array(w);
  }

  /** The arena, as an RdataSink (readRdataWire writes a record's RDATA at its end before appendWire takes it). */
  get bytes(): Uint8Array {
    return this.wire;
  }

  /**
   * Stores a record whose RDATA was written at `wire[at, at + len)` (by
   * readRdataWire, through this store's RdataSink side), linked to nothing
   * yet; returns its index.
   */
  appendWire(code: number, ttl: number, at: number, len: number): number {
    const i = this.count;
    if (i === this.code.length) this.growRecords();
    if (len > 0xffff) throw new Error(`RDATA of ${len} octets (at most 65535)`);
    this.code[i] = code;
    this.ttl[i] = ttl;
    this.at[i] = at;
    this.len[i] = len;
    this.next[i] = NONE;
    this.prev[i] = NONE;
    this.count = i + 1;
    return i;
  }

  /**
   * Stores a record's TTL and its RDATA (written from `data` as recordRdata
   * would write it), linked to nothing yet; returns its index.
   */
  append(code: number, ttl: number, record: { type: string; data: unknown }): number {
    const i = this.count;
    if (i === this.code.length) this.growRecords();
    const size = rdataWireLength(record);
    if (size >= 0) {
      const at = this.reserve(size);
      writeRdata(record, this.wire, at);
      this.at[i] = at;
      this.len[i] = size;
    } else {
      const wire = recordRdata(record);
      if (wire.length > 0xffff) throw new Error(`RDATA of ${wire.length} octets (at most 65535)`);
      const at = this.reserve(wire.length);
      this.wire.set(wire, at);
      this.at[i] = at;
      this.len[i] = wire.length;
    }
    this.code[i] = code;
    this.ttl[i] = ttl;
    this.next[i] = NONE;
    this.prev[i] = NONE;
    this.count = i + 1;
    return i;
  }

  /**
   * Forgets the record stored last (a duplicate or a refused record found
   * after it was stored), giving its RDATA's room back unless `keepRdata`
   * (another record took it over). It must not be linked.
   */
  dropLast(i: number, keepRdata: boolean): void {
    if (i !== this.count - 1) throw new Error('RecordStore.dropLast: not the last record');
    if (!keepRdata && this.at[i]! + this.len[i]! === this.used) this.used = this.at[i]!;
    this.spelling.delete(i);
    this.count = i;
  }

  /** What makes records one RRset: the type, and for RRSIG and SIG the type covered (see zone.ts rrsetKey). */
  setKey(i: number): number {
    const code = this.code[i]!;
    if (code !== T.RRSIG && code !== T.SIG) return code;
    const at = this.at[i]!;
    const covered = this.len[i]! >= 2 ? (this.wire[at]! << 8) | this.wire[at + 1]! : 0;
    return code + 0x10000 * (1 + covered);
  }

  /** The RDATA of record `i` (a view of the arena: copy it to keep it past the next append). */
  rdata(i: number): Uint8Array {
    const at = this.at[i]!;
    return this.wire.subarray(at, at + this.len[i]!);
  }

  /** Links record `i` into a list right after record `after`; returns whether `after` was the last. */
  linkAfter(i: number, after: number): boolean {
    const n = this.next[after]!;
    this.prev[i] = after;
    this.next[i] = n;
    this.next[after] = i;
    if (n !== NONE) this.prev[n] = i;
    return n === NONE;
  }

  /** Room for `n` more octets at the end of the arena; returns where. */
  reserve(n: number): number {
    if (this.used + n > this.wire.length) {
      let size = this.wire.length * 2;
      while (size < this.used + n) size *= 2;
      if (this.used + n > MAX_ARENA) throw new Error('the zone has more than 4 GiB of record data');
      const grown = new Uint8Array(Math.min(size, MAX_ARENA));
      grown.set(this.wire.subarray(0, this.used));
      this.wire = grown;
    }
    const at = this.used;
    this.used += n;
    return at;
  }

  private growRecords(): void {
    const n = this.code.length * 2;
    this.code = grown(this.code, n);
    this.ttl = grown(this.ttl, n);
    this.at = grown(this.at, n);
    this.len = grown(this.len, n);
    this.next = grown(this.next, n);
    this.prev = grown(this.prev, n);
  }
}
