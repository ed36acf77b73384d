/** The state directory: names, manifests, atomic writes, verification, removal of unused files, and the E_STATE_DIR errors. */

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileZone, compileZoneParts, joinImage } from '../../../src/zone/image/compile.js';
import {
  IMAGE_SUFFIX,
  ImageStore,
  imageFileName,
  manifestFileName,
  MANIFEST_VERSION,
  originPart,
  probeStateDir,
  sha256,
  sourceHash,
  type Manifest,
} from '../../../src/zone/image/store.js';
import { FORMAT_VERSION } from '../../../src/zone/image/format.js';
import { VERSION } from '../../../src/version.js';
import { NOBODY, otherUserUnavailable } from '../../helpers/other-user.js';
import { ROOT } from '../../helpers/server.js';
import { FakeLibc } from '../../helpers/fake-libc.js';
import { ERRNO } from '../../../src/sys/libc.js';
import { loadBody, ok } from './helpers.js';

function open(dir: string): ImageStore {
  const r = ImageStore.open(dir);
  if (r.kind !== 'ok') throw new Error(r.error.describe());
  return r.store;
}

const HASH = 'a'.repeat(64);

describe('zone image store: names', () => {
  const cases: [string, string][] = [
    ['example.com.', 'example.com'],
    ['Example.COM.', 'example.com'],
    ['.', '_root'],
    ['xn--bcher-kva.example.', 'xn--bcher-kva.example'],
    ['a_b.example.', 'a_5fb.example'],
    ['a/b.example.', 'a_2fb.example'],
    ['a\\032b.example.', 'a_5c032b.example'],
    ['_root.', '_5froot'],
  ];
  for (const [origin, part] of cases) {
    it(`${JSON.stringify(origin)} → ${part}`, () => expect(originPart(origin)).to.equal(part));
  }

  it('a long origin is cut and told apart by a hash of the whole', () => {
    const a = `${'x'.repeat(60)}.${'y'.repeat(60)}.${'z'.repeat(60)}.a.`;
    const b = `${'x'.repeat(60)}.${'y'.repeat(60)}.${'z'.repeat(60)}.b.`;
    expect(originPart(a)).to.have.length(100).and.match(/_h[0-9a-f]{16}$/);
    expect(originPart(a)).to.not.equal(originPart(b));
    expect(imageFileName(a, HASH).length).to.be.below(255);
  });

  it('image files are <origin>-<hash16>.v<format>.zimg; manifests <origin>.json', () => {
    expect(imageFileName('Example.com.', HASH)).to.equal(`example.com-${'a'.repeat(16)}.v${FORMAT_VERSION}.zimg`);
    expect(IMAGE_SUFFIX).to.equal(`.v${FORMAT_VERSION}.zimg`);
    expect(manifestFileName('example.com.')).to.equal('example.com.json');
  });

  it('the source hash covers the origin, each path, each file octets and their order', () => {
    const a = { path: '/z/a.zone', sha256: sha256(Buffer.from('a')) };
    const b = { path: '/z/b.inc', sha256: sha256(Buffer.from('b')) };
    const base = sourceHash('example.com.', [a, b]);
    expect(base).to.match(/^[0-9a-f]{64}$/);
    expect(sourceHash('example.com.', [a, b])).to.equal(base);
    const different = [
      sourceHash('example.net.', [a, b]),
      sourceHash('example.com.', [b, a]),
      sourceHash('example.com.', [a]),
      sourceHash('example.com.', [a, { ...b, path: '/z/c.inc' }]),
      sourceHash('example.com.', [a, { ...b, sha256: sha256(Buffer.from('b2')) }]),
    ];
    expect(new Set([base, ...different]).size).to.equal(6);
  });
});

