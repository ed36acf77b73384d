/** The loaded zone: its records as dns-packet answers, grouped by owner into RRsets, and the rules for adding one. */

import type { CaaData, DnskeyData, DsData, HInfoData, MxData, NaptrData, Nsec3Data, NsecData, RpData, RrsigData, SoaData, SrvData, SshfpData, TlsaData } from 'dns-packet';
import type { Diagnostic, DiagnosticSink } from './diagnostics.js';
import { decodeBase32Hex } from '../rdata/encoding.js';
import { hashKey, NameTable } from './name-table.js';
import { nameKey, nameLabels, presentName } from '../names.js';
import { rdataKey } from '../rdata/rdata.js';
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
 */
export class ZoneBuilder {
  readonly nodes = new NameTable();
  size = 0;
  /** RRset keys added to in the last three batches (the open one and its glue among them): a small ring, reused. */
  private readonly ringBatch = [-1, -1, -1];
  private readonly ringKey = ['', '', ''];
  private readonly ringSets: number[][] = [[], [], []];
  private ringNext = 0;
  private touched: number[] = [];
  private lastKey = '';
  private lastIndex = -1;
  private lastHash = 0;
  private readonly bigSets = new Map<string, Set<string>>();
  /** Apex NS records with their place in the files, for the checks after loading. */
  readonly apexNs: { record: ZoneRecord; at: SourcePosition }[] = [];
  readonly originKey: string;

  constructor(
    readonly origin: string,
    private readonly sink: DiagnosticSink,
  ) {
    this.originKey = nameKey(origin);
  }

  /**
   * Adds one record of type `code` read in `batch`; `key` is nameKey(rec.name).
   * Reports and drops the record if a rule forbids it.
   */
  add(rec: ZoneRecord, key: string, code: number, batch: number, file: string, line: number, col: number): void {
    this.touched = this.batchSets(batch, key);
    if (code === T.SOA && key !== this.originKey) {
      this.sink.error(file, line, col, `SOA record at ${presentName(rec.name)} is not at the zone apex ${presentName(this.origin)}`);
      return;
    }
    if (code === T.DS && key === this.originKey) {
      this.sink.error(file, line, col, `DS record at the zone apex ${presentName(rec.name)}: a DS record belongs in the parent zone (RFC 4035 §2.4)`);
      return;
    }
    if (code === T.NS && (key === '*' || key.startsWith('*.'))) {
      this.sink.error(file, line, col, `NS records at the wildcard name ${presentName(rec.name)}: BIND refuses them (RFC 4592 §4.2)`);
      return;
    }
    if (code === T.NSEC3 && !nsec3Owner(rec.name)) {
      this.sink.error(file, line, col, `NSEC3 owner ${presentName(rec.name)} does not start with a base32hex hash label (RFC 5155 §3)`);
      return;
    }
    const setKey = code === T.RRSIG || code === T.SIG ? rrsetKey(code, rec.data) : code;
    // Records of one name are usually adjacent: remember the last node instead of hashing again.
    let index: number;
    if (key === this.lastKey) {
      index = this.lastIndex;
    } else {
      this.lastHash = hashKey(key);
      index = this.nodes.find(key, this.lastHash);
    }
    if (index < 0) {
      if (key.includes('*') && innerWildcard(key)) {
        this.sink.warning(file, line, col, `${presentName(rec.name)} has a "*" label that is not its first: that is not a wildcard (RFC 4592 §2.1.1), as BIND also warns`);
      }
      this.lastIndex = this.nodes.add(key, this.lastHash, rec);
      this.lastKey = key;
      this.added(rec, key, code, setKey, file, line, col);
      return;
    }
    const node = this.nodes.at(index);
    this.lastKey = key;
    this.lastIndex = index;
    if (!this.compatible(node, code, rec, file, line, col)) return;
    const sameBatch = this.touched.includes(setKey);

    // Find the run of this RRset. Records of a name mostly arrive together, so it is
    // usually the last run; only then is the whole name scanned (or a new run placed).
    const sig = setKey >= 0x10000;
    const type = rec.type;
    const n = node.length;
    let end = -1;
    let lastSig = -1;
    if (inSet(node[n - 1]!, type, sig, code, setKey)) {
      end = n;
    } else {
      for (let i = 0; i < n; i++) {
        const r = node[i]!;
        if (sig && r.type === type) lastSig = i;
        if (inSet(r, type, sig, code, setKey)) {
          end = i + 1;
          while (end < n && inSet(node[end]!, type, sig, code, setKey)) end++;
          break;
        }
      }
    }
    if (end < 0) {
      // A new RRset: keep RRSIGs together, otherwise append.
      this.insert(index, node, lastSig >= 0 ? lastSig + 1 : n, rec);
      this.added(rec, key, code, setKey, file, line, col);
      return;
    }

    const setTtl = node[end - 1]!.ttl;
    if (rec.ttl !== setTtl) {
      if (sameBatch) {
        this.sink.warning(file, line, col, `TTL ${rec.ttl} differs from the TTL ${setTtl} of the ${typeMnemonic(code)} records above at ${presentName(rec.name)}; TTL set to ${setTtl}`);
        rec.ttl = setTtl;
      } else {
        this.sink.warning(file, line, col, `TTL ${rec.ttl} differs from the TTL ${setTtl} of earlier ${typeMnemonic(code)} records at ${presentName(rec.name)}; the RRset takes the later TTL ${rec.ttl}, as BIND does`);
        for (let i = runStart(node, end, type, sig, code, setKey, n); i < end; i++) node[i]!.ttl = rec.ttl;
      }
    }
    if (!sameBatch) this.touched.push(setKey);

    const rk = rdataKey(code, rec);
    const big = this.bigSet(node, end, code, key, setKey, type, sig);
    const dup = big !== null && !big.has(rk) ? -1 : findDuplicate(node, end, code, rk, type, sig, setKey);
    if (dup >= 0) {
      if (sameBatch) node[dup]!.data = rec.data;
      return;
    }
    if (SINGLETONS.has(code)) {
      const mn = typeMnemonic(code);
      this.sink.error(file, line, col, `a second ${mn} record at ${presentName(rec.name)}; a name holds only one ${mn} record`);
      return;
    }
    this.insert(index, node, end, rec);
    this.added(rec, key, code, setKey, file, line, col);
    if (big !== null) big.add(rk);
  }

