/** ZoneImage: reading one compiled zone version (owner names, RRsets, wire RDATA) from its octets, mapped or in memory. */

import { endianness } from 'node:os';
import { FORMAT_VERSION, H, HEADER_BYTES, IMAGE_FLAG, imageChecksum, MAGIC, nameHash, NO_NODE, NODE, NODE_WORDS, NSEC3_EXACT, NSEC3_INFO_WORDS, RRSET_WORDS } from './format.js';

/** Why octets are not a usable image (the store then rebuilds it from the source). */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

/** What the image says about itself (the header's JSON). */
export interface ImageMeta {
  /** The origin in presentation form, e.g. `example.com.` or `.`. */
  readonly origin: string;
  /** Hex hash of the source octets and format version the image was built from. */
  readonly source: string;
  /** When it was built (ISO 8601). */
  readonly built: string;
  /**
   * Images made by applying an IXFR (patch.ts) only: the octets of the names
   * and RDATA regions still referenced (the rest are dead octets a full
   * build compacts away), as 10-digit decimal text, so that the meta's
   * length is known before they are; the next patch starts from them.
   */
  readonly live?: { readonly names: string; readonly rdata: string };
}

/** RRSIG (RFC 4034 §3): its sets are kept per covered type. */
const RRSIG = 46;

/**
 * A compiled zone, read in place: nothing is copied out of `bytes` at open
 * except the header. Nodes are numbered in canonical order (RFC 4034 §6.1),
 * the apex first; RRsets are numbered across the zone, each node's in a run.
 * Names handed out are views of the image (lower-cased key or original case),
 * valid as long as the image's memory is: a caller that keeps one past a
 * swap must copy it.
 */
export class ZoneImage {
  readonly bytes: Uint8Array;
  readonly meta: ImageMeta;
  readonly nodeCount: number;
  readonly rrsetCount: number;
  readonly recordCount: number;
  readonly serial: number;
  readonly flags: number;
  /** The apex's lower-cased wire name (a view). */
  readonly originKey: Uint8Array;
  /** NSEC3-only nodes (RFC 5155 §7.2), numbered nodeCount … nodeCount + nsec3Count - 1, outside the tree. */
  readonly nsec3Count: number;
  /** The first nsec3Chain of them make the chain of the served parameters, in hash order. */
  readonly nsec3Chain: number;
  /** Where the served NSEC3PARAM's RDLENGTH is in `bytes`, or -1: the zone is not served with NSEC3 proofs. */
  readonly nsec3ParamAt: number;
  /** An RRSIG covers a DNSKEY: DO=1 answers carry signatures (IMAGE_FLAG.secure). */
  readonly secure: boolean;
  private readonly nsec3Info: Uint32Array | null;
  private readonly nodes: Uint32Array;
  private readonly sets: Uint32Array;
  private readonly hash: Uint32Array;
  private readonly hashMask: number;
  private readonly namesOff: number;
  private readonly rdataOff: number;

