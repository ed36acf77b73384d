/** lookup(): one name and type in one zone image → a tagged outcome naming nodes and RRsets (RFC 1034 §4.3.2, RFC 4592, RFC 6672). Pure. */

import { NODE, type ZoneImage } from '../zone/image/image.js';
import { MAX_NAME } from './wire-name.js';

/** Type numbers lookup decides by (RFC 1035 §3.2.2, RFC 6672, RFC 4034). */
export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, DNAME: 39, DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, IXFR: 251, AXFR: 252, ANY: 255 } as const;

/**
 * What one zone says about a question. `node` and `set` index the image's
 * node and RRset tables; `soa` is the apex SOA set.
 */
export type LookupResult =
  /**
   * The RRset that answers (for ANY one RRset of the name, RFC 8482 §4.1).
   * An RRSIG set stands for every RRSIG set of the node: the signatures at
   * the name, whatever they cover. `wildcard`: the node is the source of
   * synthesis (RFC 4592 §3.3.1), the records take the query's name, and
   * `encloser` is the closest encloser (else the node itself).
   */
  | { kind: 'answer'; node: number; set: number; wildcard: boolean; encloser: number }
  /** The name is an alias (RFC 1034 §3.6.2): answer the CNAME and restart at its target. */
  | { kind: 'cname'; node: number; set: number; wildcard: boolean; encloser: number }
  /**
   * A DNAME at `node`, above the name (RFC 6672 §2.2): the query's first
   * `prefix` octets (its labels above the DNAME owner) followed by the
   * DNAME's target make the new name.
   */
  | { kind: 'dname'; node: number; set: number; prefix: number }
  /** The name is at or below the zone cut at `node`: refer to its NS set (RFC 1034 §4.3.2 step 3b). */
  | { kind: 'delegation'; node: number; set: number }
  /** The name exists (as `node`, or as the wildcard `node` below `encloser`) but has no data of that type (RFC 2308 §2.2). */
  | { kind: 'nodata'; soa: number; node: number; wildcard: boolean; encloser: number }
  /** The name does not exist (RFC 2308 §2.1); `encloser` is its closest encloser (RFC 5155 §1.3). */
  | { kind: 'nxdomain'; soa: number; encloser: number }
  /** The DNAME at `node` would make a name longer than 255 octets (RFC 6672 §2.2): YXDOMAIN. */
  | { kind: 'yxdomain'; node: number; set: number };

/** Where each label of the name being looked up starts (a name has at most 127 labels). */
const starts = new Int32Array(128);

/** `*.<name>`, written here to look up a source of synthesis. */
const wildcardName = new Uint8Array(2 + MAX_NAME);
wildcardName[0] = 1;
wildcardName[1] = 0x2a;

/**
 * Looks up the lower-cased wire name `name[start, end)`, at or below the
 * image's origin, for type `qtype`. A DNAME at the apex redirects every name
 * below it (RFC 6672 §2.3). Otherwise the highest zone cut or DNAME between
 * the apex and the name decides: a cut refers, except a DS question at the
 * cut itself, which the parent side answers (RFC 4035 §3.1.4.1); a DNAME
 * above the name redirects. Then the name's own node, else the wildcard
 * child of the closest encloser (RFC 4592 §3.3.1: an empty non-terminal is
 * an encloser too, and blocks wildcards above it), else NXDOMAIN. A name
 * that owns only NSEC3 records is not in the tree (RFC 5155 §7.2), but a
 * name below one has it as closest encloser (as NSD: no wildcard applies).
 *
 * The closest encloser takes one hash when the name exists (the usual
 * case), else one per label walking down from the apex to the first name
 * that does not exist; the cuts and DNAMEs above it are found by walking
 * parent links and node flags, with no hashing. `dnssec`: the asker set DO
 * (ANY then skips RRSIG sets in a signed zone, as NSD does).
 */
