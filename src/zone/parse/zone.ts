/** The loaded zone: its records as dns-packet answers, grouped by owner into RRsets, and the rules for adding one. */

import type { CaaData, DnskeyData, DsData, HInfoData, MxData, NaptrData, Nsec3Data, NsecData, RpData, RrsigData, SoaData, SrvData, SshfpData, TlsaData } from 'dns-packet';
import type { Diagnostic, DiagnosticSink } from './diagnostics.js';
import { decodeBase32Hex } from '../rdata/encoding.js';
import { nameHash } from '../image/format.js';
import { lowerWire, NameTable } from './name-table.js';
import { NONE, RecordStore } from './record-store.js';
import { nameKey, nameLabels, presentName, writeNameWire } from '../names.js';
import { canonicalRdataKey, sameCanonicalRdata } from '../rdata/rdata.js';
import { CNAME_COMPANIONS, SINGLETONS } from '../rdata/rdata-types.js';
import { packetTypeCode, T, typeMnemonic } from '../rdata/rrtypes.js';

/** What a record's `data` holds: dns-packet's structure for the types it knows, else wire RDATA. */
export type RecordData =
  | string
  | Buffer
  | Buffer[]
  | SoaData
  | MxData
  | SrvData
  | CaaData
  | HInfoData
  | NaptrData
  | RpData
  | SshfpData
  | TlsaData
  | DsData
  | DnskeyData
  | RrsigData
  | NsecData
  | Nsec3Data;

/**
 * One resource record, shaped as a dns-packet answer so `dnsPacket.encode`
 * writes it unchanged when its names are plain: `name` and the names in
 * `data` are name strings (names.ts: no trailing dot, the root is `.`,
 * escapes for unusual octets), `type` as dns-packet names it (`A`, `SPF`,
 * `UNKNOWN_65`). Its exact wire form: nameToWire(name) and recordRdata(record).
 */
export interface ZoneRecord {
  readonly name: string;
  readonly type: string;
  readonly class: 'IN';
  ttl: number;
  data: RecordData;
}

/**
 * A zone as loaded: every record, grouped by owner. `nodes` maps an owner's
 * lookup key (nameKey: ASCII lower case) to the records at that name, where
 * the records of one RRset are adjacent (RRSIGs also by type covered); use
 * `rrsets()` to split them. Records keep the case of the zone file. Treat
 * the arrays as read-only: for a name with one record, each read hands out a
 * fresh one-element array (see NameTable).
 */
export interface Zone {
  /** The apex as a name string (names.ts): `example.com`, or `.` for the root. */
  readonly origin: string;
  readonly class: 'IN';
  /** The SOA record at the apex. */
  readonly soa: ZoneRecord;
  readonly nodes: ReadonlyMap<string, ZoneRecord[]>;
  /** Number of records. */
  readonly size: number;
}

/** The type number of a record. */
export function recordTypeCode(r: ZoneRecord): number {
  return packetTypeCode(r.type);
}

/**
 * What makes records one RRset: the type, and for RRSIG and SIG also the
 * type covered (RFC 4034 §3; BIND keeps one rdataset per covered type).
 */
export function rrsetKey(code: number, data: unknown): number {
  if (code === T.RRSIG) return code + 0x10000 * (1 + packetTypeCode((data as RrsigData).typeCovered));
  if (code === T.SIG) {
    const b = data as Buffer;
    return code + 0x10000 * (1 + (b.length >= 2 ? b.readUInt16BE(0) : 0));
  }
  return code;
}

/** The type covered by an RRSIG or SIG set key, or -1 for other sets. */
export function coveredType(setKey: number): number {
  return setKey >= 0x10000 ? Math.floor(setKey / 0x10000) - 1 : -1;
}

/** Splits the records of one name into RRsets (adjacent runs of one set key). */
export function rrsets(records: readonly ZoneRecord[]): ZoneRecord[][] {
  const out: ZoneRecord[][] = [];
  let last = -1;
  for (const r of records) {
    const key = rrsetKey(recordTypeCode(r), r.data);
    if (key !== last || out.length === 0) {
      out.push([r]);
      last = key;
    } else {
      out[out.length - 1]!.push(r);
    }
  }
  return out;
}