describe('zone image store: the folder', () => {
  const top = mkdtempSync(join(tmpdir(), 'shardns-store-'));
  after(() => rmSync(top, { recursive: true, force: true }));

  it('creates the state directory and its sub-folders with mode 0750', () => {
    const dir = join(top, 'new', 'state');
    const store = open(dir);
    expect(store.dir).to.equal(dir);
    for (const d of [dir, store.imagesDir, store.manifestsDir]) {
      expect(statSync(d).isDirectory()).to.equal(true);
      expect(statSync(d).mode & 0o777, d).to.equal(0o750 & ~process.umask());
    }
  });

  it('a file where the folder should be: E_STATE_DIR naming the path, with what to do', () => {
    writeFileSync(join(top, 'plain-file'), 'x');
    const r = ImageStore.open(join(top, 'plain-file', 'state'));
    expect(r.kind).to.equal('error');
    if (r.kind !== 'error') return;
    expect(r.error.code).to.equal('E_STATE_DIR');
    expect(r.error.message).to.equal(`cannot create ${join(top, 'plain-file', 'state')} (state directory): ENOTDIR`);
    expect(r.error.hint).to.match(/a file stands where a folder should/).and.match(/--state-dir/);
  });

  it('a folder this user may not write: E_STATE_DIR saying how to create it for the serving user', function () {
    const why = otherUserUnavailable();
    if (why !== null) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    const locked = join(top, 'locked');
    mkdirSync(locked, { mode: 0o755 });
    chmodSync(top, 0o755);
    const script = `import('${ROOT}dist/src/zone/image/store.js').then(m => { const r = m.ImageStore.open('${locked}/state'); console.log(JSON.stringify(r.kind === 'error' ? r.error.toJSON() : r.kind)); })`;
    const r = spawnSync(process.execPath, ['-e', script], { uid: NOBODY, gid: NOBODY, encoding: 'utf8', timeout: 10_000 });
    const e = JSON.parse(r.stdout) as { code: string; message: string; hint: string };
    expect(e.code).to.equal('E_STATE_DIR');
    expect(e.message).to.equal(`cannot create ${locked}/state (state directory): EACCES`);
    expect(e.hint).to.match(/uid 65534/).and.match(/install -d -m 0750 -o USER/).and.match(/--state-dir/);
  });

  it('probeStateDir (check): a writable folder, or one that can be created; never creates it', () => {
    const absent = join(top, 'probe', 'deeper');
    expect(probeStateDir(absent)).to.deep.equal({ kind: 'ok', exists: false });
    expect(existsSync(join(top, 'probe'))).to.equal(false);
    expect(probeStateDir(top)).to.deep.equal({ kind: 'ok', exists: true });
    writeFileSync(join(top, 'plain-file'), 'x');
    const blocked = probeStateDir(join(top, 'plain-file', 'x'));
    expect(blocked.kind === 'error' && blocked.error.toJSON()).to.deep.include({
      code: 'E_STATE_DIR',
      message: `cannot create ${join(top, 'plain-file', 'x')} (state directory): ${join(top, 'plain-file')} is a file, not a folder`,
    });
  });
});