export function lookup(image: ZoneImage, name: Uint8Array, start: number, end: number, qtype: number, dnssec = false): LookupResult {
  const soa = image.soaSet();
  if (soa < 0) throw new Error(`zone ${image.meta.origin} has no SOA`);
  const below = end - start - image.originKey.length; // octets of the labels above the origin
  if (below > 0 && image.is(0, NODE.dname)) return synthesize(image, 0, below);

  // The closest encloser: the name itself when it exists (one hash), else the
  // last name that exists walking down from the apex, one label at a time.
  let node = below > 0 ? image.find(name, start, end) : 0;
  const exact = node >= 0;
  if (!exact) {
    let labels = 0;
    for (let p = start; p < start + below; p += name[p]! + 1) starts[labels++] = p;
    node = 0;
    for (let i = labels - 1; i > 0; i--) {
      const n = image.find(name, starts[i]!, end);
      if (n < 0) break;
      node = n;
    }
  }

  // The highest cut or DNAME on the way down from the apex wins.
  let stop = -1;
  let cut = false;
  for (let m = node; m > 0; m = image.parent(m)) {
    const flags = image.nodeFlags(m);
    const target = exact && m === node;
    if ((flags & NODE.cut) !== 0 && !(target && qtype === TYPE.DS)) {
      stop = m;
      cut = true;
    } else if ((flags & NODE.dname) !== 0 && !target) {
      stop = m;
      cut = false;
    }
  }
  if (stop > 0) {
    if (cut) return { kind: 'delegation', node: stop, set: image.rrset(stop, TYPE.NS) };
    return synthesize(image, stop, end - start - image.nameLength(stop));
  }
  if (exact) return atName(image, node, qtype, soa, false, node, dnssec);

  // Below an NSEC3 owner (`x.<hash>.<zone>`): that owner is the closest encloser, as in NSD's tree.
  if (node === 0 && image.nsec3Count > 0 && below > 0) {
    let last = start;
    while (end - (last + name[last]! + 1) > image.originKey.length) last += name[last]! + 1;
    if (last !== start) {
      const owner = image.findNsec3(name, last, end);
      if (owner >= 0) return { kind: 'nxdomain', soa, encloser: owner };
    }
  }
  if (image.is(node, NODE.wildcardChild)) {
    const w = image.find(wildcardName, 0, writeWildcard(image, node));
    if (w >= 0) return atName(image, w, qtype, soa, true, node, dnssec);
  }
  return { kind: 'nxdomain', soa, encloser: node };
}

/** Writes `*.<node's name>` (lower-cased) into wildcardName; returns its length. */
function writeWildcard(image: ZoneImage, node: number): number {
  const len = image.nameLength(node);
  const keyAt = image.keyAt(node);
  for (let i = 0; i < len; i++) wildcardName[2 + i] = image.bytes[keyAt + i]!;
  return 2 + len;
}

/**
 * `*.<node's name>` as a lower-cased wire name (a view valid until the
 * next lookup): where a wildcard below the node would sort (NSEC proofs).
 */
export function wildcardOf(image: ZoneImage, node: number): Uint8Array {
  return wildcardName.subarray(0, writeWildcard(image, node));
}

/**
 * The answer at an existing node (or a wildcard standing in for the name).
 * ANY (RFC 8482 §4.1) gets one RRset, chosen as NSD does: the first of A,
 * AAAA, SOA, MX or PTR; else the last other type; else the last of DNSKEY,
 * RRSIG or NSEC — never NSEC3, and no RRSIG when signatures come with
 * every RRset anyway (`dnssec` in a signed zone). An NSEC3 question at a
 * name in the tree is NODATA (NSEC3 records belong to their hashed owners).
 */
function atName(image: ZoneImage, node: number, qtype: number, soa: number, wildcard: boolean, encloser: number, dnssec: boolean): LookupResult {
  if (qtype === TYPE.ANY) {
    const set = anySet(image, node, dnssec && image.secure);
    return set >= 0 ? { kind: 'answer', node, set, wildcard, encloser } : { kind: 'nodata', soa, node, wildcard, encloser };
  }
  if (qtype === TYPE.NSEC3) return { kind: 'nodata', soa, node, wildcard, encloser };
  const set = image.rrset(node, qtype);
  if (set >= 0) return { kind: 'answer', node, set, wildcard, encloser };
  if (image.is(node, NODE.cname)) {
    const cname = image.rrset(node, TYPE.CNAME);
    if (cname >= 0) return { kind: 'cname', node, set: cname, wildcard, encloser };
  }
  return { kind: 'nodata', soa, node, wildcard, encloser };
}

/** NSD's choice of one RRset for ANY (see atName), or -1. */
function anySet(image: ZoneImage, node: number, skipSigs: boolean): number {
  let normal = -1;
  let unwanted = -1;
  const first = image.firstSet(node);
  for (let s = first; s < first + image.setCount(node); s++) {
    const type = image.setType(s);
    if (type === TYPE.NSEC3 || (skipSigs && type === TYPE.RRSIG)) continue;
    if (type === TYPE.A || type === TYPE.AAAA || type === TYPE.SOA || type === TYPE.MX || type === TYPE.PTR) return s;
    if (type === TYPE.DNSKEY || type === TYPE.RRSIG || type === TYPE.NSEC) unwanted = s;
    else normal = s;
  }
  return normal >= 0 ? normal : unwanted;
}

/** RFC 6672 §2.2: the DNAME at `node` redirects a name with `prefix` octets above its owner; YXDOMAIN when the result would pass 255 octets. */
function synthesize(image: ZoneImage, node: number, prefix: number): LookupResult {
  const set = image.rrset(node, TYPE.DNAME);
  const at = image.setRdataAt(set);
  const targetLength = (image.bytes[at]! << 8) | image.bytes[at + 1]!; // the RDATA is the target name
  if (prefix + targetLength > MAX_NAME) return { kind: 'yxdomain', node, set };
  return { kind: 'dname', node, set, prefix };
}
