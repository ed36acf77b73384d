import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { udpQuery } from '../helpers/dns-client.js';
import { knotUnavailable, startKnot, type Knot, type PeerKey } from '../helpers/knot.js';
import { nsdUnavailable } from '../helpers/nsd.js';
import { startNsdSecondary, type NsdSecondary } from '../helpers/nsd-secondary.js';
import { freePort, startServer, until, type RunningServer } from '../helpers/server.js';
import { digUnavailable } from '../helpers/transfer-checks.js';

/** A zone big enough for a transfer of several messages (each 16 KiB at most), with a serial and a change. */
function zoneText(serial: number, change: boolean): string {
  const lines = ['$ORIGIN xfr.test.', '$TTL 3600', `@ SOA ns1 hostmaster ${serial} 7200 3600 1209600 300`, '@ NS ns1', '@ NS ns2', 'ns1 A 127.0.0.1', 'ns2 A 127.0.0.2', '@ MX 10 mail', 'mail A 192.0.2.25'];
  for (let i = 0; i < 1500; i++) lines.push(`host${i} A 10.0.${i >> 8}.${i & 255}`, `host${i} TXT "record ${i} of the transfer test"`);
  if (change) {
    // One record changed, one added, one RRset deleted, one TTL changed: the IXFR carries each.
    lines[lines.indexOf('mail A 192.0.2.25')] = 'mail A 192.0.2.26';
    lines.push('added AAAA 2001:db8::1');
    lines.splice(lines.indexOf('host7 TXT "record 7 of the transfer test"'), 1);
    lines.push('$TTL 60', 'short A 192.0.2.60');
  }
  return lines.join('\n') + '\n';
}

/** The records of a zone as `dig axfr` prints them, one line each, sorted, the closing SOA left out and TSIG records dropped. */
function axfr(port: number, key: PeerKey): string[] {
  const r = spawnSync('dig', ['-p', String(port), '@127.0.0.1', '-y', `${key.algorithm}:${key.name}:${key.secret}`, 'xfr.test', 'AXFR', '+nocmd', '+nostats', '+nocomments', '+noadditional'], { encoding: 'utf8' });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';') && !/\sTSIG\s/.test(l))
    .map((l) => l.split(/\s+/).join(' '));
  if (lines.length < 2) throw new Error(`dig axfr from port ${port} gave:\n${r.stdout}${r.stderr}`);
  // An AXFR ends with the SOA it began with (RFC 5936 §2.2).
  expect(lines.at(-1)).to.equal(lines[0]);
  return lines.slice(0, -1).sort();
}

/** The serial a server answers for the zone, or -1. */
async function serialAt(port: number): Promise<number> {
  try {
    const r = await udpQuery('xfr.test', 'SOA', 'IN', port);
    const soa = r.answers?.find((a) => a.type === 'SOA') as { data: { serial: number } } | undefined;
    return soa?.data.serial ?? -1;
  } catch {
    return -1;
  }
}

describe('shardns primary → Knot and NSD secondaries (TSIG, NOTIFY, IXFR)', function () {
  this.timeout(120_000);
  const missing = knotUnavailable() ?? nsdUnavailable() ?? digUnavailable();
  const key: PeerKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  let server: RunningServer;
  let knot: Knot;
  let nsd: NsdSecondary;
  let file: string;

  before(async function () {
    if (missing) {
      console.log(`      skip: ${missing}`);
      this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'shardns-xfr2-'));
    // The server may drop to another user: it must read its files.
    chmodSync(dir, 0o755);
    file = join(dir, 'xfr.test.zone');
    writeFileSync(file, zoneText(1, false));
    const knotPort = await freePort();
    const nsdPort = await freePort();
    const config = join(dir, 'shardns.json');
    writeFileSync(
      config,
      JSON.stringify({
        keys: [{ name: key.name, algorithm: key.algorithm, secret: key.secret }],
        zones: [
          {
            name: 'xfr.test.',
            file,
            notify: [
              { address: `127.0.0.1:${knotPort}`, key: key.name },
              { address: `127.0.0.1:${nsdPort}`, key: key.name },
            ],
            // Only requests signed with the key, from anywhere.
            'allow-transfer': [key.name],
          },
        ],
      }),
    );
    server = await startServer(['--config', config, '--workers', '2', '--listen', '127.0.0.1', '--forward', 'none']);
    knot = await startKnot([{ name: 'xfr.test.', primary: { address: '127.0.0.1', port: server.port, key: key.name } }], knotPort, [key]);
    nsd = await startNsdSecondary(['xfr.test.'], { address: '127.0.0.1', port: server.port }, nsdPort, key);
  });
  after(() => {
    server?.kill();
    knot?.stop();
    nsd?.stop();
  });

  it('both secondaries transfer the zone (AXFR with TSIG) and hold exactly what shardns serves', async () => {
    expect(await until(async () => (await serialAt(knot.port)) === 1, 30_000, 200), `Knot never served serial 1:\n${knot.log()}`).to.equal(true);
    expect(await until(async () => (await serialAt(nsd.port)) === 1, 30_000, 200), `NSD never served serial 1:\n${nsd.log()}`).to.equal(true);
    const ours = axfr(server.port, key);
    expect(ours.length).to.equal(3007);
    expect(axfr(knot.port, key)).to.deep.equal(ours);
    expect(axfr(nsd.port, key)).to.deep.equal(ours);
    expect(server.stdout()).to.match(/AXFR of xfr\.test\. serial 1 to 127\.0\.0\.1 \(key xfr-key\./);
  });

  it('a reload with a changed file: NOTIFY, both pull an IXFR and end with the same records as shardns', async () => {
    const since = server.mark();
    writeFileSync(file, zoneText(2, true));
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reloaded 1 zone\(s\)/, 20_000, since);
    await server.waitFor(new RegExp(`NOTIFY for xfr\\.test\\. serial 2 acknowledged by 127\\.0\\.0\\.1:${knot.port} key xfr-key\\.`), 20_000, since);
    await server.waitFor(new RegExp(`NOTIFY for xfr\\.test\\. serial 2 acknowledged by 127\\.0\\.0\\.1:${nsd.port} key xfr-key\\.`), 20_000, since);
    expect(await until(async () => (await serialAt(knot.port)) === 2, 20_000, 100), `Knot never served serial 2:\n${knot.log()}`).to.equal(true);
    expect(await until(async () => (await serialAt(nsd.port)) === 2, 20_000, 100), `NSD never served serial 2:\n${nsd.log()}`).to.equal(true);
    // Each pulled the change incrementally, from the journal.
    const ixfrs = server.output().slice(since).match(/IXFR of xfr\.test\. from serial 1 to 2 for 127\.0\.0\.1 \(key xfr-key\.[^)]*\): incremental, 1 version\(s\)/g) ?? [];
    expect(ixfrs.length, server.output().slice(since)).to.be.at.least(2);
    expect(knot.log()).to.match(/IXFR, incoming.*finished/);
    const ours = axfr(server.port, key);
    expect(ours).to.include('mail.xfr.test. 3600 IN A 192.0.2.26').and.include('short.xfr.test. 60 IN A 192.0.2.60').and.not.include('mail.xfr.test. 3600 IN A 192.0.2.25');
    expect(axfr(knot.port, key)).to.deep.equal(ours);
    expect(axfr(nsd.port, key)).to.deep.equal(ours);
  });
});
