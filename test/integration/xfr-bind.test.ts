import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindUnavailable, startBind, type Bind } from '../helpers/bind.js';
import type { PeerKey } from '../helpers/knot.js';
import { freePort, startServer, until, type RunningServer } from '../helpers/server.js';
import { axfr, digUnavailable, everyWorkerServes, soaOf } from '../helpers/transfer-checks.js';

/** A zone of a few hundred records (a transfer of more than one message), at `serial`, with `www` at `www`; `change` also edits, adds and deletes. */
function zoneText(origin: string, serial: number, www: string, change = false): string {
  const lines = [`$ORIGIN ${origin}`, '$TTL 3600', `@ SOA ns1 hostmaster ${serial} 3600 2 1209600 300`, '@ NS ns1', 'ns1 A 127.0.0.1', `www A ${www}`, 'odd\\.label TXT "a dot inside a label"'];
  for (let i = 0; i < 400; i++) lines.push(`host${i} A 10.1.${i >> 8}.${i & 255}`, `host${i} TXT "host ${i}"`);
  if (change) {
    lines.splice(lines.indexOf('host7 TXT "host 7"'), 1);
    lines.push('added AAAA 2001:db8::1', '$TTL 60', 'short A 192.0.2.60');
  }
  return lines.join('\n') + '\n';
}

/** A catalog zone (RFC 9432 §4) at `serial` listing `members` (each under a unique id, §4.1). */
function catalogText(origin: string, serial: number, members: string[]): string {
  const lines = [`$ORIGIN ${origin}`, '$TTL 0', `@ SOA invalid. invalid. ${serial} 3600 2 2147483646 0`, '@ NS invalid.', 'version TXT "2"'];
  members.forEach((m) => lines.push(`${m.split('.')[0]}id.zones PTR ${m}`));
  return lines.join('\n') + '\n';
}

