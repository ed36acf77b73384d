/**
 * The SOA record of a negative answer (RFC 2308 §3) in wire form, made once
 * per zone image and reused: a reply whose only record is the zone's SOA
 * (NXDOMAIN or NODATA without DNSSEC records) is its question and this
 * template, its compression pointers moved by where the apex sits in the
 * question name. Pure.
 */

import { lowerOctet } from '../dns/ascii.js';
import { compressName, compressRdata, startMessage } from '../dns/compress.js';
import { HEADER_LENGTH } from '../dns/header.js';
import type { ZoneImage } from '../zone/image/image.js';
import type { RecordRef } from './records.js';
import { nameLength } from './wire-name.js';

/** SOA's type number (RFC 1035 §3.2.2). */
const T_SOA = 6;

/**
 * The SOA record as compress.ts writes it after a question that is the
 * zone's apex itself, at HEADER_LENGTH: owner, type, class, TTL, RDLENGTH
 * and RDATA with every name compressed (RFC 1035 §4.1.4). Each pointer in
 * it points at or after the apex (or into the record itself), so after a
 * question of P more octets (labels above the apex) the same record is
 * right with every pointer moved by P — unless the label just above the
 * apex in the question equals the one just above the apex in MNAME or
 * RNAME (then a longer suffix of the question would match: see
 * {@link negativeSoaUsable}).
 */
export interface NegativeSoa {
  /** What the template was made from: the SOA reference's RDATA offset, TTL, owner offset and class. */
  dataAt: number;
  ttl: number;
  ownerAt: number;
  klass: number;
  /** The apex's length, zero octet included. */
  apexLength: number;
  /** The record's octets. */
  bytes: Uint8Array;
  /** Where each 2-octet compression pointer is in `bytes`. */
  pointers: Int32Array;
  /** Lower-cased, with its length octet: the label just above the apex in MNAME and in RNAME (null: not below the apex). */
  mnameAbove: Uint8Array | null;
  rnameAbove: Uint8Array | null;
}

/** Templates by image (null: the SOA cannot have one); a WeakMap, so no image is kept reachable from here. */
const templates = new WeakMap<ZoneImage, NegativeSoa | null>();

/** Scratch the template is written in. */
const scratch = new Uint8Array(4 * 256 + 64);

/**
 * The negative-answer template of the SOA record `r` (a record of a zone
 * image, under its own apex, as Sections.addNegativeSoa makes it), made on
 * first use; null when `r` is not such a record or its RDATA does not
 * parse. Starts a compression message of its own: call it before writing
 * the reply's names.
 */
export function negativeSoa(r: RecordRef): NegativeSoa | null {
  const image = r.image;
  if (image === null || r.type !== T_SOA || r.owner !== image.bytes || r.data !== image.bytes) return null;
  let t = templates.get(image);
  if (t === undefined) {
    t = makeTemplate(r);
    templates.set(image, t);
  }
  if (t === null || t.dataAt !== r.dataAt || t.ttl !== r.ttl || t.ownerAt !== r.ownerAt || t.klass !== r.klass) return null;
  return t;
}

function makeTemplate(r: RecordRef): NegativeSoa | null {
  const apexLength = nameLength(r.owner, r.ownerAt);
  startMessage();
  let w = compressName(r.owner, r.ownerAt, r.owner.length, scratch, HEADER_LENGTH);
  if (w < 0) return null;
  w += 4; // QTYPE, QCLASS
  const start = w;
  w = compressName(r.owner, r.ownerAt, r.owner.length, scratch, w);
  if (w < 0) return null;
  scratch[w] = T_SOA >> 8;
  scratch[w + 1] = T_SOA & 0xff;
  scratch[w + 2] = r.klass >> 8;
  scratch[w + 3] = r.klass & 0xff;
  scratch[w + 4] = r.ttl >>> 24;
  scratch[w + 5] = (r.ttl >>> 16) & 0xff;
  scratch[w + 6] = (r.ttl >>> 8) & 0xff;
  scratch[w + 7] = r.ttl & 0xff;
  const end = compressRdata(T_SOA, r.data, r.dataAt, scratch, w + 8);
  if (end < 0) return null;
  // The pointers: owner, then MNAME and RNAME after type, class, TTL and RDLENGTH.
  const pointers: number[] = [];
  let p = nameEnd(scratch, start, pointers);
  p = nameEnd(scratch, p + 10, pointers);
  p = nameEnd(scratch, p, pointers);
  if (p + 20 !== end) return null;
  const mname = r.dataAt + 2;
  const rname = mname + nameLength(r.data, mname);
  return {
    dataAt: r.dataAt,
    ttl: r.ttl,
    ownerAt: r.ownerAt,
    klass: r.klass,
    apexLength,
    bytes: scratch.slice(start, end),
    pointers: Int32Array.from(pointers, (at) => at - start),
    mnameAbove: labelAboveApex(r.data, mname, r.owner, r.ownerAt, apexLength),
    rnameAbove: labelAboveApex(r.data, rname, r.owner, r.ownerAt, apexLength),
  };
}

