/** buildZones and checkZones: images built once per zone version, reused unchanged, rebuilt when damaged, kept when the zone breaks. */

import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ZoneConfig } from '../../../src/config.js';
import { createLogger, type Logger } from '../../../src/log.js';
import { ERRNO } from '../../../src/sys/libc.js';
import { mapFile } from '../../../src/sys/mapping.js';
import { buildZones, checkZones, compileSources, type BuildOutcome, type BuiltZone } from '../../../src/zone/image/build.js';
import { FORMAT_VERSION } from '../../../src/zone/image/format.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { isFromBuilder, isToBuilder } from '../../../src/zone/image/messages.js';
import { ImageStore } from '../../../src/zone/image/store.js';
import { FakeLibc } from '../../helpers/fake-libc.js';

const SOA = (serial: number): string => `@ IN SOA ns1 hostmaster ${serial} 7200 3600 1209600 300`;

/** A logger whose lines a test reads (info and above: each build's timings are a debug line). */
function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('builder', 'info', 'text', { out: (l) => lines.push(l), err: (l) => lines.push(l) }), lines };
}

function built(r: BuildOutcome): BuiltZone[] {
  if (r.kind !== 'ok') throw new Error(`build failed:\n${r.errors.join('\n')}`);
  return r.zones;
}

