/** Writing the messages of a zone transfer: header, the question, records with names compressed (RFC 1035 §4.1.4), each message filled up to a size. Pure. */

import { compressName, compressRdata, startMessage } from '../dns/compress.js';
import { HEADER_LENGTH } from '../dns/header.js';

/** The largest DNS message over TCP (RFC 1035 §4.2.2: a two-octet length). */
export const MAX_MESSAGE = 65535;
/**
 * How full a transfer message is made: 16 KiB, so every name in it can be
 * a compression target (pointers reach 16383 octets, RFC 1035 §4.1.4), as
 * NSD fills its AXFR and IXFR messages (MAX_COMPRESSION_OFFSET).
 */
export const TRANSFER_MESSAGE = 16383;

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

  /**
   * Begins a message of `head`, with the question when `withQuestion`;
   * records may fill it up to `size` octets less `reserve` (the OPT and
   * TSIG records that follow them). One record alone may take up to the
   * 65535 octets of a TCP message less `reserve`, unless `strict` (a UDP
   * reply, which must fit `size`).
   */
  begin(head: MessageHead, withQuestion: boolean, size: number, reserve: number, strict = false): void {
    startMessage();
    const out = this.out;
    out.writeUInt16BE(head.id, 0);
    this.flags = (head.flags & ~(QR | AA | TC | 0x000f)) | QR | AA;
    out.writeUInt32BE(0, 4);
    out.writeUInt32BE(0, 8);
    this.w = HEADER_LENGTH;
    if (withQuestion) {
      const q = head.question;
      const at = compressName(q, 0, q.length - 4, out, this.w);
      if (at < 0) throw new Error('the question name is not a well-formed wire name');
      out.set(q.subarray(q.length - 4), at);
      this.w = at + 4;
      out.writeUInt16BE(1, 4);
    }
    this.records = 0;
    this.full = false;
    this.room = Math.min(size, MAX_MESSAGE) - reserve;
    this.strict = strict;
    this.maxAlone = strict ? this.room : MAX_MESSAGE - reserve;
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
    const out = this.out;
    const start = this.w;
    let w = compressName(owner, ownerAt, owner.length, out, start);
    if (w < 0) throw new Error('a record\'s owner name is not a well-formed wire name');
    const rdlength = (data[dataAt]! << 8) | data[dataAt + 1]!;
    if (w + 10 + rdlength > out.length) {
      this.full = true;
      return this.fitsAlone(false);
    }
    out[w] = type >> 8;
    out[w + 1] = type & 0xff;
    out[w + 2] = klass >> 8;
    out[w + 3] = klass & 0xff;
    out.writeUInt32BE(ttl >>> 0, w + 4);
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
    const out = this.out;
    out.writeUInt16BE((this.flags | (truncated ? TC : 0) | (rcode & 0xf)) & 0xffff, 2);
    out.writeUInt16BE(this.records, 6);
    out.writeUInt16BE(opt === null ? 0 : 1, 10);
    const bytes = Buffer.allocUnsafe(this.w + (opt?.length ?? 0));
    out.copy(bytes, 0, 0, this.w);
    if (opt !== null) bytes.set(opt, this.w);
    return bytes;
  }
}
