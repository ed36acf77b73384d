/**
 * patchImage(): an incremental transfer (RFC 1995) applied to a zone image
 * directly, image to image, without going through zone-file text or record
 * objects: the unchanged regions are copied whole, only the names a change
 * touches (and their ancestors) are looked at again. Pure.
 */

import { canonicalRdata } from '../rdata/rdata.js';
import type { JournalVersion } from '../../xfr/journal.js';
import { netChange, type AddedRecord } from '../../xfr/apply.js';
import { forEachRecord, type WireRecordAt } from '../../xfr/records.js';
import { align8, FORMAT_VERSION, H, HEADER_BYTES, imageChecksum, MAGIC, nameHash, NO_NODE, NODE, NODE_WORDS, RRSET_WORDS } from './format.js';
import { compareCanonical, ZoneImage } from './image.js';

/** The image of the new version, or why this change needs the full path (text, parse, compile), which the caller then takes. */
export type PatchOutcome = { kind: 'ok'; image: Uint8Array; deleted: number; added: number } | { kind: 'error'; why: string };

/** How patchImage gets the octets it writes the image into. */
export interface PatchOptions {
  /**
   * `octets` zero octets, a whole buffer of its own (byteOffset 0): a file
   * mapped for writing, so the image is written once, into the page cache.
   * By default, memory.
   */
  allocate?: (octets: number) => { kind: 'ok'; bytes: Uint8Array } | { kind: 'error'; why: string };
}

/** Types by number. */
const A = 1;
const NS = 2;
const CNAME = 5;
const SOA = 6;
const PTR = 12;
const MX = 15;
const TXT = 16;
const AAAA = 28;
const SRV = 33;
const DNAME = 39;
/** Class IN. */
const IN = 1;
/** The largest TTL a zone file keeps (RFC 2181 §8: above it the parser reads 0). */
const MAX_TTL = 0x7fffffff;
/** The most RDATA octets (with RDLENGTH fields) one RRset may hold: what the parser allows (src/zone/parse/checks.ts). */
const MAX_RRSET_RDATA = 65511;
/** The most octets the format addresses. */
const MAX_IMAGE = 0xffff_fff8;

/**
 * The types a change may add here: their RDATA layout is checked below, field
 * by field, as the parser would read it; anything else (DNSSEC records, DNAME,
 * SOA away from the apex, CDS, types the parser checks in ways this module
 * does not) goes the full way, where the parser decides.
 */
const PATCHABLE = new Set([A, NS, CNAME, PTR, MX, TXT, AAAA, SRV]);

/** One record of a set being rebuilt: RDLENGTH and RDATA at `at` in `region`. */
interface RdataRef {
  region: Uint8Array;
  at: number;
}

/** An RRset at a changed name: type, TTL, its records (RDLENGTH + RDATA each). */
interface NewSet {
  type: number;
  ttl: number;
  recs: RdataRef[];
}

/** A record a change adds, where it lies in its version's region. */
/** What happens at one name. */
interface NameChange {
  /** Lower-cased wire name. */
  key: Uint8Array;
  /** Identities of records deleted here (the record must be held). */
  removed: Set<string>;
  /** Records added here, in the order applyVersions keeps them. */
  adds: AddedRecord[];
  /** The name's node in the old image, or -1. */
  old: number;
  /** The RRsets after the change. */
  sets: NewSet[];
  /** The owner name in the case it is written (null: an empty non-terminal, taking its first descendant's). */
  owner: Uint8Array | null;
}

/** A node the old image lacks: a new name, or an empty non-terminal a new name implies (RFC 4592 §2.2.2). */
interface NewNode {
  key: Uint8Array;
  change: NameChange | null;
  /** The nearest existing ancestor: an old node, or another new one. */
  parentOld: number;
  parentNew: NewNode | null;
  /** The old node it sorts after (RFC 4034 §6.1), set when placed. */
  after: number;
  /** Its index in the new image, once written. */
  index: number;
}

/** The wire name starting at `at`, validated: its end (one past the zero octet), or -1 (a bad label, a pointer, over 255 octets). */
function nameEnd(b: Uint8Array, at: number, limit: number): number {
  const start = at;
  while (at < limit) {
    const l = b[at]!;
    if (l === 0) return at + 1 - start > 255 ? -1 : at + 1;
    if (l > 63) return -1;
    at += l + 1;
  }
  return -1;
}

/**
 * Whether RDATA of a type this module adds has the type's layout, as the
 * parser would read it back from text (RFC 1035 §3.3, §3.4.1; RFC 3596;
 * RFC 2782): a fixed length, names that fill their field exactly, TXT
 * strings that fill the RDATA.
 */
function rdataFits(type: number, b: Uint8Array, at: number, len: number): boolean {
  const end = at + len;
  switch (type) {
    case A:
      return len === 4;
    case AAAA:
      return len === 16;
    case NS:
    case CNAME:
    case PTR:
      return nameEnd(b, at, end) === end;
    case MX:
      return len > 2 && nameEnd(b, at + 2, end) === end;
    case SRV:
      return len > 6 && nameEnd(b, at + 6, end) === end;
    case TXT: {
      if (len === 0) return false;
      let p = at;
      while (p < end) p += 1 + b[p]!;
      return p === end;
    }
  }
  return false;
}

