import { expect } from 'chai';
import { lookup, TYPE, type LookupResult } from '../../../src/auth/lookup.js';
import type { ZoneImage } from '../../../src/zone/image/image.js';
import { HEAD } from '../zone/helpers.js';
import { imageOf, text, wire, zoneSet } from './helpers.js';

/** A DNAME target of 234 octets: with more than 21 octets above the DNAME owner, the new name passes 255. */
const LONG_TARGET = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(40)}.`;

const zones = zoneSet({
  'example.com.':
    HEAD +
    [
      'www A 192.0.2.80',
      'www AAAA 2001:db8::80',
      'www RRSIG A 13 3 60 20300101000000 20200101000000 1 example.com. AAAA',
      'www RRSIG AAAA 13 3 60 20300101000000 20200101000000 1 example.com. AAAA',
      'alias CNAME www',
      '*.wild A 192.0.2.99',
      'exists.wild TXT "x"',
      'a.b.ent A 192.0.2.7',
      '*.ent A 192.0.2.100',
      '*.wc CNAME www',
      'deleg NS ns.deleg',
      'deleg DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4C6B1D5B8F6E1F1E8B7C2A15',
      'ns.deleg A 192.0.2.200',
      'dn DNAME other.test.',
      `long DNAME ${LONG_TARGET}`,
      'd2 DNAME x.test.',
      'sub.d2 NS ns.other.test.',
      'c2 NS ns.other.test.',
      'x.c2 DNAME y.test.',
      'y.c2 A 192.0.2.9',
    ].join('\n') +
    '\n',
  'example.net.': '$TTL 60\n@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns.example.com.\n@ DNAME target.test.\n',
});

/** A result with node and set as names and type numbers. */
function shown(image: ZoneImage, r: LookupResult): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: r.kind };
  if ('node' in r) out['node'] = text(image.key(r.node));
  if ('set' in r) out['type'] = image.setType(r.set);
  if ('wildcard' in r) out['wildcard'] = r.wildcard;
  if ('prefix' in r) out['prefix'] = r.prefix;
  // The closest encloser, where it differs from the node: NXDOMAIN and wildcard answers (RFC 4592 §3.3.1, RFC 5155 §7.2).
  if ('encloser' in r && (r.kind === 'nxdomain' || r.wildcard)) out['encloser'] = text(image.key(r.encloser));
  return out;
}

interface Case {
  what: string;
  zone?: string;
  q: string;
  t: number;
  want: Record<string, unknown>;
}

const cases: Case[] = [
  // RFC 1034 §4.3.2: the name's own data
  { what: 'exact match', q: 'www.example.com', t: TYPE.A, want: { kind: 'answer', node: 'www.example.com.', type: TYPE.A, wildcard: false } },
  { what: 'apex SOA', q: 'example.com', t: TYPE.SOA, want: { kind: 'answer', node: 'example.com.', type: TYPE.SOA, wildcard: false } },
  { what: 'ANY: one RRset, A first as NSD (RFC 8482 §4.1)', q: 'www.example.com', t: TYPE.ANY, want: { kind: 'answer', node: 'www.example.com.', type: TYPE.A, wildcard: false } },
  { what: 'RRSIG: an RRSIG set answers (standing for all of them)', q: 'www.example.com', t: TYPE.RRSIG, want: { kind: 'answer', node: 'www.example.com.', type: TYPE.RRSIG, wildcard: false } },
  { what: 'type absent: NODATA', q: 'www.example.com', t: TYPE.MX, want: { kind: 'nodata', node: 'www.example.com.', wildcard: false } },
  { what: 'no such name: NXDOMAIN', q: 'nx.example.com', t: TYPE.A, want: { kind: 'nxdomain', encloser: 'example.com.' } },
  { what: 'far below a missing name: NXDOMAIN', q: 'a.b.c.nx.example.com', t: TYPE.A, want: { kind: 'nxdomain', encloser: 'example.com.' } },
  // CNAME (RFC 1034 §3.6.2)
  { what: 'alias: CNAME to follow', q: 'alias.example.com', t: TYPE.A, want: { kind: 'cname', node: 'alias.example.com.', type: TYPE.CNAME, wildcard: false } },
  { what: 'alias asked for CNAME: the answer', q: 'alias.example.com', t: TYPE.CNAME, want: { kind: 'answer', node: 'alias.example.com.', type: TYPE.CNAME, wildcard: false } },
  // Wildcards (RFC 4592)
  { what: 'wildcard synthesis', q: 'x.wild.example.com', t: TYPE.A, want: { kind: 'answer', node: '*.wild.example.com.', type: TYPE.A, wildcard: true, encloser: 'wild.example.com.' } },
  { what: 'wildcard over several labels', q: 'a.b.wild.example.com', t: TYPE.A, want: { kind: 'answer', node: '*.wild.example.com.', type: TYPE.A, wildcard: true, encloser: 'wild.example.com.' } },
  { what: 'wildcard without the type: NODATA from the wildcard', q: 'x.wild.example.com', t: TYPE.MX, want: { kind: 'nodata', node: '*.wild.example.com.', wildcard: true, encloser: 'wild.example.com.' } },
  { what: 'an existing name is not covered', q: 'exists.wild.example.com', t: TYPE.A, want: { kind: 'nodata', node: 'exists.wild.example.com.', wildcard: false } },
  { what: 'below an existing name, that name is the closest encloser', q: 'x.exists.wild.example.com', t: TYPE.A, want: { kind: 'nxdomain', encloser: 'exists.wild.example.com.' } },
  { what: 'the wildcard owner asked for itself', q: '*.wild.example.com', t: TYPE.A, want: { kind: 'answer', node: '*.wild.example.com.', type: TYPE.A, wildcard: false } },
  { what: 'empty non-terminal: NODATA', q: 'b.ent.example.com', t: TYPE.A, want: { kind: 'nodata', node: 'b.ent.example.com.', wildcard: false } },
  { what: 'empty non-terminal blocks the wildcard above it (RFC 4592 §2.2.2)', q: 'x.b.ent.example.com', t: TYPE.A, want: { kind: 'nxdomain', encloser: 'b.ent.example.com.' } },
  { what: 'wildcard child of an empty non-terminal', q: 'x.ent.example.com', t: TYPE.A, want: { kind: 'answer', node: '*.ent.example.com.', type: TYPE.A, wildcard: true, encloser: 'ent.example.com.' } },
  { what: 'wildcard CNAME', q: 'foo.wc.example.com', t: TYPE.A, want: { kind: 'cname', node: '*.wc.example.com.', type: TYPE.CNAME, wildcard: true, encloser: 'wc.example.com.' } },
  // Cuts (RFC 1034 §4.3.2 step 3b, RFC 4035 §3.1.4.1)
  { what: 'at a cut: referral', q: 'deleg.example.com', t: TYPE.A, want: { kind: 'delegation', node: 'deleg.example.com.', type: TYPE.NS } },
  { what: 'NS at a cut: referral, not an answer', q: 'deleg.example.com', t: TYPE.NS, want: { kind: 'delegation', node: 'deleg.example.com.', type: TYPE.NS } },
  { what: 'DS at a cut: the parent side answers', q: 'deleg.example.com', t: TYPE.DS, want: { kind: 'answer', node: 'deleg.example.com.', type: TYPE.DS, wildcard: false } },
  { what: 'DS below a cut: referral', q: 'a.deleg.example.com', t: TYPE.DS, want: { kind: 'delegation', node: 'deleg.example.com.', type: TYPE.NS } },
  { what: 'glue is never answered', q: 'ns.deleg.example.com', t: TYPE.A, want: { kind: 'delegation', node: 'deleg.example.com.', type: TYPE.NS } },
  { what: 'a missing name below a cut: referral', q: 'x.y.deleg.example.com', t: TYPE.A, want: { kind: 'delegation', node: 'deleg.example.com.', type: TYPE.NS } },
  // DNAME (RFC 6672)
  { what: 'DNAME owner itself: not redirected', q: 'dn.example.com', t: TYPE.A, want: { kind: 'nodata', node: 'dn.example.com.', wildcard: false } },
  { what: 'DNAME owner asked for DNAME', q: 'dn.example.com', t: TYPE.DNAME, want: { kind: 'answer', node: 'dn.example.com.', type: TYPE.DNAME, wildcard: false } },
  { what: 'below a DNAME: redirected, prefix a.b (4 octets)', q: 'a.b.dn.example.com', t: TYPE.A, want: { kind: 'dname', node: 'dn.example.com.', type: TYPE.DNAME, prefix: 4 } },
  { what: 'DNAME making a name of 255 octets: redirected', q: `${'p'.repeat(20)}.long.example.com`, t: TYPE.A, want: { kind: 'dname', node: 'long.example.com.', type: TYPE.DNAME, prefix: 21 } },
  { what: 'DNAME making a name over 255 octets: YXDOMAIN', q: `${'p'.repeat(21)}.long.example.com`, t: TYPE.A, want: { kind: 'yxdomain', node: 'long.example.com.', type: TYPE.DNAME } },
  { what: 'a DNAME above a cut wins (the highest on the way down)', q: 'a.sub.d2.example.com', t: TYPE.A, want: { kind: 'dname', node: 'd2.example.com.', type: TYPE.DNAME, prefix: 6 } },
  { what: 'a cut above a DNAME wins (occluded data)', q: 'a.x.c2.example.com', t: TYPE.A, want: { kind: 'delegation', node: 'c2.example.com.', type: TYPE.NS } },
  { what: 'apex DNAME redirects every name below (RFC 6672 §2.3)', zone: 'example.net.', q: 'a.b.example.net', t: TYPE.A, want: { kind: 'dname', node: 'example.net.', type: TYPE.DNAME, prefix: 4 } },
  { what: 'apex DNAME: the apex itself answers', zone: 'example.net.', q: 'example.net', t: TYPE.SOA, want: { kind: 'answer', node: 'example.net.', type: TYPE.SOA, wildcard: false } },
];

describe('lookup() on a zone image: RFC 1034 §4.3.2, RFC 4592, RFC 6672', () => {
  for (const c of cases) {
    it(c.what, () => {
      const image = imageOf(zones, c.zone ?? 'example.com.');
      const name = wire(c.q.toLowerCase());
      const r = lookup(image, name, 0, name.length, c.t);
      expect(shown(image, r)).to.deep.equal(c.want);
    });
  }
  it('reads the name in place: at an offset of a larger buffer', () => {
    const image = imageOf(zones, 'example.com.');
    const name = wire('www.example.com');
    const buf = new Uint8Array(100).fill(7);
    buf.set(name, 33);
    const r = lookup(image, buf, 33, 33 + name.length, TYPE.AAAA);
    expect(shown(image, r)).to.deep.equal({ kind: 'answer', node: 'www.example.com.', type: TYPE.AAAA, wildcard: false });
  });
});
