/** Cursors over RDATA: the tokens of a master-file entry, and wire octets being written or read. */

import type { Entry } from '../parse/lexer.js';
import { labelsToName, nameToWire, type NameResult } from '../names.js';

/**
 * A problem inside RDATA. `token` is the index of the offending token in the
 * entry, or -1 for "the line ended too early". Thrown inside the RDATA
 * readers and caught by the parser, which turns it into a diagnostic value.
 */
export class RdataError extends Error {
  constructor(
    message: string,
    readonly token: number,
  ) {
    super(message);
    this.name = 'RdataError';
  }
}

/** Reads names for RDATA fields: the parser supplies origin handling and caching. */
export type NameReader = (text: string) => NameResult;

/** The RDATA tokens of one entry, consumed left to right. */
export class RdataText {
  constructor(
    public entry: Entry,
    public i: number,
    public readName: NameReader,
  ) {}

  /** True while tokens remain. */
  more(): boolean {
    return this.i < this.entry.count;
  }

  /** The next token's text; `what` names the missing field if there is none. */
  take(what: string): string {
    if (this.i >= this.entry.count) throw new RdataError(`missing ${what}`, -1);
    return this.entry.texts[this.i++]!;
  }

  /** Whether the token just taken was quoted. */
  lastQuoted(): boolean {
    return this.entry.quoted[this.i - 1]!;
  }

  /** Fails on the token just taken. */
  fail(message: string): never {
    throw new RdataError(message, this.i - 1);
  }

  /** Takes every remaining token (at least one) joined without blanks, for hex and base64 that may be split. */
  takeRest(what: string): string {
    if (this.i >= this.entry.count) throw new RdataError(`missing ${what}`, -1);
    let s = '';
    while (this.i < this.entry.count) s += this.entry.texts[this.i++]!;
    return s;
  }

  /** Fails if tokens are left over. */
  end(): void {
    if (this.i < this.entry.count) throw new RdataError(`extra text "${this.entry.texts[this.i]}" after the record data`, this.i);
  }
}

/**
 * An arena wire RDATA is written to: `reserve(n)` makes room for `n` more
 * octets at the end and returns where (`bytes` may be replaced by a bigger
 * array when it grows); `used` octets are taken. The zone's RecordStore is
 * one: the reader writes each record's RDATA straight into it.
 */
export interface RdataSink {
  readonly bytes: Uint8Array;
  used: number;
  reserve(n: number): number;
}

/** Builds wire RDATA. */
export class WireWriter {
  private buf = Buffer.allocUnsafe(64);
  private n = 0;

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.n++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.n);
    this.n += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.n);
    this.n += 4;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }

  /** A name string, uncompressed (RFC 3597 §4: no compression in new types). */
  name(name: string): void {
    this.bytes(nameToWire(name));
  }

  /** The octets written, in a buffer of their own. */
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.n));
  }
}

/** Reads wire RDATA strictly: running past the end is an error, not garbage. */
export class WireReader {
  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  /** Octets left. */
  left(): number {
    return this.end - this.pos;
  }

  private need(k: number): void {
    if (this.pos + k > this.end) throw new RdataError('record data ends too early', -1);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  bytes(k: number): Buffer {
    this.need(k);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + k));
    this.pos += k;
    return out;
  }

  rest(): Buffer {
    return this.bytes(this.end - this.pos);
  }

  /** Label octets of an uncompressed name (RDATA inside a zone is never compressed). */
  labels(): Uint8Array[] {
    const labels: Uint8Array[] = [];
    let total = 1;
    for (;;) {
      const len = this.u8();
      if (len === 0) return labels;
      if (len > 63) throw new RdataError('bad label length in record data (compression is not allowed here)', -1);
      total += len + 1;
      if (total > 255) throw new RdataError('name longer than 255 octets in record data', -1);
      labels.push(this.bytes(len));
    }
  }

  /** A name, as a name string (see names.ts). */
  name(): string {
    return labelsToName(this.labels());
  }
}
