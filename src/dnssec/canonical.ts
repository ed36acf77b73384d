/** Canonical forms of RFC 4034 §6 (owner names, RDATA, RR order within a set) and the octets an RRSIG signs (§3.1.8.1). */

import { nameLabels, nameToWire } from '../zone/names.js';
import { canonicalRdata } from '../zone/rdata/rdata.js';
import type { Rrsig } from './records.js';

/**
 * A wire name (or name-only octets) with ASCII letters lower-cased
 * (RFC 4034 §6.2 item 3; RFC 4343 §3: only A–Z fold). Length octets are at
 * most 63, below `A` (65), so the whole buffer can be folded at once.
 */
export function lowerWire(wire: Uint8Array): Buffer {
  const out = Buffer.from(wire);
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (c >= 0x41 && c <= 0x5a) out[i] = c + 0x20;
  }
  return out;
}

/** The canonical wire form of a name string (RFC 4034 §6.2 items 1–3: uncompressed, lower case). */
export function canonicalName(name: string): Buffer {
  return lowerWire(nameToWire(name));
}

/** NXT (RFC 2535 §5.2): the next name, then a bitmap. */
const NXT = 30;
/** A6 (RFC 2874 §3.1.1): prefix length, address suffix, prefix name. */
const A6 = 38;

/**
 * The canonical form of a record's wire RDATA (RFC 4034 §6.2 item 3): the
 * names inside are lower-cased for the types RFC 4034 lists, except NSEC
 * (RFC 6840 §5.1; RRSIG stays on the list). The zone's own RDATA layouts
 * (src/zone/rdata/) say which types those are; NXT and A6, which it holds
 * only as RFC 3597 octets, are handled here.
 */
export function canonicalRecordRdata(code: number, wire: Buffer): Buffer {
  if (code === NXT) return lowerNameAt(wire, 0);
  if (code === A6) {
    const prefix = wire[0];
    if (prefix === undefined || prefix === 0) return wire;
    return lowerNameAt(wire, 1 + Math.ceil((128 - prefix) / 8));
  }
  return canonicalRdata(code, wire);
}

/** Lower-cases the wire name that starts at `at` (if it is well formed), leaving the other octets. */
function lowerNameAt(wire: Buffer, at: number): Buffer {
  let end = at;
  while (end < wire.length && wire[end]! !== 0) end += 1 + wire[end]!;
  if (end >= wire.length) return wire;
  return Buffer.concat([wire.subarray(0, at), lowerWire(wire.subarray(at, end + 1)), wire.subarray(end + 1)]);
}

/**
 * RDATA in canonical RR order (RFC 4034 §6.3): sorted as left-justified
 * unsigned octet sequences (a shorter prefix first), duplicates removed.
 */
export function canonicalOrder(rdatas: readonly Buffer[]): Buffer[] {
  const sorted = [...rdatas].sort(Buffer.compare);
  return sorted.filter((r, i) => i === 0 || !r.equals(sorted[i - 1]!));
}

/**
 * The owner name an RRSIG covers, in canonical wire form (RFC 4035 §5.3.2):
 * the owner itself when the RRSIG's labels field counts all its labels,
 * else `*.` and the rightmost `labels` labels (the RRset was signed at a
 * wildcard). `null` when the labels field is larger than the owner's label
 * count (RFC 4035 §5.3.1: such an RRSIG cannot be valid). A leading `*` of
 * the owner is not counted (RFC 4034 §3.1.3).
 */
export function signedOwner(owner: string, labels: number): Buffer | null {
  const all = nameLabels(owner);
  const count = all.length > 0 && all[0]!.length === 1 && all[0]![0] === 0x2a ? all.length - 1 : all.length;
  if (labels > count) return null;
  if (labels === all.length) return canonicalName(owner);
  const kept = all.slice(all.length - labels);
  const parts: Buffer[] = [Buffer.from([1, 0x2a])];
  for (const l of kept) parts.push(Buffer.from([l.length]), Buffer.from(l));
  parts.push(Buffer.from([0]));
  return lowerWire(Buffer.concat(parts));
}

/**
 * The octets an RRSIG's signature covers (RFC 4034 §3.1.8.1):
 * `RRSIG_RDATA | RR(1) | RR(2) | …`, where RRSIG_RDATA is the RRSIG's
 * fields without the signature and with the signer's name lower-cased, and
 * each RR is `owner | type | class | original TTL | RDLENGTH | RDATA` with
 * the owner from signedOwner, the RRSIG's original TTL (not the RRset's), and
 * canonical RDATA in canonical order (§6.3). `rdatas` are the RRset's wire
 * RDATA as the zone holds them; `code` is the covered type. Null when the
 * RRSIG's labels field does not fit the owner.
 */
export function signedData(sig: Rrsig, owner: string, code: number, rdatas: readonly Buffer[]): Buffer | null {
  const ownerWire = signedOwner(owner, sig.labels);
  if (ownerWire === null) return null;
  const fields = sig.signedFields;
  // The signer's name starts at octet 18 and runs to the end of signedFields.
  const head = Buffer.concat([fields.subarray(0, 18), lowerWire(fields.subarray(18))]);
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16BE(code, 0);
  fixed.writeUInt16BE(1, 2); // class IN: zones here are IN only
  fixed.writeUInt32BE(sig.originalTtl, 4);
  const parts: Buffer[] = [head];
  for (const rdata of canonicalOrder(rdatas.map((r) => canonicalRecordRdata(code, r)))) {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(rdata.length, 0);
    parts.push(ownerWire, fixed, length, rdata);
  }
  return Buffer.concat(parts);
}
