/** forward-routes: routing names to their most specific forward zone, the packed form the zones travel to a worker in, and what 10,000 of them cost a worker. */

import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import { resolveConfig, type Config } from '../../../src/config.js';
import { forwardRoutes, packForwardZones, unpackForwardZones, type PackedForwardZones, type Route } from '../../../src/forward/forward-routes.js';
import { parseForwardZones, type ForwardZone } from '../../../src/forward/forward-zones.js';
import { formatUpstream } from '../../../src/forward/upstreams.js';
import { startMessage } from '../../../src/ipc.js';

function zones(raw: unknown): ForwardZone[] {
  const r = parseForwardZones(raw);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.zones;
}

/** A route as text: `default`, `nowhere corp.test.`, `corp.test. 10.0.0.1:53`. */
function show(r: Route): string {
  if (r.kind === 'default') return 'default';
  if (r.kind === 'nowhere') return `nowhere ${r.zone}`;
  return `${r.zone} ${r.upstreams.map(formatUpstream).join(',')}`;
}

/** As the worker gets them: packed, through structured clone (the IPC's 'advanced' serialization), unpacked. */
function overIpc(z: ForwardZone[]): ReturnType<typeof forwardRoutes> {
  const r = unpackForwardZones(v8.deserialize(v8.serialize(packForwardZones(z))) as PackedForwardZones);
  if (r.kind === 'error') throw new Error(r.message);
  return r.routes;
}

/** `d0.corp.test.` … with `count` zones spread over `lists` upstream lists. */
function many(count: number, lists: number): ForwardZone[] {
  return zones(Array.from({ length: count }, (_, i) => `d${i}.corp${i % 97}.test.=10.${((i % lists) >> 8) & 255}.${i % lists & 255}.1`));
}

describe('ForwardRoutes: the most specific forward zone wins', () => {
  const configured = zones([
    'corp.example.=10.0.0.1',
    'lab.corp.example.=10.0.0.2',
    'blocked.lab.corp.example.=none',
    '10.in-addr.arpa.=10.0.0.3',
    '8.b.d.0.1.0.0.2.ip6.arpa.=[2001:db8::53]:5353',
    'home.arpa.=none',
    'a\\.b.test.=10.0.0.4',
    'Mixed.CASE.test.=10.0.0.5',
  ]);
  const table: [string, string][] = [
    ['corp.example', 'corp.example. 10.0.0.1:53'],
    ['www.corp.example', 'corp.example. 10.0.0.1:53'],
    ['WWW.Corp.Example.', 'corp.example. 10.0.0.1:53'],
    ['lab.corp.example', 'lab.corp.example. 10.0.0.2:53'],
    ['a.b.c.lab.corp.example', 'lab.corp.example. 10.0.0.2:53'],
    ['a.b.c.LAB.corp.EXAMPLE.', 'lab.corp.example. 10.0.0.2:53'],
    ['blocked.lab.corp.example', 'nowhere blocked.lab.corp.example.'],
    ['x.blocked.lab.corp.example', 'nowhere blocked.lab.corp.example.'],
    ['notcorp.example', 'default'],
    ['example', 'default'],
    ['4.3.2.10.in-addr.arpa', '10.in-addr.arpa. 10.0.0.3:53'],
    ['4.3.2.11.in-addr.arpa', 'default'],
    ['in-addr.arpa', 'default'],
    ['1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.', '8.b.d.0.1.0.0.2.ip6.arpa. [2001:db8::53]:5353'],
    ['9.b.d.0.1.0.0.2.ip6.arpa', 'default'],
    ['nas.home.arpa', 'nowhere home.arpa.'],
    ['NAS.HOME.ARPA', 'nowhere home.arpa.'],
    ['www.debian.org', 'default'],
    ['.', 'default'],
    ['', 'default'],
    // An escaped dot is inside a label: a\.b.test is one label below test, and b.test is not a\.b.test.
    ['x.a\\.b.test', 'a\\.b.test. 10.0.0.4:53'],
    ['x.b.test', 'default'],
    // Configured in mixed case: found in any case, named as configured.
    ['www.mixed.case.test', 'Mixed.CASE.test. 10.0.0.5:53'],
    ['WWW.MIXED.CASE.TEST.', 'Mixed.CASE.test. 10.0.0.5:53'],
  ];
  for (const [name, want] of [['in this process', forwardRoutes(configured)], ['packed, cloned and unpacked as a worker gets them', overIpc(configured)]] as const) {
    describe(name, () => {
      for (const [q, route] of table) it(`${q || '(empty)'} → ${route}`, () => expect(show(want.route(q))).to.equal(route));
    });
  }

  it('a root forward zone catches every name no deeper one holds', () => {
    const r = overIpc(zones(['.=10.9.9.9', 'corp.test.=none']));
    expect(show(r.route('www.debian.org'))).to.equal('. 10.9.9.9:53');
    expect(show(r.route('.'))).to.equal('. 10.9.9.9:53');
    expect(show(r.route('x.corp.test'))).to.equal('nowhere corp.test.');
    expect(show(r.route('xcorp.test'))).to.equal('. 10.9.9.9:53');
  });

  it('no forward zones: every name takes the default route', () => {
    const r = overIpc([]);
    expect(r.size).to.equal(0);
    expect(show(r.route('www.corp.test'))).to.equal('default');
    expect(r.anyTls).to.equal(false);
  });

  it('"to": "none" is NXDOMAIN here, and an empty "to" is refused (it would mean neither)', () => {
    expect(show(overIpc(zones([{ name: 'ads.test', to: 'none' }])).route('x.ads.test'))).to.equal('nowhere ads.test.');
    const r = parseForwardZones([{ name: 'ads.test', to: [] }]);
    expect(r.ok).to.equal(false);
  });

  it('10,000 domains: each lookup still finds its own, through the packed form', () => {
    const r = overIpc(many(10_000, 10_000));
    expect(r.size).to.equal(10_000);
    for (const i of [0, 1, 96, 97, 4999, 9999]) expect(show(r.route(`host.D${i}.corp${i % 97}.test`))).to.equal(`d${i}.corp${i % 97}.test. 10.${(i >> 8) & 255}.${i & 255}.1:53`);
    expect(show(r.route('host.d10000.corp8.test'))).to.equal('default');
    expect(show(r.route('host.d5.corp6.test')), 'd5 is under corp5, not corp6').to.equal('default');
    expect(show(r.route('corp5.test'))).to.equal('default');
  });
});

