import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { applyVersions, type ZoneRecords } from '../../../src/xfr/apply.js';
import { diffImages, imageRecords, soaRecord, type JournalVersion } from '../../../src/xfr/journal.js';
import { zoneText } from '../../../src/xfr/zone-text.js';
import { compileZone } from '../../../src/zone/image/compile.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { load, ok } from '../zone/helpers.js';
import { head, image, recordsOf, wireLines } from './helpers.js';

/** What a secondary holds of an image: its SOA and its other records. */
function held(img: ZoneImage): ZoneRecords {
  return { soa: soaRecord(img), ...imageRecords(img) };
}

/** The zone's records (SOA included) as sorted lines. */
function linesOf(z: ZoneRecords): string[] {
  return [...wireLines(z.soa), ...wireLines(z.records)].sort();
}

/** A region's records with every owner's letters upper-cased (a primary may send another case). */
function upperOwners(region: Uint8Array): Uint8Array {
  const out = Uint8Array.from(region);
  for (let at = 0; at < out.length; ) {
    let e = at;
    while (out[e] !== 0) {
      for (let k = e + 1; k <= e + out[e]!; k++) if (out[k]! >= 0x61 && out[k]! <= 0x7a) out[k] = out[k]! - 32;
      e += out[e]! + 1;
    }
    e++;
    at = e + 10 + ((out[e + 8]! << 8) | out[e + 9]!);
  }
  return out;
}

describe('IXFR in: the changes applied to the records a secondary holds (RFC 1995 §4)', () => {
  const cases: { name: string; before: string; after: string }[] = [
    { name: 'a record added to an RRset', before: 'www A 192.0.2.1\n', after: 'www A 192.0.2.1\nwww A 192.0.2.2\n' },
    { name: 'a name removed', before: 'old TXT "x"\nold AAAA 2001:db8::1\nkeep A 192.0.2.3\n', after: 'keep A 192.0.2.3\n' },
    { name: 'a TTL changed', before: 'www 300 A 192.0.2.1\n', after: 'www 60 A 192.0.2.1\n' },
    { name: 'the apex NS changed', before: '@ NS ns2.example.net.\n', after: '@ NS ns3.example.net.\n' },
    { name: 'nothing but the serial', before: 'a A 192.0.2.7\n', after: 'a A 192.0.2.7\n' },
  ];
  for (const c of cases) {
    it(`${c.name}: the result is the new version, record for record`, () => {
      const old = image(head(1) + c.before);
      const now = image(head(2) + c.after);
      const r = applyVersions(held(old), old.serial, [diffImages(old, now)]);
      expect(r.kind).to.equal('ok');
      if (r.kind !== 'ok') return;
      expect(linesOf(r.zone)).to.deep.equal(recordsOf(now, true));
    });
  }

  it('two versions in a row (1 → 2 → 3) end at version 3', () => {
    const v1 = image(head(1) + 'a A 192.0.2.1\nb A 192.0.2.2\n');
    const v2 = image(head(2) + 'a A 192.0.2.1\nc A 192.0.2.3\n');
    const v3 = image(head(3) + 'c A 192.0.2.3\nb A 192.0.2.2\n');
    const r = applyVersions(held(v1), 1, [diffImages(v1, v2), diffImages(v2, v3)]);
    expect(r.kind).to.equal('ok');
    if (r.kind === 'ok') expect(linesOf(r.zone)).to.deep.equal(recordsOf(v3, true));
  });

  it('a record added by one version and deleted by the next is gone', () => {
    const v1 = image(head(1));
    const v2 = image(head(2) + 'tmp A 192.0.2.9\n');
    const v3 = image(head(3));
    const r = applyVersions(held(v1), 1, [diffImages(v1, v2), diffImages(v2, v3)]);
    expect(r.kind).to.equal('ok');
    if (r.kind === 'ok') expect(linesOf(r.zone)).to.deep.equal(recordsOf(v3, true));
  });

  it('deletions match whatever the case of the owner (RFC 4343)', () => {
    const old = image(head(1) + 'www A 192.0.2.1\n');
    const now = image(head(2));
    const v = diffImages(old, now);
    const r = applyVersions(held(old), 1, [{ ...v, deleted: upperOwners(v.deleted) }]);
    expect(r.kind).to.equal('ok');
    if (r.kind === 'ok') expect(linesOf(r.zone)).to.deep.equal(recordsOf(now, true));
  });

  it('a deletion of a record the zone does not hold: not applied (the caller falls back to AXFR)', () => {
    const other = image(head(1) + 'ghost A 192.0.2.66\n');
    const old = image(head(1));
    const now = image(head(2));
    const v: JournalVersion = { ...diffImages(other, now) };
    const r = applyVersions(held(old), 1, [v]);
    expect(r).to.deep.include({ kind: 'error' });
    if (r.kind === 'error') expect(r.why).to.match(/deletes a record this zone does not hold/);
  });

  it('changes that start at another serial than ours: not applied', () => {
    const old = image(head(5));
    const now = image(head(6));
    const r = applyVersions(held(old), 4, [diffImages(old, now)]);
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') expect(r.why).to.match(/starts at serial 5, but we serve serial 4/);
  });

  it('versions that do not chain: not applied', () => {
    const v1 = image(head(1));
    const v2 = image(head(2));
    const v3 = image(head(3));
    const r = applyVersions(held(v1), 1, [diffImages(v1, v2), { ...diffImages(v2, v3), from: 7 }]);
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') expect(r.why).to.match(/version 2 starts at serial 7, not at 2/);
  });

  it('no versions at all: not applied', () => {
    expect(applyVersions(held(image(head(1))), 1, []).kind).to.equal('error');
  });
});

describe('a transferred zone written as a zone file and read back', () => {
  const roundTrip = (text: string, origin = 'example.com.'): { before: string[]; after: string[]; file: string } => {
    const img = image(text, origin);
    const file = zoneText(held(img), ['a test']).toString('utf8');
    const zone = ok(load({ 'zone.db': file }, origin));
    const back = new ZoneImage(compileZone(zone, { origin, source: createHash('sha256').update(file).digest('hex') }));
    return { before: recordsOf(img, true), after: recordsOf(back, true), file };
  };

  it('gives the same records, octet for octet, for odd labels, binary TXT, and many types', () => {
    const text =
      head(7) +
      'first\\.last A 192.0.2.5\n' +
      '\\000\\255bin TXT "\\255\\000x" "two words"\n' +
      'sp\\032ace AAAA 2001:db8::5\n' +
      '@ MX 10 mail\n@ CAA 0 issue "ca.example"\n' +
      '_sip._tcp SRV 1 2 5060 sip\n' +
      'svc HTTPS 1 . alpn=h2,h3 port=8443\n' +
      'ds DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n' +
      'sub NS ns.sub\nns.sub A 192.0.2.53\n' +
      'loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n' +
      'odd TYPE65280 \\# 3 010203\n' +
      '*.wild CNAME target.example.net.\n';
    const { before, after, file } = roundTrip(text);
    expect(after).to.deep.equal(before);
    expect(file).to.match(/^; a test\n/);
    expect(file).to.include('first\\.last.example.com.\t3600\tIN\tA\t192.0.2.5');
  });

  it('works for the root zone', () => {
    const text = '$ORIGIN .\n$TTL 86400\n. SOA a.root-servers.net. nstld.verisign-grs.com. 2026113000 1800 900 604800 86400\n. NS a.root-servers.net.\na.root-servers.net. A 198.41.0.4\ncom. NS a.gtld-servers.net.\n';
    const { before, after } = roundTrip(text, '.');
    expect(after).to.deep.equal(before);
  });
});