/** Iterates over every record of a zone, name by name. */
export function* zoneRecords(zone: Zone): Generator<ZoneRecord> {
  for (const records of zone.nodes.values()) yield* records;
}

/** Where a record came from, for diagnostics. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** The outcome of loading a zone: the zone, or every error found (up to the limit). */
export type ZoneLoadResult =
  | { readonly ok: true; readonly zone: Zone; readonly warnings: Diagnostic[] }
  | { readonly ok: false; readonly errors: Diagnostic[]; readonly warnings: Diagnostic[] };

const BIG_RRSET = 32;

/**
 * Collects records into a zone, applying what BIND applies while loading:
 * one TTL per RRset, duplicates collapsed, CNAME alone at its name, one
 * record in a singleton RRset. Diagnostics go to the sink.
 *
 * A "batch" is a group of lines BIND's loader adds at once (see batches.ts).
 * Inside a batch a differing TTL takes the RRset's TTL ("TTL set to prior
 * TTL") and a duplicate replaces the earlier record (so the later spelling
 * of names inside RDATA is kept); a later batch sets the TTL of the whole
 * RRset and its duplicates are dropped. Both match named-checkzone.
 *
 * Records are kept as wire octets in a RecordStore (no object per record
 * survives the line that made it); `nodes` reads them back as dns-packet
 * shaped records.
 */
export class ZoneBuilder {
  readonly store = new RecordStore();
  readonly nodes = new NameTable(this.store);
  size = 0;
  /** RRset keys added to in the last three batches (the open one and its glue among them): a small ring, reused. */
  private readonly ringBatch = [-1, -1, -1];
  private readonly ringKey = ['', '', ''];
  private readonly ringSets = [new SetKeys(), new SetKeys(), new SetKeys()];
  private ringNext = 0;
  private touched = this.ringSets[0]!;
  private lastKey = '';
  private lastIndex = -1;
  /** The wire form of the owner add() looked up last, as spelled and lower-cased, and its length. */
  private readonly ownerWire = new Uint8Array(256);
  private readonly lowerWire = new Uint8Array(256);
  /**
   * An owner's wire form the parser wrote while reading its token
   * (presetOwner), so that add() need not make it from the name string
   * again; `presetLower` is `presetWire` itself when the name has no capitals.
   */
  readonly presetWire = new Uint8Array(256);
  private presetLower: Uint8Array = new Uint8Array(256);
  private readonly presetLowerRoom = this.presetLower;
  private presetName: string | null = null;
  private presetLen = 0;
  /** The owner link() compared with its name's spelling last, that name's entry, and whether they were the same. */
  private spellOwner = '';
  private spellIndex = -1;
  private spellSame = true;
  /** Canonical RDATA of the RRsets of BIG_RRSET records or more, by name key and set key, each with its record. */
  private readonly bigSets = new Map<string, Map<string, number>>();
  /** Apex NS records (indexes into the store) with their place in the files, for the checks after loading. */
  readonly apexNs: { record: number; at: SourcePosition }[] = [];
  readonly originKey: string;

  constructor(
    readonly origin: string,
    private readonly sink: DiagnosticSink,
  ) {
    this.originKey = nameKey(origin);
  }

  /**
   * Sizes the name table and the record store for a zone file of `octets`
   * octets before any record is added (a rough guess, from the generated
   * benchmark zones: ~28 octets of text a record, ~40 a name, RDATA about
   * as long as the text), so that a big zone is not rehashed and copied at
   * every doubling. Later growth works as usual when the guess is short.
   */
  expect(octets: number): void {
    this.nodes.expect(Math.min(octets / 40, 1 << 24), Math.min(octets, 1 << 30));
    this.store.expect(Math.min(octets / 28, 1 << 25), Math.min(octets, 1 << 30));
  }

  /**
   * Tells add() that `presetWire[0, len)` holds the wire form of the name
   * string `owner` (the parser wrote it while reading the owner's token), so
   * that a record at that owner is filed without making the wire form again;
   * `lowerCase`: the name has no capitals. The preset holds until the next.
   */
  presetOwner(owner: string, len: number, lowerCase: boolean): void {
    this.presetName = owner;
    this.presetLen = len;
    if (lowerCase) {
      this.presetLower = this.presetWire;
    } else {
      this.presetLower = this.presetLowerRoom;
      lowerWire(this.presetWire, 0, len, this.presetLower, 0);
    }
  }

