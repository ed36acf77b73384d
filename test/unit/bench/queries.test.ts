import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { floodName, generateQueries, randomCase, toDnsperfFile, type Query, type ZoneNames } from '../../../bench/queries.js';
import { seededRandom } from '../../../bench/random.js';
import { loadZoneFile, type Zone } from '../../../src/zone/index.js';
import { ROOT } from '../../helpers/server.js';

const FIXTURE = `${ROOT}test/fixtures/answers/example.com.zone`;

function load(origin: string, file: string): Zone {
  const r = loadZoneFile(origin, file);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.zone;
}

function loadText(origin: string, text: string): Zone {
  const dir = mkdtempSync(join(tmpdir(), 'bench-queries-'));
  try {
    writeFileSync(join(dir, 'z.zone'), text);
    return load(origin, join(dir, 'z.zone'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const typesAt = (zone: ZoneNames, name: string): Set<string> => new Set((zone.nodes.get(name.toLowerCase()) ?? []).map((r) => r.type));
const parentOf = (name: string): string => name.slice(name.indexOf('.') + 1);

describe('bench query file', () => {
  const zone = load('example.com.', FIXTURE);
  const file = generateQueries(zone, { count: 5000, seed: 7 });
  const of = (kind: Query['kind']): Query[] => file.queries.filter((q) => q.kind === kind);

  it('writes the number of lines asked for, the same for the same seed and different for another', () => {
    expect(file.queries).to.have.length(5000);
    expect(generateQueries(zone, { count: 5000, seed: 7 }).queries).to.deep.equal(file.queries);
    expect(generateQueries(zone, { count: 5000, seed: 8 }).queries).to.not.deep.equal(file.queries);
  });

  it('has about 10 % absent names, none of which exists (not even as an empty non-terminal)', () => {
    const absent = of('absent');
    expect(absent.length / 5000).to.be.within(0.08, 0.12);
    for (const q of absent) {
      const key = q.name.toLowerCase();
      expect(zone.nodes.has(key), q.name).to.equal(false);
      expect([...zone.nodes.keys()].some((k) => k.endsWith(`.${key}`)), q.name).to.equal(false);
      expect(zone.nodes.has(`*.${parentOf(key)}`), q.name).to.equal(false);
    }
  });

  it('has wildcard hits: names that do not exist below a wildcard, asked for the wildcard\'s types', () => {
    const hits = of('wildcard');
    expect(hits.length / 5000).to.be.within(0.03, 0.07);
    for (const q of hits) {
      const key = q.name.toLowerCase();
      expect(zone.nodes.has(key)).to.equal(false);
      const wild = `*.${parentOf(key)}`;
      expect(zone.nodes.has(wild), q.name).to.equal(true);
      const types = typesAt(zone, wild);
      expect(types.has(q.type) || (types.has('CNAME') && ['A', 'AAAA'].includes(q.type)), `${q.name} ${q.type}`).to.equal(true);
    }
    expect(new Set(hits.map((q) => parentOf(q.name.toLowerCase())))).to.have.property('size').greaterThan(1);
  });

  it('asks existing names for types they have (addresses behind a CNAME), NODATA ones for a type they lack', () => {
    for (const q of of('existing')) {
      const types = typesAt(zone, q.name);
      expect(types.size, q.name).to.be.greaterThan(0);
      expect(types.has(q.type) || (types.has('CNAME') && ['A', 'AAAA'].includes(q.type)), `${q.name} ${q.type}`).to.equal(true);
    }
    const nodata = of('nodata');
    expect(nodata.length).to.be.greaterThan(0);
    for (const q of nodata) expect(typesAt(zone, q.name).has(q.type), `${q.name} ${q.type}`).to.equal(false);
  });

  it('marks names at or below a delegation as referrals and never asks for a wildcard owner itself', () => {
    for (const q of of('referral')) expect(q.name.toLowerCase()).to.match(/(^|\.)(deleg|child)\.example\.com$/);
    expect(of('referral').length).to.be.greaterThan(0);
    expect(file.queries.some((q) => q.name.includes('*'))).to.equal(false);
  });

  it('has a realistic type mix: mostly A, then AAAA, a few others', () => {
    const share = (t: string): number => (file.types[t] ?? 0) / 5000;
    expect(share('A')).to.be.greaterThan(share('AAAA'));
    expect(share('A') + share('AAAA')).to.be.within(0.6, 0.95);
    expect(Object.keys(file.types).length).to.be.greaterThan(4);
  });

  it('writes about a quarter of the names in mixed case, and counts them', () => {
    const mixed = file.queries.filter((q) => q.name !== q.name.toLowerCase()).length;
    expect(mixed).to.equal(file.mixedCase);
    expect(mixed / 5000).to.be.within(0.18, 0.3);
  });

  it('counts every query in exactly one kind', () => {
    expect(Object.values(file.kinds).reduce((a, b) => a + b, 0)).to.equal(5000);
    expect(Object.values(file.types).reduce((a, b) => a + b, 0)).to.equal(5000);
  });

  it('says so when the zone has no wildcard, and when an apex wildcard leaves no name absent', () => {
    const plain = loadText('t.test.', '$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n');
    const a = generateQueries(plain, { count: 500 });
    expect(a.kinds.wildcard).to.equal(0);
    expect(a.notes.join()).to.match(/no wildcard/);
    const apex = loadText('t.test.', '$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n* A 192.0.2.9\n');
    const b = generateQueries(apex, { count: 500 });
    expect(b.kinds.absent).to.equal(0);
    expect(b.kinds.wildcard).to.be.greaterThan(0);
    expect(b.notes.join()).to.match(/apex has a wildcard/);
  });

  it('writes dnsperf lines: a fully qualified name and a type', () => {
    const text = toDnsperfFile([{ name: 'WwW.example.com', type: 'AAAA', kind: 'existing' }, { name: 'nx1.example.com', type: 'A', kind: 'absent' }]);
    expect(text).to.equal('WwW.example.com. AAAA\nnx1.example.com. A\n');
  });

  it('randomCase changes only the case of letters', () => {
    let r = 0;
    const rnd = (): number => (r = (r + 0.37) % 1);
    const out = randomCase('a-1.b_c.example.com', rnd);
    expect(out.toLowerCase()).to.equal('a-1.b_c.example.com');
    expect(out).to.not.equal('a-1.b_c.example.com');
  });

  describe('with a random-subdomain share (the cache-missing scenario)', () => {
    const n = 20_000;
    const miss = generateQueries(zone, { count: n, seed: 7, randomSubdomain: 0.8 });
    const random = miss.queries.filter((q) => q.kind === 'random');
    /** Every name that exists, empty non-terminals included. */
    const exists = (name: string): boolean => zone.nodes.has(name) || [...zone.nodes.keys()].some((k) => k.endsWith(`.${name}`));

    it('makes the share asked of fresh random names, the rest the usual mix', () => {
      expect(miss.queries).to.have.length(n);
      expect(miss.kinds.random / n).to.be.within(0.78, 0.82);
      // The other 20 % keep the usual shares (those of the file without a flood, within sampling noise).
      const rest = n - miss.kinds.random;
      for (const kind of ['existing', 'referral', 'nodata', 'wildcard', 'absent'] as const) {
        expect(miss.kinds[kind] / rest, kind).to.be.closeTo(file.kinds[kind] / 5000, 0.03);
      }
      expect(Object.values(miss.kinds).reduce((a, b) => a + b, 0)).to.equal(n);
    });

    it('asks each random name about once: 1–3 random labels under the apex, none of which exists', () => {
      const lower = random.map((q) => q.name.toLowerCase());
      expect(new Set(lower).size / lower.length).to.be.greaterThan(0.999);
      const depths = [0, 0, 0, 0];
      for (const name of lower.slice(0, 2000)) {
        expect(name, name).to.match(/^([a-z0-9]{5,12}\.){1,3}example\.com$/);
        const labels = name.split('.').length - 2;
        depths[labels]!++;
        const top = name.split('.').slice(-3).join('.');
        expect(exists(top), name).to.equal(false);
      }
      expect(depths[1]).to.be.greaterThan(depths[2]!);
      expect(depths[2]).to.be.greaterThan(depths[3]!);
      expect(depths[3]).to.be.greaterThan(0);
      expect(new Set(random.map((q) => q.type))).to.have.keys('A', 'AAAA', 'MX', 'TXT');
      const mixed = random.filter((q) => q.name !== q.name.toLowerCase()).length;
      expect(mixed / random.length).to.be.within(0.18, 0.3);
    });

    it('is the same for the same seed, and leaves the file without a share exactly as before', () => {
      expect(generateQueries(zone, { count: n, seed: 7, randomSubdomain: 0.8 }).queries).to.deep.equal(miss.queries);
      expect(generateQueries(zone, { count: 5000, seed: 7, randomSubdomain: 0 }).queries).to.deep.equal(file.queries);
      const all = generateQueries(zone, { count: 1000, seed: 2, randomSubdomain: 1 });
      expect(all.kinds.random).to.equal(1000);
    });

    it('floodName: 1–3 labels of 5–12 letters and digits, deterministic for a seed', () => {
      const a = seededRandom(5);
      const b = seededRandom(5);
      for (let i = 0; i < 200; i++) {
        const name = floodName(a, 't.test');
        expect(name).to.match(/^([a-z0-9]{5,12}\.){1,3}t\.test$/);
        expect(floodName(b, 't.test')).to.equal(name);
      }
    });

    it('says so when an apex wildcard answers the random names', () => {
      const apex = loadText('t.test.', '$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n* A 192.0.2.9\n');
      const r = generateQueries(apex, { count: 200, randomSubdomain: 0.8 });
      expect(r.notes.join()).to.match(/random-subdomain names get wildcard answers/);
    });
  });
});
