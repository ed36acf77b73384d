import { expect } from 'chai';
import { resolveConfig } from '../../../src/config.js';

describe('settings: --metrics, --dnstap, --query-log, --query-log-sample', () => {
  const cwd = '/srv/dns';
  it('are off by default, and the query log takes every query', () => {
    const r = resolveConfig({}, null, null, 1, cwd);
    expect(r.ok && r.config).to.deep.include({ metrics: null, dnstap: null, queryLog: null, queryLogSample: 1 });
  });

  const good: { name: string; cli: Record<string, unknown>; file?: Record<string, unknown>; want: Record<string, unknown> }[] = [
    { name: 'metrics on IPv4', cli: { metrics: '127.0.0.1:9153' }, want: { metrics: { address: '127.0.0.1', port: 9153 } } },
    { name: 'metrics on IPv6 in brackets', cli: { metrics: '[::1]:9153' }, want: { metrics: { address: '::1', port: 9153 } } },
    { name: 'metrics from the file', cli: {}, file: { metrics: '0.0.0.0:9100' }, want: { metrics: { address: '0.0.0.0', port: 9100 } } },
    { name: 'dnstap to a file, relative to the cwd', cli: { dnstap: 'log/tap.fstrm' }, want: { dnstap: { kind: 'file', path: '/srv/dns/log/tap.fstrm' } } },
    { name: 'dnstap to a file named in the config file, relative to its folder', cli: {}, file: { dnstap: 'tap.fstrm' }, want: { dnstap: { kind: 'file', path: '/srv/dns/etc/tap.fstrm' } } },
    { name: 'dnstap to a unix socket', cli: { dnstap: 'unix:/run/dnstap.sock' }, want: { dnstap: { kind: 'unix', path: '/run/dnstap.sock' } } },
    { name: 'query log to standard output', cli: { 'query-log': '-' }, want: { queryLog: { kind: 'stdout' } } },
    { name: 'query log to a file, sampled', cli: { 'query-log': '/var/log/q.jsonl', 'query-log-sample': '100' }, want: { queryLog: { kind: 'file', path: '/var/log/q.jsonl' }, queryLogSample: 100 } },
  ];
  for (const c of good) {
    it(`reads ${c.name}`, () => {
      const r = resolveConfig(c.cli, c.file ?? null, c.file ? 'etc/c.json' : null, 1, cwd);
      expect(r.ok, r.ok ? '' : r.problems.join('\n')).to.equal(true);
      if (r.ok) expect(r.config).to.deep.include(c.want);
    });
  }

  const bad: { name: string; cli: Record<string, unknown>; problem: RegExp }[] = [
    { name: 'metrics without a port', cli: { metrics: '127.0.0.1' }, problem: /^--metrics: must be ADDRESS:PORT with an IP address and a port from 1 to 65535 \(127\.0\.0\.1:9153, \[::1\]:9153\), got "127\.0\.0\.1"$/ },
    { name: 'metrics on a host name', cli: { metrics: 'localhost:9153' }, problem: /^--metrics: must be ADDRESS:PORT/ },
    { name: 'metrics on IPv6 without brackets', cli: { metrics: '::1:9153' }, problem: /^--metrics: must be ADDRESS:PORT/ },
    { name: 'metrics on port 0', cli: { metrics: '127.0.0.1:0' }, problem: /^--metrics: must be ADDRESS:PORT/ },
    { name: 'dnstap unix: without a path', cli: { dnstap: 'unix:' }, problem: /^--dnstap: unix: needs the path of the collector's socket/ },
    { name: 'dnstap with ~', cli: { dnstap: '~/tap' }, problem: /^--dnstap: "~" is not expanded here/ },
    { name: 'an empty query log', cli: { 'query-log': '' }, problem: /^--query-log: must be a file path or -, got ""$/ },
    { name: 'sampling 0', cli: { 'query-log-sample': '0' }, problem: /^--query-log-sample: must be a whole number from 1 to/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => {
      const r = resolveConfig(c.cli, null, null, 1, cwd);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.problems).to.have.length(1).and.satisfy((p: string[]) => c.problem.test(p[0]!));
    });
  }
});