  /**
   * Adds one record of type `code` and TTL `ttl` at `owner` (a name
   * string), read in `batch`, whose RDATA the reader wrote at
   * `store.wire[at, at + len)` (the end of the arena); `key` is
   * nameKey(owner). Reports and drops the record (and takes its RDATA's
   * room back) if a rule forbids it.
   */
  add(owner: string, key: string, code: number, ttl: number, at: number, len: number, batch: number, file: string, line: number, col: number): void {
    this.touched = this.batchSets(batch, key);
    const s = this.store;
    // Stored before it is known to be kept: the rules below read its octets; a record refused is dropped again.
    const r = s.appendWire(code, ttl, at, len);
    if (code === T.SOA && key !== this.originKey) return this.refuse(r, file, line, col, `SOA record at ${presentName(owner)} is not at the zone apex ${presentName(this.origin)}`);
    if (code === T.DS && key === this.originKey) return this.refuse(r, file, line, col, `DS record at the zone apex ${presentName(owner)}: a DS record belongs in the parent zone (RFC 4035 §2.4)`);
    if (code === T.NS && (key === '*' || key.startsWith('*.'))) return this.refuse(r, file, line, col, `NS records at the wildcard name ${presentName(owner)}: BIND refuses them (RFC 4592 §4.2)`);
    if (code === T.NSEC3 && !nsec3Owner(owner)) return this.refuse(r, file, line, col, `NSEC3 owner ${presentName(owner)} does not start with a base32hex hash label (RFC 5155 §3)`);
    const setKey = s.setKey(r);
    // Records of one name are usually adjacent: remember the last node instead of hashing again.
    let index: number;
    let h = 0;
    let wire: Uint8Array = this.ownerWire;
    let lower: Uint8Array = this.lowerWire;
    let wireLen = 0;
    if (key === this.lastKey) {
      index = this.lastIndex;
    } else {
      // The owner in wire form, lower-cased (RFC 4343 §3), is what the table keys names by.
      if (owner === this.presetName) {
        wire = this.presetWire;
        lower = this.presetLower;
        wireLen = this.presetLen;
      } else {
        wireLen = writeNameWire(owner, wire, 0);
        lowerWire(wire, 0, wireLen, lower, 0);
      }
      h = nameHash(lower, 0, wireLen);
      index = this.nodes.findWire(lower, 0, wireLen, h);
      this.spellOwner = owner;
      this.spellIndex = index;
      this.spellSame = index < 0 || this.nodes.spelledAs(index, wire, 0, wireLen);
    }
    if (index < 0) {
      if (key.includes('*') && innerWildcard(key)) {
        this.sink.warning(file, line, col, `${presentName(owner)} has a "*" label that is not its first: that is not a wildcard (RFC 4592 §2.1.1), as BIND also warns`);
      }
      this.lastIndex = this.nodes.addWire(lower, 0, wire, 0, wireLen, h, r);
      this.spellIndex = this.lastIndex;
      this.lastKey = key;
      this.added(this.lastIndex, r, key, code, setKey, file, line, col);
      return;
    }
    this.lastKey = key;
    this.lastIndex = index;
    if (!this.compatible(index, code)) return this.refuse(r, file, line, col, `CNAME and other data at ${presentName(owner)}: a name with a CNAME record holds no other records (RFC 1034 §3.6.2)`);
    const sameBatch = this.touched.has(setKey);

    // Find the run of this RRset (`end`: its last record). Records of a name mostly arrive
    // together, so it is usually the name's last run; only then is the whole list walked.
    const sig = setKey >= 0x10000;
    let end = NONE;
    let lastSig = NONE;
    const tail = this.nodes.tail[index]!;
    if (this.inSet(tail, code, sig, setKey)) {
      end = tail;
    } else {
      for (let i = this.nodes.head[index]!; i !== NONE; i = s.next[i]!) {
        if (sig && s.code[i] === code) lastSig = i;
        if (this.inSet(i, code, sig, setKey)) {
          end = i;
          while (s.next[end] !== NONE && this.inSet(s.next[end]!, code, sig, setKey)) end = s.next[end]!;
          break;
        }
      }
    }
    if (end === NONE) {
      // A new RRset: keep RRSIGs together, otherwise append.
      this.link(index, r, owner, lastSig !== NONE ? lastSig : tail);
      this.added(index, r, key, code, setKey, file, line, col);
      return;
    }

    const setTtl = s.ttl[end]!;
    if (ttl !== setTtl) {
      if (sameBatch) {
        this.sink.warning(file, line, col, `TTL ${ttl} differs from the TTL ${setTtl} of the ${typeMnemonic(code)} records above at ${presentName(owner)}; TTL set to ${setTtl}`);
        s.ttl[r] = setTtl;
      } else {
        this.sink.warning(file, line, col, `TTL ${ttl} differs from the TTL ${setTtl} of earlier ${typeMnemonic(code)} records at ${presentName(owner)}; the RRset takes the later TTL ${ttl}, as BIND does`);
        for (let i = end; i !== NONE && this.inSet(i, code, sig, setKey); i = s.prev[i]!) s.ttl[i] = ttl;
      }
    }
    if (!sameBatch) this.touched.add(setKey);

    const big = this.bigSet(end, code, key, setKey, sig);
    // A big RRset finds its duplicate by key (walking it for each duplicate made a $GENERATE repeated at one owner
    // quadratic: 2 × 2,695 records took 177 ms, fuzz/crashes/zone-parser/crash-b06077f8…).
    const dup = big !== null ? (big.get(canonicalRdataKey(code, s.rdata(r))) ?? NONE) : this.findDuplicate(end, code, sig, setKey, r);
    if (dup !== NONE) {
      if (sameBatch) {
        // The later spelling of the names inside is kept, as BIND keeps it.
        s.at[dup] = s.at[r]!;
        s.len[dup] = s.len[r]!;
        this.nodes.octets[index] = this.nodes.octets[index]! + s.len[r]! + 2;
        s.dropLast(r, true);
      } else {
        s.dropLast(r, false);
      }
      return;
    }
    if (SINGLETONS.has(code)) {
      const mn = typeMnemonic(code);
      return this.refuse(r, file, line, col, `a second ${mn} record at ${presentName(owner)}; a name holds only one ${mn} record`);
    }
    this.link(index, r, owner, end);
    this.added(index, r, key, code, setKey, file, line, col);
    if (big !== null) big.set(canonicalRdataKey(code, s.rdata(r)), r);
  }

