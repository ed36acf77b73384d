import { expect } from 'chai';
import { TYPE } from '../../../src/auth/lookup.js';
import { ZoneSet } from '../../../src/auth/zone-set.js';
import { wire, zoneSet } from './helpers.js';

const soa = (ns: string): string => `$TTL 60\n@ SOA ${ns} hostmaster 1 2 3 4 5\n@ NS ${ns}\n`;

const NS = 'ns.elsewhere.invalid.';
const zones = zoneSet({ 'example.com.': soa(NS), 'child.example.com.': soa(NS), 'deep.a.b.child.example.com.': soa(NS), 'other.test.': soa(NS) });
const rooted = zoneSet({ '.': `${soa('a.root-servers.net.')}a.root-servers.net. A 198.41.0.4\n`, 'example.com.': soa(NS) });

/** The origin of the zone found, or null. */
function found(set: ZoneSet, name: string, qtype: number = TYPE.A): string | null {
  const w = wire(name.toLowerCase());
  const a = set.forQuestion(w, 0, w.length, qtype);
  // find() agrees with forQuestion() but for DS at an apex.
  if (qtype !== TYPE.DS) expect(set.find(w, 0, w.length)).to.equal(a);
  return a?.meta.origin ?? null;
}

describe('ZoneSet: the zone of a name (longest origin suffix, RFC 1034 §4.3.2 step 2)', () => {
  const cases: [string, ZoneSet, string, number, string | null][] = [
    ['the apex itself', zones, 'example.com', TYPE.A, 'example.com.'],
    ['a name below the apex', zones, 'www.example.com', TYPE.A, 'example.com.'],
    ['a child zone we serve beats its parent', zones, 'host.child.example.com', TYPE.A, 'child.example.com.'],
    ['deeper still', zones, 'x.deep.a.b.child.example.com', TYPE.A, 'deep.a.b.child.example.com.'],
    ['between two zones: the nearer above', zones, 'a.b.child.example.com', TYPE.A, 'child.example.com.'],
    ['case does not matter (the caller lower-cases)', zones, 'WWW.Other.TEST', TYPE.A, 'other.test.'],
    ['a parent of our zones is not ours', zones, 'com', TYPE.A, null],
    ['another name is not ours', zones, 'www.example.net', TYPE.A, null],
    ['a label that only ends like an origin is not below it', zones, 'xexample.com', TYPE.A, null],
    ['the root is not ours without a root zone', zones, '.', TYPE.A, null],
    ['DS at a child apex: the parent side (RFC 4035 §3.1.4.1)', zones, 'child.example.com', TYPE.DS, 'example.com.'],
    ['DS at an apex whose parent we do not serve: the zone itself', zones, 'example.com', TYPE.DS, 'example.com.'],
    ['DS below an apex: the zone', zones, 'x.child.example.com', TYPE.DS, 'child.example.com.'],
    ['DS at an apex, parent two labels up', zones, 'deep.a.b.child.example.com', TYPE.DS, 'child.example.com.'],
    ['with a root zone every name is ours', rooted, 'www.example.net', TYPE.A, '.'],
    ['the root itself', rooted, '.', TYPE.A, '.'],
    ['DS at a TLD-style apex: the root zone answers', rooted, 'example.com', TYPE.DS, '.'],
    ['DS at the root: the root zone', rooted, '.', TYPE.DS, '.'],
  ];
  for (const [what, set, name, qtype, want] of cases) it(what, () => expect(found(set, name, qtype)).to.equal(want));

  it('of two images with one origin, the later serves', () => {
    const [a, b] = [...zoneSet({ 'example.com.': soa(NS) }).images(), ...zoneSet({ 'example.com.': soa('ns2.elsewhere.invalid.') }).images()];
    const set = new ZoneSet([a!, b!]);
    expect(set.size).to.equal(1);
    const w = wire('example.com');
    expect(set.find(w, 0, w.length)).to.equal(b);
  });
  it('an empty set holds nothing', () => {
    const w = wire('example.com');
    expect(new ZoneSet([]).find(w, 0, w.length)).to.equal(undefined);
  });
});

describe('ZoneSet: zones of ours without data (a secondary before its first transfer, or expired)', () => {
  const served = zoneSet({ 'example.com.': soa(NS), 'deep.a.dark.example.com.': soa(NS) });
  const set = new ZoneSet(served.images(), [wire('dark.example.com'), wire('nodata.test')]);
  const dark = (name: string): boolean => {
    const w = wire(name.toLowerCase());
    return set.isDark(w, 0, w.length);
  };
  const cases: [string, string, boolean][] = [
    ['its apex', 'dark.example.com', true],
    ['a name below it', 'www.dark.example.com', true],
    ['a zone of ours below it, with data, answers', 'x.deep.a.dark.example.com', false],
    ['between the two: the nearer above (dark)', 'a.dark.example.com', true],
    ['its parent zone, with data, is not dark', 'www.example.com', false],
    ['a dark zone with no served parent', 'host.nodata.test', true],
    ['a name of nobody', 'www.example.net', false],
    ['a label that only ends like a dark origin', 'xdark.example.com', false],
  ];
  for (const [what, name, want] of cases) it(what, () => expect(dark(name)).to.equal(want));

  it('counts them, and without any answers false at once', () => {
    expect(set.darkCount).to.equal(2);
    const w = wire('dark.example.com');
    expect(served.isDark(w, 0, w.length)).to.equal(false);
  });
});
