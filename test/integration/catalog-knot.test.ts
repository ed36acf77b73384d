import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { catalogChanges, catalogMembers, type CatalogMember, type CatalogOutcome } from '../../src/xfr/catalog.js';
import { compileSources } from '../../src/zone/image/build.js';
import { joinImage } from '../../src/zone/image/compile.js';
import { ZoneImage } from '../../src/zone/image/image.js';
import { knotUnavailable, startKnot, type Knot, type KnotZone } from '../helpers/knot.js';
import { freePort, until } from '../helpers/server.js';
import { writeZone } from '../helpers/zone-text.js';
import { kdigUnavailable } from '../helpers/transfer-checks.js';

/** The catalog zone's records by `kdig axfr`, one line each, the closing SOA left out (RFC 5936 §2.2); null when Knot gives no transfer (yet). */
function transfer(port: number, zone: string): string[] | null {
  const r = spawnSync('kdig', ['@127.0.0.1', '-p', String(port), 'AXFR', zone, '+nocomments', '+nostats'], { encoding: 'utf8' });
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';'));
  if (lines.length < 2 || lines.at(-1) !== lines[0]) return null;
  return lines.slice(0, -1);
}

/** Polls Knot until its catalog's transfer satisfies `ready` (Knot regenerates the catalog after a load or reload). */
async function transferWhen(knot: Knot, zone: string, ready: (lines: string[]) => boolean): Promise<string[]> {
  let last: string[] | null = null;
  const ok = await until(() => {
    last = transfer(knot.port, zone);
    return last !== null && ready(last);
  }, 20_000, 200);
  if (!ok) expect.fail(`Knot's catalog never became as expected; last transfer:\n${(last as string[] | null)?.join('\n') ?? '(none)'}\nKnot's log:\n${knot.log()}`);
  return last!;
}

/** The PTR records at member nodes in the transferred text: `<unique-N>` → member zone, read from the text (not through our image). */
function ptrsOf(lines: string[], catalog: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const [owner, , klass, type, target] = l.split(/\s+/);
    const m = new RegExp(`^([^.]+)\\.zones\\.${catalog.replace(/\./g, '\\.')}$`, 'i').exec(owner!);
    if (m && klass === 'IN' && type === 'PTR') out.set(m[1]!, target!);
  }
  return out;
}

/** Writes zone text to a zone file and reads it as the server would: parsed and compiled (compileSources), opened and verified as an image. */
function compileCatalog(dir: string, name: string, text: string): ZoneImage {
  const file = join(dir, `${name}zone`);
  writeFileSync(file, text);
  const c = compileSources({ name, file });
  if (c.kind !== 'compiled') expect.fail(`the catalog does not compile:\n${c.errors.join('\n')}\n${text}`);
  expect(c.warnings).to.deep.equal([]);
  return new ZoneImage(joinImage(c.image), { verify: true });
}

/** The members of an outcome that must be ok, with no warnings. */
function membersOk(o: CatalogOutcome): CatalogMember[] {
  if (o.kind !== 'ok') expect.fail(`catalog refused: ${o.why}`);
  expect(o.version).to.equal(2);
  expect(o.warnings).to.deep.equal([]);
  return o.members;
}

const byZone = (a: CatalogMember, b: CatalogMember): number => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0);

