/** AXFR out (RFC 5936): the zone image walked in canonical order as transfer messages, made one at a time, each TSIG-signed when the request was. Pure. */

import type { ZoneImage } from '../zone/image/image.js';
import { MessageWriter, TRANSFER_MESSAGE, type MessageHead } from './packer.js';
import { MessageRing } from './ring.js';
import type { ReplyStream } from './stream.js';
import type { TsigStreamSigner } from './tsig.js';

/** Class IN. */
const IN = 1;
/** SOA's type. */
const SOA = 6;

/** A sequence of records a transfer sends, written into messages as they fill. */
export interface RecordCursor {
  /** Adds records to `w` until one does not fit or none is left; true when none is left. */
  fill(w: MessageWriter): boolean;
}

/**
 * Every record of a zone image as RFC 5936 §2.2 sends them: the SOA, then
 * every RRset of every node in canonical order (nodes 0 … nodeCount-1, the
 * apex first, then the NSEC3 nodes), RRSIG sets included, the apex SOA
 * left out there, and the SOA again last. Owner names in the case the zone
 * file wrote them; nothing is copied out of the image.
 */
export class ZoneCursor implements RecordCursor {
  /** -1: the first SOA; 0 … total-1: the nodes; total: the last SOA; total + 1: done. */
  private node = -1;
  /** The next RRset of the node to start, and one past its last. */
  private set = 0;
  private setEnd = 0;
  /** The RRset being written: records of it still to write, its type and TTL, where its next record is. */
  private left = 0;
  private type = 0;
  private ttl = 0;
  private at = 0;
  private readonly total: number;
  private readonly soa: number;

  constructor(private readonly image: ZoneImage) {
    this.total = image.nodeCount + image.nsec3Count;
    this.soa = image.soaSet();
    if (this.soa < 0) throw new Error(`zone ${image.meta.origin} has no SOA`);
  }

  fill(w: MessageWriter): boolean {
    const image = this.image;
    const bytes = image.bytes;
    // The common case first: one more record of the RRset begun (its facts read once per set, not per record).
    for (;;) {
      if (this.left > 0) {
        const at = this.at;
        if (!w.addOwnedBy(image, this.node, this.type, IN, this.ttl, bytes, at)) return false;
        this.at = at + 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
        this.left--;
        continue;
      }
      if (this.set < this.setEnd) {
        const set = this.set++;
        // The apex SOA goes first and last, not in between.
        if (set === this.soa) continue;
        this.type = image.setType(set);
        this.ttl = image.setTtl(set);
        this.at = image.setRdataAt(set);
        this.left = image.setSize(set);
        continue;
      }
      if (this.node === -1 || this.node === this.total) {
        if (!this.addSoa(w)) return false;
        if (this.node === this.total) {
          this.node++;
          return true;
        }
        this.startNode(0);
        continue;
      }
      if (this.node > this.total) return true;
      this.startNode(this.node + 1);
    }
  }

  /**
   * Leaves out the nodes before `node` that are not begun yet: the records of
   * the RRset begun are left out too, and the next record is `node`'s first (or, at or past the last node, the closing SOA).
   * For the worker's warm-up (src/xfr/warm-up.ts), which makes a transfer's
   * first and last messages only; never used on a transfer that is sent.
   * Only between messages of a stream whose first message was made.
   */
  skipTo(node: number): void {
    if (this.node < 0 || this.node >= this.total || node <= this.node) return;
    this.left = 0;
    this.startNode(Math.min(node, this.total));
  }

  /** Moves to node `n` (or, at `total`, the last SOA). */
  private startNode(n: number): void {
    this.node = n;
    if (n < this.total) {
      this.set = this.image.firstSet(n);
      this.setEnd = this.set + this.image.setCount(n);
    } else {
      this.set = 0;
      this.setEnd = 0;
    }
  }

  /** Writes the SOA record (the apex's one SOA). */
  private addSoa(w: MessageWriter): boolean {
    const image = this.image;
    return w.addOwnedBy(image, 0, SOA, IN, image.setTtl(this.soa), image.bytes, image.setRdataAt(this.soa));
  }
}

