import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../helpers/server.js';
import { kdigUnavailable } from '../helpers/transfer-checks.js';

/** A zone of 50,000 hosts: more than the warm-up's 600 messages of 2 KiB hold, so it stops at its budget. */
function zoneText(): string {
  const lines = ['$ORIGIN warm.test.', '$TTL 3600', '@ SOA ns1 hostmaster 7 7200 3600 1209600 300', '@ NS ns1', 'ns1 A 127.0.0.1'];
  for (let i = 0; i < 50000; i++) lines.push(`host${i} A 10.0.${(i >> 8) & 255}.${i & 255}`, `host${i} TXT "host number ${i}"`);
  return lines.join('\n') + '\n';
}

/** A config serving warm.test, with `allow-transfer` when given. */
function config(allow: string[] | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-xfr-warm-'));
  chmodSync(dir, 0o755);
  const file = join(dir, 'warm.test.zone');
  writeFileSync(file, zoneText());
  const path = join(dir, 'shardns.json');
  writeFileSync(path, JSON.stringify({ zones: [{ name: 'warm.test.', file, ...(allow ? { 'allow-transfer': allow } : {}) }] }));
  return path;
}

describe('a fresh worker warms its zone transfer path in idle turns (src/xfr/warm-up.ts)', function () {
  this.timeout(60_000);
  const servers: RunningServer[] = [];
  after(() => servers.forEach((s) => s.kill()));

  it('with a zone that allows transfers: every worker makes and drops AXFR messages once, after it serves', async () => {
    const s = await startServer(['--config', config(['127.0.0.0/8']), '--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--log-level', 'debug']);
    servers.push(s);
    for (const w of [0, 1]) await s.waitFor(new RegExp(`worker-${w}\\[\\d+\\]: transfer warm-up: 6\\d\\d AXFR messages \\(\\d+ octets\\) of warm\\.test\\. made and dropped in [\\d.]+ ms of CPU`), 20_000);
    const out = s.output();
    for (const w of [0, 1]) {
      // After the worker said it serves: never before its first answer.
      const ready = out.search(new RegExp(`worker-${w}\\[\\d+\\]: ready on`));
      const warmed = out.search(new RegExp(`worker-${w}\\[\\d+\\]: transfer warm-up:`));
      expect(ready, `worker ${w} ready`).to.be.at.least(0);
      expect(warmed, `worker ${w}: warm-up after ready`).to.be.above(ready);
    }
    expect(out.match(/transfer warm-up: \d+ AXFR/g)).to.have.length(2);
  });

  it('a transfer that comes before the warm-up began stops it: nothing is made beside the transfer', async function () {
    const why = kdigUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const s = await startServer(['--config', config(['127.0.0.0/8']), '--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--log-level', 'debug']);
    servers.push(s);
    // At once: the warm-up waits half a second after the worker serves (src/xfr/warm-up.ts WARM_UP_DELAY_MS).
    const r = spawnSync('kdig', ['@127.0.0.1', '-p', String(s.port), 'warm.test', 'AXFR', '+noall', '+stats'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(`${r.stdout}`).to.match(/Received \d+ B \(\d+ messages, 100004 records\)/);
    await s.waitFor(/worker-0\[\d+\]: transfer warm-up: stopped after 0 messages \(a transfer began: it warms the path itself\)/, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(s.output()).to.not.match(/transfer warm-up: \d+ AXFR/);
  });

  it('with no zone that allows transfers: nothing is made, and the log says why', async () => {
    const s = await startServer(['--config', config(null), '--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--log-level', 'debug']);
    servers.push(s);
    await s.waitFor(/worker-0\[\d+\]: transfer warm-up: none \(no zone allows transfers\)/, 20_000);
    expect(s.output()).to.not.match(/transfer warm-up: \d+ AXFR/);
  });
});
