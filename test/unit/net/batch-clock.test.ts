import { expect } from 'chai';
import { BatchClock } from '../../../src/net/batch-clock.js';

const busy = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

describe('BatchClock', () => {
  it('gives the time hold() read until release(), then the real time again', () => {
    const clock = new BatchClock();
    const before = Date.now();
    expect(clock.now()).to.be.at.least(before);
    clock.hold();
    const held = clock.now();
    busy(15);
    expect(clock.now(), 'within a batch').to.equal(held);
    clock.release();
    expect(clock.now(), 'after the batch').to.be.at.least(held + 15);
    busy(5);
    clock.hold();
    expect(clock.now(), 'the next batch reads the time again').to.be.at.least(held + 20);
  });
});
