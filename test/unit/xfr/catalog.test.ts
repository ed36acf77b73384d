import { expect } from 'chai';
import { catalogChanges, catalogMembers, type CatalogContext, type CatalogMember, type CatalogOutcome, type ZoneOwner } from '../../../src/xfr/catalog.js';
import type { ZoneImage } from '../../../src/zone/image/image.js';
import { image } from './helpers.js';

/** The catalog zone these tests use, as RFC 9432 §6 recommends naming one. */
const CATZ = 'catalog.invalid.';

/** A catalog zone's text: SOA and NS as RFC 9432 §4 wants them, then `body` (relative to the catalog). */
function catalogText(body: string, origin = CATZ): string {
  return `$ORIGIN ${origin}\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 2147483646 0\n@ NS invalid.\n${body}`;
}

/** The image of a catalog zone, compiled as the server compiles zones. */
function catalog(body: string, origin = CATZ): ZoneImage {
  return image(catalogText(body, origin), origin);
}

/** The outcome of a catalog that must be processed. */
function ok(o: CatalogOutcome): Extract<CatalogOutcome, { kind: 'ok' }> {
  if (o.kind !== 'ok') expect.fail(`catalog refused: ${o.why}`);
  return o;
}

/** The reason of a catalog that must be refused. */
function refused(o: CatalogOutcome): string {
  if (o.kind !== 'error') expect.fail(`catalog processed, but it is broken: ${JSON.stringify(o.members)}`);
  return o.why;
}

const V2 = 'version TXT "2"\n';
const member = (zone: string, id: string, group: string[] = [], coo: string | null = null): CatalogMember => ({ zone, id, group, coo });