/** A lower-cased wire name as a latin1 string (a map key). */
function keyString(b: Uint8Array, at: number, len: number): string {
  return Buffer.from(b.buffer, b.byteOffset + at, len).toString('latin1');
}

/** The lower-cased wire name of a record's owner. */
function lowerOwner(region: Uint8Array, r: WireRecordAt): Uint8Array {
  const out = new Uint8Array(r.nameEnd - r.ownerAt);
  for (let i = 0; i < out.length; i++) {
    const c = region[r.ownerAt + i]!;
    out[i] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  }
  return out;
}

/** Octets of the owner part of an identity (recordIdentity: lower-cased owner, then type and class, then RDATA). */
function identityOwnerLength(id: string): number {
  let p = 0;
  while (id.charCodeAt(p) !== 0) p += id.charCodeAt(p) + 1;
  return p + 1;
}

/** Whether `key` is `origin` or below it (both lower-cased wire names). */
function inZone(key: Uint8Array, origin: Uint8Array): boolean {
  if (key.length < origin.length) return false;
  const off = key.length - origin.length;
  for (let i = 0; i < origin.length; i++) if (key[off + i] !== origin[i]) return false;
  // `off` must be a label boundary.
  let p = 0;
  while (p < off) p += key[p]! + 1;
  return p === off;
}

/**
 * Applies `versions` (an IXFR's changes, RFC 1995 §4: per version the
 * deletions, then the additions) to image `old` and returns the image of the
 * new version, equivalent to what compiling the zone file of the changed
 * records (src/xfr/apply.ts, zone-text.ts, compile.ts) gives: the same nodes
 * in canonical order (RFC 4034 §6.1), empty non-terminals appearing and
 * going (RFC 4592 §2.2.2), flags (cut, below a cut, wildcard, CNAME/DNAME,
 * apex), RRsets in the order the full path keeps them, the hash index, the
 * counts, the serial, the checksum. Deletion semantics are applyVersions':
 * owner compared case-insensitively, RDATA canonically (RFC 4034 §6.2), the
 * TTL ignored (RFC 2181 §5); a deletion of a record not held is an error; an
 * addition of a record already held replaces it.
 *
 * Unchanged nodes, RRsets, names and RDATA are copied as regions (their
 * offsets kept; what a change removes stays behind as dead octets until a
 * full build, which compacts), so the cost is copying the image plus the
 * change, with integer work per node (parents, flags, the hash index).
 *
 * Returns an error, and the caller takes the full path, for anything the
 * patch does not reproduce exactly: a signed or NSEC3 zone, DNSSEC types,
 * DNAME or other types outside a checked set, TTLs that differ inside an
 * RRset, CNAME beside other data, NS at a wildcard, an apex left without NS
 * or with an NS target in the zone lacking an address, names outside the
 * zone, and an image whose dead octets outgrow its live ones.
 */
