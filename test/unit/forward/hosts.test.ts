/** HostsTable: hosts(5) lines to A, AAAA and PTR answers as dnsmasq gives them. */

import { expect } from 'chai';
import { HostsTable, reverseName } from '../../../src/forward/hosts.js';

const TEXT = [
  '# comment line',
  '127.0.0.1   localhost',
  '::1         localhost ip6-localhost ip6-loopback',
  '192.168.1.10  nas.home.arpa nas   # trailing comment',
  '192.168.1.11  nas.home.arpa',
  'fd00::10      nas.home.arpa',
  'fe80::1%eth0  router.lan',
  '0.0.0.0       ads.example ads2.example',
  '300.1.1.1     bad.example',
  '10.0.0.1',
  '10.0.0.2      good.example bad_name!',
  '',
].join('\n');

const table = new HostsTable([{ path: '/etc/hosts', text: TEXT }]);

/** `rcode AA? type data, …` */
function brief(name: string, type: string): string {
  const a = table.answer(name, type);
  if (a === null) return 'not in hosts';
  return [a.rcode, a.local ? 'AA' : '', ...a.answers.map((r) => `${r.type} ${String((r as { data: unknown }).data)} ttl=${(r as { ttl: number }).ttl}`)].filter(Boolean).join(' ');
}

describe('HostsTable', () => {
  const cases: [string, string, string][] = [
    ['localhost', 'A', 'NOERROR AA A 127.0.0.1 ttl=0'],
    ['LocalHost.', 'AAAA', 'NOERROR AA AAAA ::1 ttl=0'],
    ['ip6-localhost', 'A', 'NOERROR AA'],
    ['nas.home.arpa', 'A', 'NOERROR AA A 192.168.1.10 ttl=0 A 192.168.1.11 ttl=0'],
    ['nas', 'A', 'NOERROR AA A 192.168.1.10 ttl=0'],
    ['nas.home.arpa', 'AAAA', 'NOERROR AA AAAA fd00::10 ttl=0'],
    ['nas.home.arpa', 'ANY', 'NOERROR AA A 192.168.1.10 ttl=0 A 192.168.1.11 ttl=0 AAAA fd00::10 ttl=0'],
    ['nas.home.arpa', 'MX', 'NOERROR AA'],
    ['router.lan', 'AAAA', 'NOERROR AA AAAA fe80::1 ttl=0'],
    ['ads.example', 'A', 'NOERROR AA A 0.0.0.0 ttl=0'],
    ['good.example', 'A', 'NOERROR AA A 10.0.0.2 ttl=0'],
    ['bad.example', 'A', 'not in hosts'],
    ['www.debian.org', 'A', 'not in hosts'],
    ['1.0.0.127.in-addr.arpa', 'PTR', 'NOERROR AA PTR localhost ttl=0'],
    ['10.1.168.192.in-addr.arpa', 'PTR', 'NOERROR AA PTR nas.home.arpa ttl=0'],
    ['11.1.168.192.IN-ADDR.ARPA.', 'PTR', 'NOERROR AA PTR nas.home.arpa ttl=0'],
    ['1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa', 'PTR', 'NOERROR AA PTR localhost ttl=0'],
    ['0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', 'PTR', 'NOERROR AA PTR nas.home.arpa ttl=0'],
    // Blocklist lines name no host: no PTR for 0.0.0.0.
    ['0.0.0.0.in-addr.arpa', 'PTR', 'not in hosts'],
    ['1.0.0.127.in-addr.arpa', 'A', 'not in hosts'],
  ];
  for (const [name, type, want] of cases) it(`${name} ${type} → ${want}`, () => expect(brief(name, type)).to.equal(want));

  it('counts names and PTR addresses', () => {
    expect([table.names, table.addresses]).to.deep.equal([9, 7]);
  });

  it('lists skipped lines with file and line', () => {
    expect(table.problems).to.deep.equal([
      '/etc/hosts:9: "300.1.1.1" is not an IP address; line skipped',
      '/etc/hosts:10: 10.0.0.1 has no name after it; line skipped',
      '/etc/hosts:11: "bad_name!" is not a host name; skipped',
    ]);
  });

  it('merges several files in order: the first file\'s name is an address\'s PTR', () => {
    const two = new HostsTable([
      { path: 'a', text: '10.0.0.5 first.test\n' },
      { path: 'b', text: '10.0.0.5 second.test\n10.0.0.6 first.test\n' },
    ]);
    expect(two.answer('5.0.0.10.in-addr.arpa', 'PTR')!.answers.map((r) => (r as { data: string }).data)).to.deep.equal(['first.test']);
    expect(two.answer('first.test', 'A')!.answers.map((r) => (r as { data: string }).data)).to.deep.equal(['10.0.0.5', '10.0.0.6']);
  });

  it('an empty table answers nothing', () => {
    expect(new HostsTable([]).answer('localhost', 'A')).to.equal(null);
  });
});

describe('reverseName', () => {
  const cases: [string, string][] = [
    ['192.0.2.1', '1.2.0.192.in-addr.arpa'],
    ['2001:db8::1', '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'],
    ['::ffff:192.0.2.1', '1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa'],
    ['FE80::ABCD', 'd.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa'],
  ];
  for (const [address, want] of cases) it(`${address} → ${want}`, () => expect(reverseName(address)).to.equal(want));
});