describe('packForwardZones: one group per distinct upstream list', () => {
  it('zones with the same upstreams share one group, and one list of the same objects', () => {
    const z = many(10_000, 3);
    const packed = packForwardZones(z);
    expect(packed.groups).to.equal('10.0.0.1:53\n10.0.1.1:53\n10.0.2.1:53\n');
    expect(packed.groupOf).to.have.length(10_000);
    expect([...packed.groupOf.slice(0, 4)]).to.deep.equal([0, 1, 2, 0]);
    const r = overIpc(z);
    const a = r.route('x.d0.corp0.test');
    const b = r.route('x.d3.corp3.test');
    expect(a.kind === 'upstreams' && b.kind === 'upstreams' && a.upstreams === b.upstreams, 'd0 and d3 share a group').to.equal(true);
    expect(r.route('y.d0.corp0.test'), 'a zone\'s route is made once').to.equal(a);
    expect(show(r.route('x.d4.corp4.test'))).to.equal('d4.corp4.test. 10.0.1.1:53');
  });

  it('upstream order and TLS names are kept; anyTls says a tls:// upstream is among them', () => {
    const z = zones(['a.test.=10.0.0.1,tls://10.0.0.2#dns.test', 'b.test.=tls://10.0.0.2#dns.test,10.0.0.1', 'c.test.=none', 'd.test.=none']);
    const packed = packForwardZones(z);
    expect(packed.groups).to.equal('10.0.0.1:53,tls://10.0.0.2:853#dns.test\ntls://10.0.0.2:853#dns.test,10.0.0.1:53\nnone\n');
    expect([...packed.groupOf]).to.deep.equal([0, 1, 2, 2]);
    const r = overIpc(z);
    expect(show(r.route('a.test'))).to.equal('a.test. 10.0.0.1:53,tls://10.0.0.2:853#dns.test');
    expect(show(r.route('b.test'))).to.equal('b.test. tls://10.0.0.2:853#dns.test,10.0.0.1:53');
    const b = r.route('b.test');
    expect(b.kind === 'upstreams' && b.upstreams[0]).to.deep.equal({ address: '10.0.0.2', port: 853, tlsName: 'dns.test' });
    expect(r.anyTls).to.equal(true);
    expect(overIpc(zones(['a.test.=10.0.0.1', 'c.test.=none'])).anyTls).to.equal(false);
  });

  it('describe: the first zones with where they go, then how many more', () => {
    expect(forwardRoutes(zones(['corp.test.=10.0.0.1,10.0.0.2', 'home.arpa.=none', 'x.test.=10.0.0.3'])).describe(2)).to.equal(
      '3 forward zone(s): corp.test. → 10.0.0.1:53, 10.0.0.2:53; home.arpa. → NXDOMAIN here; and 1 more',
    );
  });
});