/** Walks the (possibly compressed) name at `m[at]`, noting where its pointer is; the offset past it. */
function nameEnd(m: Uint8Array, at: number, pointers: number[]): number {
  for (;;) {
    const l = m[at]!;
    if (l === 0) return at + 1;
    if ((l & 0xc0) === 0xc0) {
      pointers.push(at);
      return at + 2;
    }
    at += l + 1;
  }
}

/** The label (lower-cased, length octet first) just above the apex in the name at `src[at]`, or null when the name is not strictly below the apex. */
function labelAboveApex(src: Uint8Array, at: number, apex: Uint8Array, apexAt: number, apexLength: number): Uint8Array | null {
  const len = nameLength(src, at);
  if (len <= apexLength) return null;
  let p = at;
  while (at + len - (p + src[p]! + 1) > apexLength) p += src[p]! + 1;
  if (at + len - (p + src[p]! + 1) !== apexLength) return null;
  for (let i = 0; i < apexLength; i++) if (lowerOctet(src[p + src[p]! + 1 + i]!) !== lowerOctet(apex[apexAt + i]!)) return null;
  const label = new Uint8Array(src[p]! + 1);
  for (let i = 0; i < label.length; i++) label[i] = lowerOctet(src[p + i]!);
  return label;
}

/**
 * Where the template may stand for the SOA after the question name
 * `qname[at]` (uncompressed, `length` octets): the offset of the apex within
 * the name (the P its pointers move by), or -1 when the name does not end
 * with the apex at a label boundary (ignoring ASCII case), or the label
 * just above the apex equals MNAME's or RNAME's (then compression would
 * point into the question instead).
 */
export function negativeSoaUsable(t: NegativeSoa, apex: Uint8Array, apexAt: number, qname: Uint8Array, at: number, length: number): number {
  const shift = length - t.apexLength;
  if (shift < 0) return -1;
  let p = at;
  let above = -1;
  while (p - at < shift) {
    above = p;
    p += qname[p]! + 1;
  }
  if (p - at !== shift) return -1;
  for (let i = 0; i < t.apexLength; i++) if (lowerOctet(qname[p + i]!) !== lowerOctet(apex[apexAt + i]!)) return -1;
  if (above >= 0 && (sameLabel(t.mnameAbove, qname, above) || sameLabel(t.rnameAbove, qname, above))) return -1;
  return shift;
}

/** Whether the lower-cased label `label` (length octet first) equals the label at `m[at]`, ignoring ASCII case. */
function sameLabel(label: Uint8Array | null, m: Uint8Array, at: number): boolean {
  if (label === null || label[0] !== m[at]) return false;
  for (let i = 1; i < label.length; i++) if (label[i] !== lowerOctet(m[at + i]!)) return false;
  return true;
}

/** Writes the template at `out[w]` with its pointers moved by `shift`; returns the offset past it. */
export function writeNegativeSoa(t: NegativeSoa, shift: number, out: Uint8Array, w: number): number {
  const bytes = t.bytes;
  for (let i = 0; i < bytes.length; i++) out[w + i] = bytes[i]!;
  const pointers = t.pointers;
  for (let i = 0; i < pointers.length; i++) {
    const at = w + pointers[i]!;
    const to = (((out[at]! & 0x3f) << 8) | out[at + 1]!) + shift;
    out[at] = 0xc0 | (to >> 8);
    out[at + 1] = to & 0xff;
  }
  return w + bytes.length;
}
