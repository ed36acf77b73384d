/**
 * Makes Jazzer.js's prebuilt native addon load on Debian 12 (glibc 2.36,
 * libstdc++ of GCC 12), by editing a few fields of the ELF file in place.
 *
 * Why: `@jazzer.js/fuzzer` ships `prebuilds/fuzzer-linux-x64.node` built
 * with glibc 2.38 headers and GCC 13. `ld.so` refuses to load it here:
 * `version 'GLIBC_2.38' not found` and `version 'GLIBCXX_3.4.32' not found`.
 * Only three dynamic symbols carry those versions (`objdump -T`):
 *
 * - `__isoc23_strtol@GLIBC_2.38` and `__isoc23_strtoul@GLIBC_2.38`: glibc
 *   2.38's headers redirect `strtol`/`strtoul` to these C23 variants. They
 *   differ from the classic functions in one way only: with base 0 or 2 they
 *   also accept a `0b`/`0B` binary prefix (C23 7.24.1.7). The classic
 *   `strtol`/`strtoul` read `0b1` as 0 and stop at the `b`. libFuzzer parses
 *   its own decimal flags (`-max_total_time=60`, `-runs=…`) with them, where
 *   the two agree.
 * - `_ZSt21ios_base_library_initv@GLIBCXX_3.4.32`: GCC 13's `<iostream>`
 *   names this symbol (`.globl`, never called, no relocation refers to it)
 *   only to require a libstdc++ that initializes the standard streams
 *   itself. Node links libstdc++ and its streams are set up before any addon
 *   loads.
 *
 * What the edit does, in a copy of the file that is then renamed into place
 * (the original is kept beside it as `….node.orig`):
 *
 * 1. `.dynsym`: the `st_name` of `__isoc23_strtoX` moves 9 octets further
 *    into `.dynstr`, onto its own suffix `strtoX` (an undefined symbol is in
 *    no hash table, so nothing else names it).
 * 2. `.gnu.version`: those symbols, and `_ZSt21ios_base_library_initv`, get
 *    version index 1 (VER_NDX_GLOBAL): they bind to the library's default
 *    version (`strtol@@GLIBC_2.2.5`).
 * 3. `.gnu.version_r`: the `GLIBC_2.38` and `GLIBCXX_3.4.32` entries get
 *    `VER_FLG_WEAK` (0x2): glibc's version check (elf/dl-version.c,
 *    `match_symbol`) accepts a weak version the library lacks.
 *
 * Any other symbol needing one of those versions makes the edit refuse: it
 * would fail at its first call. No code is added or copied: this is our
 * code changing a dependency's binary where it is installed (node_modules),
 * run before Jazzer starts (`npm run fuzz`), and a no-op where the addon
 * already loads (a newer glibc) or was patched before.
 */

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** What patching an ELF image came to. */
export type PatchOutcome =
  | { kind: 'patched'; bytes: Buffer; changes: string[] }
  | { kind: 'unchanged'; reason: string }
  | { kind: 'error'; message: string };

/** Versions this machine's libraries may lack, made weak by the patch. */
const WEAKENED = ['GLIBC_2.38', 'GLIBCXX_3.4.32'] as const;

/** C23 aliases (glibc 2.38) and the classic function each maps to: their names end in it. */
const C23_PREFIX = '__isoc23_';
const C23_RENAMED = new Set(['strtol', 'strtoul', 'strtoll', 'strtoull']);
/** Symbols named only to require a version, never bound (checked: no relocation refers to them). */
const MARKER_ONLY = new Set(['_ZSt21ios_base_library_initv']);

const SHT_DYNSYM = 11;
const SHT_RELA = 4;
const SHT_REL = 9;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const VER_FLG_WEAK = 0x2;
const VER_NDX_GLOBAL = 1;

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/** A NUL-terminated string at `at`. */
function cstring(b: Buffer, at: number): string {
  const end = b.indexOf(0, at);
  return b.toString('latin1', at, end < 0 ? b.length : end);
}

/**
 * Patches an x86-64 (ELF64, little-endian) shared object as described in the
 * module comment: returns the new octets, `unchanged` when it needs none of
 * the weakened versions (or was patched already), or an error saying why it
 * cannot be patched. Pure: `elf` is not modified.
 */
