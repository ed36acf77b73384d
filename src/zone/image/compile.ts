/** compileZone(): a loaded zone → the octets of its image (names in wire form, canonical order, hash index). Pure. */

import type { SoaData } from 'dns-packet';
import { lowerName } from '../../dns/ascii.js';
import { nameToWire } from '../names.js';
import { packetTypeCode, T } from '../rdata/rrtypes.js';
import { NONE, RecordStore } from '../parse/record-store.js';
import { NameTable } from '../parse/name-table.js';
import { coveredType, type Zone } from '../parse/zone.js';
import { hashLabel as nsec3Label, NSEC3_SHA1, nsec3Hash } from '../../dnssec/nsec3-hash.js';
import { align8, FORMAT_VERSION, H, HEADER_BYTES, IMAGE_FLAG, imageChecksum, MAGIC, nameHash, NO_NODE, NODE, NODE_WORDS, NSEC3_EXACT, NSEC3_INFO_WORDS, RRSET_WORDS } from './format.js';

/** Where an image came from, kept in its header. */
export interface ImageSource {
  /** The origin in presentation form (`example.com.`, `.`). */
  origin: string;
  /** Hex hash of the source octets and the format version (the store names the file by it). */
  source: string;
}

/** The most octets version 1 can address (u32 offsets). */
const MAX_IMAGE = 0xffff_fff8;

/** Octets appended to as the zone is read, doubling as needed (one allocation per doubling, not per name). */
class Arena {
  bytes: Uint8Array;
  length = 0;

  /** An arena with room for `size` octets before it first grows, or over `bytes` (its length the room). */
  constructor(size = 1 << 16, bytes?: Uint8Array) {
    this.bytes = bytes ?? new Uint8Array(Math.max(size, 1 << 16));
  }

  /** Makes room for `n` more octets and returns where they go. */
  reserve(n: number): number {
    if (this.length + n > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.length + n) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    const at = this.length;
    this.length += n;
    return at;
  }
}

/** u32 rows appended to, doubling as needed. */
class Rows {
  words: Uint32Array;
  count = 0;

  /** Rows with room for `rows` before they first grow. */
  constructor(rows = 4096) {
    this.words = new Uint32Array(RRSET_WORDS * Math.max(rows, 4096));
  }

  push(a: number, b: number, c: number, d: number, e: number): void {
    if ((this.count + 1) * RRSET_WORDS > this.words.length) {
      const grown = new Uint32Array(this.words.length * 2);
      grown.set(this.words);
      this.words = grown;
    }
    const w = this.count++ * RRSET_WORDS;
    this.words[w] = a;
    this.words[w + 1] = b;
    this.words[w + 2] = c;
    this.words[w + 3] = d;
    this.words[w + 4] = e;
  }
}

/**
 * What the compiler keeps per node (named nodes in the order read, then the
 * empty non-terminals), as typed columns grown together by doubling: a
 * million nodes in JavaScript arrays cost their growth and the collector's
 * attention, measurably (bench/builder-phases.ts).
 */
class NodeColumns {
  /** Nodes added. */
  count = 0;
  /** Offset of the lower-cased wire name in the names arena (the name as written follows it). */
  lowerAt: Uint32Array;
  /** Octets of the wire name. */
  nameLen: Uint32Array;
  /** The node's first RRset row. */
  firstSet: Uint32Array;
  /** The node's RRsets. */
  setCount: Uint32Array;
  /** NODE flags. */
  flags: Uint32Array;
  /** nameHash of the lower-cased wire name (the hash index's key). */
  hash: Uint32Array;

  constructor(capacity: number) {
    const n = Math.max(capacity, 16);
    this.lowerAt = new Uint32Array(n);
    this.nameLen = new Uint32Array(n);
    this.firstSet = new Uint32Array(n);
    this.setCount = new Uint32Array(n);
    this.flags = new Uint32Array(n);
    this.hash = new Uint32Array(n);
  }

  /** Adds a node (its set count and flags 0 until set); returns its index. */
  add(lowerAt: number, nameLen: number, firstSet: number, hash: number): number {
    const i = this.count;
    if (i === this.lowerAt.length) this.grow();
    this.lowerAt[i] = lowerAt;
    this.nameLen[i] = nameLen;
    this.firstSet[i] = firstSet;
    this.setCount[i] = 0;
    this.flags[i] = 0;
    this.hash[i] = hash;
    this.count = i + 1;
    return i;
  }

  private grow(): void {
    const n = this.lowerAt.length * 2;
    const grow = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(n);
      b.set(a);
      return b;
    };
    this.lowerAt = grow(this.lowerAt);
    this.nameLen = grow(this.nameLen);
    this.firstSet = grow(this.firstSet);
    this.setCount = grow(this.setCount);
    this.flags = grow(this.flags);
    this.hash = grow(this.hash);
  }
}

