/** Writing the messages of a zone transfer: header, the question, records with names compressed (RFC 1035 §4.1.4), each message filled up to a size. Pure. */

import { compressionHash, compressName, compressRdata, extendCompressionHash, extendLowerCaseHash, findWritten, rememberWritten, startMessage } from '../dns/compress.js';
import { HEADER_LENGTH } from '../dns/header.js';

/** The largest DNS message over TCP (RFC 1035 §4.2.2: a two-octet length). */
export const MAX_MESSAGE = 65535;
/**
 * How full a transfer message is made: 16 KiB, so every name in it can be
 * a compression target (pointers reach 16383 octets, RFC 1035 §4.1.4), as
 * NSD fills its AXFR and IXFR messages (MAX_COMPRESSION_OFFSET).
 */
export const TRANSFER_MESSAGE = 16383;

/** Pointers carry 14 bits of offset (RFC 1035 §4.1.4). */
const MAX_POINTER = 0x3fff;
/** Slots of the per-message node table (a power of two), the shift that maps a 32-bit hash onto them, and how many may be used. */
const NODE_SLOTS = 4096;
const NODE_SHIFT = 20;
const NODE_LIMIT = (NODE_SLOTS * 3) / 4;

/** Scratch for one owner name: its nodes below the first one written, where their labels start, and their hashes. */
const MAX_LABELS = 128;
const chainNode = new Int32Array(MAX_LABELS);
const chainAt = new Int32Array(MAX_LABELS);
const chainHash = new Int32Array(MAX_LABELS);

/**
 * The owner names of a zone's nodes, as {@link MessageWriter.addOwnedBy}
 * reads them (a ZoneImage is one): every node's parent is the node of its
 * name less the first label, up to the apex, whose parent is -1.
 */
export interface NodeNames {
  readonly bytes: Uint8Array;
  /** Where the node's original-case wire name starts in `bytes`. */
  ownerAt(node: number): number;
  /** Where the node's lower-cased wire name starts in `bytes` (hashed without case folding). */
  keyAt(node: number): number;
  /** Octets of the node's wire name. */
  nameLength(node: number): number;
  /** The parent node, or -1 at the apex. */
  parent(node: number): number;
}

/** QR and AA (RFC 1035 §4.1.1). */
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;

/** The fixed parts of every message of one reply. */
export interface MessageHead {
  id: number;
  /** Header flags besides QR, AA, TC and the RCODE: opcode and RD as the query had them (RFC 5936 §2.2.1). */
  flags: number;
  /** The question section as the query had it (name, type, class), written in the first message only. */
  question: Uint8Array;
}

/**
 * Writes one message after another into a scratch area and copies each out
 * at its size. A message is begun, given records until one does not fit,
 * and finished; a record that does not fit is left for the next message
 * (none is ever split). Compression state is compress.ts's, started afresh
 * per message, so a message must be built from begin to finish in one
 * synchronous run (the replies of answer() use the same tables).
 */
export class MessageWriter {
  private readonly out = Buffer.allocUnsafe(MAX_MESSAGE + 512);
  private w = 0;
  private records = 0;
  private full = false;
  private room = 0;
  private flags = 0;
  /** Nodes whose names were written in this message: node number → offset, slots stamped with the message's generation. */
  private readonly nodeKey = new Int32Array(NODE_SLOTS);
  private readonly nodeAt = new Int32Array(NODE_SLOTS);
  private readonly nodeGen = new Int32Array(NODE_SLOTS);
  private readonly nodeHash = new Int32Array(NODE_SLOTS);
  private nodeGeneration = 0;
  private nodesUsed = 0;

