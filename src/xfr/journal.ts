/**
 * The IXFR journal (RFC 1995): the difference between two versions of a
 * zone, computed from their images by one merge of their canonical node
 * lists (as NSD's create-ixfr and Knot's ixfr-from-differences keep them),
 * its file form, its bounds, and the chain of versions from a serial to the
 * one served. Pure.
 */

import { compareCanonical, type ZoneImage } from '../zone/image/image.js';
import { compareSerial } from './serial.js';
import { RecordArena } from './records.js';

/** SOA's and RRSIG's types. */
const SOA = 6;
const RRSIG = 46;

/** One version's change (RFC 1995 §4): what went (after the old SOA) and what came (after the new). */
export interface JournalVersion {
  /** The serial before and after. */
  from: number;
  to: number;
  /** The old and new SOA records, each one uncompressed wire record (owner, type, class, TTL, RDLENGTH, RDATA). */
  oldSoa: Uint8Array;
  newSoa: Uint8Array;
  /** The records deleted and added, uncompressed wire records back to back, the SOA not among them. */
  deleted: Uint8Array;
  deletedCount: number;
  added: Uint8Array;
  addedCount: number;
}

/** A zone's journal: the versions, oldest first, each `to` the next one's `from`, the last leading to the image with source hash `endHash`. */
export interface Journal {
  origin: string;
  /** The source hash (ImageMeta.source) of the image the last version leads to: a journal serves only that image. */
  endHash: string;
  versions: JournalVersion[];
}

/** How much history a journal keeps (the oldest versions go first). */
export interface JournalLimits {
  /** Versions at most (NSD's ixfr-number, Knot's journal-max-depth). */
  maxVersions: number;
  /** Octets of records at most, all versions together (NSD's ixfr-size, Knot's journal-max-usage). */
  maxBytes: number;
}

/** The default bounds: Knot's depth of 20, and 16 MiB (between NSD's 1 MiB and Knot's 100 MiB). */
export const JOURNAL_LIMITS: JournalLimits = { maxVersions: 20, maxBytes: 16 * 1024 * 1024 };

/** Octets of records in a version. */
export function versionBytes(v: JournalVersion): number {
  return v.oldSoa.length + v.newSoa.length + v.deleted.length + v.added.length;
}

/** The SOA record of an image as one uncompressed wire record. */
export function soaRecord(image: ZoneImage): Uint8Array {
  const arena = new RecordArena();
  const set = image.soaSet();
  arena.push(image.bytes, image.ownerAt(0), image.nameLength(0), SOA, image.setTtl(set), image.bytes, image.setRdataAt(set));
  return arena.take();
}

/**
 * The change from image `old` to image `now` (RFC 1995 §4): the records
 * only the old one has (deleted) and only the new one has (added), the apex
 * SOA aside. Both node lists are in canonical order, so one merge pairs
 * equal names (main nodes and NSEC3 nodes each); at a name present in both,
 * RRsets are paired by type (RRSIGs by the type they cover) and an RRset
 * whose TTL and octets are the same is skipped at once. A changed TTL
 * deletes the old records and adds the new (IXFR carries no TTL change).
 */
export function diffImages(old: ZoneImage, now: ZoneImage): JournalVersion {
  const deleted = new RecordArena();
  const added = new RecordArena();
  mergeNodes(old, now, 0, old.nodeCount, 0, now.nodeCount, deleted, added);
  mergeNodes(old, now, old.nodeCount, old.nodeCount + old.nsec3Count, now.nodeCount, now.nodeCount + now.nsec3Count, deleted, added);
  return {
    from: old.serial,
    to: now.serial,
    oldSoa: soaRecord(old),
    newSoa: soaRecord(now),
    deleted: deleted.take(),
    deletedCount: deleted.count,
    added: added.take(),
    addedCount: added.count,
  };
}

/**
 * Every record of an image but the apex SOA, as uncompressed wire records
 * back to back (the main nodes in canonical order, then the NSEC3 nodes):
 * what an incremental transfer in is applied to (src/xfr/apply.ts).
 */
export function imageRecords(image: ZoneImage): { records: Uint8Array; count: number } {
  const into = new RecordArena();
  for (let n = 0; n < image.nodeCount + image.nsec3Count; n++) allSets(image, n, into);
  return { records: into.take(), count: into.count };
}

