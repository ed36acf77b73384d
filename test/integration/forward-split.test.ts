/** Split DNS with real peers: two upstream NSDs (one for corp.test and its reverse zone, one for the rest) behind shardns with forward-zones. */

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildQuery, decodeReply, udpExchange, type Reply } from '../helpers/dns-client.js';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { BIN, freePort, spawnServer, startServer, type RunningServer, workerPids } from '../helpers/server.js';
import { writeZone } from '../helpers/zone-text.js';

async function ask(port: number, name: string, type = 'A'): Promise<Reply> {
  const bytes = await udpExchange(buildQuery(name, type, 'IN', { edns: true }), port, '127.0.0.1', 6000);
  if (!bytes) throw new Error(`no reply for ${name} ${type}`);
  return decodeReply(bytes);
}

/** `NOERROR A 10.1.1.1` */
const brief = (r: Reply): string => [r.rcode, ...r.answers.map((x) => `${x.type} ${typeof x.data === 'string' ? x.data : JSON.stringify(x.data)}`)].join(' ');

describe('split DNS: forward-zones with two upstream NSDs', function () {
  this.timeout(60_000);
  let corp: Nsd;
  let rest: Nsd;
  let server: RunningServer;

  before(async function () {
    const why = nsdUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    // The corp upstream has the real corp.test and 10.in-addr.arpa; the other one has a decoy corp.test too,
    // so an answer from the wrong upstream shows.
    corp = await startNsd(
      [
        { name: 'corp.test', file: writeZone('corp.test', ['www 300 A 10.1.1.1', 'deep.a.b 300 A 10.1.1.2', 'lab 300 A 10.1.1.3']) },
        { name: '10.in-addr.arpa', file: writeZone('10.in-addr.arpa', ['1.1.1 300 PTR www.corp.test.']) },
      ],
      await freePort(),
    );
    rest = await startNsd(
      [
        { name: 'remote.test', file: writeZone('remote.test', ['www 300 A 192.0.2.1']) },
        { name: 'corp.test', file: writeZone('corp.test', ['www 300 A 203.0.113.66']) },
        { name: 'home.arpa', file: writeZone('home.arpa', ['nas 300 A 203.0.113.67']) },
        { name: '10.in-addr.arpa', file: writeZone('10.in-addr.arpa', ['1.1.1 300 PTR decoy.remote.test.']) },
      ],
      await freePort(),
    );
    // Our own zone inside the forwarded corp.test: ours wins.
    const own = writeZone('lab.corp.test', ['www 300 A 10.9.9.9']);
    const dir = mkdtempSync(join(tmpdir(), 'shardns-split-'));
    const config = join(dir, 'shardns.json');
    writeFileSync(
      config,
      JSON.stringify({
        'forward-zones': [
          { name: 'corp.test.', to: [`127.0.0.1:${corp.port}`] },
          { name: '10.in-addr.arpa.', to: `127.0.0.1:${corp.port}` },
          { name: 'home.arpa.', to: 'none' },
        ],
        zones: [{ name: 'lab.corp.test.', file: own }],
      }),
    );
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--config', config, '--forward', `127.0.0.1:${rest.port}`]);
  });
  after(() => {
    corp?.stop();
    rest?.stop();
    server?.kill();
  });

  const table: [string, string, string][] = [
    ['www.corp.test', 'A', 'NOERROR A 10.1.1.1'],
    ['WWW.CORP.TEST', 'A', 'NOERROR A 10.1.1.1'],
    ['deep.a.b.corp.test', 'A', 'NOERROR A 10.1.1.2'],
    ['1.1.1.10.in-addr.arpa', 'PTR', 'NOERROR PTR www.corp.test'],
    ['www.remote.test', 'A', 'NOERROR A 192.0.2.1'],
    ['nx.remote.test', 'A', 'NXDOMAIN'],
    ['nx.corp.test', 'A', 'NXDOMAIN'],
  ];
  for (const [name, type, want] of table) {
    it(`${name} ${type} reaches the right upstream: ${want}`, async () => {
      expect(brief(await ask(server.port, name, type))).to.equal(want);
    });
  }

  it('our own zone inside a forwarded domain wins (AA, never forwarded)', async () => {
    const r = await ask(server.port, 'www.lab.corp.test');
    expect(brief(r)).to.equal('NOERROR A 10.9.9.9');
    expect(r.flag_aa).to.equal(true);
  });

  it('a domain sent nowhere is NXDOMAIN from here (AA, RA), whatever an upstream holds', async () => {
    for (const name of ['nas.home.arpa', 'home.arpa', 'x.y.home.arpa']) {
      const r = await ask(server.port, name);
      expect(brief(r), name).to.equal('NXDOMAIN');
      expect([r.flag_aa, r.flag_ra], name).to.deep.equal([true, true]);
    }
    const since = server.mark();
    process.kill(server.proc.pid!, 'SIGUSR1');
    await server.waitFor(/forwarding\.localAnswers=3\b/, 5000, since);
  });

  it('a silent forward zone upstream fails the name (SERVFAIL), never the default upstreams', async () => {
    const quiet = await freePort();
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${rest.port}`, '--forward-zone', `corp.test.=127.0.0.1:${quiet}`, '--forward-timeout', '0.2', '--forward-deadline', '0.6']);
    try {
      expect(brief(await ask(s.port, 'www.corp.test'))).to.equal('SERVFAIL');
      expect(brief(await ask(s.port, 'www.remote.test'))).to.equal('NOERROR A 192.0.2.1');
    } finally {
      s.kill();
    }
  });

  it('--forward none with forward zones: those are forwarded, other names REFUSED', async () => {
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--forward-zone', `corp.test.=127.0.0.1:${corp.port}`]);
    try {
      expect(brief(await ask(s.port, 'www.corp.test'))).to.equal('NOERROR A 10.1.1.1');
      expect(brief(await ask(s.port, 'www.remote.test'))).to.equal('REFUSED');
    } finally {
      s.kill();
    }
  });

  it('10,000 forward zones, packed in the start message: the worker and its replacement route each to its own upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardns-split-many-'));
    const config = join(dir, 'shardns.json');
    const quiet = await freePort();
    // 9,998 domains, each with its own silent upstream (its own group), around the two that reach the corp NSD.
    const decoys = Array.from({ length: 9_998 }, (_, i) => ({ name: `d${i}.corp${i % 97}.example.`, to: [`127.1.${(i >> 8) & 255}.${i & 255}:${quiet}`] }));
    const forwardZones = [...decoys.slice(0, 5_000), { name: 'Corp.Test.', to: [`127.0.0.1:${corp.port}`] }, ...decoys.slice(5_000), { name: '10.in-addr.arpa.', to: [`127.0.0.1:${corp.port}`] }];
    writeFileSync(config, JSON.stringify({ 'forward-zones': forwardZones }));
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--config', config, '--forward', `127.0.0.1:${rest.port}`, '--forward-timeout', '0.2', '--forward-deadline', '0.6']);
    try {
      await s.waitFor(/split DNS: 10000 forward zone\(s\): d0\.corp0\.example\. → 127\.1\.0\.0:\d+; .*; and 9995 more/, 5000);
      const routed = async (): Promise<string[]> => [
        brief(await ask(s.port, 'WWW.corp.test')),
        brief(await ask(s.port, '1.1.1.10.in-addr.arpa', 'PTR')),
        brief(await ask(s.port, 'www.remote.test')),
        // Its own upstream is silent: SERVFAIL, never the default upstream's answer.
        brief(await ask(s.port, 'www.d4242.corp73.example')),
      ];
      const want = ['NOERROR A 10.1.1.1', 'NOERROR PTR www.corp.test', 'NOERROR A 192.0.2.1', 'SERVFAIL'];
      expect(await routed()).to.deep.equal(want);
      const [worker] = workerPids(s.proc.pid!);
      const since = s.mark();
      process.kill(worker!, 'SIGKILL');
      await s.waitFor(/worker 0 \(pid \d+\) ready again/, 15_000, since);
      expect(await routed(), 'the replacement worker').to.deep.equal(want);
    } finally {
      s.kill();
    }
  });

  it('a bad forward zone stops serve and check with the entry and what to do', async () => {
    const port = await freePort();
    const s = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward-zone', 'corp.test.=10.0.0.1', '--forward-zone', 'corp.test=none'], port);
    const { code } = await s.exited;
    expect(code).to.equal(2);
    expect(s.stderr()).to.match(/shardns: --forward-zone: entry 2: corp\.test\. is listed twice \(entries 1 and 2\): give it once, with every upstream in its "to"/);
    const check = spawnSync(process.execPath, [BIN, 'check', '--forward-zone', 'corp.test.=10.0.0.1', '--forward-zone', 'corp.test=none'], { encoding: 'utf8' });
    expect(check.status).to.equal(1);
    expect(check.stderr).to.match(/shardns: --forward-zone: entry 2: corp\.test\. is listed twice/);
  });
});
