/**
 * fuzz/jazzer-glibc.ts: the ELF edit that makes Jazzer.js's prebuilt addon
 * load on glibc 2.36 (Debian 12). Checked on the addon as npm installs it,
 * with binutils' readelf as the independent reader, and by loading the
 * result in a fresh Node process.
 */

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonLoads, addonPath, ensureJazzerAddon, patchElf } from '../../fuzz/jazzer-glibc.js';

/** The addon as published: the copy kept before patching, or the installed file where it was never patched. */
function published(): Buffer {
  const file = addonPath();
  return readFileSync(existsSync(`${file}.orig`) ? `${file}.orig` : file);
}

/** The glibc this process runs on (e.g. "2.36"), or null (not glibc). */
function glibc(): string | null {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime ?? null;
}

function olderThan238(v: string | null): boolean {
  if (v === null) return false;
  const [major, minor] = v.split('.').map(Number);
  return major! < 2 || (major === 2 && minor! < 38);
}

function readelf(args: string[], file: string): string | null {
  try {
    return execFileSync('readelf', [...args, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch {
    return null;
  }
}

describe('fuzz/jazzer-glibc.ts (Jazzer.js addon on glibc 2.36)', function () {
  this.timeout(30_000);
  let tmp = '';
  before(function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      console.log(`skip: the patch is for the linux-x64 prebuild, this is ${process.platform}-${process.arch}`);
      this.skip();
    }
    tmp = mkdtempSync(join(tmpdir(), 'shardns-jazzer-glibc-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('binds the two C23 strtol/strtoul aliases to strtol/strtoul and makes GLIBC_2.38 and GLIBCXX_3.4.32 weak (readelf reads it so)', function () {
    const r = patchElf(published());
    expect(r.kind).to.equal('patched');
    if (r.kind !== 'patched') return;
    expect(r.changes).to.include.members([
      '__isoc23_strtol@GLIBC_2.38 → strtol (default version)',
      '__isoc23_strtoul@GLIBC_2.38 → strtoul (default version)',
      '_ZSt21ios_base_library_initv@GLIBCXX_3.4.32 → unversioned (no relocation refers to it)',
      'version GLIBC_2.38 marked weak',
      'version GLIBCXX_3.4.32 marked weak',
    ]);
    const file = join(tmp, 'patched.node');
    writeFileSync(file, r.bytes);
    const syms = readelf(['-W', '--dyn-syms'], file);
    const versions = readelf(['-V'], file);
    if (syms === null || versions === null) {
      console.log('skip: readelf (binutils) is not installed, the patched file is not read back');
      this.skip();
    }
    expect(syms).not.to.include('__isoc23_');
    expect(syms).to.match(/UND strtol\n/);
    expect(syms).to.match(/UND strtoul\n/);
    expect(syms).not.to.match(/@GLIBC_2\.38|@GLIBCXX_3\.4\.32/);
    expect(versions).to.match(/Name: GLIBC_2\.38\s+Flags: WEAK/);
    expect(versions).to.match(/Name: GLIBCXX_3\.4\.32\s+Flags: WEAK/);
    // Nothing else changed: the same length, and only the octets of those fields differ (2 name offsets, 3 version indexes, 2 flags).
    const before = published();
    expect(r.bytes.length).to.equal(before.length);
    let differing = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== r.bytes[i]) differing++;
    expect(differing).to.be.within(5, 2 * 4 + 3 * 2 + 2 * 2);
  });

  it('the published addon does not load on this glibc, the patched one does', function () {
    const original = join(tmp, 'original.node');
    writeFileSync(original, published());
    const r = patchElf(published());
    if (r.kind !== 'patched') throw new Error(`not patched: ${JSON.stringify(r)}`);
    const patched = join(tmp, 'fixed.node');
    writeFileSync(patched, r.bytes);
    if (olderThan238(glibc())) {
      const before = addonLoads(original);
      expect(before.kind).to.equal('error');
      if (before.kind === 'error') expect(before.message).to.match(/GLIBC_2\.38|GLIBCXX_3\.4\.32/);
    } else {
      console.log(`note: glibc ${glibc()} loads the published addon as it is; only the patched one's loading is checked`);
    }
    expect(addonLoads(patched)).to.deep.equal({ kind: 'ok' });
  });

  it('patching twice changes nothing; ensureJazzerAddon patches a copy in place, keeps the original beside it, and is a no-op the second time', () => {
    const r = patchElf(published());
    if (r.kind !== 'patched') throw new Error('not patched');
    expect(patchElf(r.bytes).kind).to.equal('unchanged');
    const file = join(tmp, 'fuzzer-linux-x64.node');
    writeFileSync(file, published());
    const first = ensureJazzerAddon(file);
    expect(first.kind, JSON.stringify(first)).to.equal('loads');
    if (olderThan238(glibc())) {
      expect(first.kind === 'loads' && first.note).to.match(/^patched for this glibc/);
      expect(readFileSync(`${file}.orig`).equals(published())).to.equal(true);
      expect(readFileSync(file).equals(r.bytes)).to.equal(true);
    }
    expect(ensureJazzerAddon(file)).to.deep.equal({ kind: 'loads', note: 'the addon loads as installed' });
  });

  it('refuses what it cannot fix, saying what: a file that is not ELF, another symbol needing GLIBC_2.38, a missing addon', () => {
    expect(patchElf(Buffer.from('#!/bin/sh\necho not an addon\n'))).to.deep.equal({ kind: 'error', message: 'not an ELF file' });
    // The same file with one of the C23 names changed into one the patch does not know.
    const other = Buffer.from(published());
    const at = other.indexOf(Buffer.from('__isoc23_strtol\0', 'latin1'));
    expect(at).to.be.greaterThan(0);
    other.write('__isoc23_strtoX', at, 'latin1');
    const r = patchElf(other);
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') expect(r.message).to.match(/symbol __isoc23_strtoX needs GLIBC_2\.38, which this patch cannot replace/);
    const missing = ensureJazzerAddon(join(tmp, 'nothing-here.node'));
    expect(missing.kind).to.equal('error');
    if (missing.kind === 'error') expect(missing.message).to.match(/is missing: run npm ci/);
  });
});
