/** bench/axfr.ts with the AXFR floor (bench/floor/axfr-floor.c): kdig takes from the floor the stream captured from shardns, IDs set to its query's, as it takes it from shardns and NSD. */

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { buildAxfrFloor } from '../../bench/floor.js';
import { serverUnavailable } from '../../bench/servers.js';
import { ROOT } from '../helpers/server.js';
import { kdigUnavailable } from '../helpers/transfer-checks.js';

/** One row of the bench's table: the server's name and its cells. */
function rows(table: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 10 || cells[1] === 'server' || cells[1]!.startsWith('---')) continue;
    out.set(cells[1]!, cells.slice(2, -1));
  }
  return out;
}

describe('AXFR bench: the floor beside shardns and NSD, through kdig', function () {
  this.timeout(180_000);

  it('kdig gets the same messages, octets and records from the floor (per message and bulk) as from shardns and NSD, with its own CPU and the servers\' in every row', async function () {
    for (const why of [kdigUnavailable(), serverUnavailable('nsd'), buildAxfrFloor()]) {
      if (why !== null) {
        console.log(`skip: ${why}`);
        this.skip();
      }
    }
    const proc = spawn(process.execPath, [`${ROOT}dist/bench/axfr.js`, '--records', '3000', '--rounds', '2', '--workers', '1', '--servers', 'shardns,nsd,floor,floor-bulk'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
    expect(code, stderr).to.equal(0);
    expect(stderr).to.match(/captured shardns's AXFR stream for the floor/);
    const table = rows(stdout);
    expect([...table.keys()]).to.deep.equal(['shardns', 'nsd', 'floor', 'floor-bulk']);
    // Cells: wall, vs NSD, server CPU, of it sys, kdig CPU, messages, octets, records.
    const nsd = table.get('nsd')!;
    expect(Number(nsd[7])).to.be.greaterThan(3000);
    for (const [name, cells] of table) {
      expect(cells.slice(5), name).to.deep.equal(nsd.slice(5));
      expect(cells[4], name).to.match(/^\d+\.\d\d s$/);
    }
  });
});