/** Characters after a canonical key in a sort key: two separators, then the node's index in four octets. */
const SORT_SUFFIX = 6;

/** The zone's apex as canonicalKey needs it: its lower-cased wire name and its number of labels. */
interface Apex {
  readonly wire: Uint8Array;
  readonly labels: number;
}

/**
 * A string whose plain comparison is the canonical order of RFC 4034 §6.1,
 * for the names at and below the apex: the labels below the apex from the
 * apex down (the apex's own labels, which every such name ends in, are left
 * out: the keys are shorter and compare faster, and the order is the same),
 * each label's octets in order, labels separated by character 0 (so an
 * ancestor, or a label that is a prefix of another, sorts first). The apex's
 * key is empty. Octets 0 and 1 become two characters (1,1 and 1,2) to stay
 * above the separator, so character 0 appears only between labels and an
 * ancestor's key is the key up to one of its characters 0. With `index` ≥ 0,
 * two characters 0 and the index (four octets) follow: the name sorts as
 * before (keys differ before the suffix, or the shorter is an ancestor and
 * sorts first either way), and the sorted key says which node it is. Built
 * as one flat latin1 string, which sorts fast without a comparator. Null
 * for a name that is not at or below the apex.
 */
function canonicalKey(lower: Uint8Array, at: number, scratch: Buffer, index: number, apex: Apex): string | null {
  const starts = LABEL_STARTS;
  let labels = 0;
  let end = at;
  for (; lower[end] !== 0; end += lower[end]! + 1) starts[labels++] = end;
  const keep = labels - apex.labels;
  if (keep < 0) return null;
  // The name ends in the apex's labels: the apex's wire form (its final zero included) from a label's start on.
  const suffix = end + 1 - apex.wire.length;
  if (suffix !== (keep < labels ? starts[keep]! : end)) return null;
  for (let k = 0; k < apex.wire.length; k++) if (lower[suffix + k] !== apex.wire[k]) return null;
  let o = 0;
  for (let j = keep - 1; j >= 0; j--) {
    const s = starts[j]!;
    if (j !== keep - 1) scratch[o++] = 0;
    for (let k = s + 1; k <= s + lower[s]!; k++) {
      const b = lower[k]!;
      if (b <= 1) {
        scratch[o++] = 1;
        scratch[o++] = b + 1;
      } else {
        scratch[o++] = b;
      }
    }
  }
  if (index >= 0) {
    scratch[o++] = 0;
    scratch[o++] = 0;
    scratch[o++] = index >>> 24;
    scratch[o++] = (index >>> 16) & 0xff;
    scratch[o++] = (index >>> 8) & 0xff;
    scratch[o++] = index & 0xff;
  }
  return latin1(scratch, o);
}

/**
 * `scratch[0, n)` as a string of one character per octet. Buffer#latin1Slice
 * is what `toString('latin1', 0, n)` ends in, without its argument checks
 * and dispatch on the encoding name: for 600,000 short keys that wrapper
 * costs about as much as making the strings (measured with
 * bench/builder-phases.ts). Node has had it on every Buffer since 0.x; the
 * fallback keeps this working should it go.
 */
