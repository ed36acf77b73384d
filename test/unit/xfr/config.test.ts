import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { primaryZones, resolveConfig } from '../../../src/config.js';

const SECRET = Buffer.alloc(32, 1).toString('base64');
const KEYS = [{ name: 'xfr-key', algorithm: 'hmac-sha256', secret: SECRET }];

/** resolveConfig of a config file holding these values (command line empty). */
function fromFile(values: Record<string, unknown>, dir = '/srv/dns'): ReturnType<typeof resolveConfig> {
  return resolveConfig({}, values, join(dir, 'c.json'), 1, '/');
}

describe('config: zones with their transfer settings, and TSIG keys', () => {
  it('reads a primary and a secondary with notify, allow-transfer, allow-notify and keys', () => {
    const r = fromFile({
      keys: KEYS,
      zones: [
        { name: 'example.com', file: 'zones/example.com.zone', notify: ['192.0.2.2', { address: '[2001:db8::3]:5300', key: 'XFR-KEY.' }], 'allow-transfer': ['192.0.2.0/24', 'xfr-key', { address: '10.0.0.0/8', key: 'xfr-key' }, 'any'] },
        { name: 'example.net.', type: 'secondary', primaries: ['192.0.2.1:5353', { address: '192.0.2.9', key: 'xfr-key' }], 'allow-notify': ['192.0.2.1'] },
      ],
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.keys).to.deep.equal([{ name: 'xfr-key.', algorithm: 'hmac-sha256', secret: SECRET }]);
    expect(r.config.zones).to.deep.equal([
      {
        name: 'example.com.',
        type: 'primary',
        file: '/srv/dns/zones/example.com.zone',
        journal: true,
        notify: [
          { address: '192.0.2.2', port: 53, key: null },
          { address: '2001:db8::3', port: 5300, key: 'xfr-key.' },
        ],
        allowTransfer: [
          { address: '192.0.2.0/24', key: null },
          { address: null, key: 'xfr-key.' },
          { address: '10.0.0.0/8', key: 'xfr-key.' },
          { address: 'any', key: null },
        ],
        allowNotify: [],
      },
      {
        name: 'example.net.',
        type: 'secondary',
        primaries: [
          { address: '192.0.2.1', port: 5353, key: null },
          { address: '192.0.2.9', port: 53, key: 'xfr-key.' },
        ],
        notify: [],
        allowTransfer: [],
        allowNotify: [{ address: '192.0.2.1', key: null }],
      },
    ]);
    expect(primaryZones(r.config).map((z) => z.name)).to.deep.equal(['example.com.']);
  });

  it('--zone NAME=FILE stays a primary with no transfers; a zone file entry without settings too', () => {
    const cli = resolveConfig({ zone: ['a.test=a.zone'] }, null, null, 1, '/srv');
    expect(cli.ok && cli.config.zones).to.deep.equal([{ name: 'a.test.', type: 'primary', file: '/srv/a.zone', notify: [], allowTransfer: [], allowNotify: [] }]);
  });

  it('reads a catalog zone: a secondary with "catalog": true', () => {
    const r = fromFile({ zones: [{ name: 'catalog.example.', type: 'secondary', catalog: true, primaries: ['192.0.2.1'] }, { name: 'plain.example.', type: 'secondary', catalog: false, primaries: ['192.0.2.1'] }] });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.zones.map((z) => (z.type === 'secondary' ? z.catalog ?? false : null))).to.deep.equal([true, false]);
  });

  const bad: { name: string; values: Record<string, unknown>; problems: RegExp[] }[] = [
    {
      name: 'an unknown setting in a zone entry (a typo) names the zone and the setting, and the likely one',
      values: { zones: [{ name: 'example.com.', file: 'z', 'allow-trasnfer': ['any'] }] },
      problems: [/^\/srv\/dns\/c\.json: "zones": zone example\.com\.: "allow-trasnfer": unknown setting \(did you mean "allow-transfer"\?\); a zone takes name, type, file, primaries, notify, allow-transfer, allow-notify, catalog$/],
    },
    { name: 'a secondary without primaries', values: { zones: [{ name: 'example.net.', type: 'secondary' }] }, problems: [/zone example\.net\.: a secondary zone needs "primaries": the servers it transfers the zone from/] },
    { name: 'a primary without a file', values: { zones: [{ name: 'example.com.' }] }, problems: [/zone example\.com\.: a primary zone needs "file" \(its zone file\), or "type": "secondary" and "primaries"/] },
    { name: 'a file on a secondary', values: { zones: [{ name: 'x.', type: 'secondary', file: 'f', primaries: ['192.0.2.1'] }] }, problems: [/zone x\.: "file": is for primary zones; a secondary keeps what it transfers in the state directory: remove "file"/] },
    { name: 'primaries on a primary', values: { zones: [{ name: 'x.', file: 'f', primaries: ['192.0.2.1'] }] }, problems: [/zone x\.: "primaries": is for secondary zones: add "type": "secondary"/] },
    { name: 'allow-notify on a primary', values: { zones: [{ name: 'x.', file: 'f', 'allow-notify': ['any'] }] }, problems: [/zone x\.: "allow-notify": is for secondary zones/] },
    { name: 'catalog on a primary', values: { zones: [{ name: 'x.', file: 'f', catalog: true }] }, problems: [/zone x\.: "catalog": is for secondary zones \(shardns consumes catalogs, RFC 9432/] },
    { name: 'catalog that is not true or false', values: { zones: [{ name: 'x.', type: 'secondary', primaries: ['192.0.2.1'], catalog: 'yes' }] }, problems: [/zone x\.: "catalog": must be true \(the zone is a catalog, RFC 9432: its members become secondary zones\) or false, got "yes"/] },
    { name: 'type master (BIND\'s word)', values: { zones: [{ name: 'x.', type: 'master', file: 'f' }] }, problems: [/zone x\.: "type": must be "primary" .* got "master": write "primary"/] },
    { name: 'an unknown key name in notify', values: { keys: KEYS, zones: [{ name: 'x.', file: 'f', notify: [{ address: '192.0.2.2', key: 'nokey' }] }] }, problems: [/zone x\.: "notify": key "nokey" is not among "keys": define it there .*; the keys defined are xfr-key\./] },
    { name: 'an allow-transfer entry that is neither an address nor a key', values: { zones: [{ name: 'x.', file: 'f', 'allow-transfer': ['10.0.0.300'] }] }, problems: [/zone x\.: "allow-transfer": "10\.0\.0\.300" is neither an address or CIDR block .* nor the name of a key in "keys"/] },
    { name: 'a notify target that is not an address', values: { zones: [{ name: 'x.', file: 'f', notify: ['ns2.example.net'] }] }, problems: [/zone x\.: "notify": /] },
    { name: 'an HMAC-MD5 key', values: { keys: [{ name: 'old', algorithm: 'hmac-md5', secret: SECRET }] }, problems: [/"keys": key old\.: "algorithm" must be one of hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512, got "hmac-md5" \(HMAC-MD5 is not supported/] },
    { name: 'a secret that is not base64', values: { keys: [{ name: 'k', algorithm: 'hmac-sha256', secret: 'not base64!' }] }, problems: [/key k\.: the secret is not base64/] },
    { name: 'a key twice', values: { keys: [...KEYS, ...KEYS] }, problems: [/key xfr-key\.: is defined twice/] },
    { name: 'a typo in a key entry', values: { keys: [{ name: 'k', algorithm: 'hmac-sha256', secert: SECRET }] }, problems: [/key k\.: unknown setting "secert" \(did you mean "secret"\?\)/, /key k\.: needs "secret" \(base64\) or "secret-file"/] },
    {
      name: 'every zone\'s problems at once',
      values: { zones: [{ name: 'a.', file: 'f', nofity: [] }, { name: 'b.', type: 'secondary' }] },
      problems: [/zone a\.: "nofity": unknown setting \(did you mean "notify"\?\)/, /zone b\.: a secondary zone needs "primaries"/],
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => {
      const r = fromFile(c.values);
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.problems, r.problems.join('\n')).to.have.length(c.problems.length);
      c.problems.forEach((p, i) => expect(r.problems[i]).to.match(p));
    });
  }

  it('reads a secret-file: the base64 alone, or a key file as tsig-keygen or keymgr -t writes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardns-keys-'));
    writeFileSync(join(dir, 'bare.key'), `${SECRET}\n`);
    writeFileSync(join(dir, 'bind.key'), `key "k2" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`);
    writeFileSync(join(dir, 'knot.key'), `key:\n  - id: k3\n    algorithm: hmac-sha256\n    secret: ${SECRET}\n`);
    const r = fromFile(
      {
        keys: [
          { name: 'k1', algorithm: 'hmac-sha256', 'secret-file': 'bare.key' },
          { name: 'k2', algorithm: 'hmac-sha256', 'secret-file': 'bind.key' },
          { name: 'k3', algorithm: 'hmac-sha256', 'secret-file': join(dir, 'knot.key') },
        ],
      },
      dir,
    );
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.keys.map((k) => k.secret)).to.deep.equal([SECRET, SECRET, SECRET]);
    const missing = fromFile({ keys: [{ name: 'k', algorithm: 'hmac-sha256', 'secret-file': 'nowhere.key' }] }, dir);
    expect(missing.ok === false && missing.problems[0]).to.match(/key k\.: cannot read "secret-file" .*nowhere\.key: ENOENT — check the path/);
  });
});
