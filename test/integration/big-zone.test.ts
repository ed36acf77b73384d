/** A 2.5M-record zone starts with --workers 4 and the default heartbeat timeout: workers map the image the builder made, nobody parses on a serving event loop. */

import { expect } from 'chai';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { udpQuery, type Reply } from '../helpers/dns-client.js';
import { spawnServer, freePort, type RunningServer, workerPids } from '../helpers/server.js';

const RECORDS = 2_500_000;

/** The address of host i (10.0.0.0/8 wraps at 2^24 hosts, far above RECORDS). */
function address(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** Writes a zone of `records` A records (plus SOA and NS) in 1 MiB chunks. */
function writeBigZone(file: string, records: number): void {
  const fd = openSync(file, 'w');
  try {
    let chunk = '$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n';
    for (let i = 0; i < records; i++) {
      chunk += `h${i} A ${address(i)}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

describe('a 2.5M-record zone with 4 workers and default timeouts', function () {
  this.timeout(240_000);
  let dir: string;
  let server: RunningServer | null = null;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-big-'));
    writeBigZone(join(dir, 'big.test.zone'), RECORDS);
  });
  after(() => {
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts, answers from the whole zone, and no worker missed a heartbeat or was replaced', async () => {
    server = spawnServer(['--workers', '4', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `big.test.=${join(dir, 'big.test.zone')}`], await freePort());
    await server.waitFor(/listening on .* with 4 workers/, 200_000);
    expect(server.stdout() + server.stderr()).to.not.match(/has not answered|exited unexpectedly|restarting/);
    expect(server.stdout()).to.match(new RegExp(`zone big\\.test\\.: serial 1, ${RECORDS + 3} records; image built`));
    expect(workerPids(server.proc.pid!)).to.have.length(4);
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const n = RECORDS - 1 - i * 61_000;
      const r = await udpQuery(`h${n}.big.test`, 'A', 'IN', server.port);
      expect((r as unknown as Reply).rcode).to.equal('NOERROR');
      expect((r.answers ?? []).map((a) => (a as { data: string }).data)).to.deep.equal([address(n)]);
      seen.add(String(i));
    }
    expect(seen.size).to.equal(40);
  });
});