  /** Drops record `r` (stored last, not linked) and reports why. */
  private refuse(r: number, file: string, line: number, col: number, message: string): void {
    this.store.dropLast(r, false);
    this.sink.error(file, line, col, message);
  }

  /** Whether record `r` belongs to the RRset of type `code` (and, for signatures, set key). */
  private inSet(r: number, code: number, sig: boolean, setKey: number): boolean {
    return this.store.code[r] === code && (!sig || this.store.setKey(r) === setKey);
  }

  /** Links record `r` into name `index`'s list after record `after`, noting its owner's spelling if it is not the name's. */
  private link(index: number, r: number, owner: string, after: number): void {
    if (owner !== this.spellOwner || index !== this.spellIndex) {
      const len = writeNameWire(owner, this.ownerWire, 0);
      this.spellOwner = owner;
      this.spellIndex = index;
      this.spellSame = this.nodes.spelledAs(index, this.ownerWire, 0, len);
    }
    if (!this.spellSame) this.store.spelling.set(r, owner);
    if (this.store.linkAfter(r, after)) this.nodes.tail[index] = r;
  }

  /** A record of the run ending at `end` whose RDATA equals record `r`'s in canonical form (RFC 2181 §5: a duplicate), or NONE. */
  private findDuplicate(end: number, code: number, sig: boolean, setKey: number, r: number): number {
    const s = this.store;
    const wire = s.rdata(r);
    for (let i = end; i !== NONE && this.inSet(i, code, sig, setKey); i = s.prev[i]!) if (sameCanonicalRdata(code, s.rdata(i), wire)) return i;
    return NONE;
  }

