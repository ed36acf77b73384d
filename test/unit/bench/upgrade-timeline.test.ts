import { expect } from 'chai';
import { formatTimeline, parseLogLines, upgradeTimeline } from '../../../bench/upgrade-timeline.js';

/** A log as an upgrade writes it at debug level (old supervisor 100, its workers 101–102; new supervisor 200, its workers 201–202), with dnsperf noise between. */
function log(t0: number): string {
  const at = (ms: number): string => new Date(t0 + ms).toISOString();
  return [
    `${at(-5000)} DEBUG worker-0[101]: ready on 127.0.0.1:5353 (udp, tcp)`,
    `${at(150)} INFO  supervisor[100]: upgrade: started the new supervisor (pid 200): /usr/bin/node bin/shardns.js --port 5353`,
    'Statistics: nothing to see',
    `${at(900)} INFO  supervisor[200]: shardns 0.0.2 taking over from pid 100: starting 2 workers on its sockets node=v20.20.2`,
    `${at(1400)} INFO  supervisor[200]: zone example.com.: serial 7, 34 records; image reused in 3 ms: sources unchanged; from file zones/example.com.zone image=/s/images/x.zimg`,
    `${at(1401)} DEBUG supervisor[200]: zone build took 410 ms, builder peak 60 MB`,
    `${at(1700)} DEBUG worker-1[202]: ready on 127.0.0.1:5353 (udp, tcp)`,
    `${at(1800)} DEBUG worker-0[201]: ready on 127.0.0.1:5353 (udp, tcp)`,
    `${at(1810)} INFO  supervisor[200]: listening on 127.0.0.1:5353 (udp, tcp) with 2 workers`,
    `${at(1830)} INFO  supervisor[100]: upgrade: the new supervisor (pid 200, shardns 0.0.2) serves on the same sockets after 1680 ms; this one's workers finish what they hold and exit`,
    `${at(1835)} DEBUG worker-0[101]: stopping: no new queries, finishing what is held`,
    `${at(2100)} INFO  supervisor[100]: handed over to pid 200; exiting`,
  ].join('\n');
}

describe('bench: upgrade timeline', () => {
  it('reads the text log format and skips what is not a log line', () => {
    const lines = parseLogLines(log(Date.parse('2026-01-01T00:00:10.000Z')));
    expect(lines).to.have.length(11);
    expect(lines[1]).to.deep.include({ role: 'supervisor', pid: 100, at: Date.parse('2026-01-01T00:00:10.150Z') });
  });

  it('gives each step of the upgrade in ms since the command, the new supervisor told apart from the old by pid', () => {
    const t0 = Date.parse('2026-01-01T00:00:10.000Z');
    const steps = upgradeTimeline(log(t0), t0).map((m) => [m.ms, m.step]);
    expect(steps).to.deep.equal([
      [150, 'old supervisor spawns the new one'],
      [900, 'new supervisor logs (Node started, config read)'],
      [1400, 'zone example.com. image reused'],
      [1401, 'builder done'],
      [1700, 'first new worker ready'],
      [1800, 'last new worker ready (2)'],
      [1810, 'new supervisor serves'],
      [1830, 'old supervisor told; its workers stop'],
      [1835, 'first old worker stops reading'],
      [2100, 'old supervisor exits'],
    ]);
    const text = formatTimeline(upgradeTimeline(log(t0), t0));
    expect(text).to.include('+1400 zone example.com. image reused (3 ms: sources unchanged)');
    expect(text).to.include('+150 old supervisor spawns the new one (pid 200)');
  });

  it('leaves out what the log does not show', () => {
    expect(upgradeTimeline('', 0)).to.deep.equal([]);
  });
});
