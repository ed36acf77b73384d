import { expect } from 'chai';
import { answer, type AnswerContext } from '../../../src/dns/answer.js';
import dnsPacket from 'dns-packet';
import { ZoneSet } from '../../../src/auth/zone-set.js';
import { applyVersions } from '../../../src/xfr/apply.js';
import { diffImages, imageRecords, soaRecord, type JournalVersion } from '../../../src/xfr/journal.js';
import { zoneText } from '../../../src/xfr/zone-text.js';
import { compileZone } from '../../../src/zone/image/compile.js';
import { H } from '../../../src/zone/image/format.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { patchImage } from '../../../src/zone/image/patch.js';
import { formatDiagnostic, parseZone } from '../../../src/zone/index.js';

const ORIGIN = 'example.com.';

/** The image the real parser and compiler make of a zone file's text. */
function compile(text: string | Buffer, origin = ORIGIN): ZoneImage {
  const r = parseZone({ origin, file: 'zone.db', readFile: () => text });
  if (!r.ok) throw new Error(`zone refused:\n${r.errors.map(formatDiagnostic).join('\n')}`);
  return new ZoneImage(compileZone(r.zone, { origin, source: 'test' }));
}

/** What fetch.ts's full path makes of an IXFR: the changes applied to the records, written as text, parsed and compiled. */
function fullPath(old: ZoneImage, versions: JournalVersion[]): ZoneImage {
  const applied = applyVersions({ soa: soaRecord(old), ...imageRecords(old) }, old.serial, versions);
  if (applied.kind !== 'ok') throw new Error(applied.why);
  return compile(zoneText(applied.zone, ['test']), old.meta.origin);
}