  /**
   * For an RRset of BIG_RRSET records or more, its canonical RDATA, each
   * with its record (the latest, as findDuplicate finds it), so that
   * finding duplicates stays cheap however big it grows; null for small
   * ones.
   */
  private bigSet(end: number, code: number, key: string, setKey: number, sig: boolean): Map<string, number> | null {
    const s = this.store;
    let n = 0;
    for (let i = end; i !== NONE && n < BIG_RRSET && this.inSet(i, code, sig, setKey); i = s.prev[i]!) n++;
    if (n < BIG_RRSET) return null;
    const id = key + '|' + setKey;
    let set = this.bigSets.get(id);
    if (set === undefined) {
      set = new Map();
      for (let i = end; i !== NONE && this.inSet(i, code, sig, setKey); i = s.prev[i]!) {
        const k = canonicalRdataKey(code, s.rdata(i));
        if (!set.has(k)) set.set(k, i);
      }
      this.bigSets.set(id, set);
    }
    return set;
  }

  /** The set keys touched so far in a batch (one owner per batch); remembers the last three batches. */
  private batchSets(batch: number, key: string): SetKeys {
    for (let i = 0; i < 3; i++) if (this.ringBatch[i] === batch && this.ringKey[i] === key) return this.ringSets[i]!;
    const i = this.ringNext;
    this.ringNext = (i + 1) % 3;
    this.ringBatch[i] = batch;
    this.ringKey[i] = key;
    const sets = this.ringSets[i]!;
    sets.clear();
    return sets;
  }

  private added(index: number, r: number, key: string, code: number, setKey: number, file: string, line: number, col: number): void {
    this.size++;
    const nodes = this.nodes;
    nodes.octets[index] = nodes.octets[index]! + this.store.len[r]! + 2;
    if (code === T.NS || code === T.MX || code === T.SRV) nodes.targets[index] = 1;
    if (!this.touched.has(setKey)) this.touched.add(setKey);
    if (code === T.NS && key === this.originKey) this.apexNs.push({ record: r, at: { file, line, col } });
  }

  /** RFC 2181 §10.1, RFC 1034 §3.6.2: a CNAME shares its name only with DNSSEC records. */
  private compatible(index: number, code: number): boolean {
    if (CNAME_COMPANIONS.has(code)) return true;
    const s = this.store;
    const adding = code === T.CNAME;
    // A name with a CNAME holds only CNAME and its companions; so a first record of any
    // other type means there is no CNAME to clash with (and keeps this O(1) for big names).
    const first = s.code[this.nodes.head[index]!]!;
    if (!adding && first !== T.CNAME && !CNAME_COMPANIONS.has(first)) return true;
    for (let r = this.nodes.head[index]!; r !== NONE; r = s.next[r]!) {
      const other = s.code[r]!;
      if (other === code || CNAME_COMPANIONS.has(other)) continue;
      if (adding || other === T.CNAME) return false;
    }
    return true;
  }

  /** The SOA record at the apex, if one was added. */
  apexSoa(): ZoneRecord | undefined {
    const index = this.nodes.findName(this.originKey);
    if (index < 0) return undefined;
    for (let r = this.nodes.head[index]!; r !== NONE; r = this.store.next[r]!) if (this.store.code[r] === T.SOA) return this.nodes.record(index, r);
    return undefined;
  }
}

/**
 * The RRset keys (ZoneBuilder's set keys) added to in one batch: a short
 * list, emptied and filled again batch after batch in the same storage. (An
 * array emptied by `length = 0` gives its storage back, and its next push
 * allocates new: ~100 octets per batch, 97 MB of garbage for the 644,000
 * owners of a million-record zone.)
 */
class SetKeys {
  private readonly keys: number[] = [];
  private count = 0;

  /** Empties the list (its storage is kept). */
  clear(): void {
    this.count = 0;
  }

  has(key: number): boolean {
    for (let i = 0; i < this.count; i++) if (this.keys[i] === key) return true;
    return false;
  }

  /** Adds a key (the caller checks it is not there yet). */
  add(key: number): void {
    this.keys[this.count++] = key;
  }
}

/** RFC 5155 §3: an NSEC3 owner's first label is a base32hex hash without padding (as BIND checks). */
function nsec3Owner(name: string): boolean {
  const first = nameLabels(name)[0];
  if (first === undefined) return false;
  const hash = decodeBase32Hex(Buffer.from(first).toString('latin1'));
  return hash !== null && hash.length > 0;
}

/** True when a label other than the first is `*` alone (RFC 4592 §2.1.1: not a wildcard there). */
function innerWildcard(key: string): boolean {
  return nameLabels(key).some((l, i) => i > 0 && l.length === 1 && l[0] === 0x2a);
}
