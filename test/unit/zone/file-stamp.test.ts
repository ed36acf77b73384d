/** File stamps: a restart trusts a stat(2) that is as recorded, notices any edit (the same size and an mtime set back included), and a reload still hashes. */

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ZoneConfig } from '../../../src/config.js';
import { buildZones, syncBuiltImage, type BuildOutcome, type BuiltZone, type UnsyncedImage } from '../../../src/zone/image/build.js';
import { RACY_MARGIN_NS, sameStamp, stampNow, trustedStamp, type FileStamp } from '../../../src/zone/image/file-stamp.js';
import { reuseAll } from '../../../src/zone/image/reuse.js';
import { ImageStore, sourceHash, type Manifest } from '../../../src/zone/image/store.js';
import { FakeLibc } from '../../helpers/fake-libc.js';

const SOA = '@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300';

function built(r: BuildOutcome): BuiltZone[] {
  if (r.kind !== 'ok') throw new Error(`build failed:\n${r.errors.join('\n')}`);
  return r.zones;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Writes `to` over `from` in a file (the same length) and sets its mtime back to the very nanosecond it was (touch -d, as utimes(2) allows). */
function editKeepingSizeAndMtime(path: string, from: string, to: string): void {
  const before = statSync(path, { bigint: true });
  const text = readFileSync(path, 'latin1');
  expect(to.length).to.equal(from.length);
  expect(text).to.include(from);
  writeFileSync(path, text.replace(from, to), 'latin1');
  const ns = before.mtimeNs;
  const r = spawnSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, path], { encoding: 'utf8' });
  expect(r.status, r.stderr).to.equal(0);
  const after = statSync(path, { bigint: true });
  expect(after.size).to.equal(before.size);
  expect(after.mtimeNs, 'the mtime is back to what it was').to.equal(before.mtimeNs);
  expect(after.ctimeNs, 'the ctime moved on').to.not.equal(before.ctimeNs);
}

