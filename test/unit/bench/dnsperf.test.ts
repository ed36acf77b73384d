import { expect } from 'chai';
import { dnsperfArgs, parseDnsperf } from '../../../bench/dnsperf.js';

/** dnsperf 2.10.0's output for a 3 s run (as captured here). */
const SAMPLE = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 25353 -d /tmp/q.txt -l 3 -c 4 -q 200
[Status] Sending queries (to 127.0.0.1:25353)
[Status] Started at: Mon Nov 23 00:55:59 2026
[Status] Stopping after 3.000000 seconds
[Timeout] Query timed out: msg id 277
[Timeout] Query timed out: msg id 278
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         131310
  Queries completed:    131303 (99.99%)
  Queries lost:         7 (0.01%)

  Response codes:       NOERROR 98478 (75.00%), NXDOMAIN 32825 (25.00%)
  Average packet size:  request 34, response 205
  Run time (s):         3.002922
  Queries per second:   43725.078440

  Average Latency (s):  0.004165 (min 0.000159, max 0.028292)
  Latency StdDev (s):   0.001820

`;

describe('bench dnsperf output', () => {
  it('reads sent, completed, lost, rcodes, packet sizes, run time, QPS and latency', () => {
    expect(parseDnsperf(SAMPLE)).to.deep.equal({
      sent: 131310,
      completed: 131303,
      lost: 7,
      rcodes: { NOERROR: 98478, NXDOMAIN: 32825 },
      runTimeSec: 3.002922,
      qps: 43725.07844,
      latencyAvgSec: 0.004165,
      latencyMinSec: 0.000159,
      latencyMaxSec: 0.028292,
      latencyStdDevSec: 0.00182,
      requestAvgBytes: 34,
      responseAvgBytes: 205,
    });
    // An output without the packet sizes still parses; the sizes are left out.
    const bare = parseDnsperf(SAMPLE.replace(/^.*Average packet size.*\n/m, ''));
    expect(bare.completed).to.equal(131303);
    expect(bare).to.not.have.property('responseAvgBytes');
  });

  it('reads every response code dnsperf lists', () => {
    const text = SAMPLE.replace(/Response codes:.*$/m, 'Response codes:       NOERROR 10 (50.00%), SERVFAIL 4 (20.00%), REFUSED 6 (30.00%)');
    expect(parseDnsperf(text).rcodes).to.deep.equal({ NOERROR: 10, SERVFAIL: 4, REFUSED: 6 });
  });

  it('names every statistic it could not find', () => {
    const text = SAMPLE.replace(/^\s*Queries lost:.*$/m, '').replace(/^\s*Latency StdDev.*$/m, '');
    expect(() => parseDnsperf(text)).to.throw(/lacks Queries lost, Latency StdDev \(s\)/);
    expect(() => parseDnsperf('dnsperf: command not found')).to.throw(/Queries sent, Queries completed/);
  });

  it('runs UDP against loopback with the set time, clients and queries in flight', () => {
    const args = dnsperfArgs({ port: 5353, queryFile: '/tmp/q', durationSec: 10, clients: 8, outstanding: 200, timeoutSec: 2 });
    const flag = (f: string): string | undefined => args[args.indexOf(f) + 1];
    expect(flag('-s')).to.equal('127.0.0.1');
    expect(flag('-p')).to.equal('5353');
    expect(flag('-m')).to.equal('udp');
    expect(flag('-d')).to.equal('/tmp/q');
    expect(flag('-l')).to.equal('10');
    expect(flag('-c')).to.equal('8');
    expect(flag('-q')).to.equal('200');
    expect(flag('-t')).to.equal('2');
    expect(args).to.not.include('-n');
  });

  it('stops after a number of passes through the file when asked (the forwarding warm-up)', () => {
    const args = dnsperfArgs({ port: 5353, queryFile: '/tmp/q', durationSec: 120, clients: 8, outstanding: 200, timeoutSec: 2, passes: 1 });
    expect(args.slice(-2)).to.deep.equal(['-n', '1']);
    expect(args[args.indexOf('-l') + 1]).to.equal('120');
  });

  it('reads a binary query file with -B (whole messages, their own EDNS and DO bit) and a text file without it', () => {
    const base = { port: 5353, queryFile: '/tmp/q.bin', durationSec: 10, clients: 8, outstanding: 200, timeoutSec: 2 };
    expect(dnsperfArgs({ ...base, binary: true })).to.include('-B');
    expect(dnsperfArgs(base)).to.not.include('-B');
    // -B cannot be combined with -D or -e (dnsperf refuses): the messages carry their own OPT record.
    expect(dnsperfArgs({ ...base, binary: true }).filter((a) => a === '-D' || a === '-e')).to.deep.equal([]);
  });
});
