/** compileZone(): a loaded zone → the octets of its image (names in wire form, canonical order, hash index). Pure. */

import type { SoaData } from 'dns-packet';
import { packetNameWire } from '../packet.js';
import { recordRdata } from '../rdata.js';
import { T } from '../rrtypes.js';
import { coveredType, recordTypeCode, rrsets, rrsetKey, type Zone, type ZoneRecord } from '../zone.js';
import { align8, FORMAT_VERSION, H, HEADER_BYTES, IMAGE_FLAG, imageChecksum, MAGIC, nameHash, NO_NODE, NODE, NODE_WORDS, RRSET_WORDS } from './format.js';

/** Where an image came from, kept in its header. */
export interface ImageSource {
  /** The origin in presentation form (`example.com.`, `.`). */
  origin: string;
  /** Hex hash of the source octets and the format version (the store names the file by it). */
  source: string;
}

/** Wire form of a parser name. TODO(lead): names.ts nameToWire once any-octet labels land. */
function nameToWire(name: string): Uint8Array {
  return packetNameWire(name, false);
}

/** The most octets version 1 can address (u32 offsets). */
const MAX_IMAGE = 0xffff_fff8;

interface Node {
  lower: Uint8Array;
  owner: Uint8Array;
  sets: ZoneRecord[][];
  parent: number;
  flags: number;
  sortKey: string;
}

/** ASCII letters folded to lower case (RFC 4343 §3), every other octet kept. */
function lowerWire(wire: Uint8Array): Uint8Array {
  const out = new Uint8Array(wire.length);
  for (let i = 0; i < wire.length; i++) {
    const b = wire[i]!;
    out[i] = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
  }
  return out;
}

/** The wire name one label up (the root's parent is null). */
function parentWire(wire: Uint8Array): Uint8Array | null {
  if (wire[0] === 0) return null;
  return wire.subarray(wire[0]! + 1);
}

/** A string key that identifies a lower-cased wire name (latin1: one char per octet). */
function idOf(lower: Uint8Array): string {
  return Buffer.from(lower.buffer, lower.byteOffset, lower.length).toString('latin1');
}

/**
 * A string whose plain comparison is the canonical order of RFC 4034 §6.1:
 * labels from the root down, each label's octets as characters 1..256,
 * labels separated by character 0 (so an ancestor, or a label that is a
 * prefix of another, sorts first).
 */
function canonicalKey(lower: Uint8Array): string {
  const starts: number[] = [];
  for (let i = 0; lower[i] !== 0; i += lower[i]! + 1) starts.push(i);
  let key = '';
  for (let j = starts.length - 1; j >= 0; j--) {
    const at = starts[j]!;
    const len = lower[at]!;
    if (j !== starts.length - 1) key += '\u0000';
    for (let k = at + 1; k <= at + len; k++) key += String.fromCharCode(lower[k]! + 1);
  }
  return key;
}

/**
 * Compiles a zone as the parser loaded it into one image (doc/zone-image.md):
 * nodes in canonical order with the apex first, the empty non-terminals
 * added (RFC 4592 §2.2.2), cut/glue/wildcard/CNAME/DNAME flags set, RRsets
 * in zone-file order with RDATA in wire form (names uncompressed), and a
 * hash index over the lower-cased names. Throws if the zone does not fit
 * the format (over 4 GiB).
 */