export function patchImage(old: ZoneImage, versions: readonly JournalVersion[], meta: { origin: string; source: string }, options: PatchOptions = {}): PatchOutcome {
  if (old.flags !== 0 || old.nsec3Count !== 0) return { kind: 'error', why: 'a signed or NSEC3 zone: its DNSSEC facts are rebuilt by a full build' };
  // The net change, exactly as applyVersions computes it: base records removed, records added (by identity).
  const net = netChange(old.serial, versions, 'the image has');
  if (net.kind === 'error') return net;
  const { removed, added } = net;
  const deletedCount = net.deleted;
  const addedCount = net.addedCount;
  const last = versions[versions.length - 1]!;
  const soa = last.newSoa;
  let soaRecord: WireRecordAt | null = null;
  forEachRecord(soa, (r) => (soaRecord ??= r));
  if (soaRecord === null) return { kind: 'error', why: 'the last version has no SOA record' };
  const sr: WireRecordAt = soaRecord;
  const originKey = old.key(0);
  const soaOwner = lowerOwner(soa, sr);
  if (sr.type !== SOA || sr.klass !== IN || Buffer.compare(soaOwner, originKey) !== 0) return { kind: 'error', why: 'the new SOA record is not the apex SOA' };
  if (sr.ttl > MAX_TTL) return { kind: 'error', why: `the new SOA's TTL ${sr.ttl} is above ${MAX_TTL}` };
  {
    const end = sr.end;
    const m = nameEnd(soa, sr.dataAt + 2, end);
    const r = m < 0 ? -1 : nameEnd(soa, m, end);
    if (r < 0 || r + 20 !== end) return { kind: 'error', why: 'the new SOA record is malformed' };
  }

  // Per name: what goes and what comes.
  const changes = new Map<string, NameChange>();
  const changeOf = (key: Uint8Array): NameChange => {
    const k = keyString(key, 0, key.length);
    let c = changes.get(k);
    if (c === undefined) {
      c = { key, removed: new Set(), adds: [], old: old.find(key, 0, key.length), sets: [], owner: null };
      changes.set(k, c);
    }
    return c;
  };
  for (const id of removed) {
    const n = identityOwnerLength(id);
    changeOf(Uint8Array.from(Buffer.from(id.slice(0, n), 'latin1'))).removed.add(id);
  }
  for (const a of added.values()) {
    const r = a.r;
    if (r.klass !== IN) return { kind: 'error', why: `a record of class ${r.klass} is added; the zone is class IN` };
    if (!PATCHABLE.has(r.type)) return { kind: 'error', why: `a record of type ${r.type} is added: left to a full build` };
    if (r.ttl > MAX_TTL) return { kind: 'error', why: `a record's TTL ${r.ttl} is above ${MAX_TTL}` };
    const len = r.end - r.dataAt - 2;
    if (!rdataFits(r.type, a.region, r.dataAt + 2, len)) return { kind: 'error', why: `a record of type ${r.type} added has RDATA the type's layout does not read` };
    changeOf(lowerOwner(a.region, r)).adds.push(a);
  }
  // The apex changes with its SOA in any case.
  changeOf(originKey);

  // The RRsets of each changed name after the change.
  let found = 0;
  let recordDelta = 0;
  for (const c of changes.values()) {
    if (!inZone(c.key, originKey)) return { kind: 'error', why: 'a record outside the zone is added or deleted' };
    const keyText = keyString(c.key, 0, c.key.length);
    let kept = 0;
    if (c.old >= 0) {
      const first = old.firstSet(c.old);
      for (let s = first; s < first + old.setCount(c.old); s++) {
        const type = old.setType(s);
        recordDelta -= old.setSize(s);
        if (c.old === 0 && type === SOA) {
          c.sets.push({ type, ttl: sr.ttl, recs: [{ region: soa, at: sr.dataAt }] });
          recordDelta++;
          continue;
        }
        const set: NewSet = { type, ttl: old.setTtl(s), recs: [] };
        const head = String.fromCharCode(type >> 8, type & 0xff, 0, IN);
        let at = old.setRdataAt(s);
        const bytes = old.bytes;
        for (let r = old.setSize(s); r > 0; r--) {
          const len = (bytes[at]! << 8) | bytes[at + 1]!;
          let gone = false;
          if (c.removed.size > 0 || c.adds.length > 0) {
            const rd = Buffer.from(bytes.buffer, bytes.byteOffset + at + 2, len);
            const id = keyText + head + canonicalRdata(type, rd).toString('latin1');
            if (c.removed.has(id)) {
              found++;
              gone = true;
            } else if (added.has(id)) {
              gone = true; // replaced by the added copy, written below (its TTL)
            }
          }
          if (!gone) set.recs.push({ region: bytes, at });
          at += 2 + len;
        }
        // A set left empty goes; records of its type added again form a new set after the others, as the full path orders them.
        if (set.recs.length > 0) {
          c.sets.push(set);
          kept += set.recs.length;
          recordDelta += set.recs.length;
        }
      }
    }
    for (const a of c.adds) {
      let set = c.sets.find((s) => s.type === a.r.type);
      if (set === undefined) {
        set = { type: a.r.type, ttl: a.r.ttl, recs: [] };
        c.sets.push(set);
      } else if (set.ttl !== a.r.ttl) {
        return { kind: 'error', why: 'records of one RRset would have different TTLs (the full build settles which)' };
      }
      set.recs.push({ region: a.region, at: a.r.dataAt });
      recordDelta++;
    }
    // The owner's case: the first record the full path's zone file has at the name (the SOA at the apex).
    if (c.old === 0) c.owner = soa.subarray(sr.ownerAt, sr.nameEnd);
    else if (kept > 0) c.owner = old.owner(c.old);
    else if (c.adds.length > 0) c.owner = c.adds[0]!.region.subarray(c.adds[0]!.r.ownerAt, c.adds[0]!.r.nameEnd);
    // The rules the parser applies at a name (RFC 1034 §3.6.2, RFC 4592 §4.2, RFC 1035 §5.2).
    const types = c.sets.map((s) => s.type);
    if (types.includes(CNAME) && (types.length > 1 || c.sets.find((s) => s.type === CNAME)!.recs.length > 1)) return { kind: 'error', why: 'a CNAME would share its name with other data' };
    const star = c.key.length > 1 && c.key[0] === 1 && c.key[1] === 0x2a;
    if (star && types.includes(NS)) return { kind: 'error', why: 'NS records at a wildcard name' };
    if (c.old === 0 && !types.includes(NS)) return { kind: 'error', why: 'no NS records would be left at the apex' };
    for (const s of c.sets) {
      if (s.recs.length > 0xffff) return { kind: 'error', why: 'an RRset of more than 65535 records' };
      let bytes = 0;
      for (const r of s.recs) bytes += 2 + ((r.region[r.at]! << 8) | r.region[r.at + 1]!);
      if (bytes > MAX_RRSET_RDATA) return { kind: 'error', why: `an RRset of ${bytes} octets of data, more than ${MAX_RRSET_RDATA}` };
    }
    if (c.sets.length > 0xffff) return { kind: 'error', why: 'more than 65535 RRsets at one name' };
  }
  if (found < removed.size) return { kind: 'error', why: 'a version deletes a record this zone does not hold' };

  // Which names exist after the change (RFC 4592 §2.2.2): children per old node, new names and the empty non-terminals they imply.
  const oldCount = old.nodeCount;
  const children = new Int32Array(oldCount);
  {
    const words = new Uint32Array(old.bytes.buffer, old.bytes.byteOffset + new DataView(old.bytes.buffer, old.bytes.byteOffset).getUint32(H.nodesOff, true), oldCount * NODE_WORDS);
    for (let n = 1; n < oldCount; n++) children[words[n * NODE_WORDS + 1]!]!++;
  }
  const fresh = new Map<string, NewNode>();
  // Old empty non-terminals whose first descendant may change (their case is taken again), and removed nodes.
  const recase = new Uint8Array(oldCount);
  const gone = new Uint8Array(oldCount);
  const markAncestors = (n: number): void => {
    for (let p = old.parent(n); p >= 0; p = old.parent(p)) recase[p] = 1;
  };
  for (const c of changes.values()) {
    if (c.old >= 0) {
      markAncestors(c.old);
      continue;
    }
    if (c.sets.length === 0) continue;
    const k = keyString(c.key, 0, c.key.length);
    const existing = fresh.get(k);
    if (existing !== undefined) {
      existing.change = c; // implied by a name below, now named itself
      continue;
    }
    let node: NewNode = { key: c.key, change: c, parentOld: -1, parentNew: null, after: -1, index: -1 };
    fresh.set(k, node);
    // Walk up to the nearest name that exists, adding the empty non-terminals between.
    for (let key = c.key; ; ) {
      const up = key.subarray(key[0]! + 1);
      const o = old.find(up, 0, up.length);
      if (o >= 0) {
        node.parentOld = o;
        children[o]++;
        recase[o] = 1;
        markAncestors(o);
        break;
      }
      const uk = keyString(up, 0, up.length);
      const have = fresh.get(uk);
      if (have !== undefined) {
        node.parentNew = have;
        break;
      }
      const ent: NewNode = { key: up, change: null, parentOld: -1, parentNew: null, after: -1, index: -1 };
      fresh.set(uk, ent);
      node.parentNew = ent;
      node = ent;
      key = up;
    }
  }
  // Old names left without records go, and so do their ancestors left without records or children.
  const changedAt = new Map<number, NameChange>();
  for (const c of changes.values()) if (c.old >= 0) changedAt.set(c.old, c);
  const empty = (n: number): boolean => {
    const c = changedAt.get(n);
    return c !== undefined ? c.sets.length === 0 : old.is(n, NODE.emptyNonTerminal);
  };
  for (const c of changes.values()) {
    for (let n = c.old; n > 0 && !gone[n] && children[n] === 0 && empty(n); n = old.parent(n)) {
      gone[n] = 1;
      children[old.parent(n)]--;
    }
  }

  // The new nodes in canonical order, each after the old node it follows.
  const inserts = [...fresh.values()];
  inserts.sort((x, y) => compareCanonical(x.key, 0, x.key.length, y.key, 0, y.key.length));
  for (const x of inserts) x.after = old.predecessor(x.key, 0, x.key.length);

  // Sizes of the new image.
  let count = inserts.length;
  let setCount = old.rrsetCount;
  let namesExtra = 0;
  let rdataExtra = 0;
  for (let n = 0; n < oldCount; n++) if (!gone[n]) count++;
  // Old nodes written again: the changed ones, and empty non-terminals above a change (their case may change).
  const redoAt = new Uint8Array(oldCount);
  for (const n of changedAt.keys()) redoAt[n] = 1;
  for (let n = 0; n < oldCount; n++) if (recase[n] === 1 && old.is(n, NODE.emptyNonTerminal)) redoAt[n] = 1;
  const redo = (n: number): boolean => redoAt[n] === 1;
  const setBytes = (s: NewSet): number => {
    let b = 0;
    for (const r of s.recs) b += 2 + ((r.region[r.at]! << 8) | r.region[r.at + 1]!);
    return b;
  };
  for (const c of changes.values()) {
    if (c.old >= 0) setCount -= old.setCount(c.old);
    if (c.old < 0 && c.sets.length === 0) continue;
    if (c.old >= 0 && gone[c.old]) continue;
    setCount += c.sets.length;
    for (const s of c.sets) rdataExtra += setBytes(s);
  }
  // Every changed, new or recased node gets its name written again (cheap: a few names).
  for (let n = 0; n < oldCount; n++) if (!gone[n] && redo(n)) namesExtra += 1 + 2 * old.nameLength(n);
  for (const x of inserts) namesExtra += 1 + 2 * x.key.length;

  const head = new DataView(old.bytes.buffer, old.bytes.byteOffset, HEADER_BYTES);
  const u32 = (off: number): number => head.getUint32(off, true);
  const oldNamesBytes = u32(H.namesBytes);
  const oldRdataBytes = u32(H.rdataBytes);
  const namesBytes = oldNamesBytes + namesExtra;
  const rdataBytes = oldRdataBytes + rdataExtra;
  let slots = 1024;
  while (slots < count * 2) slots *= 2;
  const built = new Date().toISOString();
  const metaOf = (names: number, rdata: number): Buffer =>
    Buffer.from(JSON.stringify({ origin: meta.origin, source: meta.source, built, live: { names: String(names).padStart(10, '0'), rdata: String(rdata).padStart(10, '0') } }), 'utf8');
  // The live counts are known once the image is written; the meta's length now (10 digits hold any 32-bit count).
  const metaText = metaOf(0, 0);
  const nodesOff = HEADER_BYTES;
  const setsOff = align8(nodesOff + count * NODE_WORDS * 4);
  const hashOff = align8(setsOff + setCount * RRSET_WORDS * 4);
  const infoOff = align8(hashOff + slots * 4);
  const namesOff = infoOff;
  const rdataOff = align8(namesOff + namesBytes);
  const metaOff = align8(rdataOff + rdataBytes);
  const total = align8(metaOff + metaText.length);
  if (total > MAX_IMAGE) return { kind: 'error', why: `the zone needs a ${total}-octet image; format version ${FORMAT_VERSION} holds at most 4 GiB` };

  let bytes: Uint8Array;
  if (options.allocate === undefined) bytes = new Uint8Array(total);
  else {
    const given = options.allocate(total);
    if (given.kind === 'error') return given;
    bytes = given.bytes;
    if (bytes.byteOffset !== 0 || bytes.byteLength !== total || bytes.buffer.byteLength !== total) return { kind: 'error', why: 'internal: the octets given for the image are not a buffer of its size (a bug in shardns)' };
  }
  const buffer = bytes.buffer as ArrayBuffer;
  const src = old.bytes;
  // The old names and RDATA, whole, at the same offsets: unchanged nodes and sets keep pointing at them.
  bytes.set(src.subarray(u32(H.namesOff), u32(H.namesOff) + oldNamesBytes), namesOff);
  bytes.set(src.subarray(u32(H.rdataOff), u32(H.rdataOff) + oldRdataBytes), rdataOff);
  const nodes = new Uint32Array(buffer, nodesOff, count * NODE_WORDS);
  const sets = new Uint32Array(buffer, setsOff, setCount * RRSET_WORDS);
  const oldNodes = new Uint32Array(src.buffer, src.byteOffset + u32(H.nodesOff), oldCount * NODE_WORDS);
  const oldSets = new Uint32Array(src.buffer, src.byteOffset + u32(H.rrsetsOff), old.rrsetCount * RRSET_WORDS);
  const remap = new Int32Array(oldCount).fill(-1);
  // Where the writing stands. The loop over unchanged nodes keeps these in locals (closures would
  // make every access a context slot); the helpers for changed and new nodes read and advance `st`.
  const st = { r: 0, setAt: 0, nameAt: oldNamesBytes, rdataAt: oldRdataBytes, liveRdata: 0, liveNames: 0 };
  // Empty non-terminals waiting for the case of their first descendant (the next node written).
  const pending: number[] = [];
  const CUTS = NODE.cut | NODE.belowCut;

  /** Every waiting node is an ancestor of node `r` (the first descendant follows its ancestors): its case is the matching tail. */
  const settle = (r: number): void => {
    const nameOff = namesOff + nodes[r * NODE_WORDS]!;
    const len = bytes[nameOff]!;
    const ownerEnd = nameOff + 1 + 2 * len;
    for (const p of pending) {
      const pAt = namesOff + nodes[p * NODE_WORDS]!;
      const pl = bytes[pAt]!;
      bytes.copyWithin(pAt + 1 + pl, ownerEnd - pl, ownerEnd);
    }
    pending.length = 0;
  };
  const writeName = (key: Uint8Array, owner: Uint8Array | null): number => {
    const at = namesOff + st.nameAt;
    const len = key.length;
    bytes[at] = len;
    bytes.set(key, at + 1);
    if (owner !== null) bytes.set(owner, at + 1 + len);
    const off = st.nameAt;
    st.nameAt += 1 + 2 * len;
    st.liveNames += 1 + 2 * len;
    return off;
  };
  const writeSets = (list: NewSet[]): void => {
    for (const s of list) {
      const start = st.rdataAt;
      for (const ref of s.recs) {
        const len = 2 + ((ref.region[ref.at]! << 8) | ref.region[ref.at + 1]!);
        bytes.set(ref.region.subarray(ref.at, ref.at + len), rdataOff + st.rdataAt);
        st.rdataAt += len;
      }
      const w = st.setAt++ * RRSET_WORDS;
      sets[w] = s.type | (s.recs.length << 16);
      sets[w + 1] = s.ttl >>> 0;
      sets[w + 2] = start;
      sets[w + 3] = st.rdataAt - start;
      sets[w + 4] = 0;
      st.liveRdata += st.rdataAt - start;
    }
  };
  const ownFlags = (key: Uint8Array, list: NewSet[], apex: boolean): number => {
    let f = apex ? NODE.apex : 0;
    if (key.length > 1 && key[0] === 1 && key[1] === 0x2a) f |= NODE.wildcard;
    if (list.length === 0) f |= NODE.emptyNonTerminal;
    for (const s of list) {
      if (s.type === NS && !apex) f |= NODE.cut;
      else if (s.type === CNAME) f |= NODE.cname;
      else if (s.type === DNAME) f |= NODE.dname;
    }
    return f;
  };
  /** Writes a changed or new node at st.r: name, sets, parent, flags (below a cut from its parent; its parent's wildcard flag). */
  const writeNode = (key: Uint8Array, hash: number, owner: Uint8Array | null, list: NewSet[], own: number, parent: number): void => {
    const r = st.r;
    const w = r * NODE_WORDS;
    nodes[w] = writeName(key, owner);
    nodes[w + 2] = st.setAt;
    nodes[w + 4] = hash;
    writeSets(list);
    let f = own;
    if (parent >= 0) {
      const pw = parent * NODE_WORDS + 3;
      if (((nodes[pw]! >>> 16) & CUTS) !== 0) f |= NODE.belowCut;
      if ((own & NODE.wildcard) !== 0) nodes[pw] = nodes[pw]! | (NODE.wildcardChild << 16);
    }
    nodes[w + 1] = parent < 0 ? NO_NODE : parent;
    nodes[w + 3] = list.length | (f << 16);
    if (owner === null) pending.push(r);
    else if (pending.length > 0) settle(r);
    st.r++;
  };
  const emitNew = (x: NewNode): void => {
    const c = x.change;
    const list = c?.sets ?? [];
    x.index = st.r;
    writeNode(x.key, nameHash(x.key, 0, x.key.length), c?.owner ?? null, list, ownFlags(x.key, list, false), x.parentNew !== null ? x.parentNew.index : remap[x.parentOld]!);
  };

  let j = 0;
  let r = 0;
  let setAt = 0;
  let liveRdata = 0;
  let liveNames = 0;
  const wildcardChild = NODE.wildcardChild << 16;
  const keepMask = ~((NODE.belowCut | NODE.wildcardChild) << 16);
  // The same shape: no name comes or goes, and every name written again keeps its number of RRsets and its own flags.
  // Then every node and RRset keeps its number, so the old arrays are copied whole and only those names are written.
  let sameShape = inserts.length === 0;
  for (let n = 0; sameShape && n < oldCount; n++) {
    if (gone[n] !== 0) sameShape = false;
    else if (redoAt[n] === 1) {
      const list = changedAt.get(n)?.sets ?? [];
      const word3 = oldNodes[n * NODE_WORDS + 3]!;
      sameShape = list.length === (word3 & 0xffff) && ownFlags(old.key(n), list, n === 0) << 16 === (word3 & keepMask & 0xffff0000);
    }
  }
  if (sameShape) {
    nodes.set(oldNodes);
    sets.set(oldSets);
    for (let n = 0; n < oldCount; n++) {
      if (redoAt[n] === 0) continue;
      const ow = n * NODE_WORDS;
      const c = changedAt.get(n);
      const key = old.key(n);
      const list = c?.sets ?? [];
      const owner = list.length === 0 ? null : (c?.owner ?? old.owner(n));
      st.r = n;
      st.setAt = oldNodes[ow + 2]!;
      writeNode(key, oldNodes[ow + 4]!, owner, list, ownFlags(key, list, n === 0), n === 0 ? -1 : oldNodes[ow + 1]!);
      // Its children are not written again: they do not set its wildcard-child flag, which they leave as it was.
      nodes[ow + 3] = nodes[ow + 3]! | (oldNodes[ow + 3]! & wildcardChild);
      // An empty non-terminal takes the case of the node after it (its first descendant), unless that one is written next.
      if (pending.length > 0 && redoAt[n + 1] !== 1) settle(n + 1);
    }
    r = count;
    setAt = setCount;
    const known = liveOf(old, oldNamesBytes, oldRdataBytes);
    if (known !== null) {
      // The old image's live octets, less what the names written again held, plus what they hold now.
      liveNames = known.names + st.liveNames;
      liveRdata = known.rdata + st.liveRdata;
      for (let n = 0; n < oldCount; n++) {
        if (redoAt[n] === 0) continue;
        liveNames -= 1 + 2 * old.nameLength(n);
        const first = oldNodes[n * NODE_WORDS + 2]!;
        for (let q = first; q < first + (oldNodes[n * NODE_WORDS + 3]! & 0xffff); q++) liveRdata -= oldSets[q * RRSET_WORDS + 3]!;
      }
    } else {
      for (let q = 3; q < sets.length; q += RRSET_WORDS) liveRdata += sets[q]!;
      for (let w = 0; w < nodes.length; w += NODE_WORDS) liveNames += 1 + 2 * bytes[namesOff + nodes[w]!]!;
    }
  }
  for (let n = 0; n < oldCount && !sameShape; n++) {
    if (gone[n] === 0) {
      const ow = n * NODE_WORDS;
      const parent = n === 0 ? -1 : remap[oldNodes[ow + 1]!]!;
      remap[n] = r;
      if (redoAt[n] === 0) {
        // Unchanged: its name and sets as they were (offsets kept: the regions were copied whole).
        const w = r * NODE_WORDS;
        const first = oldNodes[ow + 2]!;
        const word3 = oldNodes[ow + 3]!;
        const k = word3 & 0xffff;
        const nameOff = oldNodes[ow]!;
        nodes[w] = nameOff;
        nodes[w + 2] = setAt;
        nodes[w + 4] = oldNodes[ow + 4]!;
        // Word by word: a subarray per node would be an allocation per node.
        for (let q = first * RRSET_WORDS, to = setAt * RRSET_WORDS, end = (first + k) * RRSET_WORDS; q < end; q += RRSET_WORDS, to += RRSET_WORDS) {
          sets[to] = oldSets[q]!;
          sets[to + 1] = oldSets[q + 1]!;
          sets[to + 2] = oldSets[q + 2]!;
          const b = oldSets[q + 3]!;
          sets[to + 3] = b;
          sets[to + 4] = oldSets[q + 4]!;
          liveRdata += b;
        }
        setAt += k;
        let f = word3 & keepMask;
        if (parent >= 0) {
          const pw = parent * NODE_WORDS + 3;
          if (((nodes[pw]! >>> 16) & CUTS) !== 0) f |= NODE.belowCut << 16;
          if (((word3 >>> 16) & NODE.wildcard) !== 0) nodes[pw] = nodes[pw]! | wildcardChild;
        }
        nodes[w + 1] = parent < 0 ? NO_NODE : parent;
        nodes[w + 3] = f >>> 0;
        liveNames += 1 + 2 * bytes[namesOff + nameOff]!;
        if (pending.length > 0) settle(r);
        r++;
      } else {
        const c = changedAt.get(n);
        const key = old.key(n);
        const list = c?.sets ?? [];
        // An empty non-terminal takes its first descendant's case; a named node keeps or takes its records'.
        const owner = list.length === 0 ? null : (c?.owner ?? old.owner(n));
        st.r = r;
        st.setAt = setAt;
        writeNode(key, oldNodes[ow + 4]!, owner, list, ownFlags(key, list, n === 0), parent);
        r = st.r;
        setAt = st.setAt;
      }
    }
    if (j < inserts.length && inserts[j]!.after === n) {
      st.r = r;
      st.setAt = setAt;
      while (j < inserts.length && inserts[j]!.after === n) emitNew(inserts[j++]!);
      r = st.r;
      setAt = st.setAt;
    }
  }
  if (!sameShape) {
    liveRdata += st.liveRdata;
    liveNames += st.liveNames;
  }
  const nameAt = st.nameAt;
  const rdataAt = st.rdataAt;
  if (nameAt !== namesBytes || rdataAt !== rdataBytes) return { kind: 'error', why: 'internal: the patch wrote other region sizes than it counted (a bug in shardns; the full build is used)' };
  if (r !== count || setAt !== setCount || j !== inserts.length || pending.length !== 0) {
    return { kind: 'error', why: `internal: the patch counted ${count} nodes and ${setCount} RRsets but wrote ${r} and ${setAt} (a bug in shardns; the full build is used)` };
  }
  if (rdataBytes - liveRdata > liveRdata + (1 << 20) || namesBytes - liveNames > liveNames + (1 << 20)) {
    return { kind: 'error', why: 'the image holds more dead octets than live ones: a full build compacts it' };
  }

  // The hash index: open addressing, linear probing. The old one carried over when it has as many slots (the nodes kept
  // keep their name hashes), else rebuilt in node order as the compiler fills it.
  const hash = new Uint32Array(buffer, hashOff, slots);
  if (slots === u32(H.hashSlots)) {
    carryHashIndex(hash, new Uint32Array(src.buffer, src.byteOffset + u32(H.hashOff), slots), oldNodes, gone, remap, inserts);
  } else {
    const mask = slots - 1;
    for (let n = 0; n < count; n++) {
      let p = nodes[n * NODE_WORDS + 4]! & mask;
      while (hash[p] !== 0) p = (p + 1) & mask;
      hash[p] = n + 1;
    }
  }

  const out = new DataView(buffer, 0, HEADER_BYTES);
  for (let i = 0; i < MAGIC.length; i++) bytes[i] = MAGIC.charCodeAt(i);
  const put = (off: number, v: number): void => out.setUint32(off, v, true);
  put(H.version, FORMAT_VERSION);
  put(H.headerBytes, HEADER_BYTES);
  put(H.totalBytes, total);
  put(H.flags, 0);
  put(H.nodeCount, count);
  put(H.nodesOff, nodesOff);
  put(H.rrsetCount, setCount);
  put(H.rrsetsOff, setsOff);
  put(H.namesOff, namesOff);
  put(H.namesBytes, namesBytes);
  put(H.rdataOff, rdataOff);
  put(H.rdataBytes, rdataBytes);
  put(H.hashOff, hashOff);
  put(H.hashSlots, slots);
  put(H.nsec3NodeCount, 0);
  put(H.nsec3NodesOff, nodesOff + count * NODE_WORDS * 4);
  put(H.nsec3InfoOff, infoOff);
  put(H.nsec3InfoCount, 0);
  put(H.nsec3ChainCount, 0);
  put(H.nsec3ParamAt, NO_NODE);
  put(H.recordCount, old.recordCount + recordDelta);
  put(H.serial, ((soa[sr.end - 20]! << 24) | (soa[sr.end - 19]! << 16) | (soa[sr.end - 18]! << 8) | soa[sr.end - 17]!) >>> 0);
  put(H.metaOff, metaOff);
  put(H.metaBytes, metaText.length);
  bytes.set(metaOf(liveNames, liveRdata), metaOff);
  put(H.checksum, imageChecksum(bytes));
  const targets = apexNsTargets(new ZoneImage(bytes));
  if (targets !== null) return { kind: 'error', why: targets };
  return { kind: 'ok', image: bytes, deleted: deletedCount, added: addedCount };
}