export function patchElf(elf: Buffer): PatchOutcome {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) return { kind: 'error', message: 'not an ELF file' };
  if (elf[4] !== 2 || elf[5] !== 1) return { kind: 'error', message: 'not a 64-bit little-endian ELF file (only the linux-x64 prebuild is patched)' };
  const b = Buffer.from(elf);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  if (shoff === 0 || shentsize < 64 || shoff + shnum * shentsize > b.length) return { kind: 'error', message: 'no section headers to read (a stripped or cut file?)' };
  const sections: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    sections.push({ type: b.readUInt32LE(h + 4), offset: Number(b.readBigUInt64LE(h + 0x18)), size: Number(b.readBigUInt64LE(h + 0x20)), link: b.readUInt32LE(h + 0x28), entsize: Number(b.readBigUInt64LE(h + 0x38)) });
  }
  const dynsymIndex = sections.findIndex((s) => s.type === SHT_DYNSYM);
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (dynsymIndex < 0 || !versym || !verneed) return { kind: 'unchanged', reason: 'no dynamic symbol versions' };
  const dynsym = sections[dynsymIndex]!;
  const dynstr = sections[dynsym.link];
  if (!dynstr) return { kind: 'error', message: '.dynsym names no string table' };
  const str = (off: number): string => cstring(b, dynstr.offset + off);

  // .gnu.version_r: the Vernaux entries of the versions to weaken, by version index.
  const weakened = new Map<number, { at: number; name: string }>();
  const allWeak: string[] = [];
  for (let vn = verneed.offset, guard = 0; guard < 1000; guard++) {
    const cnt = b.readUInt16LE(vn + 2);
    let aux = vn + b.readUInt32LE(vn + 8);
    for (let j = 0; j < cnt; j++) {
      const flags = b.readUInt16LE(aux + 4);
      const index = b.readUInt16LE(aux + 6) & 0x7fff;
      const name = str(b.readUInt32LE(aux + 8));
      if ((WEAKENED as readonly string[]).includes(name)) {
        weakened.set(index, { at: aux, name });
        if ((flags & VER_FLG_WEAK) !== 0) allWeak.push(name);
      }
      aux += b.readUInt32LE(aux + 12);
    }
    const next = b.readUInt32LE(vn + 12);
    if (next === 0) break;
    vn += next;
  }
  if (weakened.size === 0) return { kind: 'unchanged', reason: `needs none of ${WEAKENED.join(', ')}` };

  // Symbols bound by a relocation (a marker-only symbol must have none).
  const relocated = new Set<number>();
  for (const s of sections) {
    if ((s.type !== SHT_RELA && s.type !== SHT_REL) || s.link !== dynsymIndex) continue;
    const size = s.type === SHT_RELA ? 24 : 16;
    for (let r = s.offset; r + size <= s.offset + s.size; r += size) relocated.add(Number(b.readBigUInt64LE(r + 8) >> 32n));
  }

  const changes: string[] = [];
  const count = dynsym.size / 24;
  for (let i = 1; i < count; i++) {
    const sym = dynsym.offset + i * 24;
    const vs = versym.offset + i * 2;
    const index = b.readUInt16LE(vs) & 0x7fff;
    const version = weakened.get(index);
    if (!version) continue;
    const nameOff = b.readUInt32LE(sym);
    const name = str(nameOff);
    if (name.startsWith(C23_PREFIX) && C23_RENAMED.has(name.slice(C23_PREFIX.length))) {
      b.writeUInt32LE(nameOff + C23_PREFIX.length, sym);
      b.writeUInt16LE(VER_NDX_GLOBAL, vs);
      changes.push(`${name}@${version.name} → ${name.slice(C23_PREFIX.length)} (default version)`);
    } else if (MARKER_ONLY.has(name) && !relocated.has(i)) {
      b.writeUInt16LE(VER_NDX_GLOBAL, vs);
      changes.push(`${name}@${version.name} → unversioned (no relocation refers to it)`);
    } else {
      return { kind: 'error', message: `symbol ${name} needs ${version.name}, which this patch cannot replace (a newer @jazzer.js/fuzzer? see fuzz/jazzer-glibc.ts)` };
    }
  }
  for (const { at, name } of weakened.values()) {
    const flags = b.readUInt16LE(at + 4);
    if ((flags & VER_FLG_WEAK) === 0) {
      b.writeUInt16LE(flags | VER_FLG_WEAK, at + 4);
      changes.push(`version ${name} marked weak`);
    }
  }
  if (changes.length === 0) return { kind: 'unchanged', reason: `patched already (${allWeak.join(', ')} weak)` };
  return { kind: 'patched', bytes: b, changes };
}

/** The prebuilt addon `@jazzer.js/fuzzer` loads on this platform (its dist/addon.js looks in prebuilds/). */
export function addonPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('@jazzer.js/fuzzer/package.json'));
  return join(pkg, 'prebuilds', `fuzzer-${process.platform}-${process.arch}.node`);
}

/** Whether a Node process loads the addon at `file`; the loader's message when not. Run in a child: a failed dlopen leaves nothing behind here. */
export function addonLoads(file: string): { kind: 'ok' } | { kind: 'error'; message: string } {
  const r = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', file], { encoding: 'utf8' });
  if (r.status === 0) return { kind: 'ok' };
  const line = (r.stderr ?? '').split('\n').find((l) => /Error|not found/.test(l)) ?? `exit ${r.status}`;
  return { kind: 'error', message: line.trim() };
}

/** What ensureJazzerAddon did. */
export type EnsureOutcome = { kind: 'loads'; note: string } | { kind: 'error'; message: string };

/**
 * Makes the addon load: nothing when it loads already; else patches a copy
 * (keeping `….node.orig`), renames it into place and checks that it loads.
 */
export function ensureJazzerAddon(file = addonPath()): EnsureOutcome {
  if (!existsSync(file)) return { kind: 'error', message: `${file} is missing: run npm ci (Jazzer.js's prebuild for ${process.platform}-${process.arch})` };
  const before = addonLoads(file);
  if (before.kind === 'ok') return { kind: 'loads', note: 'the addon loads as installed' };
  const patched = patchElf(readFileSync(file));
  if (patched.kind === 'error') return { kind: 'error', message: `${file} does not load (${before.message}) and cannot be patched: ${patched.message}` };
  if (patched.kind === 'unchanged') return { kind: 'error', message: `${file} does not load (${before.message}); the glibc patch has nothing to change (${patched.reason})` };
  if (!existsSync(`${file}.orig`)) copyFileSync(file, `${file}.orig`);
  writeFileSync(`${file}.tmp`, patched.bytes, { mode: 0o755 });
  renameSync(`${file}.tmp`, file);
  const after = addonLoads(file);
  if (after.kind === 'error') return { kind: 'error', message: `${file} still does not load after the glibc patch: ${after.message}` };
  return { kind: 'loads', note: `patched for this glibc: ${patched.changes.join('; ')}` };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = ensureJazzerAddon();
  if (r.kind === 'error') {
    console.error(`jazzer-glibc: ${r.message}`);
    process.exit(1);
  }
  console.log(`jazzer-glibc: ${r.note}`);
}
