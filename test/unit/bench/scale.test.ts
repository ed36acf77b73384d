import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateZone, isGeneratedZone, writeZone, zoneLines } from '../../../bench/gen-zone.js';
import { addressProbe, WILDCARD_BLOCK } from '../../../bench/run.js';
import { heartbeatKills, helpListsFlag, withReason, LastAddressFinder, lastAddressProbe } from '../../../bench/scale.js';
import { knotConfig, nsdConfig } from '../../../bench/servers.js';
import { loadZoneFile } from '../../../src/zone/index.js';

describe('bench zones and servers', () => {
  it('reuses a generated zone only when its first line names this generator and the same record count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-gen-'));
    try {
      const file = join(dir, 'z.zone');
      expect(isGeneratedZone(file, 100)).to.equal(false);
      await writeZone(file, 100);
      expect(isGeneratedZone(file, 100)).to.equal(true);
      expect(isGeneratedZone(file, 1000)).to.equal(false);
      expect(isGeneratedZone(file, 10)).to.equal(false);
      writeFileSync(file, readFileSync(file, 'latin1').replace('gen-zone.ts v2', 'gen-zone.ts v1'), 'latin1');
      expect(isGeneratedZone(file, 100)).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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

  it('streams a zone to disk: the same bytes as the text, every line seen on the way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-gen-'));
    try {
      const seen: string[] = [];
      const bytes = await writeZone(join(dir, 'z.zone'), 30_000, 'example.com.', (l) => seen.push(l));
      const text = generateZone(30_000, 'example.com.');
      expect(readFileSync(join(dir, 'z.zone'), 'utf8')).to.equal(text);
      expect(bytes).to.equal(Buffer.byteLength(text));
      expect(seen.join('\n') + '\n').to.equal(text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the same probe line by line with a short memory as over the whole text', () => {
    for (const records of [60, 2000, 25_000]) {
      const f = new LastAddressFinder('example.com.', 8);
      for (const l of zoneLines(records, 'example.com.')) f.line(l);
      expect(f.probe(), String(records)).to.deep.equal(lastAddressProbe(generateZone(records, 'example.com.'), 'example.com.'));
    }
  });

  it('sees a flag in a --help text only as an option of its own', () => {
    const help = 'Options:\n      --state-dir            keep compiled zone images here   [string]\n      --statefile  x\n';
    expect(helpListsFlag(help, '--state-dir')).to.equal(true);
    expect(helpListsFlag(help, '--state')).to.equal(false);
    expect(helpListsFlag('      --state-dir-old  x\n', '--state-dir')).to.equal(false);
    expect(helpListsFlag('see --state-dir in the docs\n', '--state-dir')).to.equal(false);
  });

  it('counts the workers the supervisor killed for missed heartbeats in its log', () => {
    const log = [
      '2026-11-30T02:24:27.334Z WARN  supervisor[7491]: worker 0 (pid 7522) has not answered for 5.1s; killing it',
      '2026-11-30T02:24:27.336Z WARN  supervisor[7491]: worker 1 (pid 7524) has not answered for 5.1s; killing it',
      '2026-11-30T02:24:28.000Z WARN  supervisor[7491]: worker 1 (pid 7524) did not finish within 5s; killing it',
    ].join('\n');
    expect(heartbeatKills(log)).to.equal(2);
    expect(heartbeatKills('')).to.equal(0);
  });

  it('puts shardns\'s reason for not starting on the first line of the error', () => {
    const message = 'shardns exited (probe h.example.com A → 10.0.0.1):\n… INFO  supervisor[1]: starting\n… ERROR supervisor[1]: cannot start: worker 1 (pid 7) exited while starting (SIGKILL) — run with --log-level debug to see what it did code=E_WORKER_START';
    const out = withReason(message);
    expect(out.split('\n')[0]).to.equal('shardns exited (probe h.example.com A → 10.0.0.1): worker 1 (pid 7) exited while starting (SIGKILL)');
    expect(out.split('\n').slice(1)).to.deep.equal(message.split('\n').slice(1));
    expect(withReason('knot gave no correct answer within 300 s:\nlog')).to.equal('knot gave no correct answer within 300 s:\nlog');
  });
});
