import { expect } from 'chai';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecondaryState, removeSecondaryFiles, secondaryDeltaPath, secondaryStatePath, secondaryZonePath, writeSecondaryFile, writeSecondaryState } from '../../../src/xfr/secondary-files.js';

describe('secondary zones: what the state directory keeps of each', () => {
  it('the refresh state round-trips; an unreadable one starts afresh with a warning saying so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardns-secfiles-'));
    const state = { origin: 'example.org.', serial: 7, lastContact: 1234, expire: 600, timers: { refresh: 60, retry: 30, expire: 600 }, last: null };
    expect(writeSecondaryState(dir, state).kind).to.equal('ok');
    expect(readSecondaryState(dir, 'example.org.')).to.deep.equal({ state, warning: null });
    writeFileSync(secondaryStatePath(dir, 'example.org.'), '{ cut sh');
    const r = readSecondaryState(dir, 'example.org.');
    expect(r.state).to.deep.equal({ origin: 'example.org.', serial: null, lastContact: null, expire: null, last: null });
    expect(r.warning).to.match(/example\.org\.state\.json is unusable .*; the zone's expiry counts from now/);
  });

  it('a removed zone (a catalog member gone) leaves nothing behind: zone file, IXFR changes and state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardns-secfiles-'));
    const paths = [secondaryZonePath(dir, 'm.example.'), secondaryDeltaPath(dir, 'm.example.'), secondaryStatePath(dir, 'm.example.')];
    for (const p of paths) expect(writeSecondaryFile(dir, p, Buffer.from('x')).kind).to.equal('ok');
    const other = secondaryZonePath(dir, 'other.example.');
    writeSecondaryFile(dir, other, Buffer.from('x'));
    removeSecondaryFiles(dir, 'M.example.');
    expect(paths.map((p) => existsSync(p))).to.deep.equal([false, false, false]);
    expect(existsSync(other)).to.equal(true);
  });
});