const latin1: (scratch: Buffer, n: number) => string =
  typeof (Buffer.prototype as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (scratch, n) => (scratch as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(0, n)
    : (scratch, n) => scratch.toString('latin1', 0, n);

/** Where each label of the name canonicalKey reads starts (a name has at most 127 labels). */
const LABEL_STARTS = new Int32Array(128);

/** The node index at the end of a sort key. */
function sortIndex(sortKey: string): number {
  const n = sortKey.length;
  return ((sortKey.charCodeAt(n - 4) << 24) | (sortKey.charCodeAt(n - 3) << 16) | (sortKey.charCodeAt(n - 2) << 8) | sortKey.charCodeAt(n - 1)) >>> 0;
}

/**
 * Whether the name of the key `a[0, aLen)` is an ancestor of that of the key
 * `k[0, kLen)` (the empty key is the root, every name's ancestor). Keys are
 * read in place in their sort keys, so no key is sliced out of one.
 */
function isAncestorKey(a: string, aLen: number, k: string, kLen: number): boolean {
  if (aLen === 0) return kLen > 0;
  if (kLen <= aLen || k.charCodeAt(aLen) !== 0) return false;
  for (let i = 0; i < aLen; i++) if (a.charCodeAt(i) !== k.charCodeAt(i)) return false;
  return true;
}

/**
 * Compiles a zone as the parser loaded it into one image (doc/zone-image.md):
 * nodes in canonical order with the apex first, the empty non-terminals
 * added (RFC 4592 §2.2.2), cut/glue/wildcard/CNAME/DNAME flags set, RRsets
 * in zone-file order with RDATA in wire form (names uncompressed), and a
 * hash index over the lower-cased names. The names and RDATA are laid out
 * in node order, the order AXFR and NSEC walks read them. Throws if the zone does not fit
 * the format (over 4 GiB). Names and RDATA are gathered in two growing
 * arenas and typed rows, so a million names cost a few allocations, not
 * millions.
 */
export function compileZone(zone: Zone, source: ImageSource): Uint8Array {
  return joinImage(compileZoneParts(zone, source));
}

/**
 * An image as the compiler leaves it: its octets in file order as a few
 * pieces (the header and the tables, then the names and RDATA where they
 * were gathered, then the meta), the checksum already in the header. Written
 * to a file as they are (one writev), they need no copy into one buffer of
 * the image's size: for a million records that buffer was 80 MB of fresh
 * memory, and touching fresh memory costs about 1 ms per MB here (page
 * faults), more than the copy.
 */
export interface CompiledImage {
  /** Octets of the whole image (the pieces together). */
  readonly length: number;
  /** The image's octets in order, padding included. */
  readonly pieces: readonly Uint8Array[];
}

/** A compiled image's pieces as one buffer of its own (8-octet aligned, as ZoneImage wants). */
export function joinImage(image: CompiledImage): Uint8Array {
  const bytes = new Uint8Array(image.length);
  let at = 0;
  for (const p of image.pieces) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}

/** compileZone's work, the image left in pieces (see CompiledImage). */
export function compileZoneParts(zone: Zone, source: ImageSource): CompiledImage {
  // The zone's records as the parser stored them: wire RDATA in one arena, each name's list in typed arrays.
  const table = compactNodes(zone);
  const store = table.store;
  // The set rows are sized from the store so a big zone never grows them: there are no more RRsets than
  // records. (The rdata region is sized exactly, once every set is counted: layoutRdata.)
  // Per node, in the order read: the names region's entry (the wire length, the lower-cased wire, the
  // original-case wire). The table keeps its names laid out just so (name-table.ts): the arena is the
  // table's, lent (read in place, no copy), the empty non-terminals appended; the image's names region
  // is each node's entry copied out of it in node order (doc/zone-image.md, format 3).
  const names = new Arena(0, table.lendNames());
  names.length = table.namesUsed;
  // RRSET_WORDS per RRset, in the order read. Until the RDATA is laid out (layoutRdata), word 2 is
  // the set's first record in the store, not its offset in the rdata region.
  const sets = new Rows(store.count);
  // Octets of every set's records with their RDLENGTH fields: the rdata region's size.
  let rdataBytes = 0;
  const scratch = Buffer.alloc(1024);
  // Per node, by the order read (empty non-terminals after the named nodes).
  const nodes = new NodeColumns(table.size + (table.size >> 3));
  // Each named node's canonical key with its index appended (see SORT_SUFFIX): sorted as plain strings.
  const sortKeys: string[] = [];
  // The same for the nodes that own only NSEC3 records and their signatures: outside the tree (RFC 5155 §7.2).
  const nsec3Keys: string[] = [];
  let records = 0;
  let imageFlags = 0;
  let sawApex = false;

  const originWire = nameToWire(zone.origin);
  const apexLower = new Uint8Array(originWire.length);
  lowerName(originWire, 0, originWire.length, apexLower, 0);
  let apexLabels = 0;
  for (let i = 0; apexLower[i] !== 0; i += apexLower[i]! + 1) apexLabels++;
  const apexName: Apex = { wire: apexLower, labels: apexLabels };

  for (let e = 0; e < table.size; e++) {
    const head = table.head[e]!;
    // (Never so for a table the builder or compactNodes made: each name comes with its first record. Were it so, its
    // entry would stay in the lent arena and never be copied into the names region: only nodes are.)
    if (head === NONE) continue;
    const at = table.nameAt[e]!;
    const len = names.bytes[at - 1]!;
    const index = nodes.add(at, len, sets.count, table.hash[e]!);
    const sortKey = canonicalKey(names.bytes, at, scratch, index, apexName);
    if (sortKey === null) throw new Error(`zone ${source.origin}: a name is not below the apex`);
    const apex = sortKey.length === SORT_SUFFIX;
    if (apex) sawApex = true;
    let f = apex ? NODE.apex : 0;
    if (len > 1 && names.bytes[at + len] === 1 && names.bytes[at + len + 1] === 0x2a) f |= NODE.wildcard;
    // The RRsets: adjacent runs of one type (and, for RRSIG and SIG, one type covered), as rrsets() splits them.
    let nsec3Only = true;
    let setsHere = 0;
    for (let r = head; r !== NONE; ) {
      const code = store.code[r]!;
      const setKey = store.setKey(r);
      const first = r;
      let octets = 0;
      let count = 0;
      // The set's records (copied later, in node order: layoutRdata).
      const signature = code === T.RRSIG || code === T.SIG;
      for (; r !== NONE && store.code[r] === code && (!signature || store.setKey(r) === setKey); r = store.next[r]!) {
        octets += 2 + store.len[r]!;
        count++;
      }
      if (count > 0xffff) throw new Error(`zone ${source.origin}: an RRset of more than 65535 records`);
      if (code === T.NS && !apex) f |= NODE.cut;
      else if (code === T.CNAME) f |= NODE.cname;
      else if (code === T.DNAME) f |= NODE.dname;
      else if (code === T.RRSIG) imageFlags |= IMAGE_FLAG.signed;
      else if (code === T.NSEC3) imageFlags |= IMAGE_FLAG.nsec3;
      const covered = code === T.RRSIG ? Math.max(0, coveredType(setKey)) : 0;
      if (code !== T.NSEC3 && !(code === T.RRSIG && covered === T.NSEC3)) nsec3Only = false;
      if (code === T.RRSIG && covered === T.DNSKEY) imageFlags |= IMAGE_FLAG.secure;
      records += count;
      sets.push(code | (count << 16), store.ttl[first]! >>> 0, first, octets, covered);
      rdataBytes += octets;
      setsHere++;
    }
    if (setsHere > 0xffff) throw new Error(`zone ${source.origin}: more than 65535 RRsets at one name`);
    nodes.setCount[index] = setsHere;
    nodes.flags[index] = f;
    (nsec3Only ? nsec3Keys : sortKeys).push(sortKey);
  }
  if (!sawApex) throw new Error(`zone ${source.origin} has no records at its apex`);

  // Canonical order (RFC 4034 §6.1): the keys sort as plain strings, natively, without a comparator.
  sortKeys.sort();

  // One walk in that order places every node after its parent, and the empty non-terminals
  // (RFC 4592 §2.2.2: every name between an owner and the apex exists) right before the first
  // name below them, named in that name's case. A stack holds the ancestors of the current name.
  // Node index by rank in that order, and each rank's parent's rank; sized for every node (ENTs may grow them).
  let order = new Uint32Array(nodes.count + (nodes.count >> 3) + 16);
  let parent = new Uint32Array(order.length);
  let placed = 0;
  // The ancestors of the current name: each as a sort key and the length of its key in it.
  const stackKey: string[] = [];
  const stackLen: number[] = [];
  const stackRank: number[] = [];
  const place = (i: number, key: string, len: number): void => {
    const rank = placed;
    const up = stackRank.length > 0 ? stackRank[stackRank.length - 1]! : -1;
    if (rank === order.length) {
      const o = new Uint32Array(2 * rank);
      o.set(order);
      order = o;
      const q = new Uint32Array(2 * rank);
      q.set(parent);
      parent = q;
    }
    order[rank] = i;
    parent[rank] = up < 0 ? NO_NODE : up;
    placed = rank + 1;
    if (up >= 0) {
      const flags = nodes.flags;
      const p = order[up]!;
      if ((flags[i]! & NODE.wildcard) !== 0) flags[p] = flags[p]! | NODE.wildcardChild;
      if ((flags[p]! & (NODE.cut | NODE.belowCut)) !== 0) flags[i] = flags[i]! | NODE.belowCut;
    }
    stackKey.push(key);
    stackLen.push(len);
    stackRank.push(rank);
  };
  for (let s = 0; s < sortKeys.length; s++) {
    const sortKey = sortKeys[s]!;
    // The name's key is sortKey[0, end): the suffix (two characters 0 and the index) follows it.
    const end = sortKey.length - SORT_SUFFIX;
    const i = sortIndex(sortKey);
    if (placed === 0) {
      if (end !== 0) throw new Error(`zone ${source.origin}: a name sorts before the apex`);
      place(i, sortKey, end);
      continue;
    }
    while (stackKey.length > 0 && !isAncestorKey(stackKey[stackKey.length - 1]!, stackLen[stackLen.length - 1]!, sortKey, end)) {
      stackKey.pop();
      stackLen.pop();
      stackRank.pop();
    }
    if (stackKey.length === 0) throw new Error(`zone ${source.origin}: a name is not below the apex`);
    // Ancestors of this name below the deepest existing one do not exist: empty non-terminals.
    const topLen = stackLen[stackLen.length - 1]!;
    for (let sep = sortKey.indexOf('\u0000', topLen === 0 ? 0 : topLen + 1); sep >= 0 && sep < end; sep = sortKey.indexOf('\u0000', sep + 1)) {
      // The ancestor ending at `sep` is the name with as many labels cut from the front as separators from `sep` on.
      let cut = 0;
      for (let k = sep; k >= 0 && k < end; k = sortKey.indexOf('\u0000', k + 1)) cut++;
      let at = nodes.lowerAt[i]!;
      let len = nodes.nameLen[i]!;
      for (let c = 0; c < cut; c++) {
        const skip = names.bytes[at]! + 1;
        at += skip;
        len -= skip;
      }
      const ownerAt = nodes.lowerAt[i]! + nodes.nameLen[i]! + (at - nodes.lowerAt[i]!);
      const copy = names.reserve(1 + 2 * len) + 1;
      names.bytes[copy - 1] = len;
      names.bytes.copyWithin(copy, at, at + len);
      names.bytes.copyWithin(copy + len, ownerAt, ownerAt + len);
      const e = nodes.add(copy, len, 0, nameHash(names.bytes, copy, copy + len));
      const star = len > 1 && names.bytes[copy] === 1 && names.bytes[copy + 1] === 0x2a;
      nodes.flags[e] = NODE.emptyNonTerminal | (star ? NODE.wildcard : 0);
      place(e, sortKey, sep);
    }
    place(i, sortKey, end);
  }
  const count = placed;
  const { lowerAt, nameLen, firstSet, setCount, flags } = nodes;
  // The NSEC3-only nodes in canonical order (of their owner names; the chain's hash order for a chain one label below the apex).
  nsec3Keys.sort();
  const rdata = layoutRdata(store, sets.words, firstSet, setCount, order.subarray(0, count), nsec3Keys, rdataBytes);
  const nsec3 = nsec3Chain(nsec3Keys, order.subarray(0, count), names.bytes, lowerAt, nameLen, firstSet, setCount, flags, sets.words, rdata.bytes);
  const nsec3Count = nsec3.nodes.length;

  if (nodes.count !== count + nsec3Count) throw new Error(`zone ${source.origin}: ${nodes.count} names gathered for ${count + nsec3Count} nodes`);
  // The names region: every node's entry (length, lower-cased wire, wire as written), in node order.
  let namesBytes = 0;
  for (let i = 0; i < nodes.count; i++) namesBytes += 1 + 2 * nameLen[i]!;
  let slots = 1024;
  while (slots < count * 2) slots *= 2;
  const soa = zone.soa.data as SoaData;
  const meta = Buffer.from(JSON.stringify({ origin: source.origin, source: source.source, built: new Date().toISOString() }), 'utf8');

  const nodesOff = HEADER_BYTES;
  const setsOff = align8(nodesOff + (count + nsec3Count) * NODE_WORDS * 4);
  const hashOff = align8(setsOff + sets.count * RRSET_WORDS * 4);
  const infoOff = align8(hashOff + slots * 4);
  const infoCount = nsec3.info === null ? 0 : count;
  const namesOff = align8(infoOff + infoCount * NSEC3_INFO_WORDS * 4);
  const rdataOff = align8(namesOff + namesBytes);
  const metaOff = align8(rdataOff + rdata.length);
  const total = align8(metaOff + meta.length);
  if (total > MAX_IMAGE) throw new Error(`zone ${source.origin} needs a ${total}-octet image; format version ${FORMAT_VERSION} holds at most 4 GiB`);

  // The header and the tables are made here; the names and RDATA stay in their arenas (the pieces refer to them).
  const buffer = new ArrayBuffer(namesOff);
  const bytes = new Uint8Array(buffer);
  const head = new DataView(buffer, 0, HEADER_BYTES);
  for (let i = 0; i < MAGIC.length; i++) bytes[i] = MAGIC.charCodeAt(i);
  const put = (off: number, v: number): void => head.setUint32(off, v, true);
  put(H.version, FORMAT_VERSION);
  put(H.headerBytes, HEADER_BYTES);
  put(H.totalBytes, total);
  put(H.flags, imageFlags);
  put(H.nodeCount, count);
  put(H.nodesOff, nodesOff);
  put(H.rrsetCount, sets.count);
  put(H.rrsetsOff, setsOff);
  put(H.namesOff, namesOff);
  put(H.namesBytes, namesBytes);
  put(H.rdataOff, rdataOff);
  put(H.rdataBytes, rdata.length);
  put(H.hashOff, hashOff);
  put(H.hashSlots, slots);
  put(H.nsec3NodeCount, nsec3Count);
  put(H.nsec3NodesOff, nodesOff + count * NODE_WORDS * 4);
  put(H.nsec3InfoOff, infoOff);
  put(H.nsec3InfoCount, infoCount);
  put(H.nsec3ChainCount, nsec3.chain);
  put(H.nsec3ParamAt, nsec3.paramAt);
  put(H.recordCount, records);
  put(H.serial, (soa.serial ?? 0) >>> 0);
  put(H.metaOff, metaOff);
  put(H.metaBytes, meta.length);

  const nodeWords = new Uint32Array(buffer, nodesOff, (count + nsec3Count) * NODE_WORDS);
  const setWords = new Uint32Array(buffer, setsOff, sets.count * RRSET_WORDS);
  // Each node's name hash in node order, for the hash index (filled after this walk).
  const rankHash = new Uint32Array(count);
  let setAt = 0;
  const hashes = nodes.hash;
  // The names in the order AXFR and NSEC walks read them (node order), copied out of the arena the
  // name table lent (in the order the zone file first named them).
  const namesOut = new Uint8Array(namesBytes);
  const from = names.bytes;
  let nameAt = 0;
  const copyName = (i: number): number => {
    const at = nameAt;
    const end = lowerAt[i]! + 2 * nameLen[i]!;
    let o = at;
    for (let k = lowerAt[i]! - 1; k < end; k++) namesOut[o++] = from[k]!;
    nameAt = o;
    return at;
  };
  for (let r = 0; r < count; r++) {
    const i = order[r]!;
    const w = r * NODE_WORDS;
    const h = hashes[i]!;
    nodeWords[w] = copyName(i);
    nodeWords[w + 1] = parent[r]!;
    nodeWords[w + 2] = setAt;
    nodeWords[w + 3] = (setCount[i]! & 0xffff) | (flags[i]! << 16);
    nodeWords[w + 4] = h;
    rankHash[r] = h;
    // The node's RRsets, consecutive in node order (their RDATA laid out so by layoutRdata).
    const from = firstSet[i]! * RRSET_WORDS;
    const n = setCount[i]! * RRSET_WORDS;
    const words = sets.words;
    for (let k = 0, to = setAt * RRSET_WORDS; k < n; k++) setWords[to + k] = words[from + k]!;
    setAt += setCount[i]!;
  }
  // The hash index (doc/zone-image.md): linear probing, nodes inserted in node order. A loop of its own: each
  // insertion is a cache miss in a table of megabytes, and only here, with no other work between them, do the
  // misses of successive nodes overlap (inside the walk above they took ~0.1 s for 644,000 nodes, here 10–20 ms).
  const hash = new Uint32Array(buffer, hashOff, slots);
  const mask = slots - 1;
  for (let r = 0; r < count; r++) {
    let p = rankHash[r]! & mask;
    while (hash[p] !== 0) p = (p + 1) & mask;
    hash[p] = r + 1;
  }
  // The NSEC3 nodes after the main ones: parent the apex, not in the hash index, owner names lower-cased.
  for (let k = 0; k < nsec3Count; k++) {
    const i = nsec3.nodes[k]!;
    const len = nameLen[i]!;
    const w = (count + k) * NODE_WORDS;
    // Lower case both times: NSD sends NSEC3 owners lower-cased, whatever the zone file wrote.
    const at = copyName(i);
    namesOut.copyWithin(at + 1 + len, at + 1, at + 1 + len);
    nodeWords[w] = at;
    nodeWords[w + 1] = 0;
    nodeWords[w + 2] = setAt;
    nodeWords[w + 3] = (setCount[i]! & 0xffff) | (flags[i]! << 16);
    nodeWords[w + 4] = hashes[i]!;
    const from = firstSet[i]! * RRSET_WORDS;
    const n = setCount[i]! * RRSET_WORDS;
    for (let q = 0, to = setAt * RRSET_WORDS; q < n; q++) setWords[to + q] = sets.words[from + q]!;
    setAt += setCount[i]!;
  }
  if (nsec3.info !== null) new Uint32Array(buffer, infoOff, infoCount * NSEC3_INFO_WORDS).set(nsec3.info);
  // Zeros between the regions (each starts on an 8-octet boundary) and after the meta.
  const pad = (n: number): Uint8Array => new Uint8Array(n);
  const tail = new Uint8Array(total - (rdataOff + rdata.length));
  tail.set(meta, metaOff - (rdataOff + rdata.length));
  const pieces = [bytes, namesOut, pad(rdataOff - (namesOff + namesBytes)), rdata.bytes.subarray(0, rdata.length), tail].filter((p) => p.length > 0);
  put(H.checksum, imageChecksum(pieces));
  return { length: total, pieces };
}


/**
 * The rdata region, laid out in the order AXFR reads it: node by node in
 * node order (the main nodes by rank, then the NSEC3-only nodes in
 * `nsec3Keys` order), each node's RRsets in their order, each set's records
 * one run of RDLENGTH and RDATA. Every set row's word 2 (the set's first
 * record in the store until now) becomes its offset in the region. A
 * transfer then reads names and RDATA front to back instead of at the
 * places the zone file's order put them (bench/README.md, issue 15).
 */
function layoutRdata(store: RecordStore, setWords: Uint32Array, firstSet: Uint32Array, setCount: Uint32Array, order: Uint32Array, nsec3Keys: readonly string[], octets: number): Arena {
  const rdata = new Arena(octets);
  const b = rdata.bytes;
  const { wire, len, at, next } = store;
  let o = 0;
  const node = (i: number): void => {
    for (let s = firstSet[i]!, end = s + setCount[i]!; s < end; s++) {
      const w = s * RRSET_WORDS;
      let r = setWords[w + 2]!;
      setWords[w + 2] = o;
      for (let n = setWords[w]! >>> 16; n > 0; n--, r = next[r]!) {
        const size = len[r]!;
        b[o] = size >> 8;
        b[o + 1] = size & 0xff;
        o += 2;
        for (let k = at[r]!, e = k + size; k < e; k++) b[o++] = wire[k]!;
      }
    }
  };
  for (let r = 0; r < order.length; r++) node(order[r]!);
  for (const key of nsec3Keys) node(sortIndex(key));
  if (o !== octets) throw new Error(`the rdata region came to ${o} octets, not the ${octets} counted`);
  rdata.length = o;
  return rdata;
}

/**
 * The zone's records as the parser keeps them (a NameTable over a
 * RecordStore); a zone given as a plain map of records (tests, tools) is
 * stored so first, in its order.
 */
function compactNodes(zone: Zone): NameTable {
  if (zone.nodes instanceof NameTable) return zone.nodes;
  const table = new NameTable(new RecordStore());
  for (const records of zone.nodes.values()) {
    let last = NONE;
    for (const r of records) {
      const i = table.store.append(packetTypeCode(r.type), r.ttl, r);
      if (last === NONE) table.addName(r.name, i);
      else if (table.store.linkAfter(i, last)) table.tail[table.size - 1] = i;
      last = i;
    }
  }
  return table;
}

/** The NSEC3 side of an image: its nodes (chain first), the chain's length, the parameters served by, and the per-node facts. */
interface Nsec3Layout {
  /** Node indexes (read order) of the NSEC3-only nodes, the chain's first in hash order. */
  nodes: number[];
  chain: number;
  /** Offset of the chosen NSEC3PARAM's RDLENGTH in the rdata region, or NO_NODE. */
  paramAt: number;
  /** NSEC3_INFO_WORDS per main node in node order, or null without a usable chain. */
  info: Uint32Array | null;
}

/** NSEC3 (RFC 5155 §3.2) RDATA: whether it uses the NSEC3PARAM parameters `param` (algorithm, iterations, salt; flags aside), as NSD compares them. */
function usesParams(rd: Uint8Array, at: number, len: number, param: Uint8Array, pAt: number, pLen: number): boolean {
  if (pLen > len || pLen < 5 || rd[at] !== param[pAt]) return false;
  for (let k = 2; k < pLen; k++) if (rd[at + k] !== param[pAt + k]) return false;
  return true;
}

/** Whether an NSEC3 RDATA's type bitmap (RFC 4034 §4.1.2) has SOA: the record of the apex. */
function nsec3HasSoa(rd: Uint8Array, at: number, len: number): boolean {
  if (len < 6) return false;
  let p = at + 5 + rd[at + 4]!; // past algorithm, flags, iterations, salt
  p += 1 + rd[p]!; // past the next hashed owner
  const end = at + len;
  while (p + 2 <= end) {
    const window = rd[p]!;
    const n = rd[p + 1]!;
    if (window === 0) return n >= 1 && (rd[p + 2]! & 0x02) !== 0;
    p += 2 + n;
  }
  return false;
}

/**
 * Places the NSEC3-only nodes and, when the zone is served with NSEC3,
 * precomputes what NSD's prehash does (RFC 5155 §7.2): the parameters are
 * those of the first apex NSEC3PARAM with SHA-1 and flags 0 whose chain
 * holds the apex's NSEC3 with SOA in it; the chain is the NSEC3 nodes one
 * label below the apex owning an NSEC3 of those parameters, in hash order;
 * every main node not below a cut gets the NSEC3 matching or covering its
 * hash (the previous one in the chain, wrapping from the last, RFC 5155
 * §7.2.1), and those not at a cut the one covering `*.<name>`.
 */
function nsec3Chain(
  keys: string[],
  order: Uint32Array,
  names: Uint8Array,
  lowerAt: Uint32Array,
  nameLen: Uint32Array,
  firstSet: Uint32Array,
  setCount: Uint32Array,
  flags: Uint32Array,
  setWords: Uint32Array,
  rdata: Uint8Array,
): Nsec3Layout {
  keys.sort();
  const nodes = keys.map(sortIndex);
  const none: Nsec3Layout = { nodes, chain: 0, paramAt: NO_NODE, info: null };
  if (nodes.length === 0) return none;
  const apex = order[0]!;
  const apexAt = lowerAt[apex]!;
  const apexLen = nameLen[apex]!;
  const setOf = (i: number, type: number): number => {
    for (let s = firstSet[i]!; s < firstSet[i]! + setCount[i]!; s++) if ((setWords[s * RRSET_WORDS]! & 0xffff) === type) return s;
    return -1;
  };
  // An NSEC3 node one label below the apex: its label, lower-cased, else null.
  const labelOf = (i: number): string | null => {
    const at = lowerAt[i]!;
    const l = names[at]!;
    if (nameLen[i] !== 1 + l + apexLen) return null;
    for (let k = 0; k < apexLen; k++) if (names[at + 1 + l + k] !== names[apexAt + k]) return null;
    return Buffer.from(names.buffer, names.byteOffset + at + 1, l).toString('latin1');
  };
  // Whether node i owns an NSEC3 of the parameters (and, with `soa`, one whose bitmap has SOA).
  const hasNsec3 = (i: number, param: number, soa: boolean): boolean => {
    const s = setOf(i, T.NSEC3);
    if (s < 0) return false;
    const pLen = (rdata[param]! << 8) | rdata[param + 1]!;
    let at = setWords[s * RRSET_WORDS + 2]!;
    for (let r = setWords[s * RRSET_WORDS]! >>> 16; r > 0; r--) {
      const len = (rdata[at]! << 8) | rdata[at + 1]!;
      if (usesParams(rdata, at + 2, len, rdata, param + 2, pLen) && (!soa || nsec3HasSoa(rdata, at + 2, len))) return true;
      at += 2 + len;
    }
    return false;
  };
  const hashLabel = (name: Uint8Array, at: number, len: number, param: number): string => {
    const saltLen = rdata[param + 6]!;
    const salt = rdata.subarray(param + 7, param + 7 + saltLen);
    const iterations = (rdata[param + 4]! << 8) | rdata[param + 5]!;
    return nsec3Label(nsec3Hash(name, at, at + len, salt, iterations));
  };

  const params = setOf(apex, T.NSEC3PARAM);
  let paramAt = NO_NODE;
  if (params >= 0) {
    let at = setWords[params * RRSET_WORDS + 2]!;
    for (let r = setWords[params * RRSET_WORDS]! >>> 16; r > 0 && paramAt === NO_NODE; r--) {
      const len = (rdata[at]! << 8) | rdata[at + 1]!;
      if (len >= 5 && rdata[at + 2] === NSEC3_SHA1 && rdata[at + 3] === 0) {
        const apexLabel = hashLabel(names, apexAt, apexLen, at);
        if (nodes.some((i) => labelOf(i) === apexLabel && hasNsec3(i, at, true))) paramAt = at;
      }
      at += 2 + len;
    }
  }
  if (paramAt === NO_NODE) return none;

  const chainNodes: number[] = [];
  const others: number[] = [];
  for (const i of nodes) (labelOf(i) !== null && hasNsec3(i, paramAt, false) ? chainNodes : others).push(i);
  const labels = chainNodes.map((i) => labelOf(i)!);
  // The chain entry matching or covering a hash: the last label ≤ it, else the last (the chain wraps).
  const cover = (h: string): number => {
    let lo = 0;
    let hi = labels.length - 1;
    let found = labels.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (labels[mid]! <= h) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (labels[0]! > h) found = labels.length - 1;
    return labels[found] === h ? (found | NSEC3_EXACT) >>> 0 : found;
  };
  const info = new Uint32Array(order.length * NSEC3_INFO_WORDS).fill(NO_NODE);
  const wild = new Uint8Array(2 + 255);
  wild[0] = 1;
  wild[1] = 0x2a;
  for (let r = 0; r < order.length; r++) {
    const i = order[r]!;
    const f = flags[i]!;
    if ((f & NODE.belowCut) !== 0) continue;
    const at = lowerAt[i]!;
    const len = nameLen[i]!;
    info[r * NSEC3_INFO_WORDS] = cover(hashLabel(names, at, len, paramAt));
    if ((f & NODE.cut) !== 0 || len + 2 > 255) continue;
    wild.set(names.subarray(at, at + len), 2);
    info[r * NSEC3_INFO_WORDS + 1] = cover(hashLabel(wild, 0, len + 2, paramAt)) & ~NSEC3_EXACT;
  }
  return { nodes: [...chainNodes, ...others], chain: chainNodes.length, paramAt, info };
}
