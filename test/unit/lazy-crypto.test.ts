/** src/lazy-crypto.ts: node:crypto on first use, and seeds from the kernel without it. */

import { expect } from 'chai';
import * as crypto from 'node:crypto';
import { nodeCrypto, randomOctets, randomSeed31 } from '../../src/lazy-crypto.js';

describe('lazy crypto', () => {
  it('nodeCrypto() is node:crypto itself (the same functions), the same object every time', () => {
    expect(nodeCrypto().createHmac).to.equal(crypto.createHmac);
    expect(nodeCrypto()).to.equal(nodeCrypto());
  });
  it('randomSeed31() gives integers in [0, 2^31), not the same one each time', () => {
    const seeds = Array.from({ length: 8 }, () => randomSeed31());
    for (const s of seeds) {
      expect(Number.isInteger(s)).to.equal(true);
      expect(s).to.be.at.least(0).and.below(2 ** 31);
    }
    // Eight equal draws from 2^31 values would mean the source is not random.
    expect(new Set(seeds).size).to.be.greaterThan(1);
  });
  it('randomOctets() gives n octets from /dev/urandom, and from node:crypto where the device cannot be opened (a chroot without /dev), never an error', () => {
    for (const source of ['/dev/urandom', '/nonexistent/urandom']) {
      const draws = Array.from({ length: 4 }, () => randomOctets(16, source).toString('hex'));
      for (const d of draws) expect(d).to.have.length(32);
      expect(new Set(draws).size, source).to.equal(4);
    }
  });
});