/**
 * Fills `hash` (as many slots as `oldHash`) from the old image's index
 * instead of inserting every node again: the slots of removed nodes are
 * emptied by backward-shift deletion (which leaves every remaining name
 * reachable from its home slot, as linear probing needs), the others are
 * renumbered through `remap`, and the new nodes are inserted. A change of a
 * few names costs a copy of the index and one pass over it, not a million
 * probes at random places. The table can differ from the one the compiler
 * would fill (the order of insertion decides where colliding names sit);
 * lookups find the same nodes.
 */
function carryHashIndex(hash: Uint32Array, oldHash: Uint32Array, oldNodes: Uint32Array, gone: Uint8Array, remap: Int32Array, inserts: readonly NewNode[]): void {
  hash.set(oldHash);
  const mask = hash.length - 1;
  const home = (oldIndex: number): number => oldNodes[oldIndex * NODE_WORDS + 4]! & mask;
  // Removed nodes, with the old numbering (homes from the old nodes).
  let renumber = inserts.length > 0;
  for (let n = 0; n < gone.length; n++) {
    if (gone[n] === 0) continue;
    renumber = true;
    let i = home(n);
    while (hash[i] !== n + 1) i = (i + 1) & mask;
    hash[i] = 0;
    for (let j = (i + 1) & mask; hash[j] !== 0; j = (j + 1) & mask) {
      const k = home(hash[j]! - 1);
      // The entry at j may move back to i unless its home lies cyclically in (i, j].
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      hash[i] = hash[j]!;
      hash[j] = 0;
      i = j;
    }
  }
  if (!renumber) return;
  for (let p = 0; p < hash.length; p++) {
    const v = hash[p]!;
    if (v !== 0) hash[p] = remap[v - 1]! + 1;
  }
  for (const x of inserts) {
    let p = nameHash(x.key, 0, x.key.length) & mask;
    while (hash[p] !== 0) p = (p + 1) & mask;
    hash[p] = x.index + 1;
  }
}

