import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateZone } from '../../../bench/gen-zone.js';
import { addressProbe, WILDCARD_BLOCK } from '../../../bench/run.js';
import { lastAddressProbe } from '../../../bench/scale.js';
import { knotConfig, nsdConfig } from '../../../bench/servers.js';
import { loadZoneFile } from '../../../src/zone/index.js';

describe('bench zones and servers', () => {
  it('probes the last address record of a generated zone, which the zone really has', () => {
    const text = generateZone(2000, 'example.com.');
    const probe = lastAddressProbe(text, 'example.com.');
    expect(probe).to.not.equal(null);
    const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
    try {
      writeFileSync(join(dir, 'z.zone'), text);
      const r = loadZoneFile('example.com.', join(dir, 'z.zone'));
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join());
      const records = r.zone.nodes.get(probe!.name.toLowerCase()) ?? [];
      expect(records.some((x) => x.type === 'A' && x.data === probe!.expect), JSON.stringify(probe)).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not probe glue below a delegation (it would get a referral)', () => {
    const text = '$ORIGIN t.test.\nhost1 IN A 10.0.0.1\nsub2 IN NS ns1.sub2\nns1.sub2 IN A 10.0.0.2\n';
    expect(lastAddressProbe(text, 't.test.')).to.deep.equal({ name: 'host1.t.test', type: 'A', expect: '10.0.0.1' });
    expect(lastAddressProbe('$ORIGIN t.test.\nx IN TXT "a"\n', 't.test.')).to.equal(null);
  });

  it('the generated load-test zone (gen-zone + wildcards) loads, and has a probe outside cuts and wildcards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-zone-'));
    try {
      writeFileSync(join(dir, 'z.zone'), generateZone(1000, 'example.com.') + WILDCARD_BLOCK);
      const r = loadZoneFile('example.com.', join(dir, 'z.zone'));
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join());
      expect(r.zone.nodes.has('*.wild.example.com')).to.equal(true);
      const probe = addressProbe(r.zone);
      expect(probe?.type).to.equal('A');
      expect(probe?.name).to.not.match(/^\*|(^|\.)sub\d+\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('configures NSD without rate limiting and Knot with the same worker count, each in its own folder', () => {
    const zone = { origin: 'example.com.', file: '/z/example.com.zone' };
    const nsd = nsdConfig({ workers: 2, port: 25353, zone, dir: '/tmp/x' });
    expect(nsd).to.match(/^\s+rrl-ratelimit: 0$/m).and.match(/^\s+server-count: 2$/m).and.match(/^\s+ip-address: 127\.0\.0\.1@25353$/m);
    expect(nsd).to.match(/pidfile: "\/tmp\/x\/nsd\.pid"/).and.match(/zonefile: "\/z\/example\.com\.zone"/);
    const knot = knotConfig({ workers: 2, port: 25354, zone, dir: '/tmp/y' });
    expect(knot).to.match(/udp-workers: 2/).and.match(/tcp-workers: 2/).and.match(/background-workers: 2/).and.match(/listen: 127\.0\.0\.1@25354/);
    expect(knot).to.match(/rundir: "\/tmp\/y"/).and.match(/storage: "\/tmp\/y\/db"/);
  });
});
