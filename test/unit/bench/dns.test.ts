import { expect } from 'chai';
import { waitForAnswer } from '../../../bench/dns.js';
import { freePort } from '../../../bench/ports.js';

describe('bench readiness probe', () => {
  it('stops asking as soon as it is aborted (a server that died), long before its timeout', async () => {
    const port = await freePort();
    const gone = new AbortController();
    const t0 = performance.now();
    setTimeout(() => gone.abort(), 50);
    expect(await waitForAnswer(port, 'example.com', 'A', '192.0.2.1', 60_000, 10, gone.signal)).to.equal(false);
    expect(performance.now() - t0).to.be.below(1000);
    // Already aborted: gives up at once.
    expect(await waitForAnswer(port, 'example.com', 'A', '192.0.2.1', 60_000, 10, gone.signal)).to.equal(false);
  });

  it('gives up at its timeout when nothing answers', async () => {
    const t0 = performance.now();
    expect(await waitForAnswer(await freePort(), 'example.com', 'A', '192.0.2.1', 100)).to.equal(false);
    expect(performance.now() - t0).to.be.within(90, 1000);
  });
});
