import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildZones, readAligned } from '../../../src/zone/image/build.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { reuseZone } from '../../../src/zone/image/reuse.js';
import { ImageStore, journalPath } from '../../../src/zone/image/store.js';
import { chainFrom, decodeJournal, diffImages, type Journal } from '../../../src/xfr/journal.js';
import { secondaryDeltaPath, storePatched } from '../../../src/xfr/patch-store.js';
import { secondaryDir, secondaryZonePath } from '../../../src/xfr/secondary-files.js';
import { createLogger } from '../../../src/log.js';
import { head } from './helpers.js';

describe('the IXFR fast path stores a patched image a restart reuses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-ps-'));
  const state = join(dir, 'state');
  const origin = 'example.com.';
  const file = secondaryZonePath(state, origin);
  const config = { name: origin, file, journal: true };
  const log = createLogger('test', 'error', 'text');
  const texts = [1, 2, 3].map((s) => head(s) + `www A 192.0.2.${s}\n` + `n${s}.deep.er A 192.0.2.${s}\n`);
  const compiled = (i: number): ZoneImage => {
    const other = join(dir, `v${i}.zone`);
    writeFileSync(other, texts[i]!);
    const r = buildZones([{ name: origin, file: other }], join(dir, `scratch${i}`));
    if (r.kind !== 'ok') throw new Error(r.errors.join('\n'));
    return new ZoneImage(readAligned(r.zones[0]!.imagePath));
  };
  const store = (): ImageStore => {
    const s = ImageStore.open(state);
    if (s.kind !== 'ok') throw new Error('no store');
    return s.store;
  };
  const journal = (): Journal => {
    const d = decodeJournal(readFileSync(journalPath(state, origin)));
    if (typeof d === 'string') throw new Error(d);
    return d;
  };
  let served: { image: ZoneImage; path: string };

  before(() => {
    mkdirSync(secondaryDir(state), { recursive: true });
    writeFileSync(file, texts[0]!);
    const r = buildZones([config], state);
    if (r.kind !== 'ok') throw new Error(r.errors.join('\n'));
    served = { image: new ZoneImage(readAligned(r.zones[0]!.imagePath)), path: r.zones[0]!.imagePath };
  });

  it('a change: the image of serial 2, the zone file untouched, the version kept beside it, the manifest naming both', () => {
    const zoneFile = readFileSync(file, 'utf8');
    const r = storePatched(origin, served.image, served.path, [diffImages(compiled(0), compiled(1))], { stateDir: state, log });
    if (r.kind !== 'ok') expect.fail(r.why);
    expect(r.zone.serial).to.equal(2);
    expect(readFileSync(file, 'utf8')).to.equal(zoneFile);
    const m = store().readManifest(origin);
    if (m.kind !== 'ok') throw new Error('no manifest');
    expect(m.manifest.sources.map((s) => s.path)).to.deep.equal([file, secondaryDeltaPath(state, origin)]);
    // What a restart does: the sources are as recorded, the image is reused without parsing.
    const reused = reuseZone(store(), config, { discard: false });
    expect(reused.kind).to.equal('reused');
    if (reused.kind === 'reused') expect([reused.zone.serial, reused.zone.imagePath]).to.deep.equal([2, r.zone.imagePath]);
    served = { image: new ZoneImage(readAligned(r.zone.imagePath)), path: r.zone.imagePath };
  });

  it('the next change is applied to the patched image; the journal serves IXFR from serial 1 and 2 to our own secondaries', () => {
    const r = storePatched(origin, served.image, served.path, [diffImages(compiled(1), compiled(2))], { stateDir: state, log });
    if (r.kind !== 'ok') expect.fail(r.why);
    const image = new ZoneImage(readAligned(r.zone.imagePath));
    expect(image.serial).to.equal(3);
    expect(chainFrom(journal(), 1, image)?.map((v) => [v.from, v.to])).to.deep.equal([
      [1, 2],
      [2, 3],
    ]);
    expect(chainFrom(journal(), 2, image)?.length).to.equal(1);
    const delta = decodeJournal(readFileSync(secondaryDeltaPath(state, origin)));
    expect(typeof delta !== 'string' && delta.versions.map((v) => v.to)).to.deep.equal([2, 3]);
    expect(reuseZone(store(), config, { discard: false }).kind).to.equal('reused');
  });

  it('a delta file changed behind its back: a restart rebuilds from the zone file rather than serve a mix', () => {
    writeFileSync(secondaryDeltaPath(state, origin), 'damaged');
    const r = reuseZone(store(), config, { discard: false });
    expect(r.kind === 'rebuild' && r.reason).to.match(/sec.*ixfr changed|example\.com\.ixfr changed/);
  });

  it('a change the patch leaves to the full build is an error for the caller, and nothing is written', () => {
    const before = readFileSync(join(state, 'manifests', 'example.com.json'), 'utf8');
    const late = diffImages(compiled(1), compiled(2));
    const r = storePatched(origin, served.image, served.path, [{ ...late, from: 77 }], { stateDir: state, log });
    expect(r.kind).to.equal('error');
    expect(readFileSync(join(state, 'manifests', 'example.com.json'), 'utf8')).to.equal(before);
  });
});
