/** MessageRing: the memory a zone transfer's messages are made into, one after another, reused round and round instead of a new buffer per message. Pure. */

import { MAX_MESSAGE } from './packer.js';
import { LENGTH_OCTETS, MAX_FRAME } from './stream.js';
/** The ring's size: room for the TCP engine's 256 KiB of unsent messages and two frames more (src/net/tcp.ts). */
export const RING_OCTETS = 512 * 1024;

/**
 * A buffer messages are placed in back to back, each with two octets free
 * before it for its TCP length; when the next frame might not fit before
 * the end, placing starts again at the front. A frame is written over only
 * by a later one placed when more than {@link reuseAfter} octets of frames
 * came after it, that one included (the tail a wrap skips and the frame
 * itself are each at most MAX_FRAME), so a sender that keeps fewer than
 * `reuseAfter - MAX_FRAME` octets unsent before asking for the next message
 * never sees one change under it.
 */
export class MessageRing {
  readonly bytes: Buffer;
  /** Octets of frames placed after a message, the one writing over it included, before its memory is written again. */
  readonly reuseAfter: number;
  private w = 0;

  constructor(size = RING_OCTETS) {
    if (size < 4 * MAX_FRAME) throw new Error(`a message ring of ${size} octets is smaller than four frames`);
    this.bytes = Buffer.allocUnsafe(size);
    this.reuseAfter = size - 2 * MAX_FRAME;
  }

  /** Where the next message of up to `length` octets goes (its length field is the two octets before). */
  place(length: number): number {
    if (length > MAX_MESSAGE) throw new Error(`a message of ${length} octets is larger than TCP can carry`);
    if (this.w + LENGTH_OCTETS + length > this.bytes.length) this.w = 0;
    const at = this.w + LENGTH_OCTETS;
    this.w = at + length;
    return at;
  }
}
