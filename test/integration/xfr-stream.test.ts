import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { freePort, startServer, type RunningServer } from '../helpers/server.js';
import { kdigUnavailable } from '../helpers/transfer-checks.js';

/**
 * A zone of ~40k records (~1.2 MB of transfer messages: the 512 KiB ring
 * the messages are made in is gone round twice) with every kind of name a
 * message compresses: owners under the apex and two levels down, CNAME, MX
 * and NS targets in the zone and out of it, SRV (never compressed).
 */
function zoneText(): string {
  const lines = ['$ORIGIN stream.test.', '$TTL 3600', '@ SOA ns1 hostmaster 7 7200 3600 1209600 300', '@ NS ns1', '@ NS ns.elsewhere.example.', 'ns1 A 127.0.0.1'];
  for (let i = 0; i < 8000; i++) {
    lines.push(`host${i} A 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `host${i} AAAA 2001:db8::${i.toString(16)}`);
    if (i % 3 === 0) lines.push(`host${i} TXT "v=spf1 ip4:10.0.0.${i & 255} -all"`);
    if (i % 4 === 0) lines.push(`www${i} CNAME host${i}`, `mx${i} MX 10 mail${i % 50}`, `mx${i} MX 20 mail.elsewhere.example.`);
    if (i % 10 === 0) lines.push(`sub${i} NS ns1.sub${i}`, `ns1.sub${i} A 192.0.2.${i % 250}`, `_sip._tcp.svc${i} SRV 10 60 5060 host${i}`);
  }
  for (let i = 0; i < 50; i++) lines.push(`mail${i} A 192.0.2.${100 + i}`);
  return lines.join('\n') + '\n';
}

/** kdig's AXFR: its summary line (octets, messages, records) and the records as it printed them. */
function kdigAxfr(port: number): { summary: string; records: string[]; out: string } {
  const r = spawnSync('kdig', ['@127.0.0.1', '-p', String(port), 'stream.test', 'AXFR', '+nocomments'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout}${r.stderr}`;
  const summary = /Received (\d+ B \(\d+ messages, \d+ records\))/.exec(out)?.[1] ?? `no summary (exit ${r.status}): ${out.slice(-500)}`;
  const records = out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';'));
  return { summary, records, out };
}

describe('AXFR messages made in a reused ring, read by kdig: the same stream as NSD sends', function () {
  this.timeout(120_000);
  const why = nsdUnavailable() ?? kdigUnavailable();
  let server: RunningServer;
  let nsd: Nsd;

  before(async function () {
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'shardns-xfr-stream-'));
    chmodSync(dir, 0o755);
    const file = join(dir, 'stream.test.zone');
    writeFileSync(file, zoneText());
    const config = join(dir, 'shardns.json');
    writeFileSync(config, JSON.stringify({ zones: [{ name: 'stream.test.', file, 'allow-transfer': ['127.0.0.0/8'] }] }));
    server = await startServer(['--config', config, '--workers', '2', '--listen', '127.0.0.1', '--forward', 'none']);
    nsd = await startNsd([{ name: 'stream.test.', file, lines: ['provide-xfr: 127.0.0.0/8 NOKEY'] }], await freePort());
  });
  after(() => {
    server?.kill();
    nsd?.stop();
  });

  it('kdig gets the same octets, messages and records, in the same order, from shardns as from NSD, on every connection', () => {
    const theirs = kdigAxfr(nsd.port);
    expect(theirs.summary).to.match(/^\d+ B \((\d{2,}) messages, \d+ records\)$/);
    // Several connections: the kernel hands them to either worker, and each made its messages into its own ring.
    for (let i = 0; i < 4; i++) {
      const ours = kdigAxfr(server.port);
      expect(ours.out).to.not.match(/;; (WARNING|ERROR)/);
      expect(ours.summary, `connection ${i + 1}`).to.equal(theirs.summary);
      const differs = ours.records.findIndex((l, k) => l !== theirs.records[k]);
      expect(differs, `connection ${i + 1}: record ${differs}: ${ours.records[differs]} (NSD: ${theirs.records[differs]})`).to.equal(-1);
      expect(ours.records.length).to.equal(theirs.records.length);
    }
  });
});
