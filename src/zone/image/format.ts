/** The zone image's binary layout: header fields, record strides, flags, the name hash, and the checksum. */

import { createRequire } from 'node:module';

/*
 * The layout is written down in doc/zone-image.md; this module is the one
 * place that knows the numbers. All integers are little-endian (the image is
 * read through Uint32Array views, and shardns runs on x86_64 and arm64 Linux,
 * both little-endian); every region starts on an 8-octet boundary.
 */

/** The first eight octets of every image. */
export const MAGIC = 'SHDNSIMG';
/** Raised whenever the layout changes, or the parser or compiler reads the same zone text into other records: an image of another version is rebuilt, never read. Images of this version are reused across shardns releases (store.ts sourceHash). */
export const FORMAT_VERSION = 3;
/** Octets of the header. */
export const HEADER_BYTES = 128;

/** Header fields: octet offsets of u32 values (the magic is at 0). */
export const H = {
  version: 8,
  headerBytes: 12,
  /** Length of the whole image in octets (also the file's size). */
  totalBytes: 16,
  /** CRC-32 of the header with this field zero, and of everything after it. */
  checksum: 20,
  flags: 24,
  nodeCount: 28,
  nodesOff: 32,
  rrsetCount: 36,
  rrsetsOff: 40,
  namesOff: 44,
  namesBytes: 48,
  rdataOff: 52,
  rdataBytes: 56,
  hashOff: 60,
  hashSlots: 64,
  /**
   * NSEC3 owner names (RFC 5155 §7.2) live outside the normal tree: their
   * nodes follow the main ones in the node table (same layout, parent the
   * apex) and are not in the hash index, so a lookup never finds them.
   */
  nsec3NodeCount: 68,
  nsec3NodesOff: 72,
  /** Per main node, two u32 words (see NSEC3_INFO_WORDS), when the zone has a usable NSEC3 chain; else 0 words. */
  nsec3InfoOff: 76,
  nsec3InfoCount: 80,
  recordCount: 84,
  /** The SOA serial (RFC 1035 §3.3.13), for logs and transfers. */
  serial: 88,
  /** A small JSON object: origin in presentation form, source hash, build time. */
  metaOff: 92,
  metaBytes: 96,
  /** The first nsec3ChainCount NSEC3 nodes are the chain of the zone's parameters, in hash order. */
  nsec3ChainCount: 100,
  /** Where the NSEC3PARAM record the zone is served by starts in the rdata region (its RDLENGTH), or NO_NODE. */
  nsec3ParamAt: 104,
} as const;

/** Image flags (header `flags`). */
export const IMAGE_FLAG = {
  /** The zone holds RRSIG records. */
  signed: 1,
  /** The zone holds NSEC3 records. */
  nsec3: 2,
  /** An RRSIG covers a DNSKEY: the zone is signed, and DO=1 answers carry signatures (NSD's `is_secure`). */
  secure: 4,
} as const;

/**
 * NSEC3 facts per main node, precomputed as NSD does (RFC 5155 §7.2): word 0
 * the NSEC3 node whose hash matches (NSEC3_EXACT set) or covers the node's
 * hash, word 1 the one covering the hash of `*.<node>`; NO_NODE where not
 * computed (names below a cut; the wildcard of a cut or of a name too long).
 * Indexes count from the first NSEC3 node (0 = the first of the chain).
 */
export const NSEC3_INFO_WORDS = 2;
/** Set in word 0 of the NSEC3 facts when the NSEC3 owner's hash equals the node's. */
export const NSEC3_EXACT = 0x80000000;

/**
 * A node is five u32 words:
 * 0 name offset (into the names region), 1 parent node (NO_NODE at the apex),
 * 2 first RRset index, 3 RRset count (low 16 bits) | flags (high 16 bits),
 * 4 hash of the lower-cased wire name.
 */
export const NODE_WORDS = 5;
/** An RRset is five u32 words: 0 type | record count << 16, 1 TTL, 2 rdata offset, 3 rdata octets, 4 covered type | set flags << 16. */
export const RRSET_WORDS = 5;
/** "No such node" in parent and index fields. */
export const NO_NODE = 0xffffffff;

/** Node flags (high 16 bits of word 3). */
export const NODE = {
  /** Owns no records but has descendants (RFC 4592 §2.2.2): exists for lookup, blocks wildcards above it. */
  emptyNonTerminal: 1,
  /** NS below the apex: a zone cut (RFC 1034 §4.2.1); the node and everything below it belong to the child. */
  cut: 2,
  /** Strictly below a zone cut: glue or occluded data, never answered authoritatively. */
  belowCut: 4,
  /** `*.<this name>` exists: the source of synthesis when a name below is missing (RFC 4592 §3.3.1). */
  wildcardChild: 8,
  /** Owns a DNAME (RFC 6672). */
  dname: 16,
  /** Owns a CNAME. */
  cname: 32,
  /** The zone apex. */
  apex: 64,
  /** Its leftmost label is `*`. */
  wildcard: 128,
} as const;

/**
 * Hash of a lower-cased wire name (FNV-1a, 32 bits) over `bytes[start, end)`.
 * The compiler and every lookup use this one function.
 */
export function nameHash(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** node:zlib's crc32, loaded at the first checksum: a worker maps images without one, and node:zlib costs ~3 ms of a start. */
let zlibCrc32: ((data: Uint8Array, value?: number) => number) | null = null;

/**
 * CRC-32 of an image: the header with the checksum field taken as zero, then
 * the rest. The image may be given as pieces in order (the first holding at
 * least the header), as the compiler leaves it.
 */
export function imageChecksum(image: Uint8Array | readonly Uint8Array[]): number {
  const crc32 = (zlibCrc32 ??= (createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib')).crc32);
  const pieces = image instanceof Uint8Array ? [image] : image;
  const first = pieces[0]!;
  let c = crc32(first.subarray(0, H.checksum));
  c = crc32(new Uint8Array(4), c);
  c = crc32(first.subarray(H.checksum + 4), c);
  for (let i = 1; i < pieces.length; i++) c = crc32(pieces[i]!, c);
  return c >>> 0;
}

/** Rounds up to a multiple of 8. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}
