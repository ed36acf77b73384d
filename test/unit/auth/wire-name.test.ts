import { expect } from 'chai';
import { copyName, lowerName, nameLength } from '../../../src/auth/wire-name.js';

const b = (...parts: (number | string)[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [p])));

describe('copyName: a name out of a message, pointers followed (RFC 1035 §4.1.4)', () => {
  const label63 = 'x'.repeat(63);
  const cases: { what: string; msg: Uint8Array; at: number; want: string | -1 }[] = [
    { what: 'plain, case and octets kept', msg: b(3, 'WwW', 2, 'a', 0xff, 0), at: 0, want: '035777570261ff00' },
    { what: 'the root', msg: b(0), at: 0, want: '00' },
    { what: 'a label holding a dot and a zero octet', msg: b(3, 'a.', 0, 0), at: 0, want: '03612e0000' },
    { what: 'ending in a pointer backwards', msg: b(3, 'com', 0, 1, 'a', 0xc0, 0), at: 5, want: '0161' + '03636f6d00' },
    { what: 'a pointer to itself: refused', msg: b(1, 'a', 0xc0, 2), at: 0, want: -1 },
    { what: 'a pointer forwards: refused', msg: b(0xc0, 2, 1, 'a', 0), at: 0, want: -1 },
    { what: 'two pointers back to back, the second pointing into the first hop', msg: b(1, 'b', 0, 1, 'a', 0xc0, 0, 0xc0, 3), at: 7, want: '0161016200' },
    { what: 'label type 01 (reserved): refused', msg: b(0x41, 0), at: 0, want: -1 },
    { what: 'cut short: refused', msg: b(3, 'ab'), at: 0, want: -1 },
    { what: 'no zero octet: refused', msg: b(1, 'a'), at: 0, want: -1 },
    { what: '255 octets: the longest', msg: b(63, label63, 63, label63, 63, label63, 61, 'y'.repeat(61), 0), at: 0, want: Buffer.from(b(63, label63, 63, label63, 63, label63, 61, 'y'.repeat(61), 0)).toString('hex') },
    { what: '256 octets: refused', msg: b(63, label63, 63, label63, 63, label63, 62, 'y'.repeat(62), 0), at: 0, want: -1 },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const out = new Uint8Array(300);
      const n = copyName(c.msg, c.at, out, 4);
      if (c.want === -1) {
        expect(n).to.equal(-1);
        return;
      }
      expect(Buffer.from(out.subarray(4, 4 + n)).toString('hex')).to.equal(c.want);
      expect(nameLength(out, 4)).to.equal(n);
    });
  }
});

describe('lowerName: ASCII letters only (RFC 4343 §3)', () => {
  it('folds A-Z, keeps label lengths, digits, Latin-1 and other octets', () => {
    const src = b(5, 'AbZ@[', 2, 0xc0, 0xdd, 0);
    const out = new Uint8Array(src.length);
    lowerName(src, 0, src.length, out, 0);
    expect(Buffer.from(out).toString('hex')).to.equal(Buffer.from(b(5, 'abz@[', 2, 0xc0, 0xdd, 0)).toString('hex'));
  });
});