describe('file stamps: which stat(2) is trusted', () => {
  const s = (mtimeNs: bigint, ctimeNs: bigint, size = 10): FileStamp => ({ dev: '1', ino: '2', size, mtimeNs: String(mtimeNs), ctimeNs: String(ctimeNs) });
  const now = 1_800_000_000_000_000_000n;
  const fine = (ago: bigint): bigint => now - ago + 123n; // a time with nanoseconds: a fine-grained file system
  const coarse = (agoS: bigint): bigint => ((now - agoS * 1_000_000_000n) / 1_000_000_000n) * 1_000_000_000n; // whole seconds
  const cases: { name: string; before: FileStamp | null; after: FileStamp | null; trusted: boolean }[] = [
    { name: 'old times, unchanged over the read', before: s(fine(5_000_000_000n), fine(5_000_000_000n)), after: s(fine(5_000_000_000n), fine(5_000_000_000n)), trusted: true },
    { name: 'ctime within the margin (written just before the read)', before: s(fine(5_000_000_000n), fine(RACY_MARGIN_NS.fine / 2n)), after: s(fine(5_000_000_000n), fine(RACY_MARGIN_NS.fine / 2n)), trusted: false },
    { name: 'mtime within the margin', before: s(fine(RACY_MARGIN_NS.fine / 2n), fine(5_000_000_000n)), after: s(fine(RACY_MARGIN_NS.fine / 2n), fine(5_000_000_000n)), trusted: false },
    { name: 'just past the fine margin', before: s(fine(RACY_MARGIN_NS.fine + 1000n), fine(RACY_MARGIN_NS.fine + 1000n)), after: s(fine(RACY_MARGIN_NS.fine + 1000n), fine(RACY_MARGIN_NS.fine + 1000n)), trusted: true },
    { name: 'whole-second times 2 s old (a coarse file system: 3 s needed)', before: s(coarse(2n), coarse(2n)), after: s(coarse(2n), coarse(2n)), trusted: false },
    { name: 'whole-second times 4 s old', before: s(coarse(4n), coarse(4n)), after: s(coarse(4n), coarse(4n)), trusted: true },
    { name: 'changed while read (ctime moved)', before: s(fine(9_000_000_000n), fine(9_000_000_000n)), after: s(fine(9_000_000_000n), fine(8_000_000_000n)), trusted: false },
    { name: 'changed while read (size)', before: s(fine(9_000_000_000n), fine(9_000_000_000n), 10), after: s(fine(9_000_000_000n), fine(9_000_000_000n), 11), trusted: false },
    { name: 'times in the future (clock skew)', before: s(now + 10_000_000n, now + 10_000_000n), after: s(now + 10_000_000n, now + 10_000_000n), trusted: false },
    { name: 'no stat before the read', before: null, after: s(fine(9_000_000_000n), fine(9_000_000_000n)), trusted: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.trusted ? 'trusted' : 'not recorded'}`, () => {
      const got = trustedStamp(c.before, c.after, now);
      expect(got).to.deep.equal(c.trusted ? c.after : null);
    });
  }

  it('another inode, device, size, mtime or ctime is another stamp', () => {
    const a = s(1n, 2n);
    expect(sameStamp(a, { ...a })).to.equal(true);
    for (const k of ['dev', 'ino', 'mtimeNs', 'ctimeNs'] as const) expect(sameStamp(a, { ...a, [k]: '99' })).to.equal(false);
    expect(sameStamp(a, { ...a, size: 11 })).to.equal(false);
  });
});

describe('file stamps: restart and reload of a zone', function () {
  this.timeout(20_000);
  const top = mkdtempSync(join(tmpdir(), 'shardns-stamps-'));
  after(() => rmSync(top, { recursive: true, force: true }));
  let n = 0;

  /** A fresh zone (file and $INCLUDE) and state directory; `settle`: wait past the racy margin before the first build. */
  async function setup(settle = true): Promise<{ main: string; inc: string; state: string; zones: ZoneConfig[]; first: BuiltZone }> {
    const dir = join(top, `z${++n}`);
    mkdirSync(dir);
    const main = join(dir, 'example.com.zone');
    const inc = join(dir, 'hosts.inc');
    writeFileSync(main, ['$TTL 3600', SOA, '  IN NS ns1', 'ns1 IN A 192.0.2.1', '$INCLUDE hosts.inc'].join('\n') + '\n');
    writeFileSync(inc, 'www IN A 192.0.2.10\n');
    if (settle) await sleep(Number(RACY_MARGIN_NS.fine / 1_000_000n) + 50);
    const state = join(dir, 'state');
    const zones: ZoneConfig[] = [{ name: 'example.com.', file: main }];
    const [first] = built(buildZones(zones, state));
    return { main, inc, state, zones, first: first! };
  }

  function manifest(state: string): Manifest {
    const store = ImageStore.open(state);
    if (store.kind !== 'ok') throw store.error;
    const m = store.store.readManifest('example.com.');
    if (m.kind !== 'ok') throw new Error(m.kind);
    return m.manifest;
  }

  it('the build records a stamp for every source and for the image', async () => {
    const { main, inc, state, first } = await setup();
    const m = manifest(state);
    expect(m.sources.map((x) => x.path)).to.deep.equal([main, inc]);
    for (const x of m.sources) expect(x.stamp, x.path).to.deep.equal(stampNow(x.path));
    expect(m.imageStamp).to.deep.equal(stampNow(first.imagePath));
  });

  it('a restart with nothing touched: reused on stamps alone, nothing read or mapped', async () => {
    const { main, state, zones, first } = await setup();
    const libc = new FakeLibc();
    const r = reuseAll(zones, state, { libc });
    expect(r?.zones.map((z) => ({ reused: z.reused, imagePath: z.imagePath, serial: z.serial, records: z.records }))).to.deep.equal([{ reused: true, imagePath: first.imagePath, serial: 1, records: 4 }]);
    expect(libc.calls.filter((c) => c.startsWith('mmap')), 'no image mapped to verify it').to.deep.equal([]);
    const store = ImageStore.open(state);
    if (store.kind !== 'ok') throw store.error;
    expect(store.store.sourcesUnchanged(manifest(state), main, { stamps: true })).to.deep.equal({ kind: 'same', stamped: true });
  });

  for (const which of ['zone file', '$INCLUDE'] as const) {
    it(`the ${which} edited with the same size and its mtime set back: the restart notices (ctime), and rebuilds`, async () => {
      const { main, inc, state, zones, first } = await setup();
      editKeepingSizeAndMtime(which === 'zone file' ? main : inc, which === 'zone file' ? 'ns1 IN A 192.0.2.1' : 'www IN A 192.0.2.10', which === 'zone file' ? 'ns1 IN A 192.0.2.9' : 'www IN A 192.0.2.99');
      expect(reuseAll(zones, state), 'reuseAll must not vouch for an edited file').to.equal(null);
      const [z] = built(buildZones(zones, state));
      expect(z).to.deep.include({ reused: false, reason: `${which === 'zone file' ? main : inc} changed` });
      expect(z!.imagePath).to.not.equal(first.imagePath);
    });
  }

  it('an image edited in place: the stamp differs, the checksum is verified and fails, the restart does not reuse it', async () => {
    const { state, zones, first } = await setup();
    const b = readFileSync(first.imagePath);
    b[b.length >> 1]! ^= 0x40;
    writeFileSync(first.imagePath, b);
    const libc = new FakeLibc();
    expect(reuseAll(zones, state, { libc })).to.equal(null);
    expect(libc.calls.some((c) => c.startsWith('mmap')), 'verified by mapping it').to.equal(true);
  });

  it('a file written just before the build gets no stamp: a restart hashes it', async () => {
    const { main, inc, state, zones } = await setup(false);
    const m = manifest(state);
    expect(m.sources.map((x) => x.stamp === undefined)).to.deep.equal([true, true]);
    const store = ImageStore.open(state);
    if (store.kind !== 'ok') throw store.error;
    expect(store.store.sourcesUnchanged(m, main, { stamps: true })).to.deep.equal({ kind: 'same', stamped: false });
    expect(reuseAll(zones, state)?.zones[0]?.reused).to.equal(true);
    editKeepingSizeAndMtime(inc, 'www IN A 192.0.2.10', 'www IN A 192.0.2.77');
    expect(reuseAll(zones, state), 'hashed, so the edit is seen').to.equal(null);
  });

  it('a reload does not trust stamps: it hashes (sources recorded with a hash the octets do not have, stamps intact: a restart takes them as they are, a reload finds the change)', async () => {
    const { state, zones } = await setup();
    const store = ImageStore.open(state);
    if (store.kind !== 'ok') throw store.error;
    const m = manifest(state);
    // As if the $INCLUDE had changed without stat(2) seeing it: its recorded hash is not that of its octets.
    const sources = m.sources.map((x, i) => (i === 1 ? { ...x, sha256: 'f'.repeat(64) } : x));
    const forged: Manifest = { ...m, sources, hash: sourceHash(m.origin, sources) };
    expect(store.store.sourcesUnchanged(forged, zones[0]!.file, { stamps: true })).to.deep.equal({ kind: 'same', stamped: true });
    expect(store.store.sourcesUnchanged(forged, zones[0]!.file)).to.deep.equal({ kind: 'changed', reason: `${m.sources[1]!.path} changed` });
  });

  describe('an image written with its fsync deferred (the builder answers first)', () => {
    /** A fresh zone built with deferSync: what the build handed over to sync later. */
    async function deferredBuild(): Promise<{ state: string; zones: ZoneConfig[]; first: BuiltZone; unsynced: UnsyncedImage[] }> {
      const dir = join(top, `d${++n}`);
      mkdirSync(dir);
      const main = join(dir, 'example.com.zone');
      writeFileSync(main, ['$TTL 3600', SOA, '  IN NS ns1', 'ns1 IN A 192.0.2.1'].join('\n') + '\n');
      await sleep(Number(RACY_MARGIN_NS.fine / 1_000_000n) + 50);
      const state = join(dir, 'state');
      const zones: ZoneConfig[] = [{ name: 'example.com.', file: main }];
      const unsynced: UnsyncedImage[] = [];
      const [first] = built(buildZones(zones, state, { deferSync: (u) => unsynced.push(u) }));
      return { state, zones, first: first!, unsynced };
    }

    it('is handed over with its manifest, which records no stamp for it until it is synced; then it does, and a restart checks the header only', async () => {
      const { state, zones, first, unsynced } = await deferredBuild();
      expect(unsynced.map((u) => [u.origin, join(state, 'images', u.name)])).to.deep.equal([['example.com.', first.imagePath]]);
      expect(manifest(state).imageStamp, 'no stamp before the fsync').to.equal(undefined);
      // Before the sync, a restart verifies the image (maps it, checks the checksum) and reuses it.
      const before = new FakeLibc();
      expect(reuseAll(zones, state, { libc: before })?.zones.map((z) => z.imagePath)).to.deep.equal([first.imagePath]);
      expect(before.calls.some((c) => c.startsWith('mmap')), 'verified by mapping it').to.equal(true);
      expect(syncBuiltImage(unsynced[0]!)).to.deep.equal({ kind: 'ok', stamped: true });
      expect(manifest(state).imageStamp).to.deep.equal(stampNow(first.imagePath));
      const after = new FakeLibc();
      expect(reuseAll(zones, state, { libc: after })?.zones.map((z) => z.imagePath)).to.deep.equal([first.imagePath]);
      expect(after.calls.filter((c) => c.startsWith('mmap')), 'no image mapped to verify it').to.deep.equal([]);
    });

    it('cut short before its fsync (as a crash of the machine may leave it): the restart verifies it, finds it bad and does not reuse it; the build writes it again', async () => {
      const { state, zones, first } = await deferredBuild();
      const whole = readFileSync(first.imagePath);
      writeFileSync(first.imagePath, whole.subarray(0, whole.length >> 1));
      expect(reuseAll(zones, state), 'a truncated image is never reused').to.equal(null);
      const [again] = built(buildZones(zones, state));
      expect(again!.reused).to.equal(false);
      expect(again!.imagePath).to.equal(first.imagePath);
      expect(readFileSync(first.imagePath).length, 'whole again').to.equal(whole.length);
      expect(reuseAll(zones, state)?.zones.map((z) => z.imagePath)).to.deep.equal([first.imagePath]);
    });

    it('changed after it was written: the sync records no stamp (a restart keeps verifying it)', async () => {
      const { state, first, unsynced } = await deferredBuild();
      const b = readFileSync(first.imagePath);
      b[b.length >> 1]! ^= 0x40;
      writeFileSync(first.imagePath, b);
      expect(syncBuiltImage(unsynced[0]!)).to.deep.equal({ kind: 'ok', stamped: false });
      expect(manifest(state).imageStamp).to.equal(undefined);
    });
  });
});
