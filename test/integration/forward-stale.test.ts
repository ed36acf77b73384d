/** Serve-stale (RFC 8767) with a real upstream: NSD stopped after a fill → stale answers with TTL 30 and the Stale Answer EDE, counted; NSD back → fresh answers, never stale ones. */

import { expect } from 'chai';
import { buildQuery, decodeReply, udpExchange, type Reply } from '../helpers/dns-client.js';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { freePort, startServer, type RunningServer } from '../helpers/server.js';
import { writeZone } from '../helpers/zone-text.js';

async function ask(port: number, name: string): Promise<Reply & { ms: number }> {
  const t0 = Date.now();
  const bytes = await udpExchange(buildQuery(name, 'A', 'IN', { edns: true }), port, '127.0.0.1', 6000);
  if (!bytes) throw new Error(`no reply for ${name}`);
  return Object.assign(decodeReply(bytes), { ms: Date.now() - t0 });
}

/** The Extended DNS Error INFO-CODEs of a reply's OPT (RFC 8914, option 15). */
function extendedErrors(r: Reply): number[] {
  const opt = (r.additionals ?? []).find((x) => x.type === 'OPT') as { options?: { code: number; data?: Buffer }[] } | undefined;
  return (opt?.options ?? []).filter((o) => o.code === 15 && o.data).map((o) => o.data!.readUInt16BE(0));
}

const brief = (r: Reply): string => [r.rcode, ...r.answers.map((x) => `${x.data as string} ttl=${x.ttl}`)].join(' ');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('serve-stale with an upstream NSD that goes away and comes back', function () {
  this.timeout(60_000);
  let nsd: Nsd | undefined;
  let server: RunningServer | undefined;
  before(function () {
    const why = nsdUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
  });
  after(() => {
    nsd?.stop();
    server?.kill();
  });

  it('stale answers (TTL 30, EDE 3) while it is down, within the stale answer timeout, then at once; fresh ones (or its NXDOMAIN) once it is back', async () => {
    const port = await freePort();
    nsd = await startNsd([{ name: 'stale.test', file: writeZone('stale.test', ['www 2 A 192.0.2.1', 'other 2 A 192.0.2.2']) }], port);
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${port}`, '--stale-refresh-time', '1', '--etc-hosts', 'off']);
    expect(brief(await ask(server.port, 'www.stale.test'))).to.equal('NOERROR 192.0.2.1 ttl=2');
    expect(brief(await ask(server.port, 'other.stale.test'))).to.equal('NOERROR 192.0.2.2 ttl=2');
    nsd.stop();
    nsd = undefined;
    await sleep(2200);

    const first = await ask(server.port, 'www.stale.test');
    expect(brief(first), 'the expired answer, TTL 30').to.equal('NOERROR 192.0.2.1 ttl=30');
    expect(extendedErrors(first)).to.deep.equal([3]);
    expect(first.ms, 'after the 1.8 s stale answer timeout, before the 3 s forward deadline').to.be.within(1700, 2900);
    // The refresh went on to the deadline and failed: now the stale answer comes at once.
    await sleep(1500);
    const again = await ask(server.port, 'www.stale.test');
    expect(brief(again)).to.equal('NOERROR 192.0.2.1 ttl=30');
    expect(again.ms).to.be.below(500);
    const since = server.mark();
    process.kill(server.proc.pid!, 'SIGUSR1');
    await server.waitFor(/forwarding\.staleAnswers=2\b/, 5000, since);

    // Back, with www gone and other moved: the upstream's answers, never the stale ones.
    nsd = await startNsd([{ name: 'stale.test', file: writeZone('stale.test', ['other 2 A 192.0.2.9']) }], port);
    await sleep(1100);
    const moved = await ask(server.port, 'other.stale.test');
    expect(brief(moved)).to.match(/^NOERROR 192\.0\.2\.9 ttl=[12]$/);
    expect(extendedErrors(moved)).to.deep.equal([]);
    const gone = await ask(server.port, 'www.stale.test');
    expect(gone.rcode, 'the upstream answered NXDOMAIN: that is the answer').to.equal('NXDOMAIN');
    const later = await ask(server.port, 'other.stale.test');
    expect(brief(later)).to.match(/^NOERROR 192\.0\.2\.9 ttl=[0-2]$/);
  });

  it('--stale-max 0: SERVFAIL once the answer expired and the upstream is gone', async () => {
    const port = await freePort();
    const up = await startNsd([{ name: 'stale.test', file: writeZone('stale.test', ['www 1 A 192.0.2.1']) }], port);
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${port}`, '--stale-max', '0', '--forward-deadline', '1', '--etc-hosts', 'off']);
    try {
      expect(brief(await ask(s.port, 'www.stale.test'))).to.equal('NOERROR 192.0.2.1 ttl=1');
      up.stop();
      await sleep(1200);
      expect((await ask(s.port, 'www.stale.test')).rcode).to.equal('SERVFAIL');
    } finally {
      up.stop();
      s.kill();
    }
  });
});
