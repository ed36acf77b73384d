/** forward-zones: reading and checking entries, and the config keys (routing by them: forward-routes.test.ts). */

import { expect } from 'chai';
import { resolveConfig } from '../../../src/config.js';
import { parseForwardZones, type ForwardZone } from '../../../src/forward/forward-zones.js';
import { formatUpstream, parseForwardSpec, parseUpstream } from '../../../src/forward/upstreams.js';

function zones(raw: unknown): ForwardZone[] {
  const r = parseForwardZones(raw);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.zones;
}

describe('parseUpstream: plain and tls:// upstreams', () => {
  const ok: [string, string][] = [
    ['192.0.2.53', '192.0.2.53:53'],
    ['[2001:db8::53]:5353', '[2001:db8::53]:5353'],
    ['tls://192.0.2.53#dns.example.net', 'tls://192.0.2.53:853#dns.example.net'],
    ['tls://192.0.2.53:8853#DNS.Example.Net.', 'tls://192.0.2.53:8853#dns.example.net'],
    ['tls://[2001:db8::53]#dns.example.net', 'tls://[2001:db8::53]:853#dns.example.net'],
  ];
  for (const [text, want] of ok) {
    it(`reads ${text}`, () => {
      const u = parseUpstream(text);
      if (typeof u === 'string') throw new Error(u);
      expect(formatUpstream(u)).to.equal(want);
    });
  }
  const bad: [string, RegExp][] = [
    ['tls://192.0.2.53', /give the name the upstream's certificate must carry after # \(RFC 8310 strict profile\): tls:\/\/ADDR\[:PORT\]#NAME/],
    ['tls://192.0.2.53#', /give the name/],
    ['tls://dns.google#dns.google', /"tls:\/\/dns.google#dns.google" is not an upstream address: write tls:\/\/ADDR/],
    ['tls://192.0.2.53#bad name', /"bad name" is not a host name/],
    ['https://192.0.2.53/dns-query', /only plain addresses and tls:\/\/ upstreams are supported/],
    ['192.0.2.53#dns.example.net', /a #NAME is for DNS over TLS only/],
    ['tls://192.0.2.53:99999#x.test', /port must be 1–65535/],
  ];
  for (const [text, why] of bad) it(`refuses ${text}`, () => expect(parseUpstream(text)).to.match(why));
  it('--forward takes tls:// upstreams beside plain ones', () => {
    const spec = parseForwardSpec(['192.0.2.1,tls://192.0.2.2#dns.example.net']);
    expect(spec).to.deep.equal({ mode: 'list', upstreams: [{ address: '192.0.2.1', port: 53 }, { address: '192.0.2.2', port: 853, tlsName: 'dns.example.net' }] });
  });
});

describe('parseForwardZones', () => {
  it('reads the file form and the flag form alike', () => {
    const file = zones([
      { name: 'corp.example', to: ['10.1.2.3', 'tls://10.1.2.4#dns.corp.example'] },
      { name: '10.in-addr.arpa.', to: '10.1.2.3:5353' },
      { name: 'home.arpa.', to: 'none' },
    ]);
    const flags = zones(['corp.example=10.1.2.3,tls://10.1.2.4#dns.corp.example', '10.in-addr.arpa.=10.1.2.3:5353', 'home.arpa.=none']);
    expect(flags).to.deep.equal(file);
    expect(file).to.deep.equal([
      { name: 'corp.example.', to: { kind: 'upstreams', upstreams: [{ address: '10.1.2.3', port: 53 }, { address: '10.1.2.4', port: 853, tlsName: 'dns.corp.example' }] } },
      { name: '10.in-addr.arpa.', to: { kind: 'upstreams', upstreams: [{ address: '10.1.2.3', port: 5353 }] } },
      { name: 'home.arpa.', to: { kind: 'nowhere' } },
    ]);
  });

  const bad: [string, unknown, RegExp[]][] = [
    ['a flag without =', ['corp.example'], [/^entry 1: expected DOMAIN=UPSTREAMS, got "corp.example" \(e.g. corp.example.=10.1.2.3,10.1.2.4 or home.arpa.=none\)$/]],
    ['an entry without "to"', [{ name: 'corp.example.' }], [/^entry 1: corp.example.: "to" is missing: give upstream addresses \("to": \["10.1.2.3"\]\) or "none" to answer NXDOMAIN here$/]],
    ['an unknown key', [{ name: 'corp.example.', to: 'none', upstreams: [] }], [/^entry 1: unknown key "upstreams" in .*; an entry has "name" and "to"$/]],
    ['a bad upstream, with its entry and domain', [{ name: 'a.test', to: '10.0.0.1' }, { name: 'b.test', to: ['10.0.0.300'] }], [/^entry 2: b.test.: "10.0.0.300" is not an upstream address/]],
    ['"none" beside addresses', ['x.test=none,10.0.0.1'], [/^entry 1: x.test.: "none" cannot be combined with upstream addresses$/]],
    ['an empty "to"', [{ name: 'x.test', to: [] }], [/^entry 1: x.test.: "to" is empty: give upstream addresses, or "none" to answer NXDOMAIN here$/]],
    ['a bad name', [{ name: 'a..b', to: 'none' }], [/^entry 1: bad domain name "a..b": .*; write it as in a zone file, e.g. corp.example. or 10.in-addr.arpa.$/]],
    ['a domain listed twice (case does not matter)', ['corp.test=10.0.0.1', 'CORP.test.=10.0.0.2'], [/^entry 2: CORP.test. is listed twice \(entries 1 and 2\): give it once, with every upstream in its "to"$/]],
    ['every problem at once', ['x', { name: 'y.test' }], [/^entry 1: expected DOMAIN=UPSTREAMS/, /^entry 2: y.test: "to" is missing/]],
  ];
  for (const [name, raw, problems] of bad) {
    it(`refuses ${name}`, () => {
      const r = parseForwardZones(raw);
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.problems).to.have.length(problems.length);
      problems.forEach((p, i) => expect(r.problems[i]).to.match(p));
    });
  }
});

describe('forward-zones in the config', () => {
  const cwd = '/srv/dns';
  it('reads the file key "forward-zones" and the flag --forward-zone', () => {
    const file = resolveConfig({}, { 'forward-zones': [{ name: 'corp.example.', to: ['10.1.2.3'] }] }, 'c.json', 1, cwd);
    expect(file.ok && file.config.forwardZones).to.deep.equal([{ name: 'corp.example.', to: { kind: 'upstreams', upstreams: [{ address: '10.1.2.3', port: 53 }] } }]);
    const flag = resolveConfig({ 'forward-zone': ['home.arpa.=none'] }, null, null, 1, cwd);
    expect(flag.ok && flag.config.forwardZones).to.deep.equal([{ name: 'home.arpa.', to: { kind: 'nowhere' } }]);
  });
  it('a problem says the file, the key, the entry and what to write', () => {
    const r = resolveConfig({}, { 'forward-zones': [{ name: 'corp.example.', to: 'tls://10.1.2.3' }] }, 'c.json', 1, cwd);
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.problems).to.have.length(1);
    expect(r.problems[0]).to.match(/^c\.json: "forward-zones": entry 1: corp\.example\.: "tls:\/\/10\.1\.2\.3": give the name the upstream's certificate must carry after #/);
  });
  it('the flag spelled as the file key is an unknown setting in the file', () => {
    const r = resolveConfig({}, { 'forward-zone': ['a.test=none'] }, 'c.json', 1, cwd);
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.problems[0]).to.match(/^c\.json: unknown setting "forward-zone"; known settings: .*forward-zones/);
  });
  it('a forward zone at or inside one of our zones is refused: our zones win, it would never be used', () => {
    const r = resolveConfig({ zone: ['example.com.=x.zone'], 'forward-zone': ['corp.example.com.=10.0.0.1', 'example.com=10.0.0.2', 'com.=10.0.0.3'] }, null, null, 1, cwd);
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.problems).to.deep.equal([
      'forward-zones: corp.example.com. is inside our zone example.com., which we answer ourselves: the forward zone would never be used; remove it (or delegate the name in the zone file)',
      'forward-zones: example.com. is our zone example.com., which we answer ourselves: the forward zone would never be used; remove it (or delegate the name in the zone file)',
    ]);
  });
});
