/** The RRL and cookie settings: defaults, validation, and what a worker makes of them (guards.ts). */

import { expect } from 'chai';
import { ClientAddress } from '../../../src/abuse/client-address.js';
import { COOKIE_VALID } from '../../../src/abuse/cookies.js';
import { abuseGuards } from '../../../src/abuse/guards.js';
import { resolveConfig, type Config } from '../../../src/config.js';

function config(cli: Record<string, unknown>): Config {
  const r = resolveConfig(cli, null, null, 1, '/srv');
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config;
}

describe('RRL and cookie settings', () => {
  it('default to NSD\'s RRL (200 a second, slip 2, /24), BIND\'s /56, loopback exempt, cookies on with a random seed', () => {
    const c = config({});
    expect(c).to.deep.include({ rrl: 200, rrlSlip: 2, rrlIpv4Prefix: 24, rrlIpv6Prefix: 56, rrlExempt: ['127.0.0.0/8', '::1/128'], rrlSize: 1_000_000, cookies: 'on', cookieSecret: [] });
    expect(c.cookieSeed).to.match(/^[0-9a-f]{32}$/);
    expect(config({}).cookieSeed, 'a new seed each start').to.not.equal(c.cookieSeed);
  });
  const bad: { cli: Record<string, unknown>; problem: RegExp }[] = [
    { cli: { rrl: '-1' }, problem: /^--rrl: must be a whole number from 0 to 1000000, got "-1"$/ },
    { cli: { 'rrl-slip': '101' }, problem: /^--rrl-slip: must be a whole number from 0 to 100/ },
    { cli: { 'rrl-ipv4-prefix': '33' }, problem: /^--rrl-ipv4-prefix: must be a whole number from 8 to 32/ },
    { cli: { 'rrl-ipv6-prefix': '65' }, problem: /^--rrl-ipv6-prefix: must be a whole number from 16 to 64/ },
    { cli: { 'rrl-exempt': ['10.0.0.0/33'] }, problem: /^--rrl-exempt: "10\.0\.0\.0\/33": prefix length must be 0–32$/ },
    { cli: { 'rrl-exempt': ['localhost'] }, problem: /^--rrl-exempt: "localhost" is not an address or CIDR block/ },
    { cli: { cookies: 'yes' }, problem: /^--cookies: must be one of on, off, got "yes"$/ },
    { cli: { 'cookie-secret': ['e5e973e5a6b2a43f48e7dc849e37bfcf,abc'] }, problem: /^--cookie-secret: "abc" is not a cookie secret: give 128 bits as 32 hexadecimal digits/ },
  ];
  for (const b of bad) {
    it(`refuses ${JSON.stringify(b.cli)}, saying what to give`, () => {
      const r = resolveConfig(b.cli, null, null, 1, '/srv');
      expect(r.ok).to.equal(false);
      expect(!r.ok && r.problems).to.satisfy((p: string[]) => p.some((x) => b.problem.test(x)));
    });
  }
  it('take comma lists and the config file', () => {
    const r = resolveConfig({}, { 'rrl-exempt': '192.0.2.0/24, 2001:db8::/32', 'cookie-secret': ['e5e973e5a6b2a43f48e7dc849e37bfcf', '445536bcd2513298075a5d379663c962'], rrl: 50 }, 'c.json', 1, '/srv');
    expect(r.ok && r.config).to.deep.include({ rrlExempt: ['192.0.2.0/24', '2001:db8::/32'], cookieSecret: ['e5e973e5a6b2a43f48e7dc849e37bfcf', '445536bcd2513298075a5d379663c962'], rrl: 50 });
  });
  it('a worker gets no RRL with --rrl 0 and no cookies with --cookies off', () => {
    expect(abuseGuards(config({ rrl: '0', cookies: 'off' }))).to.deep.equal({ rrl: null, cookies: null });
  });
  it('workers of one start make and accept each other\'s cookies (rotating secrets from the config\'s seed); another start\'s are not accepted', () => {
    const c = config({});
    const a = abuseGuards(c).cookies!;
    const b = abuseGuards(c).cookies!;
    const other = abuseGuards(config({})).cookies!;
    const who = new ClientAddress();
    who.fromText('192.0.2.1');
    a.judge(Buffer.from('0102030405060708', 'hex'), 0, 8, who, 1_700_000_000);
    const cookie = Buffer.from(a.reply);
    expect(b.judge(cookie, 0, 24, who, 1_700_000_001)).to.equal(COOKIE_VALID);
    expect(other.judge(cookie, 0, 24, who, 1_700_000_001)).to.not.equal(COOKIE_VALID);
  });
  it('given secrets, the first makes cookies', () => {
    const g = abuseGuards(config({ 'cookie-secret': ['e5e973e5a6b2a43f48e7dc849e37bfcf'] })).cookies!;
    const who = new ClientAddress();
    who.fromText('198.51.100.100');
    g.judge(Buffer.from('2464c4abcf10c957', 'hex'), 0, 8, who, 1559731985);
    expect(Buffer.from(g.reply).toString('hex')).to.equal('2464c4abcf10c957010000005cf79f111f8130c3eee29480');
  });
});
