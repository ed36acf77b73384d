/** ZoneBuilder (the supervisor's side): a builder that dies is a failed job with a reason, never a crash of the caller. */

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZoneBuilder } from '../../src/builder.js';
import { childPids } from '../helpers/server.js';

describe('ZoneBuilder', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-builder-'));
    writeFileSync(join(dir, 'zone.db'), '$TTL 60\n@ SOA ns1 host 1 1 1 1 1\n@ NS ns1\nns1 A 192.0.2.1\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const builder = (script?: string): ZoneBuilder => new ZoneBuilder({ stateDir: join(dir, 'state'), logLevel: 'error', logFormat: 'text', ...(script ? { script } : {}) });
  const zones = () => [{ name: 'b.test.', file: join(dir, 'zone.db') }];

  it('builds in a child process that has exited when the promise settles', async () => {
    const r = await builder().build(zones());
    expect(r.outcome.kind).to.equal('ok');
    if (r.outcome.kind === 'ok') expect(r.outcome.zones.map((z) => [z.origin, z.serial, z.records])).to.deep.equal([['b.test.', 1, 3]]);
    expect(r.peakRssMB).to.be.greaterThan(0);
    expect(childPids(process.pid).filter((pid) => cmdline(pid).includes('zone-builder'))).to.deep.equal([]);
  });

  const deaths: [string, string, RegExp][] = [
    ['exits before answering', 'process.exit(3);', /the zone builder exited \(exit code 3\) before finishing the build/],
    ['is killed while building', "process.on('message', () => process.kill(process.pid, 'SIGKILL'));", /the zone builder exited \(SIGKILL\) before finishing the build/],
  ];
  for (const [what, body, message] of deaths) {
    it(`a builder that ${what}: the build fails with the reason, for every zone`, async () => {
      const script = join(dir, `bad-${deaths.findIndex((d) => d[0] === what)}.mjs`);
      writeFileSync(script, body);
      const r = await builder(script).build(zones());
      expect(r.outcome.kind).to.equal('error');
      if (r.outcome.kind !== 'error') return;
      expect(r.outcome.error.code).to.equal('E_IMAGE');
      expect(r.outcome.errors.join('\n')).to.match(message);
      expect(r.outcome.failed.map((f) => f.origin)).to.deep.equal(['b.test.']);
    });
  }
});

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
