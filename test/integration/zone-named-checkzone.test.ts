/**
 * Differential test: every fixture zone loads and prints as `named-checkzone -D`
 * (BIND 9) does, or both refuse it; and BIND reads the wire form shardns
 * gives each record (nameToWire, recordRdata) back as the same zone.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { formatDiagnostic, loadZoneFile, nameToWire, presentName, printZone, recordRdata, recordTypeCode, zoneRecords, type Zone } from '../../src/zone/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixtures = path.join(repo, 'test/fixtures/zones');

/**
 * Where shardns deliberately differs from BIND: BIND accepts, shardns refuses,
 * with a message matching the pattern. Everything else must agree.
 */
const KNOWN_DIFFERENCES: Record<string, RegExp> = {};

/** BIND messages with a file and line that are warnings, not errors. */
const BIND_WARNINGS =
  /TTL set to prior TTL|ignoring out-of-zone data|check-names|using RFC1035 TTL semantics|using SOA MINTTL instead|> MAXTTL|signature has expired|non-terminal wildcard|does not end with newline|old style DNSSEC|deprecated/;

interface Bind {
  ok: boolean;
  lines: string[];
  errors: { file: string; line: number; message: string }[];
}

/** Runs named-checkzone as a zone is checked before loading (-i local: no lookups outside the zone). */
function bind(origin: string, file: string): Bind {
  const r = spawnSync('named-checkzone', ['-i', 'local', '-D', '-o', '-', origin, file], { cwd: fixtures, encoding: 'latin1' });
  const failedOnNames = /failed: bad owner name \(check-names\)/.test(r.stderr);
  const errors: Bind['errors'] = [];
  for (const l of r.stderr.split('\n')) {
    const m = /^(?:\S+: )?([^:\s]+):(\d+): (.*)$/.exec(l);
    if (m === null) continue;
    const message = m[3]!;
    if (BIND_WARNINGS.test(message) && !(failedOnNames && message.includes('check-names'))) continue;
    errors.push({ file: path.basename(m[1]!), line: Number(m[2]), message });
  }
  const lines = r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith(';'));
  return { ok: r.status === 0, lines, errors };
}

