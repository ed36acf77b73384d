import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildZones } from '../../../src/zone/image/build.js';
import { ImageStore, journalPath } from '../../../src/zone/image/store.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { decodeJournal, type Journal } from '../../../src/xfr/journal.js';
import { head } from './helpers.js';

describe('the builder keeps the IXFR journal in the state directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-bj-'));
  const file = join(dir, 'example.com.zone');
  const state = join(dir, 'state');
  const zone = { name: 'example.com.', file, journal: true };
  const journal = (): Journal => {
    const decoded = decodeJournal(readFileSync(journalPath(state, 'example.com.')));
    if (typeof decoded === 'string') throw new Error(decoded);
    return decoded;
  };
  const build = (text: string, z: { name: string; file: string; journal?: boolean } = zone): ReturnType<typeof buildZones> => {
    writeFileSync(file, text);
    return buildZones([z], state);
  };

  it('the first build has nothing to compare with: no journal', () => {
    expect(build(head(1) + 'www A 192.0.2.1\n').kind).to.equal('ok');
    expect(existsSync(journalPath(state, 'example.com.'))).to.equal(false);
  });

  it('a rebuild with a new serial records the change, leading to the new image', () => {
    const r = build(head(2) + 'www A 192.0.2.2\n');
    if (r.kind !== 'ok') throw new Error(r.errors.join('\n'));
    const j = journal();
    expect(j.versions.map((v) => [v.from, v.to, v.deletedCount, v.addedCount])).to.deep.equal([[1, 2, 1, 1]]);
    const img = new ZoneImage(new Uint8Array(readFileSync(r.zones[0]!.imagePath)));
    expect(j.endHash).to.equal(img.meta.source);
  });

  it('the next change is appended to the same history', () => {
    build(head(3) + 'www A 192.0.2.3\n');
    expect(journal().versions.map((v) => [v.from, v.to])).to.deep.equal([[1, 2], [2, 3]]);
  });

  it('a change without a serial increase: a warning saying to increase it, and the history goes', () => {
    const r = build(head(3) + 'www A 192.0.2.99\n');
    expect(r.warnings.join('\n')).to.match(/zone example\.com\.: the zone changed but its SOA serial stayed 3: secondaries will not ask for the change; increase the serial/);
    expect(existsSync(journalPath(state, 'example.com.'))).to.equal(false);
  });

  it('a zone nobody may transfer keeps no journal', () => {
    build(head(4) + 'www A 192.0.2.4\n', { name: 'example.com.', file });
    expect(existsSync(journalPath(state, 'example.com.'))).to.equal(false);
  });

  it('removing what no longer serves takes the journal of a zone whose manifest is gone', () => {
    build(head(5) + 'www A 192.0.2.5\n');
    expect(existsSync(journalPath(state, 'example.com.'))).to.equal(true);
    const opened = ImageStore.open(state);
    if (opened.kind !== 'ok') throw new Error('no store');
    opened.store.removeUnused([]);
    expect(existsSync(journalPath(state, 'example.com.'))).to.equal(false);
  });
});