  /**
   * Begins a message of `head`, with the question when `withQuestion`;
   * records may fill it up to `size` octets less `reserve` (the OPT and
   * TSIG records that follow them). One record alone may take up to the
   * 65535 octets of a TCP message less `reserve`, unless `strict` (a UDP
   * reply, which must fit `size`).
   */
  begin(head: MessageHead, withQuestion: boolean, size: number, reserve: number, strict = false): void {
    startMessage();
    if (++this.nodeGeneration === 0x7fffffff) {
      this.nodeGen.fill(0);
      this.nodeGeneration = 1;
    }
    this.nodesUsed = 0;
    const out = this.out;
    out.writeUInt16BE(head.id, 0);
    this.flags = (head.flags & ~(QR | AA | TC | 0x000f)) | QR | AA;
    out.writeUInt32BE(0, 4);
    out.writeUInt32BE(0, 8);
    this.w = HEADER_LENGTH;
    // Once per reply, out of line: a branch taken once is one an optimised begin() was compiled without.
    if (withQuestion) this.question(head.question);
    this.records = 0;
    this.full = false;
    this.room = Math.min(size, MAX_MESSAGE) - reserve;
    this.strict = strict;
    this.maxAlone = strict ? this.room : MAX_MESSAGE - reserve;
  }

  /** Writes the question section (the first message's). */
  private question(question: Uint8Array): void {
    // A plain Uint8Array view, as the image's octets are: the name functions see one kind of array (a Buffer here made the
    // optimised compressName deoptimise at the next transfer's first message, and be compiled again).
    const q = Buffer.isBuffer(question) ? new Uint8Array(question.buffer, question.byteOffset, question.byteLength) : question;
    const out = this.out;
    const at = compressName(q, 0, q.length - 4, out, this.w);
    if (at < 0) throw new Error('the question name is not a well-formed wire name');
    out.set(q.subarray(q.length - 4), at);
    this.w = at + 4;
    out.writeUInt16BE(1, 4);
  }

  private maxAlone = MAX_MESSAGE;
  private strict = false;

  /** Records in the message so far. */
  get count(): number {
    return this.records;
  }

  /**
   * Adds one record: the uncompressed owner name at `owner[ownerAt]`, type,
   * class, TTL, and RDLENGTH with RDATA at `data[dataAt]`. Returns false,
   * writing nothing, when it does not fit; the message must then be
   * finished (what was written for the record is not in the message, but
   * the compression tables remember its names).
   */
  add(owner: Uint8Array, ownerAt: number, type: number, klass: number, ttl: number, data: Uint8Array, dataAt: number): boolean {
    if (this.full) throw new Error('a record added to a full transfer message');
    const w = compressName(owner, ownerAt, owner.length, this.out, this.w);
    if (w < 0) throw new Error('a record\'s owner name is not a well-formed wire name');
    return this.addRest(w, type, klass, ttl, data, dataAt);
  }

  /**
   * Adds one record owned by node `node` of `names` (a zone image): as
   * {@link add}, but the owner name is compressed by node (RFC 1035 §4.1.4,
   * as NSD compresses by domain): a node, or an ancestor, already written
   * in this message is a pointer to where it was written, found by its
   * number rather than by hashing and comparing its labels. Labels are
   * written in the node's own case. The rest of the name above the apex
   * (the origin) goes through the name compressor, so it may point into
   * the question or the other records' RDATA names.
   */
  addOwnedBy(names: NodeNames, node: number, type: number, klass: number, ttl: number, data: Uint8Array, dataAt: number): boolean {
    if (this.full) throw new Error('a record added to a full transfer message');
    const w = this.nodeName(names, node);
    return this.addRest(w, type, klass, ttl, data, dataAt);
  }

