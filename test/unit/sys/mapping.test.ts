/** mapFile: whole files mapped read-only through the real libc (koffi) and through a fake that fails on demand. */

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardnsError } from '../../../src/errors.js';
import { ERRNO, MADV } from '../../../src/sys/libc.js';
import { mapFile, mapNewFile, type Mapping, type MapOutcome } from '../../../src/sys/mapping.js';
import { ROOT } from '../../helpers/server.js';
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

describe('mapNewFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-mapnew-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a file of zeros mapped for writing: what is written is the file; an existing name is refused', () => {
    const path = join(dir, 'new.bin');
    const m = mapped(mapNewFile(path, 3 * 4096 + 5, 0o640));
    const bytes = new Uint8Array(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    expect(bytes.every((b) => b === 0)).to.equal(true);
    bytes[0] = 1;
    bytes[bytes.length - 1] = 2;
    m.unmap();
    const back = readFileSync(path);
    expect(back.length).to.equal(3 * 4096 + 5);
    expect([back[0], back[back.length - 1], back[4096]]).to.deep.equal([1, 2, 0]);
    expect(failed(mapNewFile(path, 10, 0o640)).message).to.match(/EEXIST|exists/);
  });

  it('a file system without room: ENOSPC from posix_fallocate says the disk is full, and nothing is mapped', () => {
    const libc = new FakeLibc();
    libc.failFallocate = ERRNO.ENOSPC;
    const path = join(dir, 'full.bin');
    const e = failed(mapNewFile(path, 8192, 0o640, { libc }));
    expect(e.code).to.equal('E_MAP');
    expect(e.message).to.equal(`cannot make room for ${path} (8192 octets): no space left on device (errno 28)`);
    expect(e.hint).to.match(/disk \(or quota\) of that folder is full/);
    expect(libc.calls).to.deep.equal(['fallocate 0 8192']);
    expect(libc.live).to.equal(0);
  });

  it('on a real file system too small for it (a 1 MiB tmpfs), a 4 MiB file is an ENOSPC error, not a SIGBUS when its pages are written', function () {
    if (process.getuid?.() !== 0) {
      console.log('      skip: mounting a small tmpfs needs root');
      this.skip();
    }
    const small = join(dir, 'small');
    mkdirSync(small);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { encoding: 'utf8' });
    if (mount.status !== 0) {
      console.log(`      skip: cannot mount a tmpfs here: ${(mount.stderr || String(mount.error)).trim()}`);
      this.skip();
    }
    try {
      // In a child: before posix_fallocate, writing the pages the file system could not allocate killed it with SIGBUS.
      const script = `import('${ROOT}dist/src/sys/mapping.js').then((m) => {
        const r = m.mapNewFile('${small}/image.bin', 4 << 20, 0o640);
        if (r.kind === 'error') { console.log(JSON.stringify({ code: r.error.code, message: r.error.message })); return; }
        const b = r.mapping.bytes;
        for (let i = 0; i < b.length; i += 4096) b[i] = 1;
        r.mapping.unmap();
        console.log(JSON.stringify({ written: b.length }));
      })`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(r.signal, `the child died: ${r.stderr}`).to.equal(null);
      expect(r.status, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout) as { code?: string; message?: string };
      expect(out.code).to.equal('E_MAP');
      expect(out.message).to.match(/^cannot make room for .*image\.bin \(4194304 octets\): no space left on device \(errno 28\)$/);
      expect(existsSync(join(small, 'image.bin'))).to.equal(true); // the caller (ImageStore.mapNewImage) removes it
    } finally {
      spawnSync('umount', [small]);
    }
  });
});