/** Merges nodes [a0, a1) of `a` with [b0, b1) of `b`, writing the difference. */
function mergeNodes(a: ZoneImage, b: ZoneImage, a0: number, a1: number, b0: number, b1: number, deleted: RecordArena, added: RecordArena): void {
  const ia = sortedNodes(a, a0, a1);
  const ib = sortedNodes(b, b0, b1);
  let i = 0;
  let j = 0;
  while (i < ia.length || j < ib.length) {
    const na = i < ia.length ? ia[i]! : -1;
    const nb = j < ib.length ? ib[j]! : -1;
    const c = na < 0 ? 1 : nb < 0 ? -1 : compareCanonical(a.bytes, a.keyAt(na), a.nameLength(na), b.bytes, b.keyAt(nb), b.nameLength(nb));
    if (c < 0) {
      allSets(a, na, deleted);
      i++;
    } else if (c > 0) {
      allSets(b, nb, added);
      j++;
    } else {
      nodeDiff(a, na, b, nb, deleted, added);
      i++;
      j++;
    }
  }
}

/**
 * Nodes [from, to) in canonical order: the main nodes are stored so; the
 * NSEC3 run is its chain in hash order (canonical among siblings) and a few
 * others, sorted here only if they are out of order.
 */
function sortedNodes(image: ZoneImage, from: number, to: number): Int32Array {
  const out = new Int32Array(to - from);
  for (let i = 0; i < out.length; i++) out[i] = from + i;
  const cmp = (x: number, y: number): number => compareCanonical(image.bytes, image.keyAt(x), image.nameLength(x), image.bytes, image.keyAt(y), image.nameLength(y));
  for (let i = 1; i < out.length; i++) {
    if (cmp(out[i - 1]!, out[i]!) >= 0) {
      out.sort(cmp);
      break;
    }
  }
  return out;
}

/** Every record of the node (the apex SOA aside). */
function allSets(image: ZoneImage, node: number, into: RecordArena): void {
  const first = image.firstSet(node);
  for (let s = first; s < first + image.setCount(node); s++) {
    if (node === 0 && image.setType(s) === SOA) continue;
    setRecords(image, node, s, into);
  }
}

/** Every record of one RRset, under the node's owner name. */
function setRecords(image: ZoneImage, node: number, set: number, into: RecordArena): void {
  const bytes = image.bytes;
  let at = image.setRdataAt(set);
  const type = image.setType(set);
  const ttl = image.setTtl(set);
  const ownerAt = image.ownerAt(node);
  const ownerLength = image.nameLength(node);
  for (let r = image.setSize(set); r > 0; r--) {
    into.push(bytes, ownerAt, ownerLength, type, ttl, bytes, at);
    at += 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
  }
}

/** An RRset's identity at a node: its type, and for RRSIGs the type covered. */
function setKey(image: ZoneImage, set: number): number {
  const type = image.setType(set);
  return type === RRSIG ? type * 65536 + image.setCovered(set) : type;
}

/** The difference at a name both images hold. */
function nodeDiff(a: ZoneImage, na: number, b: ZoneImage, nb: number, deleted: RecordArena, added: RecordArena): void {
  const fa = a.firstSet(na);
  const fb = b.firstSet(nb);
  const ca = a.setCount(na);
  const cb = b.setCount(nb);
  const matched = new Uint8Array(cb);
  for (let s = fa; s < fa + ca; s++) {
    const key = setKey(a, s);
    if (na === 0 && key === SOA) continue;
    let t = -1;
    for (let k = 0; k < cb; k++) {
      if (setKey(b, fb + k) === key) {
        t = fb + k;
        matched[k] = 1;
        break;
      }
    }
    if (t < 0) setRecords(a, na, s, deleted);
    else setDiff(a, na, s, b, nb, t, deleted, added);
  }
  for (let k = 0; k < cb; k++) {
    const s = fb + k;
    if (matched[k] || (nb === 0 && setKey(b, s) === SOA)) continue;
    setRecords(b, nb, s, added);
  }
}

/** The difference of two RRsets of the same type at the same name. */
function setDiff(a: ZoneImage, na: number, sa: number, b: ZoneImage, nb: number, sb: number, deleted: RecordArena, added: RecordArena): void {
  const lenA = a.setRdataBytes(sa);
  const lenB = b.setRdataBytes(sb);
  const atA = a.setRdataAt(sa);
  const atB = b.setRdataAt(sb);
  const sameTtl = a.setTtl(sa) === b.setTtl(sb);
  if (sameTtl && lenA === lenB && a.setSize(sa) === b.setSize(sb) && Buffer.compare(a.bytes.subarray(atA, atA + lenA), b.bytes.subarray(atB, atB + lenB)) === 0) return;
  if (!sameTtl) {
    setRecords(a, na, sa, deleted);
    setRecords(b, nb, sb, added);
    return;
  }
  // The same records in another order, or some records changed: compare them as sets of RDATA.
  const left = rdataCounts(a, sa);
  const right = rdataCounts(b, sb);
  eachRecord(a, sa, (at, key) => {
    if (takeOne(right, key)) return;
    deleted.push(a.bytes, a.ownerAt(na), a.nameLength(na), a.setType(sa), a.setTtl(sa), a.bytes, at);
  });
  eachRecord(b, sb, (at, key) => {
    if (takeOne(left, key)) return;
    added.push(b.bytes, b.ownerAt(nb), b.nameLength(nb), b.setType(sb), b.setTtl(sb), b.bytes, at);
  });
}