describe('unpackForwardZones: a damaged table is refused, saying what is wrong', () => {
  const good = packForwardZones(zones(['a.test.=10.0.0.1', 'b.test.=none']));
  const damaged: [string, PackedForwardZones, RegExp][] = [
    ['a group index out of range', { ...good, groupOf: Uint32Array.from([0, 2]) }, /zone 2 names group 3 of 2/],
    ['fewer indexes than names', { ...good, groupOf: Uint32Array.from([0]) }, /2 names but 1 group indexes/],
    ['a name cut short', { ...good, names: 'a.test.\nb.test.' }, /the last name has no newline/],
    ['a name without its dot', { ...good, names: 'a.test.\nb.test\n' }, /"b\.test" does not end in a dot/],
    ['a name given twice', { ...good, names: 'a.test.\nA.test.\n' }, /A\.test\. is given twice/],
    ['a group cut short', { ...good, groups: '10.0.0.1:53\nnone' }, /the last group has no newline/],
    ['no typed array', { ...good, groupOf: [0, 1] as unknown as Uint32Array }, /expected names, groups and groupOf/],
  ];
  for (const [what, packed, why] of damaged) {
    it(what, () => {
      const r = unpackForwardZones(packed);
      expect(r.kind).to.equal('error');
      if (r.kind === 'error') {
        expect(r.message).to.match(why);
        expect(r.message).to.match(/^forward zones sent to the worker are damaged: .*\(this is a bug; please report it\)$/);
      }
    });
  }
  it('the undamaged table unpacks', () => expect(unpackForwardZones(good).kind).to.equal('ok'));
  it('an upstream that does not read back is left out when its group is first used, and told', () => {
    const told: string[] = [];
    const r = unpackForwardZones({ ...good, groups: '10.0.0.300:53,10.0.0.9:53\nnone\n' }, (m) => told.push(m));
    if (r.kind === 'error') throw new Error(r.message);
    expect(told, 'groups are read when used').to.deep.equal([]);
    expect(show(r.routes.route('www.a.test'))).to.equal('a.test. 10.0.0.9:53');
    expect(show(r.routes.route('ftp.a.test'))).to.equal('a.test. 10.0.0.9:53');
    expect(told).to.have.length(1);
    expect(told[0]).to.match(/^forward zone a\.test\.: upstream left out: "10\.0\.0\.300:53" is not an upstream address .*\(this is a bug; please report it\)$/);
  });
});

describe('10,000 forward zones in a worker\'s start message (issue 18: ≤ 10 MB more per worker)', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  /** V8's heap and the typed arrays' memory outside it, after a full collection. */
  const heap = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const configWith = (entries: { name: string; to: string[] }[]): Config => {
    const r = resolveConfig({}, { 'forward-zones': entries }, 'c.json', 1, '/srv/dns');
    if (!r.ok) throw new Error(r.problems.join('\n'));
    return r.config;
  };
  const entries = Array.from({ length: 10_000 }, (_, i) => ({ name: `d${i}.corp${i % 97}.example.`, to: [`10.${(i >> 8) & 255}.${i & 255}.53`] }));
  const big = configWith(entries);
  const none = configWith([]);

  it('go packed, not as 10,000 objects in the config: under 450 KB more on the wire', () => {
    const message = startMessage(0, big, [], []);
    expect(message.type === 'start' && message.config.forwardZones).to.deep.equal([]);
    const extra = v8.serialize(message).length - v8.serialize(startMessage(0, none, [], [])).length;
    // As objects they were 1,050 KB; packed, 220 KB of names, 140 KB of upstreams (each zone has its own here) and 40 KB of group indexes.
    expect(extra).to.be.below(450_000);
  });

  it('cost a worker under 1.5 MB (heap and typed arrays) once decoded and unpacked, before names route to them', () => {
    const wire = v8.serialize(startMessage(0, big, [], []));
    const before = heap();
    const received = v8.deserialize(wire) as ReturnType<typeof startMessage>;
    if (received.type !== 'start') throw new Error('not a start message');
    const r = unpackForwardZones(received.forwardZones);
    if (r.kind === 'error') throw new Error(r.message);
    expect(show(r.routes.route('www.debian.org'))).to.equal('default');
    const kept = heap() - before;
    expect(show(r.routes.route('x.d42.corp42.example'))).to.equal('d42.corp42.example. 10.0.42.53:53');
    // As objects in the config, kept by the worker, with a Map of key strings: 4.6 MB, and 1.5 MB of upstream health records.
    expect(kept).to.be.below(1.5 * 1024 * 1024);
  });
});