  /**
   * For an RRset of BIG_RRSET records or more, the set of its RDATA keys, so
   * that finding duplicates stays cheap however big it grows; null for small ones.
   */
  private bigSet(node: ZoneRecord[], end: number, code: number, key: string, setKey: number, type: string, sig: boolean): Set<string> | null {
    if (end < BIG_RRSET || runStart(node, end, type, sig, code, setKey, BIG_RRSET) > end - BIG_RRSET) return null;
    const id = key + '|' + setKey;
    let set = this.bigSets.get(id);
    if (set === undefined) {
      set = new Set();
      for (let i = runStart(node, end, type, sig, code, setKey, end); i < end; i++) set.add(rdataKey(code, node[i]!));
      this.bigSets.set(id, set);
    }
    return set;
  }

  /** The set keys touched so far in a batch (one owner per batch); remembers the last three batches. */
  private batchSets(batch: number, key: string): number[] {
    for (let i = 0; i < 3; i++) if (this.ringBatch[i] === batch && this.ringKey[i] === key) return this.ringSets[i]!;
    const i = this.ringNext;
    this.ringNext = (i + 1) % 3;
    this.ringBatch[i] = batch;
    this.ringKey[i] = key;
    const sets = this.ringSets[i]!;
    sets.length = 0;
    return sets;
  }

  private added(rec: ZoneRecord, key: string, code: number, setKey: number, file: string, line: number, col: number): void {
    this.size++;
    if (!this.touched.includes(setKey)) this.touched.push(setKey);
    if (code === T.NS && key === this.originKey) this.apexNs.push({ record: rec, at: { file, line, col } });
  }

  /**
   * Inserts into a node's array. Small arrays are replaced by exact-size
   * copies: push and splice would grow them to 17 slots, which for a
   * million names costs more memory than the records themselves.
   */
  private insert(index: number, node: ZoneRecord[], at: number, rec: ZoneRecord): void {
    if (node.length >= 16) {
      node.splice(at, 0, rec);
      return;
    }
    let next: ZoneRecord[];
    if (node.length === 1) next = at === 0 ? [rec, node[0]!] : [node[0]!, rec];
    else if (node.length === 2) next = at === 0 ? [rec, node[0]!, node[1]!] : at === 1 ? [node[0]!, rec, node[1]!] : [node[0]!, node[1]!, rec];
    else next = node.slice(0, at).concat([rec], node.slice(at));
    this.nodes.replace(index, next);
  }

  /** RFC 2181 §10.1, RFC 1034 §3.6.2: a CNAME shares its name only with DNSSEC records. */
  private compatible(node: ZoneRecord[], code: number, rec: ZoneRecord, file: string, line: number, col: number): boolean {
    if (CNAME_COMPANIONS.has(code)) return true;
    const type = rec.type;
    const adding = code === T.CNAME;
    // A name with a CNAME holds only CNAME and its companions; so a first record of any
    // other type means there is no CNAME to clash with (and keeps this O(1) for big names).
    const first = node[0]!.type;
    if (!adding && first !== 'CNAME' && !COMPANION_NAMES.has(first)) return true;
    for (let i = 0; i < node.length; i++) {
      const other = node[i]!.type;
      if (other === type || COMPANION_NAMES.has(other)) continue;
      if (adding || other === 'CNAME') {
        this.sink.error(file, line, col, `CNAME and other data at ${presentName(rec.name)}: a name with a CNAME record holds no other records (RFC 1034 §3.6.2)`);
        return false;
      }
    }
    return true;
  }

  /** The SOA record at the apex, if one was added. */
  apexSoa(): ZoneRecord | undefined {
    return this.nodes.get(this.originKey)?.find((r) => r.type === 'SOA');
  }
}

/** Does a record belong to the RRset of this type (and, for signatures, set key)? */
function inSet(r: ZoneRecord, type: string, sig: boolean, code: number, setKey: number): boolean {
  return r.type === type && (!sig || rrsetKey(code, r.data) === setKey);
}

/** Where the run of an RRset that ends at `end` starts, looking back at most `limit` records. */
function runStart(node: ZoneRecord[], end: number, type: string, sig: boolean, code: number, setKey: number, limit: number): number {
  let start = end - 1;
  while (start > 0 && end - start < limit && inSet(node[start - 1]!, type, sig, code, setKey)) start--;
  return start;
}

/** The index of a record of the run ending at `end` whose RDATA key is `rk`, or -1. */
function findDuplicate(node: ZoneRecord[], end: number, code: number, rk: string, type: string, sig: boolean, setKey: number): number {
  for (let i = end - 1; i >= 0 && inSet(node[i]!, type, sig, code, setKey); i--) if (rdataKey(code, node[i]!) === rk) return i;
  return -1;
}

/** CNAME_COMPANIONS by dns-packet type name, for cheap comparisons. */
const COMPANION_NAMES = new Set(['RRSIG', 'NSEC', 'KEY', 'SIG']);

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