/**
 * The live octets of an image's names and RDATA regions as a patch recorded
 * them in its meta, or null (an image the compiler wrote has none: its
 * regions hold no dead octets, but an older patch's may, so it is counted).
 */
function liveOf(image: ZoneImage, namesBytes: number, rdataBytes: number): { names: number; rdata: number } | null {
  const live = image.meta.live;
  if (live === undefined || typeof live !== 'object' || !/^\d{10}$/.test(String(live.names)) || !/^\d{10}$/.test(String(live.rdata))) return null;
  const names = Number(live.names);
  const rdata = Number(live.rdata);
  return names <= namesBytes && rdata <= rdataBytes ? { names, rdata } : null;
}

/**
 * What the parser refuses about the apex NS targets inside the zone (RFC
 * 2181 §10.3, RFC 6672 §2.3; src/zone/parse/checks.ts): a target without A
 * or AAAA records, a CNAME, or below a DNAME. Null when all is well.
 */
function apexNsTargets(image: ZoneImage): string | null {
  const set = image.rrset(0, NS);
  if (set < 0) return 'no NS records at the apex';
  const origin = image.key(0);
  for (const rd of image.rdatas(set)) {
    const key = Uint8Array.from(rd, (c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c));
    if (!inZone(key, origin)) continue;
    const n = image.find(key, 0, key.length);
    if (n < 0 || image.is(n, NODE.cname) || (image.rrset(n, A) < 0 && image.rrset(n, AAAA) < 0)) return 'an apex NS target in the zone would have no address records, or be a CNAME';
    for (let p = image.parent(n); p > 0; p = image.parent(p)) if (image.is(p, NODE.dname)) return 'an apex NS target would lie below a DNAME';
  }
  return null;
}