describe('catalog zones: the member list (RFC 9432)', () => {
  it('reads the full example of RFC 9432 Appendix A: three members, their groups and coo; custom properties ignored without a word', () => {
    const text = [
      'example.vendor.ext.catalog.invalid. 0 CNAME example.net.',
      'version.catalog.invalid. 0 TXT "2"',
      'nj2xg5b.zones.catalog.invalid. 0 PTR example.com.',
      'nvxxezj.zones.catalog.invalid. 0 PTR example.net.',
      'group.nvxxezj.zones.catalog.invalid. 0 TXT ( "operator-x-foo" )',
      'nfwxa33.zones.catalog.invalid. 0 PTR example.org.',
      'coo.nfwxa33.zones.catalog.invalid. 0 PTR ( newcatz.invalid. )',
      'group.nfwxa33.zones.catalog.invalid. 0 TXT ( "operator-y-bar" )',
      'metrics.vendor.ext.nfwxa33.zones.catalog.invalid. 0 CNAME ( collector.example.net. )',
      '',
    ].join('\n');
    const o = ok(catalogMembers(catalog(text)));
    expect(o.version).to.equal(2);
    expect(o.warnings).to.deep.equal([]);
    // Canonical order of the member nodes: nfwxa33 < nj2xg5b < nvxxezj.
    expect(o.members).to.deep.equal([
      member('example.org.', 'nfwxa33', ['operator-y-bar'], 'newcatz.invalid.'),
      member('example.com.', 'nj2xg5b'),
      member('example.net.', 'nvxxezj', ['operator-x-foo']),
    ]);
  });

  it('keeps several group values of one member (§4.3.2), the whole RDATA of each, sorted; quotes only what needs them', () => {
    const o = ok(
      catalogMembers(
        catalog(
          V2 +
            'm1.zones PTR example.net.\n' +
            'group.m1.zones TXT "operator-x-foo"\n' +
            'group.m1.zones TXT "operator-y" "bar"\n' +
            'group.m1.zones TXT "with space"\n' +
            'group.m1.zones TXT ""\n' +
            'group.m1.zones TXT "q\\"uote" "\\255"\n',
        ),
      ),
    );
    expect(o.members).to.deep.equal([member('example.net.', 'm1', ['""', '"q\\"uote" "\\255"', '"with space"', 'operator-x-foo', 'operator-y bar'])]);
  });

  it('compares names without regard to case (RFC 4343) and keeps the case the catalog wrote', () => {
    const o = ok(
      catalogMembers(
        catalog(
          'VERSION TXT "2"\n' +
            'Abc.ZONES PTR Example.COM.\n' +
            'GROUP.abc.Zones TXT "Blue"\n' +
            'COO.aBC.zones PTR Other.Catalog.\n',
          'Catalog.Invalid.',
        ),
      ),
    );
    expect(o.members).to.deep.equal([member('Example.COM.', 'Abc', ['Blue'], 'Other.Catalog.')]);
  });

  it('prints member names and ids in presentation form, escapes included', () => {
    const o = ok(catalogMembers(catalog(V2 + 'a\\.b.zones PTR foo\\.bar.example.\n' + 'x\\032y.zones PTR \\(paren\\).example.\n')));
    expect(o.members.map((m) => [m.id, m.zone])).to.have.deep.members([
      ['a\\.b', 'foo\\.bar.example.'],
      ['x\\032y', '\\(paren\\).example.'],
    ]);
  });

  it('a catalog with no zones label lists no members', () => {
    expect(ok(catalogMembers(catalog(V2)))).to.deep.equal({ kind: 'ok', version: 2, members: [], warnings: [] });
  });

  it('ignores names outside zones and version, custom properties and anything deeper below a member, silently (§3, §4.4)', () => {
    const o = ok(
      catalogMembers(
        catalog(
          V2 +
            'www A 192.0.2.1\n' +
            'primaries.ext A 192.0.2.53\n' +
            'm.zones PTR example.com.\n' +
            'primaries.ext.m.zones A 192.0.2.2\n' +
            'label.primaries.ext.m.zones TXT "tsig-key"\n' +
            'future-property.m.zones TXT "x"\n' +
            'deep.group.m.zones TXT "not a group"\n' +
            'a.b.c.zones PTR not-a-member.example.\n',
        ),
      ),
    );
    expect(o.members).to.deep.equal([member('example.com.', 'm')]);
    expect(o.warnings).to.deep.equal([]);
  });

  describe('broken catalogs are not processed (§5.1): the error says why and that the member list stays', () => {
    const cases: { name: string; body: string; why: RegExp }[] = [
      { name: 'no version property (§4.2.1)', body: 'm.zones PTR example.com.\n', why: /no version property: version\.catalog\.invalid\. must hold one TXT record "2" \(RFC 9432 §4\.2\.1\)/ },
      { name: 'a version name without TXT (§4.2.1)', body: 'version A 192.0.2.1\nm.zones PTR example.com.\n', why: /no version property/ },
      { name: 'version "1", the schema before RFC 9432 (§4.2.1)', body: 'version TXT "1"\nm.zones PTR example.com.\n', why: /version\.catalog\.invalid\. is TXT "1", not "2" \(version "1" is the schema of BIND 9\.11/ },
      { name: 'version "3", a schema not implemented (§4.2.1)', body: 'version TXT "3"\n', why: /is TXT "3", not "2" \(RFC 9432 §4\.2\.1\)/ },
      { name: 'two version records (§4.2.1)', body: 'version TXT "2"\nversion TXT "1"\n', why: /holds 2 TXT records; it must hold exactly one/ },
      { name: 'a version of two strings (§4.2.1)', body: 'version TXT "2" "2"\n', why: /is TXT "2" "2", not "2"/ },
      { name: 'a version "2 " with a space (§4.2.1)', body: 'version TXT "2 "\n', why: /is TXT "2 ", not "2"/ },
      { name: 'a member node with two PTR records (§4.1)', body: V2 + 'm.zones PTR example.com.\nm.zones PTR example.net.\n', why: /member node m\.zones\.catalog\.invalid\. holds 2 PTR records; a member node names exactly one zone \(RFC 9432 §4\.1\)/ },
      { name: 'one zone under two member nodes, in different case (§4.1)', body: V2 + 'a.zones PTR example.com.\nb.zones PTR EXAMPLE.com.\n', why: /member zone EXAMPLE\.com\. is listed twice, by member nodes a and b/ },
      { name: 'a coo property of two PTR records (§4.3.1)', body: V2 + 'm.zones PTR example.com.\ncoo.m.zones PTR new1.invalid.\ncoo.m.zones PTR new2.invalid.\n', why: /coo\.m\.zones\.catalog\.invalid\. holds 2 PTR records; the coo property is exactly one \(RFC 9432 §4\.3\.1\)/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const why = refused(catalogMembers(catalog(c.body)));
        expect(why).to.match(c.why);
        expect(why).to.match(/^catalog zone catalog\.invalid\.: /);
        expect(why).to.contain('a broken catalog is not processed; the member zones stay as the last valid version of catalog.invalid. listed them');
      });
    }

    it('more members than the limit: refused, saying the limit and what to do', () => {
      const body = V2 + 'a.zones PTR a.example.\nb.zones PTR b.example.\nc.zones PTR c.example.\n';
      expect(ok(catalogMembers(catalog(body), { maxMembers: 3, maxWarnings: 20 })).members).to.have.length(3);
      expect(refused(catalogMembers(catalog(body), { maxMembers: 2, maxWarnings: 20 }))).to.equal(
        'catalog zone catalog.invalid.: it lists more than 2 member zones, the most one catalog may list here, so it is not processed (the member zones stay as the last valid version of catalog.invalid. listed them); split it into several catalogs, or raise the limit',
      );
    });

    it('a member PTR whose RDATA is no domain name (an image not from our compiler): refused', () => {
      const img = catalog(V2 + 'm.zones PTR a.\n');
      const set = img.rrset(img.find(wire('m.zones.catalog.invalid.'), 0, wire('m.zones.catalog.invalid.').length), 12);
      const at = img.setRdataAt(set);
      expect(Array.from(img.bytes.subarray(at, at + 5))).to.deep.equal([0, 3, 1, 0x61, 0]);
      img.bytes[at + 4] = 5; // a label running past the RDATA
      expect(refused(catalogMembers(img))).to.match(/member node m\.zones\.catalog\.invalid\.: its PTR RDATA is not a valid absolute domain name/);
    });

    it('a group TXT whose RDATA is not character-strings (an image not from our compiler): refused', () => {
      const img = catalog(V2 + 'm.zones PTR a.\ngroup.m.zones TXT "blue"\n');
      const name = wire('group.m.zones.catalog.invalid.');
      const at = img.setRdataAt(img.rrset(img.find(name, 0, name.length), 16));
      expect(Array.from(img.bytes.subarray(at, at + 3))).to.deep.equal([0, 5, 4]);
      img.bytes[at + 2] = 9; // a string running past the RDATA
      expect(refused(catalogMembers(img))).to.match(/group\.m\.zones\.catalog\.invalid\.: a TXT record whose RDATA is not character-strings/);
    });
  });

  describe('records that are ignored, with a warning (the catalog is still processed)', () => {
    const cases: { name: string; body: string; members: CatalogMember[]; warnings: RegExp[] }[] = [
      {
        name: 'other types at a member node (§3, §4.1)',
        body: 'm.zones PTR example.com.\nm.zones TXT "note"\nm.zones A 192.0.2.1\n',
        members: [member('example.com.', 'm')],
        warnings: [/^m\.zones\.catalog\.invalid\.: A records at a member node are ignored \(RFC 9432 §3, §4\.1\)$/, /^m\.zones\.catalog\.invalid\.: TXT records at a member node are ignored \(RFC 9432 §3, §4\.1\)$/],
      },
      {
        name: 'a member node without PTR: no member, its properties ignored (§4.1, §4.3)',
        body: 'm.zones TXT "no ptr"\ngroup.m.zones TXT "blue"\ncoo.m.zones PTR new.invalid.\nok.zones PTR example.com.\n',
        members: [member('example.com.', 'ok')],
        warnings: [
          /^coo\.m\.zones\.catalog\.invalid\.: a coo property of m\.zones\.catalog\.invalid\., which is no member node \(it has no PTR record\): ignored/,
          /^group\.m\.zones\.catalog\.invalid\.: a group property of m\.zones\.catalog\.invalid\., which is no member node/,
          /^m\.zones\.catalog\.invalid\.: TXT records at a member node are ignored/,
        ],
      },
      {
        name: 'a group property of another type than TXT (§4.3)',
        body: 'm.zones PTR example.com.\ngroup.m.zones A 192.0.2.1\n',
        members: [member('example.com.', 'm')],
        warnings: [/^group\.m\.zones\.catalog\.invalid\.: A records are not the group property \(TXT\) and are ignored \(RFC 9432 §4\.3\)$/],
      },
      {
        name: 'a coo property of another type than PTR (§4.3)',
        body: 'm.zones PTR example.com.\ncoo.m.zones TXT "new.invalid."\n',
        members: [member('example.com.', 'm')],
        warnings: [/^coo\.m\.zones\.catalog\.invalid\.: TXT records are not the coo property \(PTR\) and are ignored/],
      },
      {
        name: 'a coo naming this catalog itself (§4.3.1)',
        body: 'm.zones PTR example.com.\ncoo.m.zones PTR CATALOG.invalid.\n',
        members: [member('example.com.', 'm')],
        warnings: [/^coo\.m\.zones\.catalog\.invalid\. names this catalog itself as the new owner of example\.com\.: ignored/],
      },
      {
        name: 'a member naming the catalog zone itself: a clash, ignored (§5.2)',
        body: 'self.zones PTR Catalog.Invalid.\nm.zones PTR example.com.\ngroup.self.zones TXT "x"\n',
        members: [member('example.com.', 'm')],
        warnings: [/^member node self\.zones\.catalog\.invalid\. names the catalog zone itself: ignored, a zone this server already has \(RFC 9432 §5\.2\)$/],
      },
      {
        name: 'records at the zones label itself (§4.1)',
        body: 'zones PTR example.org.\nm.zones PTR example.com.\n',
        members: [member('example.com.', 'm')],
        warnings: [/^zones\.catalog\.invalid\.: PTR records at the zones label itself are ignored; member nodes are <unique-N>\.zones\.catalog\.invalid\./],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const o = ok(catalogMembers(catalog(V2 + c.body)));
        expect(o.members).to.deep.equal(c.members);
        // Warnings in name order (the order of the set within a node is the image's, not the file's).
        const got = [...o.warnings].sort();
        expect(got).to.have.length(c.warnings.length);
        c.warnings.forEach((w, i) => expect(got[i]).to.match(w));
      });
    }

    it('warnings beyond the limit are counted in a last line', () => {
      const body = V2 + ['a', 'b', 'c', 'd'].map((id) => `${id}.zones PTR ${id}.example.\n${id}.zones TXT "x"\n`).join('');
      const o = ok(catalogMembers(catalog(body), { maxMembers: 10, maxWarnings: 2 }));
      expect(o.members).to.have.length(4);
      expect(o.warnings).to.deep.equal([
        'a.zones.catalog.invalid.: TXT records at a member node are ignored (RFC 9432 §3, §4.1)',
        'b.zones.catalog.invalid.: TXT records at a member node are ignored (RFC 9432 §3, §4.1)',
        '… and 2 more warnings like these',
      ]);
    });
  });
});

