import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileZone } from '../../../src/zone/image/compile.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { peekSoa } from '../../../src/zone/image/peek.js';
import { load, ok } from './helpers.js';

describe('peekSoa: an image file\'s apex SOA read without mapping it (src/zone/image/peek.ts)', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'shardns-peek-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** An image of `text` written to a file; its path and the image. */
  function written(text: string, origin = 'example.com.'): { path: string; image: ZoneImage } {
    const bytes = compileZone(ok(load({ 'zone.db': text }, origin)), { origin, source: 'peek' });
    const path = join(dir, `${Math.random().toString(36).slice(2)}.zimg`);
    writeFileSync(path, bytes);
    return { path, image: new ZoneImage(bytes) };
  }

  for (const [what, text, origin] of [
    ['a zone whose apex holds more than its SOA', '$TTL 3600\n@ NS ns1\n@ MX 10 mail\n@ 120 SOA ns1 Host\\.Master 2024013001 7200 3600 1209600 300\nns1 A 192.0.2.1\nmail A 192.0.2.2\n', 'example.com.'],
    ['the root zone', '. 86400 SOA a.root-servers.net. nstld.verisign-grs.com. 2026113000 1800 900 604800 86400\n. NS a.root-servers.net.\na.root-servers.net. A 198.41.0.4\n', '.'],
  ] as const) {
    it(`${what}: serial, TTL and RDATA as the image serves them`, () => {
      const { path, image } = written(text, origin);
      const set = image.soaSet();
      expect(peekSoa(path)).to.deep.equal({ serial: image.serial, ttl: image.setTtl(set), rdata: Buffer.from(image.rdatas(set)[0]!) });
    });
  }

  it('a missing file, a file that is not an image, one cut short: null (the NOTIFY goes without it)', () => {
    const { path, image } = written('$TTL 60\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n');
    expect(peekSoa(join(dir, 'none.zimg'))).to.equal(null);
    const junk = join(dir, 'junk.zimg');
    writeFileSync(junk, 'not an image at all, just text that is long enough to fill a header of 128 octets'.repeat(3));
    expect(peekSoa(junk)).to.equal(null);
    const short = join(dir, 'short.zimg');
    writeFileSync(short, image.bytes.subarray(0, 200));
    expect(peekSoa(short)).to.equal(null);
    expect(peekSoa(path)!.serial).to.equal(1);
  });
});
