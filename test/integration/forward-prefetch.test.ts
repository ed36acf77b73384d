/** Prefetch with a real upstream: a name asked for in the last tenth of its TTL is asked upstream again before it expires (NSD's own counter shows it), so it never misses. */

import { expect } from 'chai';
import { buildQuery, decodeReply, udpExchange, type Reply } from '../helpers/dns-client.js';
import { countedNsdUnavailable, startCountedNsd, type CountedNsd } from '../helpers/nsd-counted.js';
import { freePort, startServer, until, type RunningServer } from '../helpers/server.js';
import { writeZone } from '../helpers/zone-text.js';

async function ask(port: number, name: string): Promise<Reply> {
  const bytes = await udpExchange(buildQuery(name, 'A', 'IN', { edns: true }), port, '127.0.0.1', 6000);
  if (!bytes) throw new Error(`no reply for ${name}`);
  return decodeReply(bytes);
}

const TTL = 5;
const sleepUntil = (t0: number, ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, t0 + ms - Date.now())));

describe('prefetch: hot names are refreshed before they expire', function () {
  this.timeout(60_000);
  let nsd: CountedNsd;
  const running: RunningServer[] = [];
  before(async function () {
    const why = countedNsdUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    nsd = await startCountedNsd([{ name: 'hot.test', file: writeZone('hot.test', [`www ${TTL} A 192.0.2.1`, `cold ${TTL} A 192.0.2.2`]) }], await freePort());
  });
  afterEach(() => {
    for (const s of running.splice(0)) s.kill();
  });
  after(() => nsd?.stop());

  for (const prefetch of ['on', 'off'] as const) {
    it(`--prefetch ${prefetch}: asked at 93 % of its TTL, then after it would have expired`, async () => {
      const name = prefetch === 'on' ? 'www.hot.test' : 'cold.hot.test';
      const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${nsd.port}`, '--prefetch', prefetch, '--etc-hosts', 'off']);
      running.push(s);
      const t0 = Date.now();
      const before = nsd.queries();
      expect((await ask(s.port, name)).answers[0]!.ttl).to.equal(TTL);
      expect(nsd.queries() - before).to.equal(1);

      await sleepUntil(t0, TTL * 930);
      const late = await ask(s.port, name);
      expect(late.answers.map((x) => x.data), 'answered from the cache').to.deep.equal([prefetch === 'on' ? '192.0.2.1' : '192.0.2.2']);
      expect(late.answers[0]!.ttl).to.be.at.most(1);
      if (prefetch === 'on') {
        expect(await until(() => nsd.queries() - before === 2, 1000, 20), 'the upstream was asked again before expiry').to.equal(true);
      } else {
        await new Promise((r) => setTimeout(r, 300));
        expect(nsd.queries() - before, 'nothing asked before expiry').to.equal(1);
      }

      await sleepUntil(t0, TTL * 1000 + 1200);
      const after = await ask(s.port, name);
      expect(after.rcode).to.equal('NOERROR');
      if (prefetch === 'on') {
        expect(after.answers[0]!.ttl, 'the answer prefetched about 1.5 s ago, not a miss').to.equal(TTL - 1);
        expect(nsd.queries() - before, 'no miss after expiry').to.equal(2);
        const since = s.mark();
        process.kill(s.proc.pid!, 'SIGUSR1');
        await s.waitFor(/forwarding\.prefetches=1\b/, 5000, since);
      } else {
        expect(after.answers[0]!.ttl, 'a miss: asked upstream afresh').to.equal(TTL);
        expect(nsd.queries() - before).to.equal(2);
      }
    });
  }
});