describe('zone image store: images and manifests', () => {
  const top = mkdtempSync(join(tmpdir(), 'shardns-store-'));
  after(() => rmSync(top, { recursive: true, force: true }));
  const zone = ok(loadBody('www A 192.0.2.1\n'));
  const origin = 'example.com.';

  function writeImage(store: ImageStore, hash: string): string {
    const name = imageFileName(origin, hash);
    const w = store.writeImage(name, compileZone(zone, { origin, source: hash }));
    if (w.kind !== 'ok') throw new Error(w.error.describe());
    return name;
  }

  it('mapNewImage on a full disk (posix_fallocate ENOSPC): an error saying so, and no temporary file left', () => {
    const libc = new FakeLibc();
    libc.failFallocate = ERRNO.ENOSPC;
    const r = ImageStore.open(join(top, 'full'), { libc });
    if (r.kind !== 'ok') throw new Error(r.error.describe());
    const m = r.store.mapNewImage(imageFileName(origin, 'ab'.repeat(32)), 64 * 1024);
    expect(m.kind).to.equal('error');
    if (m.kind !== 'error') return;
    expect(m.error.message).to.match(/^cannot make room for .*\.tmp-.* \(65536 octets\): no space left on device \(errno 28\)$/);
    expect(m.error.hint).to.match(/full: free space there/);
    expect(readdirSync(join(top, 'full', 'images'))).to.deep.equal([]);
  });

  it('writeImage reserves the whole image with one fallocate before writing it, and the file holds exactly the image', () => {
    const libc = new FakeLibc();
    const r = ImageStore.open(join(top, 'prealloc'), { libc });
    if (r.kind !== 'ok') throw new Error(r.error.describe());
    const parts = compileZoneParts(zone, { origin, source: HASH });
    const w = r.store.writeImage(imageFileName(origin, HASH), parts.pieces);
    if (w.kind !== 'ok') throw new Error(w.error.describe());
    expect(libc.calls).to.deep.equal([`preallocate ${parts.length}`]);
    expect(statSync(w.path).size).to.equal(parts.length);
    expect(Buffer.from(readFileSync(w.path)).equals(Buffer.from(joinImage(parts)))).to.equal(true);
  });

  it('writeImage on a full disk (fallocate ENOSPC): a state-directory error saying so, the old image kept, no temporary file left', () => {
    const libc = new FakeLibc();
    const dir = join(top, 'prealloc-full');
    const r = ImageStore.open(dir, { libc });
    if (r.kind !== 'ok') throw new Error(r.error.describe());
    const name = writeImage(r.store, HASH);
    const before = readFileSync(r.store.imagePath(name));
    libc.failPreallocate = ERRNO.ENOSPC;
    const w = r.store.writeImage(name, compileZone(ok(loadBody('www A 192.0.2.2\n')), { origin, source: HASH }));
    expect(w.kind).to.equal('error');
    if (w.kind !== 'error') return;
    expect(w.error.code).to.equal('E_STATE_DIR');
    expect(w.error.message).to.match(/: ENOSPC$/);
    expect(w.error.hint).to.match(/the disk \(or quota\) is full: free space there/);
    expect(readdirSync(join(dir, 'images'))).to.deep.equal([name]);
    expect(readFileSync(r.store.imagePath(name)).equals(before)).to.equal(true);
  });

  it('writeImage on a file system without fallocate (EOPNOTSUPP) writes the image all the same', () => {
    const libc = new FakeLibc();
    libc.failPreallocate = 95; // EOPNOTSUPP
    const r = ImageStore.open(join(top, 'prealloc-unsupported'), { libc });
    if (r.kind !== 'ok') throw new Error(r.error.describe());
    const parts = compileZoneParts(zone, { origin, source: HASH });
    const name = imageFileName(origin, HASH);
    const w = r.store.writeImage(name, parts.pieces);
    if (w.kind !== 'ok') throw new Error(w.error.describe());
    expect(Buffer.from(readFileSync(w.path)).equals(Buffer.from(joinImage(parts)))).to.equal(true);
    expect(r.store.verifyImage(name, { origin, hash: HASH })).to.deep.include({ kind: 'ok', bytes: parts.length });
  });

  it('writes an image given in pieces (writev) as the octets they make together', () => {
    const store = open(join(top, 'pieces'));
    const parts = compileZoneParts(zone, { origin, source: HASH });
    const name = imageFileName(origin, HASH);
    const w = store.writeImage(name, parts.pieces);
    if (w.kind !== 'ok') throw new Error(w.error.describe());
    expect(Buffer.from(readFileSync(w.path)).equals(Buffer.from(joinImage(parts)))).to.equal(true);
    expect(store.verifyImage(name, { origin, hash: HASH })).to.deep.include({ kind: 'ok', bytes: parts.length });
  });

  it('writes atomically (no temporary file left) and verifies what it wrote', () => {
    const store = open(join(top, 'a'));
    const name = writeImage(store, HASH);
    expect(readdirSync(store.imagesDir)).to.deep.equal([name]);
    expect(statSync(store.imagePath(name)).mode & 0o777).to.equal(0o640 & ~process.umask());
    const v = store.verifyImage(name, { origin, hash: HASH });
    expect(v).to.deep.include({ kind: 'ok', serial: 1, records: 4 });
  });

  const damage: { name: string; harm: (path: string) => void; reason: RegExp }[] = [
    { name: 'cut short', harm: (p) => truncateSync(p, statSync(p).size - 8), reason: /truncated/ },
    { name: 'cut to nothing', harm: (p) => truncateSync(p, 0), reason: /empty \(truncated\)/ },
    {
      name: 'one byte flipped',
      harm: (p) => {
        const b = readFileSync(p);
        b[b.length >> 1]! ^= 0x40;
        writeFileSync(p, b);
      },
      reason: /checksum .*corrupted/,
    },
    {
      name: 'the magic overwritten',
      harm: (p) => {
        const b = readFileSync(p);
        b.write('NOTANIMG', 0, 'latin1');
        writeFileSync(p, b);
      },
      reason: /bad magic/,
    },
  ];
  for (const d of damage) {
    it(`an image ${d.name} is bad, with the reason`, () => {
      const store = open(join(top, `damage-${d.name.replace(/ /g, '-')}`));
      const name = writeImage(store, HASH);
      d.harm(store.imagePath(name));
      const v = store.verifyImage(name, { origin, hash: HASH });
      expect(v.kind).to.equal('bad');
      if (v.kind === 'bad') expect(v.reason).to.match(d.reason);
    });
  }

  it('an image of other sources or another origin is bad; a missing one is missing', () => {
    const store = open(join(top, 'other'));
    const name = writeImage(store, HASH);
    const other = store.verifyImage(name, { origin, hash: 'b'.repeat(64) });
    expect(other.kind === 'bad' && other.reason).to.match(/built from other sources/);
    const elsewhere = store.verifyImage(name, { origin: 'example.net.', hash: HASH });
    expect(elsewhere.kind === 'bad' && elsewhere.reason).to.match(/image of example\.com\., not example\.net\./);
    expect(store.verifyImage('nothing.v1.zimg', { origin, hash: HASH })).to.deep.equal({ kind: 'missing' });
  });

  function manifest(name: string, source: string): Manifest {
    const sources = [{ path: source, sha256: sha256(readFileSync(source)), bytes: statSync(source).size }];
    return {
      manifest: MANIFEST_VERSION,
      origin,
      image: name,
      hash: sourceHash(origin, sources),
      format: FORMAT_VERSION,
      shardns: VERSION,
      sources,
      serial: 1,
      records: 4,
      imageBytes: 1,
      built: new Date().toISOString(),
      warnings: [],
    };
  }

  it('a manifest round-trips; sources are unchanged until a file changes, moves or goes', () => {
    const store = open(join(top, 'manifest'));
    const source = join(top, 'z.zone');
    writeFileSync(source, 'zone text\n');
    const m = manifest('x.v1.zimg', source);
    expect(store.writeManifest(m).kind).to.equal('ok');
    expect(readdirSync(store.manifestsDir)).to.deep.equal(['example.com.json']);
    const read = store.readManifest(origin);
    expect(read).to.deep.equal({ kind: 'ok', manifest: m });
    expect(store.readManifest('example.net.')).to.deep.equal({ kind: 'none' });
    expect(store.sourcesUnchanged(m, source)).to.deep.equal({ kind: 'same', stamped: false });
    expect(store.sourcesUnchanged(m, join(top, 'other.zone'))).to.deep.include({ kind: 'changed' });
    // Images depend on the image format, not on the release: a new shardns with the same format reuses them (an upgrade builds nothing).
    expect(store.sourcesUnchanged({ ...m, shardns: '0.0.0-old' }, source)).to.deep.equal({ kind: 'same', stamped: false });
    expect(store.sourcesUnchanged({ ...m, format: FORMAT_VERSION - 1 }, source)).to.deep.equal({ kind: 'changed', reason: `the image format is now version ${FORMAT_VERSION} (was ${FORMAT_VERSION - 1})` });
    writeFileSync(source, 'zone text, edited\n');
    expect(store.sourcesUnchanged(m, source)).to.deep.equal({ kind: 'changed', reason: `${source} changed` });
    rmSync(source);
    const gone = store.sourcesUnchanged(m, source);
    expect(gone.kind === 'changed' && gone.reason).to.equal(`${source} cannot be read (ENOENT)`);
  });

  it('a manifest cut short, or of another shape, is bad (the zone is then parsed again)', () => {
    const store = open(join(top, 'bad-manifest'));
    writeFileSync(store.manifestPath(origin), '{"manifest": 1, "origin": "exa');
    expect(store.readManifest(origin)).to.deep.equal({ kind: 'bad', reason: `${store.manifestPath(origin)} is not JSON (cut short?)` });
    writeFileSync(store.manifestPath(origin), JSON.stringify({ manifest: 1, origin }));
    expect(store.readManifest(origin)).to.deep.include({ kind: 'bad' });
  });

  it('removeUnused deletes images not kept, manifests of images not kept, and dead processes’ temporary files', () => {
    const store = open(join(top, 'remove'));
    const source = join(top, 'r.zone');
    writeFileSync(source, 'x\n');
    const old = writeImage(store, 'c'.repeat(64));
    const current = writeImage(store, 'd'.repeat(64));
    store.writeManifest(manifest(current, source));
    const deadTemp = `.${current}.tmp-999999999-00ff00ff`;
    const liveTemp = `.${current}.tmp-${process.pid}-11aa11aa`;
    writeFileSync(join(store.imagesDir, deadTemp), 'half');
    writeFileSync(join(store.imagesDir, liveTemp), 'being written');
    writeFileSync(join(store.imagesDir, 'README'), 'not ours to delete');

    const r = store.removeUnused([store.imagePath(current)]);
    expect(r.kind).to.equal('ok');
    expect(r.removed.sort()).to.deep.equal([store.imagePath(old), join(store.imagesDir, deadTemp)].sort());
    expect(readdirSync(store.imagesDir).sort()).to.deep.equal([current, liveTemp, 'README'].sort());
    expect(readdirSync(store.manifestsDir)).to.deep.equal(['example.com.json']);

    // Nothing kept: the image goes, and the manifest that names it.
    const none = store.removeUnused([]);
    expect(none.removed.sort()).to.deep.equal([store.imagePath(current), store.manifestPath(origin)].sort());
    expect(readdirSync(store.manifestsDir)).to.deep.equal([]);
  });
});