/** Calls `fn` with each record's RDLENGTH offset and its octets as a string key. */
function eachRecord(image: ZoneImage, set: number, fn: (at: number, key: string) => void): void {
  const bytes = image.bytes;
  let at = image.setRdataAt(set);
  for (let r = image.setSize(set); r > 0; r--) {
    const len = 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
    fn(at, Buffer.from(bytes.buffer, bytes.byteOffset + at, len).toString('latin1'));
    at += len;
  }
}

/** How many times each record's octets occur in the set. */
function rdataCounts(image: ZoneImage, set: number): Map<string, number> {
  const counts = new Map<string, number>();
  eachRecord(image, set, (_at, key) => counts.set(key, (counts.get(key) ?? 0) + 1));
  return counts;
}

/** Takes one occurrence of `key` from the counts; false when none is left. */
function takeOne(counts: Map<string, number>, key: string): boolean {
  const n = counts.get(key) ?? 0;
  if (n === 0) return false;
  counts.set(key, n - 1);
  return true;
}

/** What recording a change did to the journal, and what a person should know. */
export type JournalUpdate =
  | { kind: 'kept'; journal: Journal; note: string | null }
  | { kind: 'reset'; note: string | null };

/**
 * The journal after a reload changed a zone from `old` to `now` (RFC 1995):
 * the change appended when the serial grew (RFC 1982) and the journal led
 * to `old` (otherwise it starts again from this change), the oldest
 * versions dropped past `limits`. Without a serial increase secondaries
 * never ask for the change, so the journal is reset and the note says to
 * increase the serial; a change bigger than the journal may hold resets it
 * too (secondaries then transfer the whole zone).
 */
export function recordChange(journal: Journal | null, old: ZoneImage, now: ZoneImage, limits: JournalLimits = JOURNAL_LIMITS): JournalUpdate {
  const origin = now.meta.origin;
  const order = compareSerial(now.serial, old.serial);
  const chained = journal !== null && journal.endHash === old.meta.source && journal.versions.at(-1)?.to === old.serial;
  if (order === 0) {
    const v = diffImages(old, now);
    if (v.deletedCount === 0 && v.addedCount === 0 && Buffer.compare(Buffer.from(v.oldSoa), Buffer.from(v.newSoa)) === 0) {
      // The same data (a comment changed): the journal serves the new image as it did the old.
      return chained ? { kind: 'kept', journal: { ...journal!, endHash: now.meta.source }, note: null } : { kind: 'reset', note: null };
    }
    return { kind: 'reset', note: `zone ${origin}: the zone changed but its SOA serial stayed ${now.serial}: secondaries will not ask for the change; increase the serial and reload (IXFR history reset; transfers until then are whole)` };
  }
  if (order < 0) {
    return { kind: 'reset', note: `zone ${origin}: the SOA serial went back from ${old.serial} to ${now.serial} (RFC 1982): secondaries keep their newer copy until it passes theirs; IXFR history reset` };
  }
  const version = diffImages(old, now);
  const size = versionBytes(version);
  if (size > limits.maxBytes) {
    return { kind: 'reset', note: `zone ${origin}: the change from serial ${old.serial} to ${now.serial} takes ${size} octets, more than the journal's ${limits.maxBytes}: secondaries will transfer the whole zone (AXFR)` };
  }
  const versions = chained ? [...journal!.versions, version] : [version];
  let total = versions.reduce((n, v) => n + versionBytes(v), 0);
  while (versions.length > limits.maxVersions || total > limits.maxBytes) total -= versionBytes(versions.shift()!);
  return { kind: 'kept', journal: { origin, endHash: now.meta.source, versions }, note: null };
}

/**
 * The journal after versions received by IXFR (RFC 1995) were applied to
 * image `old`, giving the image whose source hash is `endHash`: what
 * recordChange records, without diffing the two images (the versions are
 * the difference, as the primary sent them). Appended when the journal led
 * to `old`, else started from them; the oldest dropped past `limits`; reset
 * when the change alone is bigger than the journal may hold.
 */
