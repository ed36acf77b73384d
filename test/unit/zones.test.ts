import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadZones } from '../../src/zones.js';

describe('loadZones: the octets read, and loading from them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-zones-'));
  const main = join(dir, 'snap.test.zone');
  const part = join(dir, 'hosts.inc');
  const configs = [{ name: 'snap.test.', file: main }];
  const records = (r: ReturnType<typeof loadZones>): number => (r.ok ? r.loaded.reduce((n, z) => n + z.size, 0) : -1);

  it('returns every file it read, $INCLUDE included, byte for byte', () => {
    writeFileSync(main, `$ORIGIN snap.test.\n$TTL 60\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n$INCLUDE ${part}\n`);
    writeFileSync(part, 'www A 192.0.2.10\n');
    const r = loadZones(configs, { keepFiles: true });
    expect(r.ok, r.ok ? '' : r.errors.join('\n')).to.equal(true);
    if (!r.ok || !r.files) throw new Error('no files kept');
    const plain = loadZones(configs);
    expect(plain.ok && plain.files).to.equal(undefined); // kept only when asked
    expect(Object.keys(r.files).sort()).to.deep.equal([main, part].sort());
    expect(Buffer.from(r.files[part]!).toString()).to.equal('www A 192.0.2.10\n');
    expect(records(r)).to.equal(4);
  });

  it('loads from those octets alone, whatever the files say now', () => {
    const first = loadZones(configs, { keepFiles: true });
    if (!first.ok || !first.files) throw new Error(first.ok ? 'no files kept' : first.errors.join('\n'));
    writeFileSync(part, 'www A 300.0.0.1\n'); // broken on disk
    expect(loadZones(configs).ok).to.equal(false);
    const again = loadZones(configs, { from: first.files, keepFiles: true });
    expect(again.ok, again.ok ? '' : again.errors.join('\n')).to.equal(true);
    expect(records(again)).to.equal(4);
    if (again.ok) expect(again.files).to.deep.equal(first.files);
  });

  it('a file missing from the octets is an error at the place that asked for it', () => {
    writeFileSync(part, 'www A 192.0.2.10\n');
    const first = loadZones(configs, { keepFiles: true });
    if (!first.ok || !first.files) throw new Error(first.ok ? 'no files kept' : first.errors.join('\n'));
    const r = loadZones(configs, { from: { [main]: first.files[main]! } });
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.errors.join('\n')).to.match(/snap\.test\.zone:6:\d+: cannot read \$INCLUDE file ".*hosts\.inc": not among the files the running workers loaded/);
  });
});

describe('loadZones: the zones served, compiled to images in process', () => {
  it('one image per zone, each with its origin, records and serial; the set finds names by origin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardns-zones-'));
    const a = join(dir, 'a.zone');
    const b = join(dir, 'b.zone');
    writeFileSync(a, '$TTL 60\n@ SOA ns1 host 7 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n');
    writeFileSync(b, '$TTL 60\n@ SOA ns1 host 9 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.2\nwww A 192.0.2.3\n');
    const r = loadZones([
      { name: 'example.com.', file: a },
      { name: 'Sub.Example.COM.', file: b },
    ]);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.zones.images().map((z) => [z.meta.origin, z.recordCount, z.serial])).to.deep.equal([
      ['example.com.', 3, 7],
      ['Sub.Example.COM.', 4, 9],
    ]);
    const name = Uint8Array.from([3, ...Buffer.from('www'), 3, ...Buffer.from('sub'), 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0]);
    expect(r.zones.find(name, 0, name.length)?.meta.origin).to.equal('Sub.Example.COM.');
  });
});