describe('buildZones', () => {
  const top = mkdtempSync(join(tmpdir(), 'shardns-build-'));
  after(() => rmSync(top, { recursive: true, force: true }));
  const src = join(top, 'zones');
  const state = join(top, 'state');
  const main = join(src, 'example.com.zone');
  const hosts = join(src, 'hosts.inc');
  const zones: ZoneConfig[] = [{ name: 'example.com.', file: main }];

  before(() => {
    mkdirSync(src, { recursive: true });
    writeFileSync(main, ['$TTL 3600', SOA(1), '  IN NS ns1', 'ns1 IN A 192.0.2.1', '$INCLUDE hosts.inc'].join('\n') + '\n');
    writeFileSync(hosts, 'www IN A 192.0.2.10\nmail IN A 192.0.2.25\n');
  });

  let first: BuiltZone;

  it('first build: parses, compiles and writes the image and its manifest', () => {
    const { log, lines } = capture();
    const [z] = built(buildZones(zones, state, { log }));
    first = z!;
    expect(first).to.deep.include({ origin: 'example.com.', serial: 1, records: 5, reused: false, reason: 'no manifest (first build)', sourceFiles: [main, hosts] });
    expect(first.imagePath).to.match(new RegExp(`^${state}/images/example\\.com-[0-9a-f]{16}\\.v${FORMAT_VERSION}\\.zimg$`));
    expect(statSync(first.imagePath).size).to.equal(first.imageBytes);
    const manifest = JSON.parse(readFileSync(join(state, 'manifests', 'example.com.json'), 'utf8')) as { image: string; sources: { path: string }[]; serial: number; records: number };
    expect(manifest).to.deep.include({ image: first.imagePath.split('/').pop(), serial: 1, records: 5 });
    expect(manifest.sources.map((s) => s.path)).to.deep.equal([main, hosts]);
    expect(lines).to.deep.equal([]);
    // What a worker does with it: map, open without verify, look a name up.
    const m = mapFile(first.imagePath);
    if (m.kind !== 'mapped') throw new Error(m.error.describe());
    const img = new ZoneImage(m.mapping.bytes);
    const www = Buffer.from('\x03www\x07example\x03com\x00', 'latin1');
    expect(img.find(www, 0, www.length)).to.be.greaterThan(0);
    m.mapping.unmap();
  });

  it('unchanged sources: the image is reused without parsing', () => {
    const [z] = built(buildZones(zones, state));
    expect(z).to.deep.include({ reused: true, reason: 'sources unchanged', imagePath: first.imagePath, serial: 1, records: 5, sourceFiles: [main, hosts] });
  });

  it('force: parses and compiles again, and writes the image anew under the same name (a mapping of the old file keeps it)', () => {
    const before = statSync(first.imagePath).ino;
    const [z] = built(buildZones(zones, state, { force: true }));
    expect(z).to.deep.include({ reused: false, imagePath: first.imagePath, reason: 'a rebuild was asked for', serial: 1, records: 5 });
    expect(statSync(first.imagePath).ino, 'a new file was renamed into place').to.not.equal(before);
    // Not forced again: the rebuilt image is reused.
    expect(built(buildZones(zones, state))[0]).to.deep.include({ reused: true, imagePath: first.imagePath });
  });

  let second: BuiltZone;
  it('an $INCLUDE edited: a new image beside the old one, the reason names the file', () => {
    writeFileSync(hosts, 'www IN A 192.0.2.11\nmail IN A 192.0.2.25\nftp IN A 192.0.2.21\n');
    const [z] = built(buildZones(zones, state));
    second = z!;
    expect(second).to.deep.include({ reused: false, reason: `${hosts} changed`, records: 6 });
    expect(second.imagePath).to.not.equal(first.imagePath);
    expect(existsSync(first.imagePath), 'the old image stays until removeUnused').to.equal(true);
  });

  const damage: { name: string; harm: (p: string) => void; logged: RegExp }[] = [
    { name: 'truncated', harm: (p) => truncateSync(p, statSync(p).size - 100), logged: /is unusable \(image says it is \d+ octets but \d+ are there \(truncated or grown\)\); deleted, rebuilding/ },
    {
      name: 'one byte flipped',
      harm: (p) => {
        const b = readFileSync(p);
        b[b.length - 200]! ^= 1;
        writeFileSync(p, b);
      },
      logged: /is unusable \(image checksum does not match its contents \(corrupted\)\); deleted, rebuilding/,
    },
  ];
  for (const d of damage) {
    it(`an image ${d.name}: detected, logged, deleted and rebuilt (never handed out)`, () => {
      d.harm(second.imagePath);
      const { log, lines } = capture();
      const [z] = built(buildZones(zones, state, { log }));
      expect(z).to.deep.include({ reused: false, imagePath: second.imagePath });
      expect(z!.reason).to.match(new RegExp(String.raw`^image example\.com-[0-9a-f]{16}\.v${FORMAT_VERSION}\.zimg was unusable \(.*\) and was deleted$`));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/WARN +builder\[\d+\]: zone example\.com\.: image .*\.zimg /).and.match(d.logged);
      const again = built(buildZones(zones, state))[0]!;
      expect(again.reused).to.equal(true);
    });
  }

  it('a broken zone: errors with file:line:column, the previous image and manifest kept, nothing deleted', () => {
    const before = readdirSync(join(state, 'images')).sort();
    const manifest = readFileSync(join(state, 'manifests', 'example.com.json'), 'utf8');
    writeFileSync(hosts, 'www IN A 192.0.2.11\nftp IN A 300.1.2.3\n');
    const r = buildZones(zones, state);
    expect(r.kind).to.equal('error');
    if (r.kind !== 'error') return;
    expect(r.errors).to.have.length(1);
    expect(r.errors[0]).to.match(/hosts\.inc:2:\d+: /);
    expect(r.error.code).to.equal('E_ZONE');
    expect(r.error.message).to.include(r.errors[0]!);
    expect(r.failed).to.deep.equal([{ origin: 'example.com.', error: r.error, errors: r.errors, previous: second.imagePath }]);
    expect(r.zones).to.deep.equal([]);
    expect(readdirSync(join(state, 'images')).sort()).to.deep.equal(before);
    expect(readFileSync(join(state, 'manifests', 'example.com.json'), 'utf8')).to.equal(manifest);
  });

  it('one zone broken, another fine: the fine one is built, the outcome is an error naming the broken one', () => {
    const other = join(src, 'example.net.zone');
    writeFileSync(other, ['$TTL 60', SOA(7), '  IN NS ns1', 'ns1 IN A 192.0.2.1'].join('\n') + '\n');
    const r = buildZones([...zones, { name: 'example.net.', file: other }], state);
    expect(r.kind).to.equal('error');
    if (r.kind !== 'error') return;
    expect(r.zones.map((z) => [z.origin, z.serial])).to.deep.equal([['example.net.', 7]]);
    expect(r.failed.map((f) => f.origin)).to.deep.equal(['example.com.']);
  });

  it('warnings are told on every build, reused or not', () => {
    const dir = join(top, 'warn');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'w.zone');
    // No $TTL and no TTL on the first record: the parser warns (RFC 2308 §4).
    writeFileSync(file, [SOA(3), '  NS ns1', 'ns1 A 192.0.2.1'].join('\n') + '\n');
    const z = [{ name: 'w.test.', file }];
    const a = buildZones(z, join(dir, 'state'));
    const b = buildZones(z, join(dir, 'state'));
    expect(a.kind === 'ok' && b.kind === 'ok' && b.zones[0]!.reused).to.equal(true);
    expect(a.warnings.length).to.be.greaterThan(0);
    expect(b.warnings).to.deep.equal(a.warnings);
  });

  it('an unusable state directory: E_STATE_DIR for every zone, saying which path', () => {
    const blocker = join(top, 'not-a-dir');
    writeFileSync(blocker, '');
    const r = buildZones(zones, join(blocker, 'state'));
    expect(r.kind).to.equal('error');
    if (r.kind !== 'error') return;
    expect(r.error.code).to.equal('E_STATE_DIR');
    expect(r.error.message).to.include(join(blocker, 'state'));
    expect(r.failed.map((f) => f.error.code)).to.deep.equal(['E_STATE_DIR']);
  });

  it('an image that cannot be mapped (mmap ENOMEM, fake libc): a coded error, the image is not deleted', () => {
    const dir = join(top, 'nomem');
    writeFileSync(hosts, 'www IN A 192.0.2.10\n');
    built(buildZones(zones, dir));
    const libc = new FakeLibc();
    libc.failMmap = ERRNO.ENOMEM;
    const r = buildZones(zones, dir, { libc });
    expect(r.kind).to.equal('error');
    if (r.kind !== 'error') return;
    expect(r.error.code).to.equal('E_MAP');
    expect(r.error.message).to.match(/cannot allocate memory/);
    expect(readdirSync(join(dir, 'images'))).to.have.length(1);
    expect(built(buildZones(zones, dir))[0]!.reused).to.equal(true);
  });

  it('a build does not read the image it just wrote back whole (its size, header and meta are read; nothing is mapped)', () => {
    const dir = join(top, 'no-read-back');
    const libc = new FakeLibc();
    const [z] = built(buildZones(zones, dir, { libc }));
    expect(z!.reused).to.equal(false);
    expect(libc.calls.filter((c) => c.startsWith('mmap'))).to.deep.equal([]);
    // What a worker maps is whole and sound: its checksum verifies.
    const m = mapFile(z!.imagePath);
    if (m.kind !== 'mapped') throw new Error(m.error.describe());
    expect(new ZoneImage(m.mapping.bytes, { verify: true }).recordCount).to.equal(z!.records);
    m.mapping.unmap();
  });

  it('a missing manifest with the image there: parsed again, the image kept as it is', () => {
    const dir = join(top, 'lost-manifest');
    const [a] = built(buildZones(zones, dir));
    const mtime = statSync(a!.imagePath).mtimeMs;
    rmSync(join(dir, 'manifests', 'example.com.json'));
    const [b] = built(buildZones(zones, dir));
    expect(b).to.deep.include({ reused: false, imagePath: a!.imagePath, reason: 'no manifest (first build); the image of these sources was already there' });
    expect(statSync(b!.imagePath).mtimeMs).to.equal(mtime);
    const store = ImageStore.open(dir);
    expect(store.kind === 'ok' && store.store.readManifest('example.com.').kind).to.equal('ok');
  });
});