describe('catalog zones: what changed between two member lists (RFC 9432 §5)', () => {
  const a = member('a.example.', 'id-a');
  const b = member('b.example.', 'id-b', ['blue']);
  const c = member('c.example.', 'id-c');

  it('the first valid version: every member added', () => {
    expect(catalogChanges(null, [a, b])).to.deep.equal({ added: [a, b], removed: [], reset: [], regrouped: [], migrated: [], clashes: [] });
  });

  const cases: { name: string; before: CatalogMember[]; after: CatalogMember[]; want: Partial<Record<'added' | 'removed' | 'reset' | 'regrouped', CatalogMember[]>> }[] = [
    { name: 'nothing changed', before: [a, b], after: [b, a], want: {} },
    { name: 'a member added and one removed', before: [a, b], after: [b, c], want: { added: [c], removed: [a] } },
    { name: 'the unique id changed: a reset (§5.4)', before: [a, b], after: [member('a.example.', 'id-a2'), b], want: { reset: [member('a.example.', 'id-a2')] } },
    { name: 'the group changed: regrouped (§4.3.2)', before: [a, b], after: [a, member('b.example.', 'id-b', ['red'])], want: { regrouped: [member('b.example.', 'id-b', ['red'])] } },
    { name: 'a group added', before: [a], after: [member('a.example.', 'id-a', ['g'])], want: { regrouped: [member('a.example.', 'id-a', ['g'])] } },
    { name: 'id and group changed: a reset only (the zone is added anew with its new group)', before: [b], after: [member('b.example.', 'new', ['red'])], want: { reset: [member('b.example.', 'new', ['red'])] } },
    { name: 'the same groups in another order: nothing', before: [member('a.example.', 'id-a', ['x', 'y'])], after: [member('a.example.', 'id-a', ['y', 'x'])], want: {} },
    { name: 'zone and id in another case: the same member', before: [a], after: [member('A.Example.', 'ID-A')], want: {} },
    { name: 'a coo added: no change here (the migration happens on the new catalog, §4.3.1)', before: [a], after: [member('a.example.', 'id-a', [], 'new.invalid.')], want: {} },
    { name: 'every member removed', before: [a, b, c], after: [], want: { removed: [a, b, c] } },
  ];
  for (const t of cases) {
    it(t.name, () => {
      expect(catalogChanges(t.before, t.after)).to.deep.equal({ added: [], removed: [], reset: [], regrouped: [], migrated: [], clashes: [], ...t.want });
    });
  }

  describe('with the owners of the zones (name clashes §5.2, removal §5.3, migration §4.3.1 and §5.5)', () => {
    /** A context for catalog `self` whose zones are owned as `owners` says (keys in lower case). */
    function context(self: string, owners: Record<string, ZoneOwner>): CatalogContext {
      return { catalog: self, ownerOf: (zone) => owners[zone.toLowerCase()] ?? null };
    }
    const ours = (m: CatalogMember): ZoneOwner => ({ kind: 'catalog', catalog: 'CATALOG.invalid.', member: m });

    it('a zone nobody serves is added; one this catalog owns is compared with what was applied', () => {
      const ctx = context(CATZ, { 'b.example.': ours(member('b.example.', 'id-b', ['old'])) });
      expect(catalogChanges([b], [a, b], ctx)).to.deep.equal({ added: [a], removed: [], reset: [], regrouped: [b], migrated: [], clashes: [] });
    });

    it('a zone the configuration serves clashes and is ignored (§5.2)', () => {
      const ch = catalogChanges(null, [a], context(CATZ, { 'a.example.': { kind: 'configured' } }));
      expect(ch.added).to.deep.equal([]);
      expect(ch.clashes).to.have.length(1);
      expect(ch.clashes[0]!.owner).to.equal('configuration');
      expect(ch.clashes[0]!.why).to.equal('member zone a.example. of catalog catalog.invalid. is ignored: the configuration already serves it (RFC 9432 §5.2)');
    });

    it('a zone of another catalog without coo clashes, on every change while it lasts (§5.2)', () => {
      const ctx = context(CATZ, { 'a.example.': { kind: 'catalog', catalog: 'old.invalid.', member: member('a.example.', 'id-a') } });
      for (const before of [null, [a]]) {
        const ch = catalogChanges(before, [a], ctx);
        expect(ch.added).to.deep.equal([]);
        expect(ch.removed).to.deep.equal([]);
        expect(ch.clashes.map((x) => [x.owner, x.why])).to.deep.equal([
          ['old.invalid.', 'member zone a.example. of catalog catalog.invalid. is ignored: it is a member of catalog old.invalid., whose entry has no coo property naming catalog.invalid. (RFC 9432 §5.2, §4.3.1)'],
        ]);
      }
    });

    it('a zone another catalog hands over with coo migrates here; its state is kept only with the same unique id (§4.3.1)', () => {
      const same = context(CATZ, { 'a.example.': { kind: 'catalog', catalog: 'old.invalid.', member: member('a.example.', 'ID-A', [], 'Catalog.Invalid.') } });
      expect(catalogChanges(null, [a], same)).to.deep.equal({ added: [], removed: [], reset: [], regrouped: [], migrated: [{ member: a, from: 'old.invalid.', resetState: false }], clashes: [] });
      const other = context(CATZ, { 'a.example.': { kind: 'catalog', catalog: 'old.invalid.', member: member('a.example.', 'old-id', [], 'catalog.invalid.') } });
      expect(catalogChanges(null, [a], other).migrated).to.deep.equal([{ member: a, from: 'old.invalid.', resetState: true }]);
    });

    it('a coo naming a third catalog is no hand-over to this one: a clash', () => {
      const ctx = context(CATZ, { 'a.example.': { kind: 'catalog', catalog: 'old.invalid.', member: member('a.example.', 'id-a', [], 'third.invalid.') } });
      const ch = catalogChanges(null, [a], ctx);
      expect(ch.migrated).to.deep.equal([]);
      expect(ch.clashes).to.have.length(1);
    });

    it('on the old catalog, a zone already migrated away (its own coo names the owner) is left alone, and its removal removes nothing (§4.3.1, §5.3)', () => {
      const handed = member('a.example.', 'id-a', [], 'new.invalid.');
      const ctx = context(CATZ, { 'a.example.': { kind: 'catalog', catalog: 'NEW.invalid.', member: a } });
      expect(catalogChanges([handed], [handed, c], ctx)).to.deep.equal({ added: [c], removed: [], reset: [], regrouped: [], migrated: [], clashes: [] });
      expect(catalogChanges([handed], [], ctx)).to.deep.equal({ added: [], removed: [], reset: [], regrouped: [], migrated: [], clashes: [] });
    });

    it('a removal removes only zones this catalog owns (§5.3)', () => {
      const ctx = context(CATZ, { 'a.example.': ours(a), 'b.example.': { kind: 'configured' } });
      // c.example.: listed before, but nobody serves it (it clashed, and its owner went away).
      expect(catalogChanges([a, b, c], [], ctx).removed).to.deep.equal([a]);
    });

    it('a clash that ends (the other owner let the zone go) is added on the next change', () => {
      const ctx = context(CATZ, {});
      expect(catalogChanges([a], [a], ctx).added).to.deep.equal([a]);
    });

    it('end to end from two catalog images: the old catalog hands a member over, the new one takes it', () => {
      const old = ok(catalogMembers(catalog(V2 + 'x1.zones PTR example.com.\ncoo.x1.zones PTR new.invalid.\n', 'old.invalid.'))).members;
      const now = ok(catalogMembers(catalog(V2 + 'x1.zones PTR example.com.\ngroup.x1.zones TXT "blue"\n', 'new.invalid.'))).members;
      const owners: Record<string, ZoneOwner> = { 'example.com.': { kind: 'catalog', catalog: 'old.invalid.', member: old[0]! } };
      const ch = catalogChanges(null, now, context('new.invalid.', owners));
      expect(ch.migrated).to.deep.equal([{ member: member('example.com.', 'x1', ['blue']), from: 'old.invalid.', resetState: false }]);
      // Without the coo in the old catalog's current version, the same listing is a clash.
      const still = ok(catalogMembers(catalog(V2 + 'x1.zones PTR example.com.\n', 'old.invalid.'))).members;
      const ch2 = catalogChanges(null, now, context('new.invalid.', { 'example.com.': { kind: 'catalog', catalog: 'old.invalid.', member: still[0]! } }));
      expect(ch2.migrated).to.deep.equal([]);
      expect(ch2.clashes).to.have.length(1);
    });
  });
});

/** The lower-cased wire form of an absolute name without escapes. */
function wire(name: string): Uint8Array {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.');
  return Uint8Array.from([...labels.flatMap((l) => [l.length, ...Buffer.from(l, 'latin1')]), 0]);
}