export function appendVersions(journal: Journal | null, old: ZoneImage, endHash: string, received: readonly JournalVersion[], limits: JournalLimits = JOURNAL_LIMITS): JournalUpdate {
  const origin = old.meta.origin;
  const chained = journal !== null && journal.endHash === old.meta.source && journal.versions.at(-1)?.to === old.serial;
  const size = received.reduce((n, v) => n + versionBytes(v), 0);
  if (size > limits.maxBytes) {
    return { kind: 'reset', note: `zone ${origin}: the change to serial ${received.at(-1)?.to} takes ${size} octets, more than the journal's ${limits.maxBytes}: secondaries will transfer the whole zone (AXFR)` };
  }
  const versions = chained ? [...journal!.versions, ...received] : [...received];
  let total = versions.reduce((n, v) => n + versionBytes(v), 0);
  while (versions.length > limits.maxVersions || total > limits.maxBytes) total -= versionBytes(versions.shift()!);
  return { kind: 'kept', journal: { origin, endHash, versions }, note: null };
}

/**
 * The versions that take a secondary at serial `from` to `image` (RFC 1995
 * §4), oldest first: the journal must end at this image (its source hash
 * and serial), and hold a chain from `from` to its end. Null: it cannot
 * (the reply is then the whole zone).
 */
export function chainFrom(journal: Journal | null, from: number, image: ZoneImage): JournalVersion[] | null {
  if (journal === null || journal.endHash !== image.meta.source) return null;
  const versions = journal.versions;
  const start = versions.findIndex((v) => v.from === from >>> 0);
  if (start < 0) return null;
  for (let i = start + 1; i < versions.length; i++) if (versions[i]!.from !== versions[i - 1]!.to) return null;
  return versions.at(-1)!.to === image.serial ? versions.slice(start) : null;
}

/** File form: magic, format version, header length, a JSON header, then every record region back to back. */
const MAGIC = 'SHDNSIXJ';
const VERSION = 1;

interface HeaderVersion {
  from: number;
  to: number;
  deletedCount: number;
  addedCount: number;
  /** Octets of oldSoa, newSoa, deleted, added, in that order in the body. */
  sizes: [number, number, number, number];
}

/** The journal as a file's octets. */
export function encodeJournal(journal: Journal): Buffer {
  const versions: HeaderVersion[] = journal.versions.map((v) => ({ from: v.from, to: v.to, deletedCount: v.deletedCount, addedCount: v.addedCount, sizes: [v.oldSoa.length, v.newSoa.length, v.deleted.length, v.added.length] }));
  const header = Buffer.from(JSON.stringify({ origin: journal.origin, endHash: journal.endHash, versions }), 'utf8');
  const head = Buffer.alloc(16);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32BE(VERSION, 8);
  head.writeUInt32BE(header.length, 12);
  return Buffer.concat([head, header, ...journal.versions.flatMap((v) => [v.oldSoa, v.newSoa, v.deleted, v.added])]);
}

/** A journal read back from its file's octets, or why not (a damaged or foreign file is not used: transfers are whole until the next change). */
export function decodeJournal(bytes: Uint8Array): Journal | string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 16 || b.toString('latin1', 0, 8) !== MAGIC) return 'not a shardns IXFR journal';
  if (b.readUInt32BE(8) !== VERSION) return `journal format ${b.readUInt32BE(8)}, this shardns reads ${VERSION}`;
  const headerLength = b.readUInt32BE(12);
  if (16 + headerLength > b.length) return 'the journal is cut short';
  let parsed: { origin?: unknown; endHash?: unknown; versions?: unknown };
  try {
    parsed = JSON.parse(b.toString('utf8', 16, 16 + headerLength)) as typeof parsed;
  } catch {
    return 'the journal header is not JSON';
  }
  if (typeof parsed.origin !== 'string' || typeof parsed.endHash !== 'string' || !Array.isArray(parsed.versions)) return 'the journal header is malformed';
  let at = 16 + headerLength;
  const versions: JournalVersion[] = [];
  for (const h of parsed.versions as HeaderVersion[]) {
    if (!Array.isArray(h?.sizes) || h.sizes.length !== 4) return 'the journal header is malformed';
    const parts: Uint8Array[] = [];
    for (const size of h.sizes) {
      if (!Number.isInteger(size) || size < 0 || at + size > b.length) return 'the journal is cut short';
      parts.push(b.subarray(at, at + size));
      at += size;
    }
    versions.push({ from: h.from >>> 0, to: h.to >>> 0, oldSoa: parts[0]!, newSoa: parts[1]!, deleted: parts[2]!, deletedCount: h.deletedCount, added: parts[3]!, addedCount: h.addedCount });
  }
  if (at !== b.length) return 'the journal has octets past its last version';
  return { origin: parsed.origin, endHash: parsed.endHash, versions };
}
