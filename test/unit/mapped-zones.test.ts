/** MappedZones: a worker's images swapped whole, unchanged ones kept, failures leaving the old set, old mappings released late. */

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MappedZones } from '../../src/mapped-zones.js';
import { ERRNO } from '../../src/sys/libc.js';
import { compileZone } from '../../src/zone/image/compile.js';
import { parseZoneText } from '../../src/zone/index.js';
import { FakeLibc } from '../helpers/fake-libc.js';

function imageFile(dir: string, origin: string, serial: number): string {
  const r = parseZoneText(origin, `$TTL 60\n@ SOA ns1 host ${serial} 1 1 1 1\n@ NS ns1\nns1 A 192.0.2.1\n`);
  if (!r.ok) throw new Error('test zone refused');
  const path = join(dir, `${origin}${serial}.zimg`);
  writeFileSync(path, compileZone(r.zone, { origin, source: String(serial) }));
  return path;
}

describe('MappedZones', () => {
  let dir: string;
  let libc: FakeLibc;
  let zones: MappedZones;
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-mapped-'));
    libc = new FakeLibc();
    zones = new MappedZones({ libc, releaseDelayMs: 20 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a new set as one reference; an unchanged zone keeps its mapping; the old one is released after the delay', async () => {
    const a1 = imageFile(dir, 'a.test.', 1);
    const b1 = imageFile(dir, 'b.test.', 1);
    const first = zones.swap([{ origin: 'a.test.', path: a1 }, { origin: 'b.test.', path: b1 }]);
    expect(first.kind).to.equal('ok');
    const set1 = zones.zones;
    expect(set1.size).to.equal(2);
    expect(libc.live).to.equal(2);

    const a2 = imageFile(dir, 'a.test.', 2);
    const second = zones.swap([{ origin: 'a.test.', path: a2 }, { origin: 'b.test.', path: b1 }]);
    expect(second.kind).to.equal('ok');
    expect(zones.zones).to.not.equal(set1);
    expect(zones.zones.images().map((i) => i.serial)).to.deep.equal([2, 1]);
    // b kept its image object (no second mapping); a1 is still mapped for the delay.
    expect(zones.zones.images()[1]).to.equal(set1.images()[1]);
    expect(libc.calls.filter((c) => c.startsWith('mmap'))).to.have.length(3);
    expect(libc.live).to.equal(3);
    await wait(60);
    expect(libc.live).to.equal(2);
    expect(zones.mappedPaths().sort()).to.deep.equal([a2, b1].sort());
  });

  it('a mapping that fails leaves the served set as it was and maps nothing new', () => {
    const a1 = imageFile(dir, 'a.test.', 1);
    zones.swap([{ origin: 'a.test.', path: a1 }]);
    const before = zones.zones;
    const b1 = imageFile(dir, 'b.test.', 1);
    const c1 = imageFile(dir, 'c.test.', 1);
    libc.failMmap = null;
    // b maps, then c fails: b's fresh mapping is let go at once.
    const orig = libc.mmap.bind(libc);
    let n = 0;
    libc.mmap = (...args) => (++n === 2 ? { kind: 'errno', errno: ERRNO.ENOMEM } : orig(...args));
    const r = zones.swap([{ origin: 'a.test.', path: a1 }, { origin: 'b.test.', path: b1 }, { origin: 'c.test.', path: c1 }]);
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') expect(r.error.code).to.equal('E_MAP');
    expect(zones.zones).to.equal(before);
    expect(libc.live).to.equal(1);
  });

  it('a file that is not an image is refused with what to do, and nothing changes', () => {
    const bad = join(dir, 'bad.zimg');
    writeFileSync(bad, Buffer.alloc(4096, 7));
    const r = zones.swap([{ origin: 'x.test.', path: bad }]);
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') expect(r.error.describe()).to.match(/cannot serve zone x\.test\. from .*bad\.zimg: not a shardns zone image.*reload/);
    expect(libc.live).to.equal(0);
    expect(zones.zones.size).to.equal(0);
  });
});