/** Runs named-checkzone -D on text written to a file of its own; its dump lines, or its complaint. */
function bindDump(origin: string, text: string): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'shardns-zone-'));
  try {
    writeFileSync(path.join(dir, 'z.zone'), text, 'latin1');
    const r = spawnSync('named-checkzone', ['-i', 'local', '-D', '-o', '-', origin, path.join(dir, 'z.zone')], { encoding: 'latin1' });
    expect(r.status, r.stderr).to.equal(0);
    return r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith(';'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every record in RFC 3597 form (`TYPEn \# len hex`) with recordRdata's octets: BIND decodes them itself. */
function genericZone(zone: Zone): string {
  let text = '';
  for (const r of zoneRecords(zone)) {
    const rdata = recordRdata(r);
    text += `${presentName(r.name)} ${r.ttl} IN TYPE${recordTypeCode(r)} \\# ${rdata.length} ${rdata.toString('hex')}\n`;
  }
  return text;
}

/** A zone whose PTR records hold, in RFC 3597 form, nameToWire of every owner: BIND prints the names it decodes. */
function ownersZone(zone: Zone): string {
  let text = '$TTL 60\n@ SOA . . 1 1 1 1 1\n NS .\n';
  let i = 0;
  for (const records of zone.nodes.values()) {
    const w = nameToWire(records[0]!.name);
    text += `o${i++} TYPE12 \\# ${w.length} ${w.toString('hex')}\n`;
  }
  return text;
}

/** The origin a fixture declares on its first line (`; origin example.com.`). */
function originOf(file: string): string {
  const first = readFileSync(path.join(fixtures, file), 'latin1').split('\n', 1)[0]!;
  return /^; origin (\S+)/.exec(first)?.[1] ?? 'example.com.';
}

const available = spawnSync('named-checkzone', ['-v']).status === 0;
const zones = readdirSync(fixtures)
  .filter((f) => f.endsWith('.zone'))
  .sort();

describe('zone files against named-checkzone -D', function () {
  before(function () {
    if (!available) {
      console.log('skip: named-checkzone not installed — apt-get install bind9-utils');
      this.skip();
    }
  });

  for (const file of zones) {
    it(file, function () {
      const origin = originOf(file);
      const theirs = bind(origin, file);
      const ours = loadZoneFile(origin, path.join(fixtures, file));
      const known = KNOWN_DIFFERENCES[file];
      if (known !== undefined) {
        expect(theirs.ok, 'BIND accepts this known difference').to.equal(true);
        expect(ours.ok).to.equal(false);
        if (!ours.ok) expect(ours.errors.map(formatDiagnostic).join('\n')).to.match(known);
        return;
      }
      if (!theirs.ok) {
        expect(ours.ok, `BIND refuses ${file} but shardns loads it; BIND said:\n${theirs.errors.map((e) => `${e.line}: ${e.message}`).join('\n')}`).to.equal(false);
        if (ours.ok) return;
        // Every line BIND finds an error on, shardns reports too. Exceptions, where both
        // report the problem at different places: BIND puts an unclosed "(" at the end of
        // the file (shardns at the "("), finds $INCLUDE loops only when nesting runs out
        // (shardns at the first repeat), and names $GENERATE text "buffer-0x…".
        const ourLines = new Set(ours.errors.map((d) => `${path.basename(d.file)}:${d.line}`));
        for (const e of theirs.errors) {
          if (/near eof: unbalanced parentheses|too many open files/.test(e.message) || e.file.startsWith('buffer-')) continue;
          expect(ourLines.has(`${e.file}:${e.line}`), `BIND reports ${e.file}:${e.line}: ${e.message}\nshardns reports:\n${ours.errors.map(formatDiagnostic).join('\n')}`).to.equal(true);
        }
        return;
      }
      expect(ours.ok, ours.ok ? '' : `shardns refuses ${file}:\n${ours.errors.map(formatDiagnostic).join('\n')}`).to.equal(true);
      if (!ours.ok) return;
      const printed = printZone(ours.zone);
      // Line for line, tabs and spaces included; BIND's comment lines (; resign=…) are dropped.
      expect(printed.split('\n').filter((l) => l !== '')).to.deep.equal(theirs.lines);
      // The wire forms are exact: BIND decodes recordRdata into the same zone, nameToWire into the same owners.
      expect(bindDump(origin, genericZone(ours.zone)), 'BIND reads recordRdata back differently').to.deep.equal(theirs.lines);
      const owners = bindDump('owners.invalid.', ownersZone(ours.zone)).filter((l) => / PTR\t/.test(l)).map((l) => l.slice(l.lastIndexOf('\t') + 1));
      expect(owners.sort()).to.deep.equal([...ours.zone.nodes.values()].map((rs) => presentName(rs[0]!.name)).sort());
      // And BIND reads our output back to the same zone.
      const dir = mkdtempSync(path.join(tmpdir(), 'shardns-zone-'));
      try {
        writeFileSync(path.join(dir, 'printed.zone'), printed, 'latin1');
        const again = spawnSync('named-checkzone', ['-i', 'local', '-D', '-o', '-', origin, path.join(dir, 'printed.zone')], { encoding: 'latin1' });
        expect(again.status).to.equal(0);
        expect(again.stdout.split('\n').filter((l) => l !== '' && !l.startsWith(';'))).to.deep.equal(theirs.lines);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('config/zones/example.com.zone (the shipped example)', function () {
    const file = path.join(repo, 'config/zones/example.com.zone');
    const r = spawnSync('named-checkzone', ['-i', 'local', '-D', '-o', '-', 'example.com.', file], { encoding: 'latin1' });
    expect(r.status).to.equal(0);
    const ours = loadZoneFile('example.com.', file);
    expect(ours.ok).to.equal(true);
    if (!ours.ok) return;
    expect(ours.warnings).to.deep.equal([]);
    expect(printZone(ours.zone).split('\n').filter((l) => l !== '')).to.deep.equal(r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith(';')));
  });
});
