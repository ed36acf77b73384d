/** Nsec3Proofs: which NSEC3 records deny a name or a type (RFC 5155 §7.2), chosen as NSD chooses them, from an image's precomputed NSEC3 facts. Pure. */

import { hashLabelInto, nsec3Hash } from '../dnssec/nsec3-hash.js';
import { NODE, type ZoneImage } from '../zone/image/image.js';
import { TYPE, wildcardOf } from './lookup.js';

/** The next closer name's hash as an owner label (ASCII), reused from answer to answer. */
const label = new Uint8Array(64);

/**
 * Picks NSEC3 nodes and hands each to `add` (which puts its NSEC3 RRset and
 * signatures in the authority section; adding one twice is harmless). The
 * hash of every name in the zone is precomputed in the image; only the
 * next closer name of a name that does not exist is hashed here.
 */
export class Nsec3Proofs {
  constructor(private readonly add: (zone: ZoneImage, nsec3Node: number) => void) {}

  /**
   * RFC 5155 §7.2.1 (Name Error): the NSEC3 covering the next closer name,
   * the one matching the closest encloser, the one covering the wildcard
   * at the closest encloser. False when the next closer's hash matches an
   * NSEC3 (the chain is broken: NSD answers SERVFAIL).
   */
  closestEncloser(zone: ZoneImage, encloser: number, lower: Uint8Array, len: number): boolean {
    if (!this.nextCloser(zone, encloser, lower, len)) return false;
    if (zone.nsec3Exact(encloser)) this.add(zone, zone.nsec3Of(encloser));
    const wild = zone.nsec3WildcardOf(encloser);
    if (wild >= 0) this.add(zone, wild);
    return true;
  }

  /**
   * The NSEC3 covering the next closer name (RFC 5155 §7.2.1): the name
   * `lower[0, len)` cut to one label below the closest encloser, hashed with
   * the zone's parameters (RFC 5155 §5). Also the wildcard answer's proof
   * (§7.2.6). False when the hash matches an NSEC3 exactly.
   */
  nextCloser(zone: ZoneImage, encloser: number, lower: Uint8Array, len: number): boolean {
    const enclosing = zone.nameLength(encloser);
    let p = 0;
    let from = -1;
    while (len - p > enclosing) {
      from = p;
      p += lower[p]! + 1;
    }
    if (from < 0) return true;
    const param = zone.nsec3ParamAt;
    const bytes = zone.bytes;
    const iterations = (bytes[param + 4]! << 8) | bytes[param + 5]!;
    const salt = bytes.subarray(param + 7, param + 7 + bytes[param + 6]!);
    const length = hashLabelInto(nsec3Hash(lower, from, len, salt, iterations), label);
    const cover = zone.nsec3Cover(label, 0, length);
    if (cover < 0) return false;
    this.add(zone, cover);
    return true;
  }

  /**
   * NODATA (RFC 5155 §7.2.3–§7.2.5), as NSD's nsec3_answer_nodata: for DS,
   * the delegation proof (at the apex, the apex's NSEC3); at a wildcard
   * that answered, the NSEC3 matching its parent (the closest encloser) and
   * its own; else the NSEC3 matching the name, or for an empty non-terminal
   * without one (opt-out) the one covering it and the one matching its
   * closest provable encloser.
   */
  nodata(zone: ZoneImage, node: number, qtype: number): void {
    const wildcard = this.isOwnWildcard(zone, node);
    if (qtype === TYPE.DS) {
      if (node === 0) {
        if (zone.nsec3Exact(0)) this.add(zone, zone.nsec3Of(0));
        return;
      }
      this.dsProof(zone, node, false);
      if (wildcard) this.addIfExact(zone, zone.parent(node));
      return;
    }
    if (wildcard) {
      this.addIfExact(zone, zone.parent(node));
      const own = zone.nsec3Of(node);
      if (own >= 0) this.add(zone, own);
      return;
    }
    if (zone.nsec3Of(node) < 0) return;
    let at = node;
    if (!zone.nsec3Exact(at)) {
      for (let up = zone.parent(at); up >= 0 && zone.nsec3Of(up) >= 0 && !zone.nsec3Exact(up); up = zone.parent(up)) at = up;
    }
    this.add(zone, zone.nsec3Of(at));
    if (!zone.nsec3Exact(at)) this.addIfExact(zone, zone.parent(at));
  }

  /**
   * There is no DS at `node` (RFC 5155 §7.2.7, §6 opt-out), as NSD's
   * nsec3_add_ds_proof: the NSEC3 matching the name when there is one;
   * else the NSEC3 matching the closest provable encloser and the one
   * covering the next closer name (for a delegation under opt-out, the span
   * that covers it). `delegation`: the name is a referral's cut.
   */
  dsProof(zone: ZoneImage, node: number, delegation: boolean): void {
    const cut = zone.is(node, NODE.cut);
    if (zone.nsec3Exact(node) && (cut || !delegation)) {
      this.add(zone, zone.nsec3Of(node));
      return;
    }
    let provable = zone.parent(node);
    let below = -1;
    while (provable >= 0 && !zone.nsec3Exact(provable)) {
      below = provable;
      provable = zone.parent(provable);
    }
    if (provable < 0) return;
    this.add(zone, zone.nsec3Of(provable));
    if (below >= 0) {
      const cover = zone.nsec3Of(below);
      if (cover >= 0) this.add(zone, cover);
    } else if (cut) {
      const cover = zone.nsec3Of(node);
      if (cover >= 0) this.add(zone, cover);
    }
  }

  /** Adds the NSEC3 matching `node`, if the node has one of its own. */
  private addIfExact(zone: ZoneImage, node: number): void {
    if (node >= 0 && zone.nsec3Exact(node)) this.add(zone, zone.nsec3Of(node));
  }

  /** A wildcard whose own wildcard would sort right after it (NSD's test for "this is the source of synthesis"). */
  private isOwnWildcard(zone: ZoneImage, node: number): boolean {
    if (!zone.is(node, NODE.wildcard)) return false;
    const wild = wildcardOf(zone, node);
    return zone.predecessor(wild, 0, wild.length) === node;
  }
}
