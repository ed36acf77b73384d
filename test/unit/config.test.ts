import { expect } from 'chai';
import { defaultStateDir, resolveConfig } from '../../src/config.js';

describe('resolveConfig', () => {
  const cwd = '/srv/dns';
  it('gives the defaults: loopback v4 and v6, port 53, a worker per usable CPU', () => {
    const r = resolveConfig({}, null, null, 3, cwd);
    expect(r.ok && r.config).to.deep.include({ listen: ['127.0.0.1', '::1'], port: 53, workers: 3, workerTimeout: 5, logLevel: 'info', logFormat: 'text' });
  });
  it('command line wins over the config file, which wins over defaults', () => {
    const r = resolveConfig({ port: '5353' }, { port: 5300, workers: 2, 'log-format': 'json' }, 'c.json', 8, cwd);
    expect(r.ok && r.config).to.deep.include({ port: 5353, workers: 2, logFormat: 'json' });
  });
  it('--listen is repeatable, comma lists too, duplicates removed', () => {
    const r = resolveConfig({ listen: ['127.0.0.2', '::1,127.0.0.2', 'fe80::1%lo'] }, null, null, 1, cwd);
    expect(r.ok && r.config.listen).to.deep.equal(['127.0.0.2', '::1', 'fe80::1%lo']);
  });
  it('zones from the command line resolve against the cwd, from the file against its folder', () => {
    const cli = resolveConfig({ zone: ['example.com=zones/a.zone'] }, null, null, 1, cwd);
    expect(cli.ok && cli.config.zones).to.deep.equal([{ name: 'example.com.', type: 'primary', file: '/srv/dns/zones/a.zone', notify: [], allowTransfer: [], allowNotify: [] }]);
    const file = resolveConfig({}, { zones: [{ name: 'example.org.', file: 'org.zone' }] }, 'etc/shardns.json', 1, cwd);
    expect(file.ok && file.config.zones).to.deep.equal([{ name: 'example.org.', type: 'primary', file: '/srv/dns/etc/org.zone', notify: [], allowTransfer: [], allowNotify: [], journal: false }]);
  });

  const bad: { name: string; cli: Record<string, unknown>; file?: Record<string, unknown>; problems: RegExp[] }[] = [
    { name: 'port not a number', cli: { port: 'abc' }, problems: [/^--port: must be a whole number from 1 to 65535, got "abc"$/] },
    { name: 'port out of range', cli: { port: '70000' }, problems: [/--port: .*got "70000"/] },
    { name: 'zero workers', cli: { workers: '0' }, problems: [/--workers: must be a whole number from 1 to 256/] },
    { name: 'fractional workers', cli: { workers: '1.5' }, problems: [/--workers/] },
    { name: 'negative timeout', cli: { 'worker-timeout': '-1' }, problems: [/--worker-timeout: must be a number of seconds/] },
    { name: 'listen not an address', cli: { listen: ['localhost'] }, problems: [/--listen: not an IP address: "localhost"/] },
    { name: 'bad log level', cli: { 'log-level': 'loud' }, problems: [/--log-level: must be one of debug, info, warn, error, got "loud"/] },
    { name: 'zone without file', cli: { zone: ['example.com'] }, problems: [/--zone: expected ORIGIN=FILE, got "example.com"/] },
    { name: 'zone listed twice', cli: { zone: ['a.=x', 'A=y'] }, problems: [/zone A\. is listed twice/] },
    { name: 'unknown config key', cli: {}, file: { prot: 53 }, problems: [/c\.json: unknown setting "prot"; known settings: listen, port/] },
    { name: 'bad value in the file names the file and key', cli: {}, file: { port: 'x' }, problems: [/^c\.json: "port": must be a whole number/] },
    { name: 'an empty state-dir', cli: { 'state-dir': ' ' }, problems: [/^--state-dir: must be a folder path, got " "$/] },
    { name: 'a state-dir in the file that is not a string', cli: {}, file: { 'state-dir': 5 }, problems: [/^c\.json: "state-dir": must be a folder path, got 5$/] },
    { name: 'udp-coalesce-us above its bound', cli: { io: 'thread', 'udp-coalesce-us': '5000' }, problems: [/^--udp-coalesce-us: must be a whole number from 0 to 1000, got "5000"$/] },
    { name: 'udp-coalesce-us not a number', cli: { io: 'thread', 'udp-coalesce-us': '20us' }, problems: [/^--udp-coalesce-us: must be a whole number from 0 to 1000, got "20us"$/] },
    { name: 'udp-coalesce-us with an engine that does not wait', cli: { 'udp-coalesce-us': '50' }, problems: [/^--udp-coalesce-us 50: only the UDP thread waits to coalesce batches, and --io is mmsg: give --io thread, or --udp-coalesce-us 0$/] },
    { name: 'a state-dir with ~ (not expanded)', cli: {}, file: { 'state-dir': '~/state' }, problems: [/^c\.json: "state-dir": "~" is not expanded here: give the folder as an absolute path, got "~\/state"$/] },
    {
      name: 'every problem is reported, not just the first',
      cli: { port: '0', workers: 'many', 'log-format': 'xml' },
      problems: [/--port/, /--workers/, /--log-format/],
    },
  ];
  for (const c of bad) {
    it(`refuses: ${c.name}`, () => {
      const r = resolveConfig(c.cli, c.file ?? null, c.file ? 'c.json' : null, 1, cwd);
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.problems).to.have.length(c.problems.length);
      c.problems.forEach((p, i) => expect(r.problems[i]).to.match(p));
    });
  }
});

describe('state-dir', () => {
  const cases: { who: string; uid: number; env: Record<string, string>; dir: string }[] = [
    { who: 'root', uid: 0, env: { XDG_STATE_HOME: '/home/x/.state' }, dir: '/var/lib/shardns' },
    { who: 'a user with XDG_STATE_HOME', uid: 1000, env: { XDG_STATE_HOME: '/home/x/.state' }, dir: '/home/x/.state/shardns' },
    { who: 'a user with a relative XDG_STATE_HOME (invalid, ignored)', uid: 1000, env: { XDG_STATE_HOME: 'state' }, dir: '/home/x/.local/state/shardns' },
    { who: 'a user without XDG_STATE_HOME', uid: 1000, env: {}, dir: '/home/x/.local/state/shardns' },
  ];
  for (const c of cases) {
    it(`defaults for ${c.who}: ${c.dir}`, () => expect(defaultStateDir(c.uid, c.env, '/home/x')).to.equal(c.dir));
  }

  it('is the default when not given', () => {
    const r = resolveConfig({}, null, null, 1, '/srv/dns');
    expect(r.ok && r.config.stateDir).to.equal(defaultStateDir());
  });

  it('resolves against the config file folder, on the command line against the cwd; absolute stays', () => {
    const file = resolveConfig({}, { 'state-dir': 'state' }, 'etc/shardns.json', 1, '/srv/dns');
    expect(file.ok && file.config.stateDir).to.equal('/srv/dns/etc/state');
    const cli = resolveConfig({ 'state-dir': 'var/state' }, { 'state-dir': 'state' }, 'etc/shardns.json', 1, '/srv/dns');
    expect(cli.ok && cli.config.stateDir).to.equal('/srv/dns/var/state');
    const abs = resolveConfig({ 'state-dir': '/var/lib/other/' }, null, null, 1, '/srv/dns');
    expect(abs.ok && abs.config.stateDir).to.equal('/var/lib/other');
  });
});