export function compileZone(zone: Zone, source: ImageSource): Uint8Array {
  const byId = new Map<string, number>();
  const list: Node[] = [];
  for (const records of zone.nodes.values()) {
    const owner = nameToWire(records[0]!.name);
    const lower = lowerWire(owner);
    byId.set(idOf(lower), list.length);
    list.push({ lower, owner, sets: rrsets(records), parent: -1, flags: 0, sortKey: '' });
  }
  const apexLower = lowerWire(nameToWire(zone.origin));
  const apexId = idOf(apexLower);
  if (!byId.has(apexId)) throw new Error(`zone ${source.origin} has no records at its apex`);

  // Empty non-terminals: every ancestor between a name and the apex exists (RFC 4592 §2.2.2),
  // named in the case of the descendant that implied it.
  const named = list.length;
  for (let i = 0; i < named; i++) {
    let lower = list[i]!.lower;
    let owner = list[i]!.owner;
    while (lower.length > apexLower.length) {
      const up = parentWire(lower);
      if (up === null) break;
      lower = up;
      owner = parentWire(owner)!;
      const id = idOf(lower);
      if (byId.has(id)) break;
      byId.set(id, list.length);
      list.push({ lower, owner, sets: [], parent: -1, flags: NODE.emptyNonTerminal, sortKey: '' });
    }
  }

  // Canonical order (RFC 4034 §6.1); the apex sorts first, being an ancestor of every other name.
  for (const n of list) n.sortKey = canonicalKey(n.lower);
  const order = list.map((_, i) => i).sort((a, b) => (list[a]!.sortKey < list[b]!.sortKey ? -1 : list[a]!.sortKey > list[b]!.sortKey ? 1 : 0));
  const rank = new Int32Array(list.length);
  order.forEach((at, r) => (rank[at] = r));
  const nodes = order.map((i) => list[i]!);
  if (idOf(nodes[0]!.lower) !== apexId) throw new Error(`zone ${source.origin}: a name sorts before the apex`);

  // Parents and flags.
  for (let r = 0; r < nodes.length; r++) {
    const n = nodes[r]!;
    n.sortKey = '';
    if (r === 0) {
      n.flags |= NODE.apex;
      continue;
    }
    const up = parentWire(n.lower)!;
    n.parent = rank[byId.get(idOf(up))!]!;
    if (n.lower[0] === 1 && n.lower[1] === 0x2a) {
      n.flags |= NODE.wildcard;
      nodes[n.parent]!.flags |= NODE.wildcardChild;
    }
    for (const set of n.sets) {
      const code = recordTypeCode(set[0]!);
      if (code === T.NS) n.flags |= NODE.cut;
      else if (code === T.CNAME) n.flags |= NODE.cname;
      else if (code === T.DNAME) n.flags |= NODE.dname;
    }
  }
  for (const set of nodes[0]!.sets) if (recordTypeCode(set[0]!) === T.DNAME) nodes[0]!.flags |= NODE.dname;
  if (nodes[0]!.sets.some((s) => recordTypeCode(s[0]!) === T.CNAME)) nodes[0]!.flags |= NODE.cname;
  // Canonical order puts every name right after its ancestors, so one pass sees each parent's flags first.
  for (let r = 1; r < nodes.length; r++) {
    const p = nodes[nodes[r]!.parent]!;
    if ((p.flags & (NODE.cut | NODE.belowCut)) !== 0) nodes[r]!.flags |= NODE.belowCut;
  }

  // Sizes of the regions.
  let namesBytes = 0;
  let setCount = 0;
  let rdataBytes = 0;
  let records = 0;
  const rdata: Uint8Array[][][] = [];
  for (const n of nodes) {
    namesBytes += 1 + 2 * n.lower.length;
    setCount += n.sets.length;
    const nodeRdata: Uint8Array[][] = [];
    for (const set of n.sets) {
      const wires = set.map((r) => recordRdata(r));
      for (const w of wires) rdataBytes += 2 + w.length;
      records += set.length;
      nodeRdata.push(wires);
    }
    rdata.push(nodeRdata);
  }
  let slots = 1024;
  while (slots < nodes.length * 2) slots *= 2;
  const soa = zone.soa.data as SoaData;
  const meta = Buffer.from(JSON.stringify({ origin: source.origin, source: source.source, built: new Date().toISOString() }), 'utf8');

  const nodesOff = HEADER_BYTES;
  const setsOff = align8(nodesOff + nodes.length * NODE_WORDS * 4);
  const hashOff = align8(setsOff + setCount * RRSET_WORDS * 4);
  const namesOff = align8(hashOff + slots * 4);
  const rdataOff = align8(namesOff + namesBytes);
  const metaOff = align8(rdataOff + rdataBytes);
  const total = align8(metaOff + meta.length);
  if (total > MAX_IMAGE) throw new Error(`zone ${source.origin} needs a ${total}-octet image; format version ${FORMAT_VERSION} holds at most 4 GiB`);

  const buffer = new ArrayBuffer(total);
  const bytes = new Uint8Array(buffer);
  const head = new DataView(buffer, 0, HEADER_BYTES);
  for (let i = 0; i < MAGIC.length; i++) bytes[i] = MAGIC.charCodeAt(i);
  const put = (off: number, v: number): void => head.setUint32(off, v, true);
  put(H.version, FORMAT_VERSION);
  put(H.headerBytes, HEADER_BYTES);
  put(H.totalBytes, total);
  put(H.nodeCount, nodes.length);
  put(H.nodesOff, nodesOff);
  put(H.rrsetCount, setCount);
  put(H.rrsetsOff, setsOff);
  put(H.namesOff, namesOff);
  put(H.namesBytes, namesBytes);
  put(H.rdataOff, rdataOff);
  put(H.rdataBytes, rdataBytes);
  put(H.hashOff, hashOff);
  put(H.hashSlots, slots);
  // Version 1 keeps NSEC3 owners in the main tree; the empty table is where issue 14 puts them.
  put(H.nsec3NodeCount, 0);
  put(H.nsec3NodesOff, metaOff);
  put(H.nsec3HashOff, metaOff);
  put(H.nsec3HashSlots, 0);
  put(H.recordCount, records);
  put(H.serial, (soa.serial ?? 0) >>> 0);
  put(H.metaOff, metaOff);
  put(H.metaBytes, meta.length);

  const nodeWords = new Uint32Array(buffer, nodesOff, nodes.length * NODE_WORDS);
  const setWords = new Uint32Array(buffer, setsOff, setCount * RRSET_WORDS);
  const hash = new Uint32Array(buffer, hashOff, slots);
  let flags = 0;
  let nameAt = 0;
  let setAt = 0;
  let rdataAt = 0;
  for (let r = 0; r < nodes.length; r++) {
    const n = nodes[r]!;
    const len = n.lower.length;
    const w = r * NODE_WORDS;
    nodeWords[w] = nameAt;
    nodeWords[w + 1] = n.parent < 0 ? NO_NODE : n.parent;
    nodeWords[w + 2] = setAt;
    nodeWords[w + 3] = (n.sets.length & 0xffff) | (n.flags << 16);
    const at = namesOff + nameAt;
    bytes[at] = len;
    bytes.set(n.lower, at + 1);
    bytes.set(n.owner, at + 1 + len);
    const h = nameHash(bytes, at + 1, at + 1 + len);
    nodeWords[w + 4] = h;
    nameAt += 1 + 2 * len;
    for (let p = h & (slots - 1); ; p = (p + 1) & (slots - 1)) {
      if (hash[p] === 0) {
        hash[p] = r + 1;
        break;
      }
    }
    if (n.sets.length > 0xffff) throw new Error(`zone ${source.origin}: more than 65535 RRsets at one name`);
    for (let s = 0; s < n.sets.length; s++) {
      const set = n.sets[s]!;
      const code = recordTypeCode(set[0]!);
      if (set.length > 0xffff) throw new Error(`zone ${source.origin}: an RRset of more than 65535 records`);
      const covered = code === T.RRSIG ? Math.max(0, coveredType(rrsetKey(code, set[0]!.data))) : 0;
      if (code === T.RRSIG) flags |= IMAGE_FLAG.signed;
      if (code === T.NSEC3) flags |= IMAGE_FLAG.nsec3;
      const sw = setAt * RRSET_WORDS;
      const start = rdataAt;
      for (const wire of rdata[r]![s]!) {
        const o = rdataOff + rdataAt;
        bytes[o] = wire.length >> 8;
        bytes[o + 1] = wire.length & 0xff;
        bytes.set(wire, o + 2);
        rdataAt += 2 + wire.length;
      }
      setWords[sw] = code | (set.length << 16);
      setWords[sw + 1] = set[0]!.ttl >>> 0;
      setWords[sw + 2] = start;
      setWords[sw + 3] = rdataAt - start;
      setWords[sw + 4] = covered;
      setAt++;
    }
  }
  bytes.set(meta, metaOff);
  put(H.flags, flags);
  put(H.checksum, imageChecksum(bytes));
  return bytes;
}
