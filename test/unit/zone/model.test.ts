/** The loaded zone as data: grouping into RRsets, round trips through the printer, the file-system loader. */

import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { formatDiagnostic, loadZoneFile, parseZoneText, printZone, rrsets, zoneRecords, type Zone } from '../../../src/zone/index.js';
import { at, HEAD, loadBody, ok } from './helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const fixtures = path.join(repo, 'test/fixtures/zones');

describe('zone model', () => {
  describe('grouping', () => {
    const zone = ok(
      loadBody(
        [
          'x A 192.0.2.1',
          'x TXT "one"',
          'x RRSIG A 13 3 60 20300101000000 20200101000000 1 example.com. AAAA',
          'y A 192.0.2.9',
          'x A 192.0.2.2',
          'x RRSIG TXT 13 3 60 20300101000000 20200101000000 1 example.com. AAAA',
          'X TXT "two"',
          'x RRSIG A 13 3 60 20300101000000 20200101000000 2 example.com. AAAA',
        ].join('\n') + '\n',
      ),
    );

    it('keys names in lower case and keeps the spelling of the file', () => {
      expect([...zone.nodes.keys()]).to.deep.equal(['example.com', 'ns1.example.com', 'x.example.com', 'y.example.com']);
      expect(at(zone, 'x.example.com').map((r) => r.name)).to.deep.equal(['x.example.com', 'x.example.com', 'x.example.com', 'X.example.com', 'x.example.com', 'x.example.com', 'x.example.com']);
    });

    it('keeps each RRset adjacent, RRSIGs together and by type covered', () => {
      const sets = rrsets(at(zone, 'x.example.com')).map((s) => s.map((r) => `${r.type}${r.type === 'RRSIG' ? '/' + (r.data as { typeCovered: string }).typeCovered : ''}`).join(','));
      expect(sets).to.deep.equal(['A,A', 'TXT,TXT', 'RRSIG/A,RRSIG/A', 'RRSIG/TXT']);
    });

    it('counts records and finds the SOA', () => {
      expect(zone.size).to.equal(11);
      expect([...zoneRecords(zone)]).to.have.length(11);
      expect(zone.soa.type).to.equal('SOA');
      expect(zone.origin).to.equal('example.com');
    });

    it('encodes whole as dns-packet answers', () => {
      const answers = [...zoneRecords(zone)] as dnsPacket.Answer[];
      const back = dnsPacket.decode(dnsPacket.encode({ type: 'response', answers }));
      expect(back.answers).to.have.length(answers.length);
    });
  });

  describe('parse → print → parse', () => {
    const sources = readdirSync(fixtures)
      .filter((f) => f.endsWith('.zone') && !f.startsWith('broken-') && !f.startsWith('diff-'))
      .map((f) => ({ name: f, file: path.join(fixtures, f), origin: /^; origin (\S+)/.exec(readFileSync(path.join(fixtures, f), 'latin1'))?.[1] ?? 'example.com.' }));
    sources.push({ name: 'config/zones/example.com.zone', file: path.join(repo, 'config/zones/example.com.zone'), origin: 'example.com.' });
    for (const s of sources) {
      it(s.name, () => {
        const first = loadZoneFile(s.origin, s.file);
        if (!first.ok) expect.fail(first.errors.map(formatDiagnostic).join('\n'));
        const text = printZone(first.zone);
        const again = parseZoneText(s.origin, text);
        if (!again.ok) expect.fail(again.errors.map(formatDiagnostic).join('\n'));
        expect(printZone(again.zone)).to.equal(text);
        expect(sorted(again.zone)).to.deep.equal(sorted(first.zone));
      });
    }
  });

  describe('loadZoneFile', () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'shardns-zone-'));
      mkdirSync(path.join(dir, 'zones/parts'), { recursive: true });
      writeFileSync(path.join(dir, 'zones/main.zone'), HEAD + '$INCLUDE parts/a.inc\n');
      writeFileSync(path.join(dir, 'zones/parts/a.inc'), 'a A 192.0.2.2\n$INCLUDE b.inc\n');
      writeFileSync(path.join(dir, 'zones/parts/b.inc'), 'b A 192.0.2.3\nc A 1.2.3\n');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('follows $INCLUDE relative to the including file and names files as given', () => {
      const r = loadZoneFile('example.com.', path.join(dir, 'zones/main.zone'));
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.errors.map(formatDiagnostic)).to.deep.equal([`${path.join(dir, 'zones/parts/b.inc')}:2:5: bad IPv4 address "1.2.3"`]);
    });

    it('reports a missing zone file as a value', () => {
      const r = loadZoneFile('example.com.', path.join(dir, 'nope.zone'));
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(formatDiagnostic(r.errors[0]!)).to.match(/nope\.zone: cannot read zone file: ENOENT/);
    });
  });
});

/**
 * Records as comparable strings, in a fixed order. Owner names compare
 * without case: the printer, like BIND, spells a whole RRset as its first
 * record does.
 */
function sorted(zone: Zone): string[] {
  return [...zoneRecords(zone)].map((r) => JSON.stringify([r.name.toLowerCase(), r.type, r.ttl, r.data])).sort();
}
