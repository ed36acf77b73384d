import { expect } from 'chai';
import { addShares, maxMinRatio, parseCounterLines, sharesBetween } from '../../../bench/balance.js';

const LOG = `2026-11-23T00:37:06.758Z INFO  supervisor[4476]: listening on 127.0.0.1:5353 (udp, tcp) with 2 workers
2026-11-23T00:38:00.001Z INFO  supervisor[4476]: worker 0 (pid 4480) counters queries=100 udp=98 tcp=2 dropped=1 truncated=0 internalErrors=0 rcodes.NOERROR=90 rcodes.NXDOMAIN=9
2026-11-23T00:38:00.002Z INFO  supervisor[4476]: worker 1 (pid 4481) counters queries=50 udp=50 tcp=0 dropped=0 truncated=0 internalErrors=0 rcodes.NOERROR=50
`;

describe('bench worker balance', () => {
  it('reads the supervisor\'s counter lines (SIGUSR1)', () => {
    const c = parseCounterLines(LOG);
    expect(c).to.have.length(2);
    expect(c[0]).to.deep.equal({
      id: 0,
      pid: 4480,
      values: { queries: 100, udp: 98, tcp: 2, dropped: 1, truncated: 0, internalErrors: 0, 'rcodes.NOERROR': 90, 'rcodes.NXDOMAIN': 9 },
    });
    expect(c[1]!.values.queries).to.equal(50);
  });

  it('keeps the last line per worker', () => {
    const later = LOG + '2026-11-23T00:39:00.000Z INFO  supervisor[4476]: worker 1 (pid 4481) counters queries=80 dropped=0\n';
    expect(parseCounterLines(later)[1]!.values.queries).to.equal(80);
  });

  it('counts replies per worker between two readings; a replaced worker counts from zero', () => {
    const before = parseCounterLines(LOG);
    const after = parseCounterLines(
      'worker 0 (pid 4480) counters queries=1100 dropped=1\nworker 1 (pid 4999) counters queries=30 dropped=0\n',
    );
    expect(sharesBetween(before, after)).to.deep.equal([
      { id: 0, pid: 4480, answered: 1000 },
      { id: 1, pid: 4999, answered: 30 },
    ]);
  });

  it('adds rounds and gives the busiest / idlest ratio', () => {
    const total = addShares([
      [{ id: 0, pid: 1, answered: 100 }, { id: 1, pid: 2, answered: 50 }],
      [{ id: 0, pid: 1, answered: 200 }, { id: 1, pid: 2, answered: 150 }],
    ]);
    expect(total.map((s) => s.answered)).to.deep.equal([300, 200]);
    expect(maxMinRatio(total)).to.equal(1.5);
    expect(maxMinRatio([{ id: 0, pid: 1, answered: 5 }, { id: 1, pid: 2, answered: 0 }])).to.equal(Infinity);
    expect(maxMinRatio([{ id: 0, pid: 1, answered: 7 }])).to.equal(1);
  });
});
