/** Frame Streams (fstrm), the framing dnstap travels in: data and control frames written and read, pure. */

/**
 * Control frame types (fstrm's control.h, the protocol dnstap readers
 * speak). A bidirectional writer sends READY, waits for ACCEPT, sends
 * START, then data, then STOP and waits for FINISH; a file holds START,
 * data, STOP.
 */
export const CONTROL = { ACCEPT: 0x01, START: 0x02, STOP: 0x03, READY: 0x04, FINISH: 0x05 } as const;

/** The one control field type: a content type the frames carry. */
export const FIELD_CONTENT_TYPE = 0x01;

/** Longest control frame a reader accepts (fstrm's limit): a peer sending more is not speaking Frame Streams. */
export const CONTROL_FRAME_MAX = 512;

/** A frame read from a stream. */
export type Frame = { kind: 'data'; payload: Buffer } | { kind: 'control'; type: number; contentTypes: string[] };

/**
 * A control frame: the escape (a zero length), the control frame's length,
 * its type, and one CONTENT_TYPE field per content type, each as field
 * type, length, bytes (all integers 32-bit big-endian).
 */
export function controlFrame(type: number, contentTypes: readonly string[] = []): Buffer {
  const fields = contentTypes.map((t) => Buffer.from(t, 'utf8'));
  const length = 4 + fields.reduce((n, f) => n + 8 + f.length, 0);
  const out = Buffer.alloc(8 + length);
  out.writeUInt32BE(0, 0);
  out.writeUInt32BE(length, 4);
  out.writeUInt32BE(type, 8);
  let at = 12;
  for (const f of fields) {
    out.writeUInt32BE(FIELD_CONTENT_TYPE, at);
    out.writeUInt32BE(f.length, at + 4);
    f.copy(out, at + 8);
    at += 8 + f.length;
  }
  return out;
}

/** Writes a data frame (length, then payload) at `out[at]`; returns the offset after it. `out` must have room for 4 + payload.length. */
export function writeDataFrame(payload: Uint8Array, out: Buffer, at: number): number {
  out.writeUInt32BE(payload.length, at);
  out.set(payload, at + 4);
  return at + 4 + payload.length;
}

/** A data frame as its own buffer. */
export function dataFrame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  writeDataFrame(payload, out, 0);
  return out;
}

/**
 * Reads frames from a byte stream as it arrives (a socket, or a whole
 * file). `push` returns the frames completed by the bytes given, or a
 * string saying what is wrong (the stream cannot be read further).
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxDataFrame = 1 << 20) {}

  /** Bytes received so far that do not yet make a whole frame. */
  get buffered(): number {
    return this.pending.length;
  }

  push(chunk: Uint8Array): Frame[] | string {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let at = 0;
    const buf = this.pending;
    for (;;) {
      if (buf.length - at < 4) break;
      const length = buf.readUInt32BE(at);
      if (length > 0) {
        if (length > this.maxDataFrame) return `data frame of ${length} octets is over the ${this.maxDataFrame}-octet limit`;
        if (buf.length - at < 4 + length) break;
        frames.push({ kind: 'data', payload: Buffer.from(buf.subarray(at + 4, at + 4 + length)) });
        at += 4 + length;
        continue;
      }
      if (buf.length - at < 8) break;
      const controlLength = buf.readUInt32BE(at + 4);
      if (controlLength < 4 || controlLength > CONTROL_FRAME_MAX) return `control frame of ${controlLength} octets (must be 4 to ${CONTROL_FRAME_MAX})`;
      if (buf.length - at < 8 + controlLength) break;
      const parsed = parseControl(buf.subarray(at + 8, at + 8 + controlLength));
      if (typeof parsed === 'string') return parsed;
      frames.push(parsed);
      at += 8 + controlLength;
    }
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    return frames;
  }
}

/** A control frame's body (after the escape and its length): type, then fields. */
function parseControl(body: Buffer): Frame | string {
  const type = body.readUInt32BE(0);
  const contentTypes: string[] = [];
  let at = 4;
  while (at < body.length) {
    if (body.length - at < 8) return 'control frame field cut short';
    const field = body.readUInt32BE(at);
    const length = body.readUInt32BE(at + 4);
    if (body.length - at - 8 < length) return 'control frame field longer than its frame';
    if (field === FIELD_CONTENT_TYPE) contentTypes.push(body.toString('utf8', at + 8, at + 8 + length));
    at += 8 + length;
  }
  return { kind: 'control', type, contentTypes };
}
