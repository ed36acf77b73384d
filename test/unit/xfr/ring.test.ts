import { expect } from 'chai';
import { MessageRing } from '../../../src/xfr/ring.js';
import { MAX_FRAME } from '../../../src/xfr/stream.js';

describe('MessageRing (src/xfr/ring.ts): where transfer messages are made, round and round', () => {
  it('places messages back to back, two octets apart for the TCP length, and starts again at the front when the next might not fit', () => {
    const ring = new MessageRing(4 * MAX_FRAME + 100);
    const places = [1000, 2000, 65535, 65535, 65535, 65535, 10].map((n) => ring.place(n));
    expect(places).to.deep.equal([2, 1004, 3006, 68543, 134080, 2, 65539]);
  });

  it('a frame is written over only after more than reuseAfter octets of later frames (the one writing over it included)', () => {
    const ring = new MessageRing(4 * MAX_FRAME);
    expect(ring.reuseAfter).to.equal(2 * MAX_FRAME);
    const sizes = [12, 16383, 65535, 300, 40000, 12, 65535, 65535, 1, 16383, 65535, 7];
    /** Frames placed so far: where each lies, and how many octets of frames had been placed when it ended. */
    const frames: { start: number; end: number; placedAtEnd: number }[] = [];
    let placed = 0;
    let checked = 0;
    for (let round = 0; round < 40; round++) {
      for (const size of sizes) {
        const at = ring.place(size);
        const frame = { start: at - 2, end: at + size, placedAtEnd: placed + size + 2 };
        for (const e of frames) {
          if (frame.start < e.end && e.start < frame.end) {
            expect(frame.placedAtEnd - e.placedAtEnd).to.be.greaterThan(ring.reuseAfter);
            checked++;
          }
        }
        // Only the frames still lying in the ring untouched can be written over next.
        for (let i = frames.length - 1; i >= 0; i--) if (frame.start < frames[i]!.end && frames[i]!.start < frame.end) frames.splice(i, 1);
        frames.push(frame);
        placed = frame.placedAtEnd;
      }
    }
    expect(checked).to.be.greaterThan(100);
  });

  it('refuses a message larger than TCP can carry, and a ring too small for four frames', () => {
    expect(() => new MessageRing().place(65536)).to.throw(/65536 octets is larger than TCP can carry/);
    expect(() => new MessageRing(3 * MAX_FRAME)).to.throw(/smaller than four frames/);
  });
});