describe('BIND 9 and shardns: transfers both ways (TSIG, NOTIFY, IXFR), a catalog zone from BIND, wrong keys refused', function () {
  this.timeout(120_000);
  const missing = bindUnavailable() ?? digUnavailable();
  const key: PeerKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  // The same name on both sides, another secret on each: every message signed with it fails BADSIG.
  const badOurs: PeerKey = { name: 'bad-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  const badBind: PeerKey = { ...badOurs, secret: randomBytes(32).toString('base64') };
  let dir: string;
  let bind: Bind;
  let server: RunningServer;
  let outFile: string;
  let out2File: string;
  let stateDir: string;

  before(async function () {
    if (missing) {
      console.log(`      skip: ${missing}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'shardns-bindx-'));
    // The server may drop to another user: it must read its files.
    chmodSync(dir, 0o755);
    for (const z of ['in.test.', 'multi.test.', 'm1.cat.test.', 'm2.cat.test.', 'bad.test.']) writeFileSync(join(dir, `${z}zone`), zoneText(z, 1, '192.0.2.1'));
    writeFileSync(join(dir, 'cat.bind.zone'), catalogText('cat.bind.', 1, ['m1.cat.test.', 'm2.cat.test.']));
    outFile = join(dir, 'out.test.zone');
    writeFileSync(outFile, zoneText('out.test.', 1, '192.0.2.50'));
    writeFileSync(join(dir, 'badout.test.zone'), zoneText('badout.test.', 1, '192.0.2.51'));
    out2File = join(dir, 'out2.test.zone');
    writeFileSync(out2File, zoneText('out2.test.', 1, '192.0.2.53'));
    const bindPort = await freePort();
    const controlPort = await freePort();
    const port = await freePort();
    const primary = { address: `127.0.0.1:${bindPort}`, key: key.name };
    const config = join(dir, 'shardns.json');
    writeFileSync(
      config,
      JSON.stringify({
        keys: [key, badOurs].map((k) => ({ name: k.name, algorithm: k.algorithm, secret: k.secret })),
        zones: [
          // Secondary of BIND.
          { name: 'in.test.', type: 'secondary', primaries: [primary], 'allow-notify': [key.name], 'allow-transfer': [key.name] },
          // BIND does not NOTIFY it: changes pile up until `shardns ctl reload` asks.
          { name: 'multi.test.', type: 'secondary', primaries: [primary], 'allow-transfer': [key.name] },
          { name: 'cat.bind.', type: 'secondary', catalog: true, primaries: [primary], 'allow-notify': [key.name], 'allow-transfer': [key.name] },
          { name: 'bad.test.', type: 'secondary', primaries: [{ address: `127.0.0.1:${bindPort}`, key: badOurs.name }] },
          // Primary of BIND.
          { name: 'out.test.', file: outFile, notify: [{ address: `127.0.0.1:${bindPort}`, key: key.name }], 'allow-transfer': [key.name] },
          // No NOTIFY: BIND learns of its changes when `rndc refresh` asks.
          { name: 'out2.test.', file: out2File, 'allow-transfer': [key.name] },
          { name: 'badout.test.', file: join(dir, 'badout.test.zone'), 'allow-transfer': [key.name, badOurs.name] },
        ],
      }),
    );
    // shardns first: BIND's secondaries transfer at its start, and BIND waits long (min-retry-time) after a failure.
    stateDir = join(dir, 'state');
    server = await startServer(['--config', config, '--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', stateDir], {}, port);
    const notify = [{ address: '127.0.0.1', port, key: key.name }];
    bind = await startBind(
      [
        { name: 'in.test.', file: join(dir, 'in.test.zone'), transferKey: key.name, notify },
        { name: 'multi.test.', file: join(dir, 'multi.test.zone'), transferKey: key.name },
        { name: 'cat.bind.', file: join(dir, 'cat.bind.zone'), transferKey: key.name, notify },
        { name: 'm1.cat.test.', file: join(dir, 'm1.cat.test.zone'), transferKey: key.name, notify },
        { name: 'm2.cat.test.', file: join(dir, 'm2.cat.test.zone'), transferKey: key.name, notify },
        { name: 'bad.test.', file: join(dir, 'bad.test.zone'), transferKey: badBind.name },
        { name: 'out.test.', primary: { address: '127.0.0.1', port, key: key.name } },
        { name: 'out2.test.', primary: { address: '127.0.0.1', port, key: key.name } },
        { name: 'badout.test.', primary: { address: '127.0.0.1', port, key: badBind.name } },
      ],
      bindPort,
      controlPort,
      [key, badBind],
    );
  });
  after(async () => {
    server?.kill();
    await server?.exited;
    bind?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('BIND primary → shardns: AXFR with TSIG, the same records from every worker', async () => {
    expect(await until(() => everyWorkerServes(server.port, 'in.test', 1), 20_000, 200), server.stdout()).to.equal(true);
    expect(axfr(server.port, 'in.test', key)).to.deep.equal(axfr(bind.port, 'in.test', key));
    expect(server.stdout()).to.match(/zone in\.test\.: serial 1, \d+ records; AXFR from 127\.0\.0\.1:\d+ key xfr-key\./);
  });

  it('a change on BIND (file edited, rndc reload, ixfr-from-differences): its NOTIFY brings the new serial by IXFR to every worker', async () => {
    const since = server.stdout().length;
    writeFileSync(bind.zoneFile('in.test.'), zoneText('in.test.', 2, '192.0.2.2', true));
    const r = bind.rndc('reload', 'in.test.');
    expect(r.status, r.output).to.equal(0);
    expect(await until(() => everyWorkerServes(server.port, 'in.test', 2), 20_000, 50), `${server.output().slice(since)}\nBIND:\n${bind.log()}`).to.equal(true);
    const log = server.output().slice(since);
    expect(log, log).to.match(/NOTIFY from 127\.0\.0\.1 for serial 2; checking now/);
    expect(log, log).to.match(/zone in\.test\.: serial 2, \d+ records; IXFR from 127\.0\.0\.1:\d+ key xfr-key\. in \d+ ms \(1 version: 2 records deleted, 3 added/);
    // BIND's word that it gave the difference from its journal.
    expect(bind.log()).to.match(/transfer of 'in\.test\/IN': IXFR started: TSIG xfr-key \(serial 1 -> 2\)/);
    const ours = axfr(server.port, 'in.test', key);
    expect(ours).to.include('short.in.test. 60 IN A 192.0.2.60').and.not.include('host7.in.test. 3600 IN TXT "host 7"');
    expect(ours).to.deep.equal(axfr(bind.port, 'in.test', key));
  });

  it('two changes on BIND before shardns asks (`shardns ctl reload`): one IXFR of both versions, chained', async () => {
    expect(await until(() => everyWorkerServes(server.port, 'multi.test', 1), 20_000, 200), server.stdout()).to.equal(true);
    writeFileSync(bind.zoneFile('multi.test.'), zoneText('multi.test.', 2, '192.0.2.2', true));
    expect(bind.rndc('reload', 'multi.test.').status).to.equal(0);
    expect(await until(async () => (await soaOf(bind.port, 'multi.test')).serial === 2, 10_000, 50)).to.equal(true);
    writeFileSync(bind.zoneFile('multi.test.'), zoneText('multi.test.', 3, '192.0.2.3', true).replace('host9 A 10.1.0.9', 'host9 A 10.9.9.9'));
    expect(bind.rndc('reload', 'multi.test.').status).to.equal(0);
    expect(await until(async () => (await soaOf(bind.port, 'multi.test')).serial === 3, 10_000, 50)).to.equal(true);
    const since = server.stdout().length;
    const r = spawnSync(process.execPath, [join(process.cwd(), 'bin/shardns.js'), 'ctl', 'reload', 'multi.test.', '--state-dir', stateDir], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    expect(await until(() => everyWorkerServes(server.port, 'multi.test', 3), 20_000, 50), `${server.output().slice(since)}\nBIND:\n${bind.log()}`).to.equal(true);
    expect(bind.log()).to.match(/transfer of 'multi\.test\/IN': IXFR started: TSIG xfr-key \(serial 1 -> 3\)/);
    expect(server.output().slice(since)).to.match(/zone multi\.test\.: serial 3, \d+ records; IXFR from 127\.0\.0\.1:\d+ key xfr-key\. in \d+ ms \(2 versions: /);
    expect(axfr(server.port, 'multi.test', key)).to.include('host9.multi.test. 3600 IN A 10.9.9.9').and.deep.equal(axfr(bind.port, 'multi.test', key));
  });

  it('shardns primary → BIND secondary: AXFR with TSIG, BIND holds exactly what shardns serves', async () => {
    expect(await until(async () => (await soaOf(bind.port, 'out.test')).serial === 1, 20_000, 200), `BIND never served out.test serial 1:\n${bind.log()}`).to.equal(true);
    expect(axfr(bind.port, 'out.test', key)).to.deep.equal(axfr(server.port, 'out.test', key));
    expect(server.stdout()).to.match(/AXFR of out\.test\. serial 1 to 127\.0\.0\.1 \(key xfr-key\./);
  });

  it('a reload of shardns with a changed file: NOTIFY, BIND pulls an IXFR and ends equal to shardns', async () => {
    const since = server.mark();
    const bindSince = bind.log().length;
    writeFileSync(outFile, zoneText('out.test.', 2, '192.0.2.52', true));
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reloaded \d+ zone\(s\)/, 20_000, since);
    await server.waitFor(new RegExp(`NOTIFY for out\\.test\\. serial 2 acknowledged by 127\\.0\\.0\\.1:${bind.port} key xfr-key\\.`), 20_000, since);
    expect(await until(async () => (await soaOf(bind.port, 'out.test')).serial === 2, 20_000, 100), `BIND never served out.test serial 2:\n${bind.log().slice(bindSince)}`).to.equal(true);
    // The NOTIFY carried the new SOA (RFC 1996 §3.7): BIND logs its serial (without it: "no serial").
    expect(bind.log().slice(bindSince)).to.match(/zone out\.test\/IN: notify from 127\.0\.0\.1#\d+: serial 2\b/);
    expect(server.output().slice(since)).to.match(/IXFR of out\.test\. from serial 1 to 2 for 127\.0\.0\.1 \(key xfr-key\.[^)]*\): incremental, 1 version\(s\)/);
    // BIND's own word: the transfer succeeded and carried the difference (9 records), not the zone's 800.
    const done = /transfer of 'out\.test\/IN' from 127\.0\.0\.1#\d+: Transfer completed: \d+ messages, (\d+) records/.exec(bind.log().slice(bindSince));
    expect(done, bind.log().slice(bindSince)).to.not.equal(null);
    expect(Number(done![1])).to.be.below(20);
    const status = bind.rndc('zonestatus', 'out.test.');
    expect(status.output).to.match(/type: secondary\nfiles: .*\nserial: 2\n/);
    const ours = axfr(server.port, 'out.test', key);
    expect(ours).to.include('www.out.test. 3600 IN A 192.0.2.52').and.include('added.out.test. 3600 IN AAAA 2001:db8::1');
    expect(axfr(bind.port, 'out.test', key)).to.deep.equal(ours);
  });

  it('two reloads of shardns before BIND asks (`rndc refresh`): BIND pulls one IXFR of both versions from the journal', async () => {
    expect(await until(async () => (await soaOf(bind.port, 'out2.test')).serial === 1, 20_000, 200), `BIND never served out2.test serial 1:\n${bind.log()}`).to.equal(true);
    const since = server.mark();
    writeFileSync(out2File, zoneText('out2.test.', 2, '192.0.2.54', true));
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reloaded \d+ zone\(s\)/, 20_000, since);
    const since3 = server.mark();
    writeFileSync(out2File, zoneText('out2.test.', 3, '192.0.2.55', true).replace('host9 A 10.1.0.9', 'host9 A 10.9.9.9'));
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reloaded \d+ zone\(s\)/, 20_000, since3);
    expect((await soaOf(server.port, 'out2.test')).serial).to.equal(3);
    const bindSince = bind.log().length;
    expect(bind.rndc('refresh', 'out2.test.').status).to.equal(0);
    expect(await until(async () => (await soaOf(bind.port, 'out2.test')).serial === 3, 20_000, 100), `BIND never served out2.test serial 3:\n${bind.log().slice(bindSince)}`).to.equal(true);
    expect(server.output().slice(since)).to.match(/IXFR of out2\.test\. from serial 1 to 3 for 127\.0\.0\.1 \(key xfr-key\.[^)]*\): incremental, 2 version\(s\)/);
    const done = /transfer of 'out2\.test\/IN' from 127\.0\.0\.1#\d+: Transfer completed: \d+ messages, (\d+) records/.exec(bind.log().slice(bindSince));
    expect(done, bind.log().slice(bindSince)).to.not.equal(null);
    expect(Number(done![1])).to.be.below(30);
    expect(axfr(bind.port, 'out2.test', key)).to.include('host9.out2.test. 3600 IN A 10.9.9.9').and.deep.equal(axfr(server.port, 'out2.test', key));
  });

  it('a catalog zone BIND serves as a plain primary zone: shardns serves both members, transferred from BIND', async () => {
    for (const z of ['m1.cat.test', 'm2.cat.test']) {
      expect(await until(() => everyWorkerServes(server.port, z, 1), 30_000, 200), `${z}:\n${server.stdout()}`).to.equal(true);
      expect(axfr(server.port, z, key)).to.deep.equal(axfr(bind.port, z, key));
    }
    expect(server.stdout()).to.match(/catalog cat\.bind\.: zone m1\.cat\.test\. added/);
    expect(server.stdout()).to.match(/catalog cat\.bind\.: zone m2\.cat\.test\. added/);
  });

  it('a member removed from the catalog on BIND (reload, NOTIFY): shardns stops serving it', async () => {
    const since = server.mark();
    writeFileSync(bind.zoneFile('cat.bind.'), catalogText('cat.bind.', 2, ['m1.cat.test.']));
    const r = bind.rndc('reload', 'cat.bind.');
    expect(r.status, r.output).to.equal(0);
    await server.waitFor(/catalog cat\.bind\.: zone m2\.cat\.test\. removed/, 30_000, since);
    expect(await until(async () => (await soaOf(server.port, 'm2.cat.test')).rcode === 'REFUSED', 5000, 50)).to.equal(true);
    expect(await everyWorkerServes(server.port, 'm1.cat.test', 1)).to.equal(true);
  });

  it('a wrong key is refused both ways: BIND answers shardns BADSIG, shardns answers BIND NOTAUTH and logs it', async () => {
    // shardns → BIND: its refresh of bad.test. fails, BIND's BADSIG named.
    expect(await until(() => /zone bad\.test\.: refresh failed \(AXFR of bad\.test\. from 127\.0\.0\.1:\d+ key bad-key\., message 1: TSIG: the server answered TSIG error BADSIG/.test(server.stderr()), 20_000, 200), server.stderr()).to.equal(true);
    expect((await soaOf(server.port, 'bad.test')).rcode).to.equal('SERVFAIL');
    expect(bind.log()).to.match(/request has invalid signature: TSIG bad-key: tsig verify failure \(BADSIG\)/);
    // BIND → shardns: its transfer of badout.test. signed with bad-key, refused.
    expect(await until(() => /badout\.test\.[^\n]*from 127\.0\.0\.1: TSIG BADSIG[^\n]*answered NOTAUTH/.test(server.stderr() + server.stdout()), 20_000, 200), `${server.stderr()}\nBIND:\n${bind.log()}`).to.equal(true);
    expect((await soaOf(bind.port, 'badout.test')).rcode).to.equal('SERVFAIL');
    expect(bind.log()).to.match(/badout\.test\/IN[^\n]*(NOTAUTH|BADSIG|tsig)/i);
  });
});
