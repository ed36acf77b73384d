import { expect } from 'chai';
import { entriesFor, estimateSeconds, inRoundOrder, servesDnssec } from '../../../bench/run.js';
import { DEFAULTS } from '../../../bench/options.js';
import { FLOOR_BINARY, isFloor } from '../../../bench/floor.js';
import { runLabel, serverCommand } from '../../../bench/servers.js';
import { parseVariant, shardnsLabel } from '../../../bench/variants.js';

describe('bench shardns variants and the dns2 peer', () => {
  const cases: [string, string[] | null][] = [
    ['default', []],
    ['mmsg', ['--io', 'mmsg']],
    ['dgram', ['--io', 'dgram']],
    ['thread', ['--io', 'thread']],
    ['mmsg-nocache', ['--io', 'mmsg', '--answer-cache', '0']],
    ['dgram-cache5000', ['--io', 'dgram', '--answer-cache', '5000']],
    ['default-nocache', ['--answer-cache', '0']],
    ['epoll', null],
    ['mmsg-cache', null],
    ['mmsg-nocache-x', null],
    ['MMSG', null],
    ['', null],
  ];
  for (const [name, args] of cases) {
    it(`variant "${name}" → ${args === null ? 'refused' : JSON.stringify(args)}`, () => {
      const v = parseVariant(name);
      expect(v === null ? null : v.args).to.deep.equal(args);
    });
  }

  it('names variants in the report: plain shardns for the shipped settings', () => {
    expect(shardnsLabel('default')).to.equal('shardns');
    expect(shardnsLabel(undefined)).to.equal('shardns');
    expect(shardnsLabel('dgram')).to.equal('shardns dgram');
    expect(runLabel('shardns', 'mmsg-nocache')).to.equal('shardns mmsg-nocache');
    expect(runLabel('dns2')).to.equal('dns2');
    expect(runLabel('knot', 'ignored')).to.equal('Knot DNS');
  });

  it("adds a variant's flags to shardns serve, and starts dns2 as one node process on the zone", () => {
    const zone = { origin: 'example.com.', file: '/z/example.com.zone' };
    const sh = serverCommand({ kind: 'shardns', workers: 2, port: 25353, zone, dir: '/tmp/x', args: ['--io', 'dgram'] });
    expect(sh.args.slice(-2)).to.deep.equal(['--io', 'dgram']);
    expect(sh.args).to.include.members(['--zone', 'example.com.=/z/example.com.zone', '--workers', '2']);
    const fwd = serverCommand({ kind: 'shardns', workers: 1, port: 25353, zone: null, dir: '/tmp/x', args: ['--forward', '127.0.0.1:25354'] });
    expect(fwd.args).to.not.include('--zone');
    const d = serverCommand({ kind: 'dns2', workers: 1, port: 25355, zone, dir: '/tmp/x' });
    expect(d.command).to.equal(process.execPath);
    expect(d.args[0]).to.match(/dist\/bench\/peers\/dns2-server\.js$/);
    expect(d.args.slice(1)).to.deep.equal(['--port', '25355', '--zone', 'example.com.=/z/example.com.zone']);
    expect(() => serverCommand({ kind: 'nsd', workers: 1, port: 1, zone: null, dir: '/tmp/x' })).to.throw(/needs a zone/);
  });

  it("starts the kernel floor in its mode with the probe's address to answer with, and needs no zone", () => {
    const probe = { name: 'host1.example.com.', type: 'A', expect: '192.0.2.7' };
    const modes = (['floor-recvfrom', 'floor-mmsg', 'floor-uring'] as const).map((kind) => serverCommand({ kind, workers: 2, port: 25356, zone: null, dir: '/tmp/x', probe }));
    expect(modes.map((c) => c.args)).to.deep.equal([
      ['recvfrom', '25356', '2', '192.0.2.7'],
      ['mmsg', '25356', '2', '192.0.2.7'],
      ['uring', '25356', '2', '192.0.2.7'],
    ]);
    expect(modes[0]!.command).to.equal(FLOOR_BINARY);
    expect(() => serverCommand({ kind: 'floor-mmsg', workers: 1, port: 1, zone: null, dir: '/tmp/x' })).to.throw(/probe/);
    expect(['floor-recvfrom', 'floor-mmsg', 'floor-uring', 'nsd', 'shardns'].map(isFloor)).to.deep.equal([true, true, true, false, false]);
    expect(runLabel('floor-mmsg')).to.equal('floor recvmmsg');
  });

  it('runs the variants first, then the peers; dns2 only at 1 worker', () => {
    const v = ['mmsg', 'dgram'].map((n) => parseVariant(n)!);
    const names = (w: number): string[] => entriesFor(w, v, ['nsd', 'knot', 'dns2']).map((e) => runLabel(e.kind, e.variant?.name));
    expect(names(1)).to.deep.equal(['shardns mmsg', 'shardns dgram', 'NSD', 'Knot DNS', 'dns2']);
    expect(names(2)).to.deep.equal(['shardns mmsg', 'shardns dgram', 'NSD', 'Knot DNS']);
  });

  it('measures in that order in odd rounds and in reverse in even ones, leaving the list as it was', () => {
    const started = ['shardns', 'NSD', 'Knot DNS', 'dns2'];
    expect([1, 2, 3, 4].map((round) => inRoundOrder(started, round).join(' '))).to.deep.equal([
      'shardns NSD Knot DNS dns2',
      'dns2 Knot DNS NSD shardns',
      'shardns NSD Knot DNS dns2',
      'dns2 Knot DNS NSD shardns',
    ]);
    expect(started).to.deep.equal(['shardns', 'NSD', 'Knot DNS', 'dns2']);
  });

  it('keeps the default run under six minutes of load tests (before the zone-scale test)', () => {
    const sec = estimateSeconds({ ...DEFAULTS, out: '/out' }, DEFAULTS.peers);
    // 1 worker: shardns, NSD, Knot, dns2; 2 workers: shardns, NSD, Knot; forwarding: cache on, off. 26 s each, +2 s per forwarder.
    expect(sec).to.equal(7 * 26 + 2 * 28);
    expect(sec).to.be.below(300);
  });

  it('counts the signed scenarios in the estimate: shardns, NSD and Knot per denial method, no dns2 or floor', () => {
    expect(['shardns', 'nsd', 'knot', 'dns2', 'floor-mmsg'].filter((k) => servesDnssec(k as never))).to.deep.equal(['nsd', 'knot']);
    const o = { ...DEFAULTS, out: '/out', scenarios: ['signed' as const, 'signed-miss' as const], signed: ['nsec' as const, 'nsec3' as const], signedWorkers: [1, 2] };
    // 3 servers × 2 worker counts × 2 methods × 2 scenarios, 26 s each (start, warm-up, 2 rounds) + 1 s for the signature check.
    expect(estimateSeconds(o, ['nsd', 'knot', 'dns2', 'floor-mmsg'])).to.equal(3 * 2 * 2 * 2 * 27);
    expect(estimateSeconds({ ...o, scenarios: ['signed'] }, ['nsd'])).to.equal(2 * 2 * 2 * 27);
  });
});
