import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knotUnavailable, startKnot, type Knot, type PeerKey } from '../helpers/knot.js';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { alive, childPids, freePort, startServer, until, type RunningServer } from '../helpers/server.js';
import { axfr, digUnavailable, everyWorkerServes, soaOf } from '../helpers/transfer-checks.js';

/** A process's command line, or '' when it is gone. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** A zone of a few hundred records (a transfer of more than one message), at `serial`, with `www` at `www`. */
function zoneText(origin: string, serial: number, www: string, timers = { refresh: 3600, expire: 1209600 }): string {
  const lines = [`$ORIGIN ${origin}`, '$TTL 3600', `@ SOA ns1 hostmaster ${serial} ${timers.refresh} 2 ${timers.expire} 300`, '@ NS ns1', 'ns1 A 127.0.0.1', `www A ${www}`, 'odd\\.label TXT "a dot inside a label"'];
  for (let i = 0; i < 400; i++) lines.push(`host${i} A 10.1.${i >> 8}.${i & 255}`, `host${i} TXT "host ${i}"`);
  return lines.join('\n') + '\n';
}

describe('shardns as a secondary of NSD: AXFR, NOTIFY → IXFR, TSIG, kept across restarts, expiry', function () {
  this.timeout(120_000);
  const missing = nsdUnavailable() ?? digUnavailable();
  const key: PeerKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  const wrong: PeerKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  let dir: string;
  let nsd: Nsd;
  let server: RunningServer | null = null;
  let port: number;
  let config: string;
  let stateDir: string;

  /** Starts shardns on `port` (the one NSD notifies; a restart takes it again). */
  const start = async (): Promise<RunningServer> => {
    server = await startServer(['--config', config, '--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', stateDir], {}, port);
    return server;
  };

  before(async function () {
    if (missing) {
      console.log(`      skip: ${missing}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'shardns-sec-'));
    chmodSync(dir, 0o755);
    stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'sec.test.zone'), zoneText('sec.test.', 1, '192.0.2.1'));
    writeFileSync(join(dir, 'expire.test.zone'), zoneText('expire.test.', 1, '192.0.2.9', { refresh: 2, expire: 8 }));
    writeFileSync(join(dir, 'bad.test.zone'), zoneText('bad.test.', 1, '192.0.2.66'));
    const nsdPort = await freePort();
    port = await freePort();
    // NSD: the primary. Transfers only with the key; NOTIFY to shardns, signed, on every change.
    nsd = await startNsd(
      [
        { name: 'sec.test.', file: join(dir, 'sec.test.zone'), lines: ['provide-xfr: 127.0.0.0/8 xfr-key', `notify: 127.0.0.1@${port} xfr-key`, 'store-ixfr: yes', 'create-ixfr: yes'] },
        { name: 'expire.test.', file: join(dir, 'expire.test.zone'), lines: ['provide-xfr: 127.0.0.0/8 xfr-key'] },
        { name: 'bad.test.', file: join(dir, 'bad.test.zone'), lines: ['provide-xfr: 127.0.0.0/8 wrong-key'] },
      ],
      nsdPort,
      [],
      { control: true, keys: [key, { ...wrong, name: 'wrong-key', secret: randomBytes(32).toString('base64') }] },
    );
    config = join(dir, 'shardns.json');
    const primary = { address: `127.0.0.1:${nsdPort}`, key: 'xfr-key' };
    writeFileSync(
      config,
      JSON.stringify({
        keys: [
          { name: 'xfr-key', algorithm: key.algorithm, secret: key.secret },
          { name: 'wrong-key', algorithm: wrong.algorithm, secret: wrong.secret },
        ],
        zones: [
          { name: 'sec.test.', type: 'secondary', primaries: [primary], 'allow-notify': ['xfr-key'], 'allow-transfer': ['xfr-key'] },
          { name: 'expire.test.', type: 'secondary', primaries: [primary] },
          // NSD knows wrong-key, with another secret: every transfer fails BADSIG.
          { name: 'bad.test.', type: 'secondary', primaries: [{ address: `127.0.0.1:${nsdPort}`, key: 'wrong-key' }] },
        ],
      }),
    );
    await start();
  });
  after(() => {
    server?.kill();
    nsd?.stop();
  });

  it('transfers the zone by AXFR with TSIG and serves exactly what NSD serves, from every worker', async () => {
    expect(await until(() => everyWorkerServes(port, 'sec.test', 1), 20_000, 200), server!.stdout()).to.equal(true);
    expect(axfr(port, 'sec.test', key)).to.deep.equal(axfr(nsd.port, 'sec.test', key));
    expect(server!.stdout()).to.match(/zone sec\.test\.: serial 1, \d+ records; AXFR from 127\.0\.0\.1:\d+ key xfr-key\./);
  });

  it('a change on NSD: its NOTIFY brings the new serial by IXFR to every worker', async () => {
    // An offset into stdout (info lines), not the combined output mark() counts.
    const since = server!.stdout().length;
    writeFileSync(nsd.zoneFile(join(dir, 'sec.test.zone')), zoneText('sec.test.', 2, '192.0.2.2'));
    const t0 = Date.now();
    const r = spawnSync('nsd-control', ['-c', nsd.conf, 'reload', 'sec.test.'], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    expect(await until(() => everyWorkerServes(port, 'sec.test', 2), 20_000, 50), `${server!.output().slice(since)}\nNSD:\n${nsd.log()}`).to.equal(true);
    const ms = Date.now() - t0;
    console.log(`      (NSD reload → serial 2 from every worker: ${ms} ms)`);
    const log = server!.output().slice(since);
    expect(log).to.match(/NOTIFY from 127\.0\.0\.1 for serial 2; checking now/);
    expect(log).to.match(/zone sec\.test\.: serial 2, \d+ records; IXFR from 127\.0\.0\.1:\d+ key xfr-key\. in \d+ ms \(1 version: 1 records deleted, 1 added, applied to the image\)/);
    expect(axfr(port, 'sec.test', key)).to.deep.equal(axfr(nsd.port, 'sec.test', key));
  });

  it('a primary whose key does not match: BADSIG said in the log and by ctl status, the zone answered SERVFAIL', async () => {
    expect(await until(() => /zone bad\.test\.: refresh failed \(.*BADSIG/.test(server!.stderr()), 20_000, 200), server!.stderr()).to.equal(true);
    // Which transfer from where, said once (it was "(AXFR: 127.0.0.1:P key wrong-key.: AXFR: AXFR of bad.test. from 127.0.0.1:P key wrong-key., …").
    expect(server!.stderr()).to.match(
      /zone bad\.test\.: refresh failed \(AXFR of bad\.test\. from 127\.0\.0\.1:\d+ key wrong-key\., message 1: TSIG: the server answered TSIG error BADSIG \(the secrets differ\)\); retrying in \d+ s/,
    );
    expect((await soaOf(port, 'bad.test')).rcode).to.equal('SERVFAIL');
    expect((await soaOf(port, 'www.bad.test')).rcode).to.equal('SERVFAIL');
  });

  it('`check` says per secondary zone the serial it holds and its last transfer', () => {
    const r = spawnSync(process.execPath, [join(process.cwd(), 'bin/shardns.js'), 'check', '--config', config, '--state-dir', stateDir], { encoding: 'utf8' });
    expect(r.stdout, `${r.stdout}${r.stderr}`).to.match(/zone sec\.test\.: secondary, transferred from 127\.0\.0\.1:\d+ key xfr-key\..*\n {2}holds serial 2; last IXFR from 127\.0\.0\.1:\d+ key xfr-key\. at \S+: ok/);
    expect(r.stdout).to.match(/zone bad\.test\.: secondary.*\n {2}no data transferred yet; last AXFR from .* failed \(.*BADSIG/);
  });

  it('a second change is applied to the patched image; the zone file stays as written, the changes since kept beside it', async () => {
    const since = server!.stdout().length;
    writeFileSync(nsd.zoneFile(join(dir, 'sec.test.zone')), zoneText('sec.test.', 3, '192.0.2.3').replace('host7 TXT "host 7"', 'host7 TXT "changed"\nnew.deep.er A 192.0.2.77'));
    const r = spawnSync('nsd-control', ['-c', nsd.conf, 'reload', 'sec.test.'], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    expect(await until(() => everyWorkerServes(port, 'sec.test', 3), 20_000, 50), `${server!.output().slice(since)}\nNSD:\n${nsd.log()}`).to.equal(true);
    expect(server!.output().slice(since), server!.output().slice(since)).to.match(/zone sec\.test\.: serial 3, \d+ records; IXFR from .* \(1 version: 2 records deleted, 3 added, applied to the image\)/);
    expect(axfr(port, 'sec.test', key)).to.deep.equal(axfr(nsd.port, 'sec.test', key));
    // The zone file is the one the AXFR wrote (serial 1); the versions to 2 and 3 are kept beside it, and the manifest lists both.
    expect(readFileSync(join(stateDir, 'secondary', 'sec.test.zone'), 'utf8')).to.match(/serial 1: transferred by AXFR/);
    const manifest = JSON.parse(readFileSync(join(stateDir, 'manifests', 'sec.test.json'), 'utf8')) as { sources: { path: string }[]; serial: number };
    expect(manifest.serial).to.equal(3);
    expect(manifest.sources.map((x) => x.path)).to.deep.equal([join(stateDir, 'secondary', 'sec.test.zone'), join(stateDir, 'secondary', 'sec.test.ixfr')]);
  });

  it('the warm transfer builder killed: the zone keeps being served, and the next NOTIFY is applied by a new one', async () => {
    const builders = (): number[] => childPids(server!.proc.pid ?? -1).filter((pid) => cmdline(pid).startsWith('shardns transfer builder'));
    // The builder of the transfers above waits for the next (the one left after the first AXFR, or its successor).
    expect(await until(() => builders().length === 1, 10_000, 50), `one transfer builder waits: ${builders().join(', ')}`).to.equal(true);
    const [warm] = builders();
    process.kill(warm!, 'SIGKILL');
    expect(await until(() => !alive(warm!), 5000, 20)).to.equal(true);
    expect(await everyWorkerServes(port, 'sec.test', 3)).to.equal(true);
    const since = server!.stdout().length;
    writeFileSync(nsd.zoneFile(join(dir, 'sec.test.zone')), zoneText('sec.test.', 4, '192.0.2.4').replace('host7 TXT "host 7"', 'host7 TXT "changed"\nnew.deep.er A 192.0.2.77'));
    const r = spawnSync('nsd-control', ['-c', nsd.conf, 'reload', 'sec.test.'], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    expect(await until(() => everyWorkerServes(port, 'sec.test', 4), 20_000, 50), `${server!.output().slice(since)}\nNSD:\n${nsd.log()}`).to.equal(true);
    expect(server!.output().slice(since)).to.match(/zone sec\.test\.: serial 4, \d+ records; IXFR from .* applied to the image\)/);
    expect(builders()).to.not.include(warm);
    expect(axfr(port, 'sec.test', key)).to.deep.equal(axfr(nsd.port, 'sec.test', key));
  });

  it('`shardns ctl reload ZONE` of a secondary asks its primaries now (as knotc zone-refresh)', async () => {
    const since = server!.mark();
    const r = spawnSync(process.execPath, [join(process.cwd(), 'bin/shardns.js'), 'ctl', 'reload', 'sec.test.', '--state-dir', stateDir], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    expect(`${r.stdout}${r.stderr}`).to.match(/zone sec\.test\. is a secondary: a refresh from its primaries has started/);
    await server!.waitFor(/zone sec\.test\.: refresh asked \(shardns ctl reload\); checking now/, 10_000, since);
  });

  it('a restart serves the kept data at once, with the primary gone; past the SOA expire it answers SERVFAIL', async () => {
    expect(await until(() => everyWorkerServes(port, 'expire.test', 1), 20_000, 200)).to.equal(true);
    server!.kill();
    await server!.exited;
    nsd.stop();
    const s = await start();
    // Served before any primary could have been asked (there is none): the patched image, reused without parsing.
    expect((await soaOf(port, 'sec.test')).serial).to.equal(4);
    expect(axfr(port, 'sec.test', key)).to.include('new.deep.er.sec.test. 3600 IN A 192.0.2.77');
    expect((await soaOf(port, 'expire.test')).serial).to.equal(1);
    // expire.test's SOA says refresh 2 s, expire 8 s: without a primary it goes dark 8 s after the last refresh.
    await s.waitFor(/zone expire\.test\.: expired: no primary confirmed serial 1 for 8 s/, 15_000);
    expect(await until(async () => (await soaOf(port, 'expire.test')).rcode === 'SERVFAIL', 3000, 50)).to.equal(true);
    expect((await soaOf(port, 'sec.test')).serial).to.equal(4);
  });

  it('a patched image (written without fsync) found torn at a restart: its checksum fails, it is deleted and never mapped; the zone file is served', async () => {
    server!.kill();
    await server!.exited;
    const manifest = JSON.parse(readFileSync(join(stateDir, 'manifests', 'sec.test.json'), 'utf8')) as { image: string; serial: number };
    expect(manifest.serial, 'the image of the last IXFR').to.equal(4);
    const image = join(stateDir, 'images', manifest.image);
    // What a crash of the machine before the fsync can leave: the file's size on disk, a block of it never written (zeros).
    const fd = openSync(image, 'r+');
    writeSync(fd, Buffer.alloc(4096), 0, 4096, Math.floor(statSync(image).size / 2 / 4096) * 4096);
    closeSync(fd);
    const s = await start();
    await s.waitFor(new RegExp(`image ${image.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is unusable \\(image checksum does not match its contents \\(corrupted\\)\\); deleted`), 20_000);
    // Rebuilt from the zone file the AXFR wrote (serial 1); the primary is gone, so that is what is served until it is back.
    expect(await until(() => everyWorkerServes(port, 'sec.test', 1), 20_000, 100), s.stdout() + s.stderr()).to.equal(true);
    expect(existsSync(image)).to.equal(false);
  });
});

describe('shardns as a secondary of Knot: NOTIFY → IXFR, and a catalog zone (RFC 9432)', function () {
  this.timeout(120_000);
  const missing = knotUnavailable() ?? digUnavailable();
  const key: PeerKey = { name: 'cat-key', algorithm: 'hmac-sha512', secret: randomBytes(64).toString('base64') };
  let knot: Knot;
  let server: RunningServer;
  let dir: string;

  before(async function () {
    if (missing) {
      console.log(`      skip: ${missing}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'shardns-cat-'));
    chmodSync(dir, 0o755);
    for (const z of ['one.example.', 'two.example.']) writeFileSync(join(dir, `${z}zone`), zoneText(z, 1, '192.0.2.11'));
    const knotPort = await freePort();
    const port = await freePort();
    const notify = { address: '127.0.0.1', port, key: key.name };
    knot = await startKnot(
      [
        { name: 'catalog.example.', catalog: 'generate', transfer: [{ address: '127.0.0.0/8', key: key.name }], notify: [notify] },
        { name: 'one.example.', file: join(dir, 'one.example.zone'), catalogZone: 'catalog.example.', transfer: [{ address: '127.0.0.0/8', key: key.name }], notify: [notify], lines: ['zonefile-load: difference', 'journal-content: changes'] },
        { name: 'two.example.', file: join(dir, 'two.example.zone'), catalogZone: 'catalog.example.', transfer: [{ address: '127.0.0.0/8', key: key.name }], notify: [notify] },
      ],
      knotPort,
      [key],
    );
    const config = join(dir, 'shardns.json');
    writeFileSync(
      config,
      JSON.stringify({
        keys: [{ name: key.name, algorithm: key.algorithm, secret: key.secret }],
        zones: [{ name: 'catalog.example.', type: 'secondary', catalog: true, primaries: [{ address: `127.0.0.1:${knotPort}`, key: key.name }], 'allow-notify': [key.name] }],
      }),
    );
    server = await startServer(['--config', config, '--workers', '2', '--listen', '127.0.0.1', '--forward', 'none'], {}, port);
  });
  after(() => {
    server?.kill();
    knot?.stop();
  });

  it('serves both member zones the catalog lists, transferred from Knot', async () => {
    for (const z of ['one.example', 'two.example']) {
      expect(await until(() => everyWorkerServes(server.port, z, 1), 30_000, 200), `${z}:\n${server.stdout()}`).to.equal(true);
    }
    expect(server.stdout()).to.match(/catalog catalog\.example\.: zone one\.example\. added/);
  });

  it('a change on Knot: NOTIFY and IXFR bring it to every worker', async () => {
    const since = server.stdout().length;
    writeFileSync(join(knot.dir, 'one.example.zone'), zoneText('one.example.', 2, '192.0.2.12'));
    knot.ctl('zone-reload', 'one.example.');
    expect(await until(() => everyWorkerServes(server.port, 'one.example', 2), 20_000, 50), server.output().slice(since)).to.equal(true);
    expect(server.output().slice(since)).to.match(/zone one\.example\.: serial 2, \d+ records; IXFR from/);
  });

  it('a member removed from the catalog stops being served', async () => {
    const since = server.mark();
    await knot.reconfigure([
      { name: 'catalog.example.', catalog: 'generate', transfer: [{ address: '127.0.0.0/8', key: key.name }], notify: [{ address: '127.0.0.1', port: server.port, key: key.name }] },
      { name: 'one.example.', file: join(dir, 'one.example.zone'), catalogZone: 'catalog.example.', transfer: [{ address: '127.0.0.0/8', key: key.name }] },
    ]);
    await server.waitFor(/catalog catalog\.example\.: zone two\.example\. removed/, 30_000, since);
    expect(await until(async () => (await soaOf(server.port, 'two.example')).rcode === 'REFUSED', 5000, 50)).to.equal(true);
    expect((await soaOf(server.port, 'one.example')).rcode).to.equal('NOERROR');
  });
});