  /**
   * Writes node `node`'s owner name at the end of the message; returns the
   * offset past it. The node and its ancestors are looked up by number up
   * to the first one written in this message (or the apex); the labels
   * below it are then looked up, from the top, by hash among every name
   * written (RDATA names too), so the name points at the longest suffix
   * written before, as compressName would find it, with a label's work
   * instead of the whole name's. Each label written is remembered both ways.
   */
  private nodeName(names: NodeNames, node: number): number {
    const bytes = names.bytes;
    const out = this.out;
    const ownerAt = names.ownerAt(node);
    const length = names.nameLength(node);
    // Owner and lower-cased key are the same length: the key's octet for owner octet `at` is at `at + toKey`.
    const toKey = names.keyAt(node) - ownerAt;
    let at = ownerAt;
    const end = at + length;
    let depth = 0;
    let n = node;
    let target = -1;
    let hash = 0;
    // Up: each step drops a label, as long as the nodes' names are what is left of this one.
    for (;;) {
      if (n < 0 || names.nameLength(n) !== end - at) return this.irregularName(names, node);
      const slot = this.findNode(n);
      if (slot >= 0) {
        target = this.nodeAt[slot]!;
        hash = this.nodeHash[slot]!;
        break;
      }
      const up = names.parent(n);
      if (up < 0) break;
      chainNode[depth] = n;
      chainAt[depth] = at;
      depth++;
      at += bytes[at]! + 1;
      n = up;
    }
    // Not even the apex written yet (the message's first owner): its name through the name compressor.
    if (target < 0) return this.apexName(names, n, at, end, depth);
    // Down: the deepest label whose name was written before (as RDATA, say) is pointed at instead.
    let below = depth;
    for (let i = depth - 1; i >= 0; i--) {
      hash = extendLowerCaseHash(hash, bytes, chainAt[i]! + toKey);
      chainHash[i] = hash;
      const found = findWritten(hash, bytes, chainAt[i]!, out);
      if (found >= 0) {
        target = found;
        below = i;
      }
    }
    const w = this.writeLabels(bytes, below, this.w);
    out[w] = 0xc0 | (target >> 8);
    out[w + 1] = target & 0xff;
    return w + 2;
  }

  /** The slot of node `n` in this message's node table, or -1. */
  private findNode(n: number): number {
    const gen = this.nodeGeneration;
    // The step runs before the first probe too (see rememberNode).
    let s = ((Math.imul(n, 0x9e3779b1) >>> NODE_SHIFT) - 1) & (NODE_SLOTS - 1);
    for (;;) {
      s = (s + 1) & (NODE_SLOTS - 1);
      if (this.nodeGen[s] !== gen) return -1;
      if (this.nodeKey[s] === n) return s;
    }
  }

  /** Writes the first `count` labels of the chain at `w`, each remembered both ways; returns the offset past them. */
  private writeLabels(bytes: Uint8Array, count: number, w: number): number {
    const out = this.out;
    for (let i = 0; i < count; i++) {
      if (w <= MAX_POINTER) {
        this.rememberNode(chainNode[i]!, w, chainHash[i]!);
        rememberWritten(chainHash[i]!, w);
      }
      for (let k = chainAt[i]!, stop = k + bytes[k]! + 1; k < stop; ) out[w++] = bytes[k++]!;
    }
    return w;
  }

  /**
   * The owner name of a node whose ancestors up to the apex are not written
   * in this message (its first owner name): the labels below the apex are
   * hashed and looked up as in nodeName, and the apex's name (the origin)
   * goes through the name compressor: it may point into the question, and
   * RDATA names at it.
   */
  private apexName(names: NodeNames, apex: number, at: number, end: number, depth: number): number {
    const bytes = names.bytes;
    const out = this.out;
    const topHash = compressionHash(bytes, at);
    let hash = topHash;
    let target = -1;
    let below = depth;
    for (let i = depth - 1; i >= 0; i--) {
      hash = extendCompressionHash(hash, bytes, chainAt[i]!);
      chainHash[i] = hash;
      const found = findWritten(hash, bytes, chainAt[i]!, out);
      if (found >= 0) {
        target = found;
        below = i;
      }
    }
    let w = this.writeLabels(bytes, below, this.w);
    if (below < depth) {
      out[w] = 0xc0 | (target >> 8);
      out[w + 1] = target & 0xff;
      return w + 2;
    }
    const start = w;
    w = this.checked(compressName(bytes, at, end, out, w));
    if (end - at > 1 && start <= MAX_POINTER) {
      // (The root's one octet is never pointed at.) Where the origin is: here, or where it points (the question's, in the
      // first message; both octets read either way, so no access only the first message makes).
      const pointer = ((out[start]! & 0x3f) << 8) | out[start + 1]!;
      this.rememberNode(apex, (out[start]! & 0xc0) === 0xc0 ? pointer : start, topHash);
    }
    return w;
  }

  /** The owner name of a node whose nodes do not follow its labels (an NSEC3 owner more than one label below the apex): compressed as a name. */
  private irregularName(names: NodeNames, node: number): number {
    const at = names.ownerAt(node);
    return this.checked(compressName(names.bytes, at, at + names.nameLength(node), this.out, this.w));
  }