  /**
   * Opens an image. Checks the magic, version, sizes and region bounds;
   * with `verify`, also the checksum (a full read: the store verifies once
   * when it first trusts a file, workers need not).
   */
  constructor(bytes: Uint8Array, options: { verify?: boolean } = {}) {
    if (endianness() !== 'LE') throw new ImageError('zone images are little-endian; this machine is not');
    if (bytes.byteOffset % 8 !== 0) throw new ImageError('image octets must start on an 8-octet boundary');
    if (bytes.length < HEADER_BYTES) throw new ImageError(`image is ${bytes.length} octets, shorter than its ${HEADER_BYTES}-octet header`);
    for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) throw new ImageError('not a shardns zone image (bad magic)');
    const head = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
    const u32 = (off: number): number => head.getUint32(off, true);
    if (u32(H.version) !== FORMAT_VERSION) throw new ImageError(`image format version ${u32(H.version)}, this shardns reads ${FORMAT_VERSION}`);
    if (u32(H.totalBytes) !== bytes.length) throw new ImageError(`image says it is ${u32(H.totalBytes)} octets but ${bytes.length} are there (truncated or grown)`);
    if (options.verify && imageChecksum(bytes) !== u32(H.checksum)) throw new ImageError('image checksum does not match its contents (corrupted)');
    this.bytes = bytes;
    this.flags = u32(H.flags);
    this.nodeCount = u32(H.nodeCount);
    this.rrsetCount = u32(H.rrsetCount);
    this.recordCount = u32(H.recordCount);
    this.serial = u32(H.serial);
    const region = (off: number, len: number, what: string): void => {
      if (off % 8 !== 0 || off < HEADER_BYTES || off + len > bytes.length) throw new ImageError(`image ${what} region out of bounds`);
    };
    const nodesOff = u32(H.nodesOff);
    const setsOff = u32(H.rrsetsOff);
    const hashOff = u32(H.hashOff);
    const slots = u32(H.hashSlots);
    this.nsec3Count = u32(H.nsec3NodeCount);
    this.nsec3Chain = u32(H.nsec3ChainCount);
    if (u32(H.nsec3NodesOff) !== nodesOff + this.nodeCount * NODE_WORDS * 4 || this.nsec3Chain > this.nsec3Count) throw new ImageError('image NSEC3 node table misplaced');
    region(nodesOff, (this.nodeCount + this.nsec3Count) * NODE_WORDS * 4, 'node');
    region(setsOff, this.rrsetCount * RRSET_WORDS * 4, 'RRset');
    region(hashOff, slots * 4, 'hash');
    if (slots === 0 || (slots & (slots - 1)) !== 0 || slots < this.nodeCount) throw new ImageError('image hash index has a bad size');
    this.namesOff = u32(H.namesOff);
    this.rdataOff = u32(H.rdataOff);
    region(this.namesOff, u32(H.namesBytes), 'names');
    region(this.rdataOff, u32(H.rdataBytes), 'rdata');
    region(u32(H.metaOff), u32(H.metaBytes), 'meta');
    const buffer = bytes.buffer;
    const base = bytes.byteOffset;
    this.nodes = new Uint32Array(buffer, base + nodesOff, (this.nodeCount + this.nsec3Count) * NODE_WORDS);
    const infoCount = u32(H.nsec3InfoCount);
    const infoOff = u32(H.nsec3InfoOff);
    if (infoCount !== 0 && infoCount !== this.nodeCount) throw new ImageError('image NSEC3 facts do not match its nodes');
    region(infoOff, infoCount * NSEC3_INFO_WORDS * 4, 'NSEC3 facts');
    this.nsec3Info = infoCount === 0 ? null : new Uint32Array(buffer, base + infoOff, infoCount * NSEC3_INFO_WORDS);
    const paramAt = u32(H.nsec3ParamAt);
    this.nsec3ParamAt = paramAt === NO_NODE || this.nsec3Info === null ? -1 : this.rdataOff + paramAt;
    if (this.nsec3ParamAt >= 0 && this.nsec3ParamAt + 7 > this.rdataOff + u32(H.rdataBytes)) throw new ImageError('image NSEC3PARAM out of bounds');
    this.secure = (this.flags & IMAGE_FLAG.secure) !== 0;
    this.sets = new Uint32Array(buffer, base + setsOff, this.rrsetCount * RRSET_WORDS);
    this.hash = new Uint32Array(buffer, base + hashOff, slots);
    this.hashMask = slots - 1;
    const metaOff = u32(H.metaOff);
    this.meta = JSON.parse(Buffer.from(buffer, base + metaOff, u32(H.metaBytes)).toString('utf8')) as ImageMeta;
    if (this.nodeCount === 0) throw new ImageError('image has no apex node');
    this.originKey = this.key(0);
  }

  // ---------- names ----------

  /**
   * The node whose lower-cased wire name is `name[start, end)`, or -1.
   * `end` is one past the name's terminating zero octet. `hash` may be given
   * when the caller has it (nameHash over the same octets).
   */
  find(name: Uint8Array, start: number, end: number, hash = nameHash(name, start, end)): number {
    const slots = this.hash;
    const mask = this.hashMask;
    const nodes = this.nodes;
    const bytes = this.bytes;
    const len = end - start;
    for (let p = hash & mask; ; p = (p + 1) & mask) {
      const s = slots[p]!;
      if (s === 0) return -1;
      const n = s - 1;
      const w = n * NODE_WORDS;
      if (nodes[w + 4] !== hash) continue;
      const at = this.namesOff + nodes[w]!;
      if (bytes[at] !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (bytes[at + 1 + i] !== name[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return n;
    }
  }

  /** The node's lower-cased wire name (a view; the lookup key). */
  key(node: number): Uint8Array {
    const at = this.namesOff + this.nodes[node * NODE_WORDS]!;
    return this.bytes.subarray(at + 1, at + 1 + this.bytes[at]!);
  }

  /** The node's name as the zone file wrote it (a view, wire form): answers use this case. */
  owner(node: number): Uint8Array {
    const at = this.namesOff + this.nodes[node * NODE_WORDS]!;
    const len = this.bytes[at]!;
    return this.bytes.subarray(at + 1 + len, at + 1 + 2 * len);
  }

  /** Where the lower-cased name starts in `bytes` (its length is nameLength): for reading without a view. */
  keyAt(node: number): number {
    return this.namesOff + this.nodes[node * NODE_WORDS]! + 1;
  }

  /** Where the original-case owner name starts in `bytes`, and its length: for copying without a view. */
  ownerAt(node: number): number {
    const at = this.namesOff + this.nodes[node * NODE_WORDS]!;
    return at + 1 + this.bytes[at]!;
  }

  /** Octets of a node's wire name. */
  nameLength(node: number): number {
    return this.bytes[this.namesOff + this.nodes[node * NODE_WORDS]!]!;
  }

  /** The parent node, or -1 at the apex (every other node's parent is in the image: empty non-terminals fill the gaps). */
  parent(node: number): number {
    const p = this.nodes[node * NODE_WORDS + 1]!;
    return p === NO_NODE ? -1 : p;
  }

  /** The node's NODE flags. */
  nodeFlags(node: number): number {
    return this.nodes[node * NODE_WORDS + 3]! >>> 16;
  }

  /** Whether the node has a flag of NODE. */
  is(node: number, flag: number): boolean {
    return ((this.nodes[node * NODE_WORDS + 3]! >>> 16) & flag) !== 0;
  }

  // ---------- RRsets ----------

  /** Index of the node's first RRset. */
  firstSet(node: number): number {
    return this.nodes[node * NODE_WORDS + 2]!;
  }

  /** Number of RRsets at the node (RRSIGs count one per covered type). */
  setCount(node: number): number {
    return this.nodes[node * NODE_WORDS + 3]! & 0xffff;
  }

  /** The node's RRset of `type` (RRSIG: the first RRSIG set; see `sigs`), or -1. */
  rrset(node: number, type: number): number {
    const w = node * NODE_WORDS;
    const first = this.nodes[w + 2]!;
    const end = first + (this.nodes[w + 3]! & 0xffff);
    const sets = this.sets;
    for (let s = first; s < end; s++) if ((sets[s * RRSET_WORDS]! & 0xffff) === type) return s;
    return -1;
  }

  /** The node's RRSIG set covering `type` (RFC 4034 §3.1.1), or -1. */
  sigs(node: number, type: number): number {
    const w = node * NODE_WORDS;
    const first = this.nodes[w + 2]!;
    const end = first + (this.nodes[w + 3]! & 0xffff);
    const sets = this.sets;
    for (let s = first; s < end; s++) {
      if ((sets[s * RRSET_WORDS]! & 0xffff) === RRSIG && (sets[s * RRSET_WORDS + 4]! & 0xffff) === type) return s;
    }
    return -1;
  }

  /** The RRset's type. */
  setType(set: number): number {
    return this.sets[set * RRSET_WORDS]! & 0xffff;
  }

  /** For an RRSIG set, the type its signatures cover; 0 otherwise. */
  setCovered(set: number): number {
    return this.sets[set * RRSET_WORDS + 4]! & 0xffff;
  }

  /** The RRset's TTL (one per set, RFC 2181 §5.2). */
  setTtl(set: number): number {
    return this.sets[set * RRSET_WORDS + 1]!;
  }

  /** Records in the RRset. */
  setSize(set: number): number {
    return this.sets[set * RRSET_WORDS]! >>> 16;
  }

  /**
   * Where the RRset's records start in `bytes`: each record is RDLENGTH
   * (big-endian u16, as on the wire) followed by that many RDATA octets, the
   * records back to back in zone-file order.
   */
  setRdataAt(set: number): number {
    return this.rdataOff + this.sets[set * RRSET_WORDS + 2]!;
  }

  /** Octets of the RRset's records, RDLENGTH fields included. */
  setRdataBytes(set: number): number {
    return this.sets[set * RRSET_WORDS + 3]!;
  }

  /** The RDATA of each record of the set (views). */
  rdatas(set: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const bytes = this.bytes;
    let at = this.setRdataAt(set);
    for (let i = this.setSize(set); i > 0; i--) {
      const len = (bytes[at]! << 8) | bytes[at + 1]!;
      out.push(bytes.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    return out;
  }

  /** The apex SOA RRset (a compiled zone always has one). */
  soaSet(): number {
    return this.rrset(0, 6);
  }

  // ---------- canonical order and denial of existence ----------

  /**
   * The last main node whose name is at or before the lower-cased wire
   * name `name[start, end)` in canonical order (RFC 4034 §6.1): the name
   * itself when it exists, else its predecessor (the apex at least, for a
   * name in the zone). A binary search over the nodes, which are stored in
   * that order.
   */
  predecessor(name: Uint8Array, start: number, end: number): number {
    let lo = 0;
    let hi = this.nodeCount - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (compareCanonical(this.bytes, this.keyAt(mid), this.nameLength(mid), name, start, end - start) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * The NSEC3 node (an index ≥ nodeCount) whose hash matches (`exact`) or
   * covers the hash of main node `node`, or -1 when none was computed (below
   * a cut, or no NSEC3 chain).
   */
  nsec3Of(node: number): number {
    const w = this.nsec3Info?.[node * NSEC3_INFO_WORDS];
    return w === undefined || w === NO_NODE ? -1 : this.nodeCount + (w & ~NSEC3_EXACT);
  }

  /** Whether nsec3Of(node) matches the node's hash (the node has its own NSEC3). */
  nsec3Exact(node: number): boolean {
    const w = this.nsec3Info?.[node * NSEC3_INFO_WORDS];
    return w !== undefined && w !== NO_NODE && (w & NSEC3_EXACT) !== 0;
  }

  /** The NSEC3 node covering the hash of `*.<node>`, or -1. */
  nsec3WildcardOf(node: number): number {
    const w = this.nsec3Info?.[node * NSEC3_INFO_WORDS + 1];
    return w === undefined || w === NO_NODE ? -1 : this.nodeCount + w;
  }

  /**
   * The NSEC3 node (an index ≥ nodeCount) whose lower-cased name is
   * `name[start, end)`, or -1: a binary search of the chain by the first
   * label, then a look at the few NSEC3-only nodes outside it.
   */
  findNsec3(name: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len - 1 - name[start]! === this.originKey.length && this.nsec3Chain > 0) {
      const n = this.nsec3Cover(name, start + 1, name[start]!);
      if (n < 0) return -n - 1;
    }
    for (let n = this.nodeCount + this.nsec3Chain; n < this.nodeCount + this.nsec3Count; n++) {
      if (this.nameLength(n) !== len) continue;
      const at = this.keyAt(n);
      let same = true;
      for (let i = 0; i < len && same; i++) same = this.bytes[at + i] === name[start + i];
      if (same) return n;
    }
    return -1;
  }

  /**
   * The chain's NSEC3 node matching or covering the hash whose base32hex
   * form (lower case) is `label[at, at + length)`: the last owner label at or
   * before it, wrapping to the last (RFC 5155 §7.2.1). Returns the node
   * index, negated minus one when it matches exactly; never called without
   * a chain.
   */
  nsec3Cover(label: Uint8Array, from: number, length: number): number {
    let lo = 0;
    let hi = this.nsec3Chain - 1;
    let found = this.nsec3Chain - 1;
    let exact = false;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = this.keyAt(this.nodeCount + mid);
      const l = this.bytes[at]!;
      let c = 0;
      for (let i = 0; i < Math.min(l, length) && c === 0; i++) c = this.bytes[at + 1 + i]! - label[from + i]!;
      if (c === 0) c = l - length;
      if (c <= 0) {
        found = mid;
        exact = c === 0;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return exact ? -(this.nodeCount + found) - 1 : this.nodeCount + found;
  }

  // ---------- holds: readers across event-loop turns (zone transfers) ----------

  /** Transfer streams reading this image now. */
  private holds = 0;

  /**
   * Marks the image as read by a zone transfer that spans event-loop turns
   * (an AXFR of a large zone outlives a reload's release delay): the worker's
   * MappedZones keeps a held image mapped until every hold is released.
   */
  hold(): void {
    this.holds++;
  }

  /** Ends one {@link hold}. */
  release(): void {
    if (this.holds > 0) this.holds--;
  }

  /** Whether a transfer still reads the image. */
  get held(): boolean {
    return this.holds > 0;
  }
}

/** Where each label of a name starts, for compareCanonical (a name has at most 127 labels). */
const labelsA = new Int32Array(128);
const labelsB = new Int32Array(128);

/**
 * Compares two lower-cased wire names in canonical order (RFC 4034 §6.1):
 * label by label from the root, each label's octets as unsigned numbers, a
 * label that is a prefix of another first, an ancestor before its
 * descendants. Negative, zero or positive, as `a` sorts before, with or after `b`.
 */
export function compareCanonical(a: Uint8Array, aAt: number, aLen: number, b: Uint8Array, bAt: number, bLen: number): number {
  let na = 0;
  for (let p = aAt; p < aAt + aLen - 1; p += a[p]! + 1) labelsA[na++] = p;
  let nb = 0;
  for (let p = bAt; p < bAt + bLen - 1; p += b[p]! + 1) labelsB[nb++] = p;
  for (let i = na - 1, j = nb - 1; i >= 0 && j >= 0; i--, j--) {
    const x = labelsA[i]!;
    const y = labelsB[j]!;
    const lx = a[x]!;
    const ly = b[y]!;
    const n = Math.min(lx, ly);
    for (let k = 1; k <= n; k++) {
      const d = a[x + k]! - b[y + k]!;
      if (d !== 0) return d;
    }
    if (lx !== ly) return lx - ly;
  }
  return na - nb;
}

/** NODE flags, re-exported for readers of ZoneImage. */
export { NODE };
