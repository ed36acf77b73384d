import { expect } from 'chai';
import { autoUpstreams, parseForwardSpec, resolvConfNameservers } from '../../../src/forward/upstreams.js';
import { compileAcl, DEFAULT_RECURSION_ACL } from '../../../src/forward/acl.js';

describe('parseForwardSpec', () => {
  const ok: [string[], unknown][] = [
    [['none'], { mode: 'none' }],
    [['auto'], { mode: 'auto' }],
    [['192.0.2.53'], { mode: 'list', upstreams: [{ address: '192.0.2.53', port: 53 }] }],
    [['192.0.2.53:5353,[2001:db8::53]:5353'], { mode: 'list', upstreams: [{ address: '192.0.2.53', port: 5353 }, { address: '2001:db8::53', port: 5353 }] }],
    [['2001:db8::1', '[::1]'], { mode: 'list', upstreams: [{ address: '2001:db8::1', port: 53 }, { address: '::1', port: 53 }] }],
  ];
  for (const [input, want] of ok) it(`reads ${input.join(' ')}`, () => expect(parseForwardSpec(input)).to.deep.equal(want));
  const bad: [string[], RegExp][] = [
    [['dns.google'], /"dns.google" is not an upstream address/],
    [['192.0.2.1:70000'], /port must be 1–65535/],
    [['auto,192.0.2.1'], /"auto" cannot be combined/],
    [[''], /give upstream addresses/],
  ];
  for (const [input, why] of bad) it(`refuses ${JSON.stringify(input)}`, () => expect(parseForwardSpec(input)).to.match(why));
});

describe('resolv.conf and auto', () => {
  it('reads nameserver lines only', () => {
    const text = '# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver  fe80::1%eth0\nnameserver bogus\noptions edns0\n';
    expect(resolvConfNameservers(text)).to.deep.equal(['127.0.0.53', 'fe80::1%eth0']);
  });
  const cases: { name: string; ns: string[]; listen: string[]; port: number; local?: string[]; want: string[] }[] = [
    { name: 'skips our own address on port 53', ns: ['127.0.0.1', '10.0.0.2'], listen: ['127.0.0.1', '::1'], port: 53, want: ['10.0.0.2'] },
    { name: 'keeps 127.0.0.1 when we listen on another port (it is not us)', ns: ['127.0.0.1'], listen: ['127.0.0.1'], port: 5353, want: ['127.0.0.1'] },
    { name: 'a wildcard listener on 53 is every interface address', ns: ['127.0.0.1', '192.168.1.5', '192.168.1.1'], listen: ['0.0.0.0'], port: 53, local: ['127.0.0.1', '192.168.1.5'], want: ['192.168.1.1'] },
    { name: 'a wildcard listener keeps Docker\'s 127.0.0.11 (the runtime redirects it)', ns: ['127.0.0.11'], listen: ['0.0.0.0', '::'], port: 53, local: ['127.0.0.1', '::1', '172.17.0.2'], want: ['127.0.0.11'] },
    { name: 'the systemd-resolved stub stays when we do not listen on it', ns: ['127.0.0.53'], listen: ['127.0.0.1'], port: 53, want: ['127.0.0.53'] },
    { name: 'nothing left: empty (authoritative only)', ns: ['::1'], listen: ['::1'], port: 53, want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => expect(autoUpstreams(c.ns, c.listen, c.port, c.local ?? []).map((u) => u.address)).to.deep.equal(c.want));
  }
});

describe('compileAcl', () => {
  const acl = compileAcl(DEFAULT_RECURSION_ACL);
  if (typeof acl === 'string') throw new Error(acl);
  const table: [string, boolean][] = [
    ['127.0.0.1', true], ['127.9.9.9', true], ['::1', true], ['10.1.2.3', true], ['172.16.0.1', true], ['172.32.0.1', false],
    ['192.168.255.1', true], ['100.64.0.1', true], ['fd12::1', true], ['fe80::1%eth0', true], ['::ffff:10.0.0.1', true],
    ['8.8.8.8', false], ['2001:db8::1', false], ['not-an-ip', false],
  ];
  for (const [address, allowed] of table) it(`default ACL ${allowed ? 'allows' : 'refuses'} ${address}`, () => expect(acl.allows(address)).to.equal(allowed));
  for (const [address, allowed] of table.filter(([a]) => /^\d+\.\d+\.\d+\.\d+$/.test(a))) {
    const n = address.split('.').reduce((v, o) => v * 256 + Number(o), 0);
    it(`allowsIpv4 agrees for ${address}`, () => expect(acl.allowsIpv4(n)).to.equal(allowed));
  }
  it('any and none', () => {
    expect((compileAcl(['any']) as { allows(a: string): boolean }).allows('8.8.8.8')).to.equal(true);
    expect((compileAcl(['none']) as { allows(a: string): boolean }).allows('127.0.0.1')).to.equal(false);
  });
  it('refuses bad entries with a reason', () => {
    expect(compileAcl(['10.0.0.0/33'])).to.match(/prefix length must be 0–32/);
    expect(compileAcl(['lan'])).to.match(/"lan" is not an address or CIDR block/);
  });
});