  /** `w` unless it says the name did not parse. */
  private checked(w: number): number {
    if (w < 0) throw new Error('a record\'s owner name is not a well-formed wire name');
    return w;
  }

  /** Remembers that node `n`'s name, with compression hash `hash`, is at `at` in this message (past the table's fill limit, it is not remembered). */
  private rememberNode(n: number, at: number, hash: number): void {
    if (this.nodesUsed >= NODE_LIMIT) return;
    // The step runs before the first probe too (from the slot before): no arithmetic an optimised version saw no use of.
    let s = ((Math.imul(n, 0x9e3779b1) >>> NODE_SHIFT) - 1) & (NODE_SLOTS - 1);
    do s = (s + 1) & (NODE_SLOTS - 1);
    while (this.nodeGen[s] === this.nodeGeneration);
    this.nodeGen[s] = this.nodeGeneration;
    this.nodeKey[s] = n;
    this.nodeAt[s] = at;
    this.nodeHash[s] = hash;
    this.nodesUsed++;
  }

  /** Writes a record's type, class, TTL and RDATA after its owner name (ending at `w`) and counts it, or refuses it. */
  private addRest(w: number, type: number, klass: number, ttl: number, data: Uint8Array, dataAt: number): boolean {
    const out = this.out;
    const rdlength = (data[dataAt]! << 8) | data[dataAt + 1]!;
    if (w + 10 + rdlength > out.length) {
      this.full = true;
      return this.fitsAlone(false);
    }
    out[w] = type >> 8;
    out[w + 1] = type & 0xff;
    out[w + 2] = klass >> 8;
    out[w + 3] = klass & 0xff;
    out[w + 4] = ttl >>> 24;
    out[w + 5] = (ttl >>> 16) & 0xff;
    out[w + 6] = (ttl >>> 8) & 0xff;
    out[w + 7] = ttl & 0xff;
    w += 8;
    const end = compressRdata(type, data, dataAt, out, w);
    if (end >= 0) w = end;
    else {
      out.set(data.subarray(dataAt, dataAt + 2 + rdlength), w);
      w += 2 + rdlength;
    }
    const limit = this.records === 0 ? this.maxAlone : this.room;
    if (w > limit) {
      this.full = true;
      return this.fitsAlone(this.records === 0);
    }
    this.w = w;
    this.records++;
    return true;
  }

  /** A record that fits no message at all is a zone we cannot transfer (the caller's stream fails). */
  private fitsAlone(alone: boolean): false {
    if (this.strict) return false;
    if (alone || this.records === 0) throw new Error('a record too large for any DNS message over TCP');
    return false;
  }

  /** Whether a record was refused (the message is to be finished). */
  get isFull(): boolean {
    return this.full;
  }

  /**
   * Finishes the message: ANCOUNT, the flags with `rcode` and TC when
   * `truncated`, and `opt` (an OPT record's octets, or null) appended.
   * Returns a copy of its octets.
   */
  finish(opt: Uint8Array | null, rcode = 0, truncated = false): Buffer {
    const bytes = Buffer.allocUnsafe(this.finishedLength(opt));
    this.finishInto(bytes, 0, opt, rcode, truncated);
    return bytes;
  }

  /** Octets the finished message takes, `opt` included. */
  finishedLength(opt: Uint8Array | null): number {
    return this.w + (opt?.length ?? 0);
  }

  /** As {@link finish}, but the message is copied to `dest` at `at` (which has room for {@link finishedLength} octets); returns its length. */
  finishInto(dest: Uint8Array, at: number, opt: Uint8Array | null, rcode = 0, truncated = false): number {
    const out = this.out;
    out.writeUInt16BE((this.flags | (truncated ? TC : 0) | (rcode & 0xf)) & 0xffff, 2);
    out.writeUInt16BE(this.records, 6);
    out.writeUInt16BE(opt === null ? 0 : 1, 10);
    out.copy(dest, at, 0, this.w);
    if (opt !== null) dest.set(opt, at + this.w);
    return this.w + (opt?.length ?? 0);
  }
}