describe('checkZones and compileSources (shardns check)', () => {
  const top = mkdtempSync(join(tmpdir(), 'shardns-check-'));
  after(() => rmSync(top, { recursive: true, force: true }));

  it('parses and compiles in memory: records, serial and image size; no state directory written', () => {
    const file = join(top, 'c.zone');
    writeFileSync(file, ['$TTL 60', SOA(42), '  IN NS ns1', 'ns1 IN A 192.0.2.1', 'www IN AAAA 2001:db8::1'].join('\n') + '\n');
    const r = checkZones([{ name: 'c.test.', file }]);
    expect(r.kind).to.equal('ok');
    if (r.kind !== 'ok') return;
    expect(r.zones[0]).to.deep.include({ origin: 'c.test.', serial: 42, records: 4 });
    expect(r.zones[0]!.imageBytes).to.be.greaterThan(128);
    expect(readdirSync(top)).to.deep.equal(['c.zone']);
  });

  it('every error of every zone, file:line:column', () => {
    const a = join(top, 'a.zone');
    const b = join(top, 'b.zone');
    writeFileSync(a, ['$TTL 60', SOA(1), '  IN NS ns1', 'ns1 IN A 192.0.2.999'].join('\n') + '\n');
    writeFileSync(b, ['$TTL 60', SOA(1), '  IN NS ns1', 'ns1 IN A 192.0.2.1', 'x IN MX ten mail'].join('\n') + '\n');
    const r = checkZones([
      { name: 'a.test.', file: a },
      { name: 'b.test.', file: b },
    ]);
    expect(r.kind).to.equal('error');
    if (r.kind !== 'error') return;
    expect(r.errors).to.have.length(2);
    expect(r.errors[0]).to.match(/a\.zone:4:\d+: /);
    expect(r.errors[1]).to.match(/b\.zone:5:\d+: /);
  });

  it('compileSources hashes exactly the octets the parser read, through the readFile given', () => {
    const files: Record<string, string> = { '/virtual/z.zone': `$TTL 60\n${SOA(5)}\n  IN NS ns1\nns1 IN A 192.0.2.1\n$INCLUDE more.inc\n`, '/virtual/more.inc': 'www IN A 192.0.2.2\n' };
    const read = (f: string): string => {
      const t = files[f];
      if (t === undefined) throw new Error('no such file');
      return t;
    };
    const c = compileSources({ name: 'v.test.', file: '/virtual/z.zone' }, { readFile: read });
    expect(c.kind).to.equal('compiled');
    if (c.kind !== 'compiled') return;
    expect(c.sources.map((s) => [s.path, s.bytes])).to.deep.equal([
      ['/virtual/z.zone', files['/virtual/z.zone']!.length],
      ['/virtual/more.inc', files['/virtual/more.inc']!.length],
    ]);
    files['/virtual/more.inc'] = 'www IN A 192.0.2.3\n';
    const d = compileSources({ name: 'v.test.', file: '/virtual/z.zone' }, { readFile: read });
    expect(d.kind === 'compiled' && d.hash).to.not.equal(c.hash);
  });
});

describe('builder messages', () => {
  const cases: { m: unknown; to: boolean; from: boolean }[] = [
    { m: { type: 'build', seq: 1, zones: [], stateDir: '/s' }, to: true, from: false },
    // Removing unused images is the supervisor's own work now, not a builder job.
    { m: { type: 'remove-unused', seq: 2, stateDir: '/s', keep: [] }, to: false, from: false },
    { m: { type: 'build', seq: '1', zones: [], stateDir: '/s' }, to: false, from: false },
    { m: { type: 'build', seq: 1, zones: [] }, to: false, from: false },
    { m: { type: 'built', seq: 1, outcome: {} }, to: false, from: true },
    { m: { type: 'removed', seq: 3, outcome: {} }, to: false, from: false },
    { m: { type: 'pong', seq: 1 }, to: false, from: false },
    { m: null, to: false, from: false },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.m)}: to the builder ${c.to}, from it ${c.from}`, () => {
      expect(isToBuilder(c.m)).to.equal(c.to);
      expect(isFromBuilder(c.m)).to.equal(c.from);
    });
  }
});
