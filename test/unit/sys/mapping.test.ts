/** mapFile: whole files mapped read-only through the real libc (koffi) and through a fake that fails on demand. */

import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardnsError } from '../../../src/errors.js';
import { ERRNO, MADV } from '../../../src/sys/libc.js';
import { mapFile, type Mapping, type MapOutcome } from '../../../src/sys/mapping.js';
import { FakeLibc } from '../../helpers/fake-libc.js';

function mapped(r: MapOutcome): Mapping {
  if (r.kind !== 'mapped') throw new Error(`expected a mapping: ${r.error.describe()}`);
  return r.mapping;
}

function failed(r: MapOutcome): ShardnsError {
  if (r.kind !== 'error') {
    r.mapping.unmap();
    throw new Error('expected an error');
  }
  return r.error;
}

/** Open descriptors of this process. */
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('mapFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-map-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const pattern = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
    return b;
  };

  it('maps a file: the same octets, page-aligned (u32 views work), then unmaps once', () => {
    const path = join(dir, 'data.bin');
    const octets = pattern(3 * 4096 + 123);
    writeFileSync(path, octets);
    const fds = openFds();
    const m = mapped(mapFile(path));
    expect(openFds(), 'the descriptor is closed once mapped').to.equal(fds);
    expect(m.path).to.equal(path);
    expect(m.length).to.equal(octets.length);
    expect(m.mapped).to.equal(true);
    expect(m.bytes.byteOffset).to.equal(0);
    expect(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.length).equals(octets)).to.equal(true);
    const words = new Uint32Array(m.bytes.buffer, 4096, 2);
    expect(words[0]).to.equal(octets.readUInt32LE(4096));
    expect(m.advise('willneed')).to.equal(true);
    expect(m.advise('random')).to.equal(true);
    m.unmap();
    expect(m.mapped).to.equal(false);
    m.unmap(); // idempotent
    expect(() => m.bytes).to.throw(ShardnsError, /was unmapped/);
    expect(m.advise('normal')).to.equal(false);
  });

  it('keeps the old octets when the file is renamed over (how the state directory replaces an image)', () => {
    const path = join(dir, 'swap.bin');
    writeFileSync(path, 'first version');
    const m = mapped(mapFile(path));
    writeFileSync(join(dir, 'swap.tmp'), 'second version, longer');
    renameSync(join(dir, 'swap.tmp'), path);
    expect(Buffer.from(m.bytes).toString()).to.equal('first version');
    const again = mapped(mapFile(path));
    expect(Buffer.from(again.bytes).toString()).to.equal('second version, longer');
    m.unmap();
    again.unmap();
  });

  const refused: { name: string; make: () => string; message: RegExp; hint: RegExp }[] = [
    { name: 'a missing file', make: () => join(dir, 'nope.zimg'), message: /^cannot map .*nope\.zimg: ENOENT$/, hint: /gone.*reload or restart builds it again/ },
    {
      name: 'an empty file',
      make: () => {
        writeFileSync(join(dir, 'empty.bin'), '');
        return join(dir, 'empty.bin');
      },
      message: /the file is empty/,
      hint: /delete it/,
    },
    {
      name: 'a directory (mmap says ENODEV)',
      make: () => {
        mkdirSync(join(dir, 'sub'), { recursive: true });
        return join(dir, 'sub');
      },
      message: /cannot map .*sub \(\d+ octets\): no such device \(errno 19\)/,
      hint: /cannot map files/,
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} with E_MAP, saying where and what to do`, () => {
      const fds = openFds();
      const e = failed(mapFile(c.make()));
      expect(e.code).to.equal('E_MAP');
      expect(e.message).to.match(c.message);
      expect(e.hint).to.match(c.hint);
      expect(openFds(), 'no descriptor left open').to.equal(fds);
    });
  }

  describe('with a fake libc', () => {
    it('an mmap failure (ENOMEM) is a coded error naming the file, the errno and the limits to check; the fd is closed', () => {
      const path = join(dir, 'big.bin');
      writeFileSync(path, pattern(8192));
      const libc = new FakeLibc();
      libc.failMmap = ERRNO.ENOMEM;
      const fds = openFds();
      const e = failed(mapFile(path, { libc }));
      expect(e.code).to.equal('E_MAP');
      expect(e.message).to.equal(`cannot map ${path} (8192 octets): cannot allocate memory (errno 12)`);
      expect(e.hint).to.match(/ulimit -v/).and.match(/vm\.max_map_count/);
      expect(openFds()).to.equal(fds);
      expect(libc.live).to.equal(0);
    });

    it('maps through the fake, advises, and unmaps exactly once', () => {
      const path = join(dir, 'fake.bin');
      const octets = pattern(5000);
      writeFileSync(path, octets);
      const libc = new FakeLibc();
      const m = mapped(mapFile(path, { libc }));
      expect(Buffer.from(m.bytes).equals(octets)).to.equal(true);
      expect(libc.live).to.equal(1);
      expect(m.advise('sequential')).to.equal(true);
      m.unmap();
      m.unmap();
      expect(libc.live).to.equal(0);
      expect(libc.calls).to.deep.equal(['mmap 5000', `madvise ${MADV.sequential}`, 'munmap 5000']);
    });
  });
});