function patch(old: ZoneImage, versions: JournalVersion[]): ZoneImage {
  const p = patchImage(old, versions, { origin: old.meta.origin, source: 'patched' });
  if (p.kind !== 'ok') expect.fail(`patch refused: ${p.why}`);
  // The checksum and every region check of the reader.
  return new ZoneImage(p.image, { verify: true });
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** One RRset as text: type, covered, TTL, and its records (sorted unless `ordered`). */
function setText(img: ZoneImage, s: number, ordered: boolean): string {
  const recs = img.rdatas(s).map(hex);
  if (!ordered) recs.sort();
  return `${img.setType(s)}/${img.setCovered(s)}/${img.setTtl(s)}:${recs.join(',')}`;
}

/**
 * Checks two images hold the same zone: the same nodes in the same order
 * (keys, flags, parents; owners when `strict`), the same RRsets per node
 * (in the same order with records in the same order when `strict`, as
 * multisets otherwise), the same counts and serial, and every name's hash
 * lookup finds the same node.
 */
function expectSame(got: ZoneImage, want: ZoneImage, strict: boolean): void {
  expect(got.nodeCount, 'nodes').to.equal(want.nodeCount);
  expect(got.recordCount, 'records').to.equal(want.recordCount);
  expect(got.serial, 'serial').to.equal(want.serial);
  expect(got.rrsetCount, 'RRsets').to.equal(want.rrsetCount);
  for (let n = 0; n < want.nodeCount; n++) {
    const where = `node ${n} (${Buffer.from(want.key(n)).toString('latin1')})`;
    expect(hex(got.key(n)), `${where} key`).to.equal(hex(want.key(n)));
    if (strict) expect(hex(got.owner(n)), `${where} owner`).to.equal(hex(want.owner(n)));
    expect(got.nodeFlags(n), `${where} flags`).to.equal(want.nodeFlags(n));
    expect(got.parent(n), `${where} parent`).to.equal(want.parent(n));
    const sets = (img: ZoneImage): string[] => {
      const out: string[] = [];
      for (let s = img.firstSet(n); s < img.firstSet(n) + img.setCount(n); s++) out.push(setText(img, s, strict));
      return strict ? out : out.sort();
    };
    expect(sets(got), `${where} RRsets`).to.deep.equal(sets(want));
    const key = want.key(n);
    expect(got.find(key, 0, key.length), `${where} lookup`).to.equal(n);
  }
}

/** Replies of both images to the same queries, byte for byte. */
function expectSameAnswers(got: ZoneImage, want: ZoneImage, names: string[]): number {
  const ctx = (img: ZoneImage): AnswerContext => ({ identity: { server: 't', version: 't' }, zones: new ZoneSet([img]), ednsUdpSize: 1232, nsid: Buffer.from('t'), recursion: null });
  const a = ctx(got);
  const b = ctx(want);
  let asked = 0;
  for (const name of names) {
    for (const type of ['A', 'AAAA', 'NS', 'MX', 'TXT', 'CNAME', 'SOA', 'ANY'] as const) {
      const q = dnsPacket.encode({ type: 'query', id: 7, flags: 0, questions: [{ type: type as 'A', name, class: 'IN' }] });
      const ra = answer(q, a, { transport: 'udp', address: '127.0.0.1' });
      const rb = answer(q, b, { transport: 'udp', address: '127.0.0.1' });
      expect(ra.kind, `${name} ${type}`).to.equal(rb.kind);
      if (ra.kind === 'reply' && rb.kind === 'reply') expect(hex(ra.bytes), `${name} ${type}`).to.equal(hex(rb.bytes));
      asked++;
    }
  }
  return asked;
}

/** Every node's name in presentation form, plus names that do not exist. */
function queryNames(img: ZoneImage, extra: string[]): string[] {
  const out: string[] = [];
  for (let n = 0; n < img.nodeCount; n++) {
    const k = img.owner(n);
    const labels: string[] = [];
    for (let i = 0; k[i] !== 0; i += k[i]! + 1) labels.push(Buffer.from(k.subarray(i + 1, i + 1 + k[i]!)).toString('latin1'));
    // dns-packet cannot carry dots or zero octets inside labels: those names are looked up directly above.
    if (labels.every((l) => /^[A-Za-z0-9*_-]+$/.test(l))) out.push(labels.join('.'));
  }
  return [...out, ...extra];
}

const head = (serial: number): string => `$TTL 3600\n@ SOA ns1 hostmaster ${serial} 7200 3600 1209600 300\n`;

const BASE = [
  '@ NS ns1',
  'ns1 A 192.0.2.1',
  'www A 192.0.2.80',
  'www A 192.0.2.81',
  'www TXT "web"',
  'mail MX 10 mx.example.net.',
  'a.b.c TXT "deep"',
  'sub NS ns.sub',
  'ns.sub A 192.0.2.9',
  'deeper.ns.sub A 192.0.2.10',
  'host.deleg A 192.0.2.11',
  '*.wild A 192.0.2.7',
  'Mixed.Case A 192.0.2.12',
  'a\\.b.odd A 192.0.2.13',
  '\\000.odd A 192.0.2.14',
  'p A 192.0.2.15',
  'q.p A 192.0.2.16',
];

interface Case {
  name: string;
  remove?: string[];
  add?: string[];
}

const CASES: Case[] = [
  { name: 'a record added at an existing name', add: ['www A 192.0.2.82'] },
  { name: 'a record removed at an existing name', remove: ['www A 192.0.2.81'] },
  { name: 'a new type at an existing name', add: ['www AAAA 2001:db8::80'] },
  { name: 'a new name deep below, with new empty non-terminals', add: ['x.y.z A 192.0.2.20'] },
  { name: 'a new name below an existing empty non-terminal', add: ['e.b.c TXT "sibling"'] },
  { name: 'a name removed, so empty non-terminals vanish', remove: ['a.b.c TXT "deep"'] },
  { name: 'an empty non-terminal gets records', add: ['b.c TXT "now named"'] },
  { name: 'a named node emptied with children: an empty non-terminal', remove: ['p A 192.0.2.15'] },
  { name: 'a leaf and its parent both go', remove: ['p A 192.0.2.15', 'q.p A 192.0.2.16'] },
  { name: 'a delegation added over existing data (cut and glue flags)', add: ['deleg NS ns.other.net.'] },
  { name: 'a delegation removed', remove: ['sub NS ns.sub'] },
  { name: 'a delegation added at a new name with glue', add: ['newsub NS ns.newsub', 'ns.newsub A 192.0.2.30'] },
  { name: 'a wildcard added', add: ['*.w2 A 192.0.2.31'] },
  { name: 'a wildcard added at the apex', add: ['* TXT "any"'] },
  { name: 'a wildcard removed', remove: ['*.wild A 192.0.2.7'] },
  { name: 'a wildcard empty non-terminal', add: ['x.*.w3 A 192.0.2.32'] },
  { name: 'a CNAME at a new name', add: ['alias CNAME www'] },
  { name: 'a TTL change', remove: ['www A 192.0.2.80', 'www A 192.0.2.81'], add: ['www 60 A 192.0.2.80', 'www 60 A 192.0.2.81'] },
  { name: 'the apex NS changed', remove: ['@ NS ns1'], add: ['@ NS ns2', 'ns2 A 192.0.2.2'] },
  { name: 'odd labels: a dot and a zero octet inside labels', remove: ['a\\.b.odd A 192.0.2.13', '\\000.odd A 192.0.2.14'], add: ['c\\.d.odd A 192.0.2.40', '\\000\\001.odd A 192.0.2.41', 'x.\\000.odd TXT "below"'] },
  { name: 'a new name in mixed case (its empty non-terminals take its case)', add: ['New.Mixed.Host A 192.0.2.42'] },
  { name: 'a record replaced below empty non-terminals (the same shape: arrays copied whole)', remove: ['a.b.c TXT "deep"'], add: ['a.b.c TXT "changed"'] },
  { name: 'a wildcard record replaced (the same shape: its empty parent keeps its wildcard-child flag)', remove: ['*.wild A 192.0.2.7'], add: ['*.wild A 192.0.2.8'] },
  { name: 'a delegation and its glue changed (the same shape: cut and below-cut flags kept)', remove: ['sub NS ns.sub', 'ns.sub A 192.0.2.9'], add: ['sub NS ns2.sub', 'ns.sub A 192.0.2.19'] },
  { name: 'many changes at once', remove: ['mail MX 10 mx.example.net.', 'host.deleg A 192.0.2.11'], add: ['mail MX 20 mx2.example.net.', 'srv._tcp SRV 0 5 80 www', 'ptr PTR www', 'deep.er.still.new A 192.0.2.50'] },
];

function text(serial: number, lines: string[]): string {
  return head(serial) + lines.join('\n') + '\n';
}

function changed(c: Case): string[] {
  const out = BASE.filter((l) => !(c.remove ?? []).includes(l));
  for (const r of c.remove ?? []) if (!BASE.includes(r)) throw new Error(`case ${c.name}: ${r} is not in the base`);
  return [...out, ...(c.add ?? [])];
}

describe('patchImage: an IXFR applied to a zone image', () => {
  const old = compile(text(1, BASE));
  const missing = ['nothere', 'x.nothere.b.c', 'zz.wild', 'a.b.wild', 'below.sub', 'q.q.p', 'x.deleg', 'b.c', 'c', 'y.z', 'z', 'w2', 'a.w2'].map((n) => `${n}.example.com`);

  for (const c of CASES) {
    it(c.name, () => {
      const want = compile(text(2, changed(c)));
      const version = diffImages(old, want);
      const got = patch(old, [version]);
      expectSame(got, want, false);
      const full = fullPath(old, [version]);
      expectSame(got, full, true);
      expectSameAnswers(got, full, queryNames(full, missing));
    });
  }

  it('the same shape: a record replaced at a name that is not the first below its empty non-terminals (they keep their case)', () => {
    const lines = ['@ NS ns1', 'ns1 A 192.0.2.1', 'A.B.c TXT "first"', 'e.b.c TXT "second"'];
    const before = compile(text(1, lines));
    const want = compile(text(2, [...lines.slice(0, 3), 'e.b.c TXT "changed"']));
    const version = diffImages(before, want);
    const got = patch(before, [version]);
    expectSame(got, want, true);
    expectSame(got, fullPath(before, [version]), true);
  });

  it('records the live octets of its names and RDATA in the meta, as counted by walking the image, patch after patch', () => {
    const counted = (img: ZoneImage): { names: number; rdata: number } => {
      let names = 0;
      let rdata = 0;
      for (let n = 0; n < img.nodeCount; n++) {
        names += 1 + 2 * img.nameLength(n);
        for (let q = img.firstSet(n); q < img.firstSet(n) + img.setCount(n); q++) for (const rd of img.rdatas(q)) rdata += 2 + rd.length;
      }
      return { names, rdata };
    };
    const recorded = (img: ZoneImage): { names: number; rdata: number } => ({ names: Number(img.meta.live?.names), rdata: Number(img.meta.live?.rdata) });
    let lines = [...BASE];
    let img = old;
    // Same shape (counted from the meta after the first), then names coming and going (counted while written), then same shape again.
    const steps: { remove: string[]; add: string[] }[] = [
      { remove: ['www A 192.0.2.80'], add: ['www A 192.0.2.90'] },
      { remove: ['a.b.c TXT "deep"'], add: ['a.b.c TXT "deeper still"'] },
      { remove: ['p A 192.0.2.15'], add: ['new.name A 192.0.2.91'] },
      { remove: ['www TXT "web"'], add: ['www TXT "a longer text than before"'] },
    ];
    steps.forEach((step, i) => {
      const next = [...lines.filter((l) => !step.remove.includes(l)), ...step.add];
      const want = compile(text(i + 2, next));
      img = patch(img, [diffImages(img, want)]);
      expectSame(img, want, false);
      expect(recorded(img), `step ${i + 1}`).to.deep.equal(counted(img));
      lines = next;
    });
  });

  it('a crowded hash index carried over (500 names in 1024 slots): names removed and added are found or not, as in the compiled zone', () => {
    const hosts = Array.from({ length: 500 }, (_, i) => `h${i} A 192.0.2.${i % 250}`);
    const before = compile(text(1, ['@ NS ns1', 'ns1 A 192.0.2.1', ...hosts]));
    const removed = hosts.filter((_, i) => i % 7 === 3);
    const added = Array.from({ length: 40 }, (_, i) => `n${i} A 198.51.100.${i}`);
    const want = compile(text(2, ['@ NS ns1', 'ns1 A 192.0.2.1', ...hosts.filter((h) => !removed.includes(h)), ...added]));
    const slots = (img: ZoneImage): number => new DataView(img.bytes.buffer, img.bytes.byteOffset).getUint32(H.hashSlots, true);
    expect(slots(want), 'the same number of slots (the index is carried over)').to.equal(slots(before));
    const got = patch(before, [diffImages(before, want)]);
    expectSame(got, want, false);
    for (const r of removed) {
      const label = r.slice(0, r.indexOf(' '));
      const key = Buffer.from(`${String.fromCharCode(label.length)}${label}\x07example\x03com\x00`, 'latin1');
      expect(got.find(key, 0, key.length), `${r} removed`).to.equal(-1);
    }
  });

  it('answers a few hundred queries as the compiled zone does', () => {
    const c = CASES.find((x) => x.name === 'many changes at once')!;
    const want = compile(text(2, changed(c)));
    const got = patch(old, [diffImages(old, want)]);
    expect(expectSameAnswers(got, fullPath(old, [diffImages(old, want)]), queryNames(want, missing))).to.be.greaterThan(200);
  });

  it('applies several versions in a row, and a patch of a patched image', () => {
    const v2 = compile(text(2, changed(CASES[3]!)));
    const v3 = compile(text(3, [...changed(CASES[3]!), 'more.y.z A 192.0.2.60']));
    const got = patch(old, [diffImages(old, v2), diffImages(v2, v3)]);
    expectSame(got, v3, false);
    const again = patch(patch(old, [diffImages(old, v2)]), [diffImages(v2, v3)]);
    expectSame(again, v3, false);
  });

  it('an addition of a record already held replaces it (NSD create-ixfr sends such), TTL and all', () => {
    const v: JournalVersion = { ...diffImages(old, compile(text(2, BASE))) };
    // Re-add www TXT as it is: the set keeps one record.
    const again = compile(text(3, BASE));
    const added = diffImages(compile(text(1, BASE.filter((l) => l !== 'www TXT "web"'))), again);
    const got = patch(old, [{ ...v, added: added.added, addedCount: added.addedCount }]);
    expect(got.recordCount).to.equal(old.recordCount);
    const www = got.find(new Uint8Array([3, 119, 119, 119, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0]), 0, 17);
    expect(got.rdatas(got.rrset(www, 16)).length).to.equal(1);
  });

  it('leaves what it does not reproduce to the full build, saying why', () => {
    const refused = (lines: string[], why: RegExp): void => {
      const v = diffImages(old, compile(text(2, lines)));
      const p = patchImage(old, [v], { origin: ORIGIN, source: 'x' });
      expect(p.kind).to.equal('error');
      if (p.kind === 'error') expect(p.why).to.match(why);
    };
    // A CNAME added at www, which holds data (taken from zones where www holds none).
    const bare = BASE.filter((l) => !l.startsWith('www'));
    const cname = patchImage(old, [diffImages(compile(text(1, bare)), compile(text(2, [...bare, 'www CNAME mail'])))], { origin: ORIGIN, source: 'x' });
    expect(cname.kind === 'error' && cname.why).to.match(/CNAME would share/);
    // An address added to www with another TTL (taken from zones where www has no other address).
    const noWww = BASE.filter((l) => !l.startsWith('www A'));
    const ttl = diffImages(compile(text(1, noWww)), compile(text(2, [...noWww, 'www 60 A 192.0.2.99'])));
    const t = patchImage(old, [ttl], { origin: ORIGIN, source: 'x' });
    expect(t.kind === 'error' && t.why).to.match(/different TTLs/);
    refused([...BASE, 'x DNAME y'], /type 39/);
    refused([...BASE, 'x SSHFP 1 1 0123456789abcdef0123456789abcdef01234567'], /type 44/);
    // A deletion of a record the zone does not hold: the two sides disagree.
    const other = compile(text(1, [...BASE, 'ghost A 192.0.2.99']));
    const v = diffImages(other, compile(text(2, BASE)));
    const p = patchImage(old, [v], { origin: ORIGIN, source: 'x' });
    expect(p.kind === 'error' && p.why).to.match(/does not hold/);
    // A version that does not start at our serial.
    const late = diffImages(compile(text(5, BASE)), compile(text(6, BASE)));
    expect(patchImage(old, [late], { origin: ORIGIN, source: 'x' }).kind).to.equal('error');
  });

  it('refuses to leave the apex NS target without an address, as the parser does', () => {
    expect(() => compile(text(2, BASE.filter((l) => l !== 'ns1 A 192.0.2.1')))).to.throw(/no address/);
    // The same change taken from a zone where ns1 is no NS target: ns1's address goes, a TXT comes.
    const before = compile(text(1, ['@ NS other.example.net.', 'ns1 A 192.0.2.1']));
    const after = compile(text(2, ['@ NS other.example.net.', 'ns1 TXT "no address"']));
    const p = patchImage(old, [diffImages(before, after)], { origin: ORIGIN, source: 'x' });
    expect(p.kind === 'error' && p.why).to.match(/no address/);
  });

  it('200 random small changes over a generated zone, each patched onto the last patched image', function () {
    this.timeout(120000);
    let seed = 15;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const labels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', '*', 'MiX', 'h-1'];
    const randomName = (): string => {
      const depth = 1 + rand(3);
      const parts: string[] = [];
      for (let i = 0; i < depth; i++) parts.push(labels[rand(labels.length)]!);
      return parts.join('.');
    };
    // The zone as lines; per name at most a few types, one TTL per type.
    const lines = new Set<string>(['@ NS ns1', 'ns1 A 192.0.2.1']);
    for (let i = 0; i < 150; i++) lines.add(`n${i}.${randomName()} A 10.0.${i >> 8}.${i & 255}`);
    let serial = 1;
    let current = compile(text(serial, [...lines]));
    const owners = (): string[] => [...lines].map((l) => l.split(' ')[0]!).filter((o) => o !== '@' && o !== 'ns1');
    const isCname = (o: string): boolean => [...lines].some((l) => l.startsWith(`${o} CNAME`));
    const hasData = (o: string): boolean => [...lines].some((l) => l.split(' ')[0]!.toLowerCase() === o.toLowerCase());
    let patched = 0;
    for (let round = 0; round < 200; round++) {
      const before = new Set(lines);
      const op = rand(7);
      const all = owners();
      const pick = all[rand(all.length)]!;
      if (op === 0 || all.length < 20) {
        const o = randomName();
        if (!isCname(o)) lines.add(`${o} A 10.1.${rand(256)}.${rand(256)}`);
      } else if (op === 1) {
        const l = [...lines].filter((x) => x.split(' ')[0] === pick)[0]!;
        lines.delete(l);
      } else if (op === 2) {
        if (!isCname(pick)) lines.add(`${pick} TXT "t${rand(1000)}"`);
      } else if (op === 3) {
        const o = `${randomName()}.${randomName()}`;
        if (!o.startsWith('*') && !isCname(o)) lines.add(`${o} NS ns.example.net.`);
      } else if (op === 4) {
        const o = `c${rand(1000)}.${randomName()}`;
        if (!hasData(o)) lines.add(`${o} CNAME ${pick}`);
      } else if (op === 5) {
        // A TTL change of a whole RRset: all its records.
        const l = [...lines].find((x) => x.startsWith(`${pick} `) && / A /.test(x) && !/ \d+ A /.test(x));
        if (l !== undefined) for (const x of [...lines].filter((y) => y.startsWith(`${pick} `) && / A /.test(y))) {
          lines.delete(x);
          lines.add(x.replace(/^(\S+)( \d+)? A /, `$1 ${60 + (round % 3)} A `));
        }
      } else {
        for (const x of [...lines].filter((y) => y.split(' ')[0] === pick)) lines.delete(x);
      }
      if (lines.size === before.size && [...lines].every((l) => before.has(l))) continue;
      serial++;
      const want = compile(text(serial, [...lines]));
      const version = diffImages(current, want);
      const got = patch(current, [version]);
      expectSame(got, want, false);
      expectSame(got, fullPath(current, [version]), true);
      current = got;
      patched++;
    }
    expect(patched).to.be.greaterThan(150);
    expectSameAnswers(current, compile(text(serial, [...lines])), queryNames(current, ['nothing.here.example.com', 'x.a.b.example.com']));
  });
});