describe('catalog zones produced by Knot 3.2 (catalog-role: generate), read by catalogMembers (RFC 9432)', function () {
  this.timeout(90_000);
  const missing = knotUnavailable() ?? kdigUnavailable();
  const CATZ = 'catalog.invalid.';
  let knot: Knot;
  let dir: string;
  let oneFile: string;
  let twoFile: string;
  /** The member lists as each step left them. */
  let both: CatalogMember[] | undefined;
  let onlyOne: CatalogMember[] | undefined;

  const catalogZone: KnotZone = { name: CATZ, catalog: 'generate' };
  const one = (group?: string): KnotZone => ({ name: 'one.example.', file: oneFile, catalogZone: CATZ, ...(group === undefined ? {} : { catalogGroup: group }) });
  // Written in mixed case in Knot's configuration: Knot writes member names in lower case.
  const two = (): KnotZone => ({ name: 'Two.Example.', file: twoFile, catalogZone: CATZ, catalogGroup: 'blue' });

  before(async function () {
    if (missing) {
      console.log(`      skip: ${missing}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'shardns-catalog-'));
    oneFile = writeZone('one.example', ['www A 192.0.2.1']);
    twoFile = writeZone('two.example', ['www A 192.0.2.2']);
    knot = await startKnot([catalogZone, one(), two()], await freePort());
  });
  after(() => {
    knot?.stop();
    for (const d of [dir, oneFile && dirname(oneFile), twoFile && dirname(twoFile)]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('two members: catalogMembers gives exactly the two zones Knot is configured with, the group, and the unique ids Knot wrote', async () => {
    const lines = await transferWhen(knot, CATZ, (l) => ptrsOf(l, CATZ).size === 2);
    const members = membersOk(catalogMembers(compileCatalog(dir, CATZ, lines.join('\n') + '\n')));
    const ptrs = ptrsOf(lines, CATZ);
    // Knot 3.2 names member nodes by a 64-bit SipHash in hex (src/knot/catalog/generate.c).
    for (const id of ptrs.keys()) expect(id).to.match(/^[0-9a-f]{16}$/);
    const idOf = (zone: string): string => [...ptrs].find(([, z]) => z === zone)![0];
    expect([...members].sort(byZone)).to.deep.equal([
      { zone: 'one.example.', id: idOf('one.example.'), group: [], coo: null },
      { zone: 'two.example.', id: idOf('two.example.'), group: ['blue'], coo: null },
    ]);
    expect(catalogChanges(null, members)).to.deep.include({ added: members, removed: [], reset: [], regrouped: [] });
    both = members;
  });

  it('a member removed from Knot (its configuration changed, knotc reload): catalogChanges reports it removed', async () => {
    expect(both, 'the first step did not run').to.not.equal(undefined);
    const out = knot.reconfigure([catalogZone, one()]);
    expect(out, knot.log()).to.match(/Reloaded/);
    const lines = await transferWhen(knot, CATZ, (l) => ptrsOf(l, CATZ).size === 1);
    const members = membersOk(catalogMembers(compileCatalog(dir, CATZ, lines.join('\n') + '\n')));
    expect(members).to.deep.equal(both!.filter((m) => m.zone === 'one.example.'));
    const changes = catalogChanges(both!, members);
    expect(changes).to.deep.equal({ added: [], removed: both!.filter((m) => m.zone === 'two.example.'), reset: [], regrouped: [], migrated: [], clashes: [] });
    onlyOne = members;
  });

  it("a member's group changed in Knot (catalog-group): catalogChanges reports it regrouped, its unique id kept", async () => {
    expect(onlyOne, 'the second step did not run').to.not.equal(undefined);
    const out = knot.reconfigure([catalogZone, one('red')]);
    expect(out, knot.log()).to.match(/Reloaded/);
    const lines = await transferWhen(knot, CATZ, (l) => l.some((x) => /^group\./.test(x) && /"red"/.test(x)));
    const members = membersOk(catalogMembers(compileCatalog(dir, CATZ, lines.join('\n') + '\n')));
    expect(members).to.deep.equal([{ ...onlyOne![0]!, group: ['red'] }]);
    expect(catalogChanges(onlyOne!, members)).to.deep.equal({ added: [], removed: [], reset: [], regrouped: members, migrated: [], clashes: [] });
  });
});

describe('catalog zones as BIND writes them (BIND ARM, Catalog Zones; named is not installed here: zone text written by hand)', () => {
  /** The wire form of a name, for BIND's member labels: the SHA-1 of the member name's wire form, as the ARM's example label is. */
  const wire = (name: string): Buffer => Buffer.from([...name.replace(/\.$/, '').split('.').flatMap((l) => [l.length, ...Buffer.from(l, 'latin1')]), 0]);
  const label = (zone: string): string => createHash('sha1').update(wire(zone)).digest('hex');
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-catalog-bind-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * The ARM's catalog: SOA `. .`, NS invalid., version "2", one member
   * under a SHA-1 label and one under "uniquelabel", BIND's custom
   * properties under `ext` (primaries with and without a TSIG key name,
   * allow-query as APL) globally and per member, and a coo moving the
   * second member to catalog2.example. The APL is in RFC 3597 form (our
   * zone parser reads APL only so); its RDATA is 1:10.0.0.1/24.
   */
  const bindCatalog = [
    'catalog.example.    IN SOA . . 2016022901 900 600 86400 1',
    'catalog.example.    IN NS invalid.',
    'version.catalog.example.    IN TXT "2"',
    `${label('domain.example.')}.zones.catalog.example. IN PTR domain.example.`,
    'uniquelabel.zones.catalog.example. IN PTR domain2.example.',
    'primaries.ext.catalog.example.    IN AAAA 2001:db8::1',
    'label.primaries.ext.catalog.example.     IN A 192.0.2.2',
    'label.primaries.ext.catalog.example.     IN TXT "tsig_key_name"',
    'allow-query.ext.catalog.example.   IN APL \\# 8 000118040a000001',
    `primaries.ext.${label('domain.example.')}.zones.catalog.example. IN A 192.0.2.2`,
    `label.primaries.ext.${label('domain.example.')}.zones.catalog.example. IN AAAA 2001:db8::2`,
    `label.primaries.ext.${label('domain.example.')}.zones.catalog.example. IN TXT "tsig_key_name"`,
    `allow-query.ext.${label('domain.example.')}.zones.catalog.example. IN APL \\# 5 00011801 0a`,
    'primaries.ext.uniquelabel.zones.catalog.example. IN A 192.0.2.3',
    'coo.uniquelabel.zones.catalog.example. IN PTR catalog2.example.',
    '',
  ].join('\n');

  it('gives the two members, their ids, and the coo; the custom properties are ignored without a warning', () => {
    expect(label('domain.example.')).to.equal('5960775ba382e7a4e09263fc06e7c00569b6a05c'); // the ARM's example label
    const members = membersOk(catalogMembers(compileCatalog(dir, 'catalog.example.', '$TTL 3600\n' + bindCatalog)));
    expect(members).to.deep.equal([
      { zone: 'domain.example.', id: '5960775ba382e7a4e09263fc06e7c00569b6a05c', group: [], coo: null },
      { zone: 'domain2.example.', id: 'uniquelabel', group: [], coo: 'catalog2.example.' },
    ]);
  });

  it('the coo hands domain2.example. over when catalog2.example. lists it (RFC 9432 §4.3.1), the state kept under the same label', () => {
    const old = membersOk(catalogMembers(compileCatalog(dir, 'catalog.example.', '$TTL 3600\n' + bindCatalog)));
    const next = [
      'catalog2.example. IN SOA . . 1 900 600 86400 1',
      'catalog2.example. IN NS invalid.',
      'version.catalog2.example. IN TXT "2"',
      'uniquelabel.zones.catalog2.example. IN PTR domain2.example.',
      '',
    ].join('\n');
    const now = membersOk(catalogMembers(compileCatalog(dir, 'catalog2.example.', '$TTL 3600\n' + next)));
    const owned = new Map(old.map((m) => [m.zone, m]));
    const changes = catalogChanges(null, now, {
      catalog: 'catalog2.example.',
      ownerOf: (zone) => {
        const m = owned.get(zone.toLowerCase());
        return m === undefined ? null : { kind: 'catalog', catalog: 'catalog.example.', member: m };
      },
    });
    expect(changes).to.deep.equal({ added: [], removed: [], reset: [], regrouped: [], migrated: [{ member: now[0], from: 'catalog.example.', resetState: false }], clashes: [] });
  });
});
