/** The name table: owner names kept as wire octets (lower-cased, then as spelled) and found by them, whatever the case, the escapes, or the path (fast line or general) that read them. */

import { expect } from 'chai';
import { compileZone, compileZoneParts, joinImage } from '../../../src/zone/image/compile.js';
import { H } from '../../../src/zone/image/format.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { lowerWire, NameTable } from '../../../src/zone/parse/name-table.js';
import { RecordStore } from '../../../src/zone/parse/record-store.js';
import { nameToWire } from '../../../src/zone/names.js';
import { HEAD, loadBody, ok } from './helpers.js';

/** The table's arena entry of entry `i`: [length, lower-cased wire, wire as spelled]. */
function entry(t: NameTable, i: number): number[] {
  const at = t.nameAt[i]!;
  const len = t.names[at - 1]!;
  return [...t.names.subarray(at - 1, at + 2 * len)];
}

describe('NameTable', () => {
  it('keeps each name once, as its image entry: length, lower-cased wire, wire as first spelled', () => {
    const t = new NameTable(new RecordStore());
    expect(t.addName('WWW.Example.com', 0)).to.equal(0);
    const wire = [...nameToWire('WWW.Example.com')];
    expect(entry(t, 0)).to.deep.equal([wire.length, ...nameToWire('www.example.com'), ...wire]);
    expect(t.findName('www.example.com')).to.equal(0);
    expect(t.findName('www.EXAMPLE.COM')).to.equal(0);
    expect(t.findName('ww.example.com')).to.equal(-1);
    expect(t.keyAt(0)).to.equal('www.example.com');
    expect(t.ownerAt(0)).to.equal('WWW.Example.com');
  });

  it('tells apart names that only escapes make different (a dot inside a label, a space, the root)', () => {
    const t = new NameTable(new RecordStore());
    const names = ['a\\.b.example', 'a.b.example', 'a\\032b.example', '.', 'A\\.B.example'];
    expect(t.addName(names[0]!, 0)).to.equal(0);
    expect(t.addName(names[1]!, 1)).to.equal(1);
    expect(t.addName(names[2]!, 2)).to.equal(2);
    expect(t.addName(names[3]!, 3)).to.equal(3);
    expect(names.map((n) => t.findName(n))).to.deep.equal([0, 1, 2, 3, 0]);
    expect([0, 1, 2, 3].map((i) => t.keyAt(i))).to.deep.equal(['a\\.b.example', 'a.b.example', 'a\\032b.example', '.']);
    expect(t.head[2]).to.equal(2);
    expect(t.tail[3]).to.equal(3);
    expect(t.size).to.equal(4);
  });

  it('grows its arena, entries and slots past what expect() guessed, and still finds every name', () => {
    const t = new NameTable(new RecordStore());
    t.expect(4, 64);
    for (let i = 0; i < 5000; i++) expect(t.addName(`h${i}.Example.com`, i)).to.equal(i);
    for (let i = 0; i < 5000; i += 97) expect(t.findName(`H${i}.example.COM`)).to.equal(i);
    expect(t.ownerAt(4999)).to.equal('h4999.Example.com');
    expect(t.findName('h5000.example.com')).to.equal(-1);
  });

  it('lowerWire folds letters only, never a length octet', () => {
    const w = nameToWire('AbC.Z');
    const out = new Uint8Array(w.length);
    lowerWire(w, 0, w.length, out, 0);
    expect([...out]).to.deep.equal([...nameToWire('abc.z')]);
  });
});

describe('owner names through the parser, by their octets', () => {
  it('files owners differing only in case at one name, each record keeping its spelling, on the fast and the general path', () => {
    // `x` fast; `X` fast, adjacent; `( … )` general; then `x` again after another name.
    const zone = ok(loadBody(HEAD + 'x A 192.0.2.10\nX A 192.0.2.11\nX ( AAAA 2001:db8::1 )\ny A 192.0.2.12\nx TXT "t"\n'));
    const recs = zone.nodes.get('x.example.com')!;
    expect(recs.map((r) => `${r.name} ${r.type}`)).to.deep.equal(['x.example.com A', 'X.example.com A', 'X.example.com AAAA', 'x.example.com TXT']);
    expect([...zone.nodes.keys()].filter((k) => k === 'x.example.com')).to.have.length(1);
  });

  it('keys relative owners under an origin with capitals by their lower-cased octets', () => {
    const zone = ok(loadBody(HEAD + '$ORIGIN Sub.EXAMPLE.com.\nwww A 192.0.2.20\nWWW AAAA 2001:db8::2\n'));
    const recs = zone.nodes.get('www.sub.example.com')!;
    expect(recs.map((r) => `${r.name} ${r.type}`)).to.deep.equal(['www.Sub.EXAMPLE.com A', 'WWW.Sub.EXAMPLE.com AAAA']);
  });

  it('keeps names with escaped dots apart from the names their dots would make', () => {
    const zone = ok(loadBody(HEAD + 'a\\.b A 192.0.2.30\na.b A 192.0.2.31\na\\046B A 192.0.2.32\n'));
    expect(zone.nodes.get('a\\.b.example.com')!.map((r) => `${r.name} ${r.data as string}`)).to.deep.equal(['a\\.b.example.com 192.0.2.30', 'a\\.B.example.com 192.0.2.32']);
    expect(zone.nodes.get('a.b.example.com')!.map((r) => r.data)).to.deep.equal(['192.0.2.31']);
  });
});

describe('the names arena lent to the compiler', () => {
  const source = { origin: 'example.com.', source: 'x' };

  it('leaves the first image whole when the zone is compiled again and when the table adds a name after', () => {
    const zone = ok(loadBody(HEAD + 'a.b.c A 192.0.2.40\nWww A 192.0.2.41\n'));
    const first = compileZoneParts(zone, source);
    const before = joinImage(first);
    const second = joinImage(compileZoneParts(zone, source));
    const table = zone.nodes as NameTable;
    table.addName('zz.example.com', table.store.append(1, 60, { type: 'A', data: '192.0.2.42' }));
    // The ENTs (b.c, c) were appended past the table's names in the lent arena: neither the second compile nor the add wrote over them.
    expect(Buffer.from(joinImage(first)).equals(Buffer.from(before))).to.equal(true);
    expect(imageWithoutBuildTime(second)).to.deep.equal(imageWithoutBuildTime(before));
    expect(table.ownerAt(table.findName('www.example.com'))).to.equal('Www.example.com');
    expect(table.findName('zz.example.com')).to.equal(table.size - 1);
  });

  it('keeps the table reading NSEC3 owners as spelled though the image lower-cases them', () => {
    const body = HEAD + 'K0VUFK2PNE3KCNE5SJ2QKU7RFUPK39S3 NSEC3 1 0 0 - K0VUFK2PNE3KCNE5SJ2QKU7RFUPK39S4 A\n';
    const zone = ok(loadBody(body));
    const table = zone.nodes as NameTable;
    const e = table.findName('k0vufk2pne3kcne5sj2qku7rfupk39s3.example.com');
    expect(e).to.be.at.least(0);
    const image = new ZoneImage(compileZone(zone, source));
    expect(image.nsec3Count).to.equal(1);
    expect(table.ownerAt(e)).to.equal('K0VUFK2PNE3KCNE5SJ2QKU7RFUPK39S3.example.com');
  });
});

/** An image's octets with the meta region (its build time) and the checksum over it left out. */
function imageWithoutBuildTime(image: Uint8Array): number[] {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const copy = Buffer.from(image.subarray(0, v.getUint32(H.metaOff, true)));
  copy.writeUInt32LE(0, H.checksum);
  return [...copy];
}
