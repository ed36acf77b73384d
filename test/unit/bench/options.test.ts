import { expect } from 'chai';
import { DEFAULTS, MISS_LINES_PER_SECOND, missQueryLines, parseOptions } from '../../../bench/options.js';

const parse = (...argv: string[]): ReturnType<typeof parseOptions> => parseOptions(argv, '/out');

describe('bench options', () => {
  it('defaults: 1 and 2 workers, 10 s, 2 rounds, NSD, Knot and dns2, shardns as shipped, both scenarios, 10k/100k/1M zone scale', () => {
    const r = parse();
    expect(r.ok && r.options).to.deep.equal({ ...DEFAULTS, out: '/out' });
    expect(DEFAULTS.workers).to.deep.equal([1, 2]);
    expect(DEFAULTS.peers).to.deep.equal(['nsd', 'knot', 'dns2']);
    expect(DEFAULTS.variants).to.deep.equal(['default']);
    expect(DEFAULTS.scenarios).to.deep.equal(['auth', 'forward']);
    expect(DEFAULTS.forwardCache).to.deep.equal(['on', 'off']);
    expect(DEFAULTS.forwardWorkers).to.deep.equal([1]);
  });

  it('reads variants, scenarios and the forwarding settings', () => {
    const r = parse('--variants', 'mmsg,dgram,mmsg-nocache,mmsg', '--peers', 'nsd,knot,dns2', '--scenarios', 'forward', '--forward-cache', 'on,default,off,5000', '--forward-workers', '1,2');
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.options.variants).to.deep.equal(['mmsg', 'dgram', 'mmsg-nocache']);
    expect(r.options.peers).to.deep.equal(['nsd', 'knot', 'dns2']);
    expect(r.options.scenarios).to.deep.equal(['forward']);
    expect(r.options.forwardCache).to.deep.equal(['on', 'default', 'off', '5000']);
    expect(r.options.forwardWorkers).to.deep.equal([1, 2]);
    const none = parse('--scenarios', 'none');
    expect(none.ok && none.options.scenarios).to.deep.equal([]);
  });

  it('refuses unknown variants, scenarios and cache settings, naming each', () => {
    const r = parse('--variants', 'mmsg,epoll', '--scenarios', 'auth,recursive', '--forward-cache', 'on,big', '--forward-workers', '0');
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.errors).to.have.length(4);
    expect(r.errors.join('\n'))
      .to.match(/--variants: .*-nocache .*got "mmsg,epoll"/)
      .and.match(/--scenarios: .*got "auth,recursive"/)
      .and.match(/--forward-cache: .*got "on,big"/)
      .and.match(/--forward-workers: /);
  });

  it('reads lists, none, the zone and the peers', () => {
    const r = parse('--workers', '1,2,4', '--duration', '2.5', '--peers', 'knot', '--scale', 'none', '--zone', 'example.org=z/example.org.zone', '--clients', '16');
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.options.workers).to.deep.equal([1, 2, 4]);
    expect(r.options.durationSec).to.equal(2.5);
    expect(r.options.peers).to.deep.equal(['knot']);
    const floor = parse('--peers', 'nsd,floor-recvfrom,floor-mmsg,floor-uring');
    expect(floor.ok && floor.options.peers).to.deep.equal(['nsd', 'floor-recvfrom', 'floor-mmsg', 'floor-uring']);
    expect(r.options.scale).to.deep.equal([]);
    expect(r.options.zone).to.deep.equal({ origin: 'example.org.', file: 'z/example.org.zone' });
    expect(r.options.clients).to.equal(16);
    const none = parse('--peers', 'none', '--workers', 'none');
    expect(none.ok && none.options.peers).to.deep.equal([]);
    expect(none.ok && none.options.workers).to.deep.equal([]);
  });

  it('reports every problem at once', () => {
    const r = parse('--workers', '0,x', '--duration', 'long', '--peers', 'bind', '--zone', 'nofile', '--clients', '1000');
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.errors).to.have.length(5);
    expect(r.errors.join('\n')).to.match(/--workers: .*got "0,x"/).and.match(/--duration/).and.match(/--peers: .*nsd, knot, dns2.*"bind"/).and.match(/--zone: must be ORIGIN=FILE/).and.match(/--clients: .*1 to 256/);
  });

  it('rejects unknown flags', () => {
    const r = parse('--wrokers', '2');
    expect(r.ok).to.equal(false);
    expect(!r.ok && r.errors[0]).to.match(/wrokers/);
  });

  it('reads the cache-missing scenario: its share, worker counts and file length', () => {
    expect(DEFAULTS.missShare).to.equal(0.8);
    expect(DEFAULTS.missWorkers).to.deep.equal([1]);
    const r = parse('--scenarios', 'auth,miss', '--miss-share', '0.5', '--miss-workers', '1,2', '--miss-queries', '300000');
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.options.scenarios).to.deep.equal(['auth', 'miss']);
    expect(r.options.missShare).to.equal(0.5);
    expect(r.options.missWorkers).to.deep.equal([1, 2]);
    expect(r.options.missQueries).to.equal(300_000);
    expect(missQueryLines(r.options)).to.equal(300_000);
    const auto = parse('--scenarios', 'miss', '--duration', '5', '--warmup', '2');
    if (!auto.ok) throw new Error(auto.errors.join());
    expect(auto.options.missQueries).to.equal(null);
    expect(missQueryLines(auto.options)).to.equal(5 * MISS_LINES_PER_SECOND);
    expect(missQueryLines({ ...auto.options, durationSec: 0.1, warmupSec: 0 })).to.equal(auto.options.queries);
  });

  it('refuses a share outside (0, 1] and an empty worker list', () => {
    for (const bad of ['0', '1.5', 'x', '']) {
      const r = parse('--miss-share', bad);
      expect(r.ok, bad).to.equal(false);
      expect(!r.ok && r.errors.join()).to.match(/--miss-share: must be a share above 0 and at most 1/);
    }
    expect(parse('--miss-share', '1').ok).to.equal(true);
    const r = parse('--miss-workers', '0', '--miss-queries', '0', '--scale-workers', 'none', '--scale-timeout', '0');
    expect(r.ok).to.equal(false);
    expect(!r.ok && r.errors).to.have.length(4);
  });

  it('reads zone-scale worker lists and the per-server timeout', () => {
    expect(DEFAULTS.scaleWorkers).to.deep.equal([1]);
    expect(DEFAULTS.scaleTimeoutSec).to.equal(300);
    const r = parse('--scale', '1000000,10000000', '--scale-workers', '2,4,2', '--scale-timeout', '900');
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.options.scale).to.deep.equal([1_000_000, 10_000_000]);
    expect(r.options.scaleWorkers).to.deep.equal([2, 4]);
    expect(r.options.scaleTimeoutSec).to.equal(900);
  });

  it('reads the signed scenarios: the denial methods and worker counts (NSEC3 at 1 worker by default)', () => {
    expect(DEFAULTS.signed).to.deep.equal(['nsec3']);
    expect(DEFAULTS.signedWorkers).to.deep.equal([1]);
    expect(DEFAULTS.scenarios).to.not.include('signed');
    const r = parse('--scenarios', 'signed,signed-miss', '--signed', 'nsec,nsec3,nsec', '--signed-workers', '1,2');
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.options.scenarios).to.deep.equal(['signed', 'signed-miss']);
    expect(r.options.signed).to.deep.equal(['nsec', 'nsec3']);
    expect(r.options.signedWorkers).to.deep.equal([1, 2]);
    const one = parse('--signed', 'nsec');
    expect(one.ok && one.options.signed).to.deep.equal(['nsec']);
  });

  it('refuses other denial methods and bad signed worker counts, naming each', () => {
    for (const bad of ['nsec5', 'NSEC3', '', 'nsec3,']) {
      const r = parse('--signed', bad);
      expect(r.ok, bad).to.equal(false);
      expect(!r.ok && r.errors.join()).to.match(/--signed: must be nsec, nsec3 or nsec,nsec3/);
    }
    const r = parse('--signed', 'rsa', '--signed-workers', '0', '--scenarios', 'signed,dnssec');
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.errors).to.have.length(3);
    expect(r.errors.join('\n')).to.match(/--signed-workers: /).and.match(/--scenarios: .*signed, signed-miss .*got "signed,dnssec"/);
  });
});