/** How the messages of one transfer reply are made. */
export interface TransferOptions {
  head: MessageHead;
  /** The first message's OPT record (octets), when the query had EDNS; null otherwise. */
  opt: Uint8Array | null;
  /** Signs every message (RFC 8945 §5.3.1) when the request was signed; null otherwise. */
  signer: TsigStreamSigner | null;
  /** How full each message is made (default 16383: every name a compression target). */
  messageSize?: number;
  /** Called once when the stream is done or closed (releases the image hold). */
  onClose?: () => void;
}

/**
 * The messages of a transfer reply (AXFR, or IXFR in either form) made one
 * at a time from a cursor: the question in the first, records until the
 * next does not fit, the OPT in the first, a TSIG on every one when the
 * request was signed. Unsigned, the messages are made into a ring reused
 * round and round (no buffer allocated per message; see
 * {@link ReplyStream.reuseAfter}); signed, each is a buffer of its own.
 */
export class TransferStream implements ReplyStream {
  private readonly writer = new MessageWriter();
  private readonly ring: MessageRing | null;
  readonly reuseAfter?: number;
  private first = true;
  private done = false;
  private closed = false;
  /** Messages made so far. */
  messages = 0;

  constructor(
    private readonly cursor: RecordCursor,
    private readonly options: TransferOptions,
  ) {
    this.ring = options.signer === null ? new MessageRing() : null;
    if (this.ring !== null) this.reuseAfter = this.ring.reuseAfter;
  }

  next(): Buffer | null {
    if (this.done || this.closed) {
      this.close();
      return null;
    }
    const { head, opt, signer } = this.options;
    const first = this.first;
    this.first = false;
    const reserve = (first && opt !== null ? opt.length : 0) + (signer?.overhead ?? 0);
    this.writer.begin(head, first, this.options.messageSize ?? TRANSFER_MESSAGE, reserve);
    this.done = this.cursor.fill(this.writer);
    this.messages++;
    const withOpt = first ? opt : null;
    const ring = this.ring;
    if (ring === null) {
      const message = this.writer.finish(withOpt);
      return signer === null ? message : signer.sign(message);
    }
    const at = ring.place(this.writer.finishedLength(withOpt));
    const length = this.writer.finishInto(ring.bytes, at, withOpt);
    return ring.bytes.subarray(at, at + length);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onClose?.();
    keepShapes(this, this.cursor, this.writer, this.ring);
  }
}

/**
 * The last closed transfer stream and the objects it was made of, one per
 * class, kept reachable and never used again, so that V8 keeps the packer
 * optimised between transfers. Optimised code checks the hidden classes
 * (maps) of TransferStream, MessageWriter, MessageRing and the cursor it
 * inlined, and V8 holds those maps weakly: once no object of a class is
 * alive, a full collection frees its map and throws away every function
 * compiled against it ("weak objects"). A worker between transfers holds no
 * stream, and its memory reducer collects when idle, so each transfer ran
 * its first part interpreted and compiled the packer again (1M records: a
 * warm worker's CPU 0.16–0.24 s per transfer instead of ~0.14 s, and the
 * warm-up of src/xfr/warm-up.ts undone before the first transfer came).
 * Costs one ring and one writer of memory (~0.6 MiB) per worker; the image
 * a kept ZoneCursor names is never read again (its mapping is released by
 * holds, src/mapped-zones.ts, not by reachability).
 */
const kept = new Map<unknown, unknown>();

/** Keeps `objects` (the latest of each class) reachable: see {@link kept}. */
function keepShapes(...objects: unknown[]): void {
  for (const o of objects) if (o !== null && typeof o === 'object') kept.set(o.constructor, o);
}

/**
 * An AXFR reply stream for `image` (RFC 5936 §2.2): the image is held (a
 * reload cannot unmap it under the stream) until the stream is closed.
 */
export function axfrStream(image: ZoneImage, options: Omit<TransferOptions, 'onClose'>): TransferStream {
  image.hold();
  return new TransferStream(new ZoneCursor(image), { ...options, onClose: () => image.release() });
}
