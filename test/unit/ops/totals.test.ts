import { expect } from 'chai';
import { cumulative, Histogram } from '../../../src/ops/histogram.js';
import { flattenNumbers, MonotonicTotals } from '../../../src/ops/totals.js';

const flat = (o: Record<string, number>): Map<string, number> => new Map(Object.entries(o));
const obj = (m: Map<string, number>): Record<string, number> => Object.fromEntries(m);

describe('MonotonicTotals', () => {
  it('keeps a replaced instance\'s counts, so the total never goes backwards', () => {
    const t = new MonotonicTotals();
    t.update('0', 100, flat({ queries: 50 }));
    t.update('0', 100, flat({ queries: 80 }));
    expect(obj(t.totals('0'))).to.deep.equal({ queries: 80 });
    t.update('0', 200, flat({ queries: 5 })); // the slot's new process starts from zero
    expect(obj(t.totals('0'))).to.deep.equal({ queries: 85 });
    t.update('0', 300, flat({ queries: 1 }));
    expect(obj(t.totals('0'))).to.deep.equal({ queries: 86 });
  });

  it('ignores a smaller count from the same instance (an older report overtaken)', () => {
    const t = new MonotonicTotals();
    t.update('0', 1, flat({ queries: 10 }));
    t.update('0', 1, flat({ queries: 7 }));
    expect(t.totals('0').get('queries')).to.equal(10);
  });

  it('sums keys; counters new in an instance are counted from it', () => {
    const t = new MonotonicTotals();
    t.update('0', 1, flat({ queries: 10 }));
    t.update('1', 2, flat({ queries: 20, 'rcodes.NXDOMAIN': 3 }));
    t.update('1', 4, flat({ queries: 1, 'rcodes.SERVFAIL': 2 }));
    expect(obj(t.sum())).to.deep.equal({ queries: 31, 'rcodes.NXDOMAIN': 3, 'rcodes.SERVFAIL': 2 });
  });

  it('takes gauges from the current instance only, and only while it reports', () => {
    const t = new MonotonicTotals((k) => k === 'entries');
    t.beginRound();
    t.update('0', 1, flat({ entries: 500, hits: 9 }));
    t.update('1', 2, flat({ entries: 100, hits: 1 }));
    expect(obj(t.sum())).to.deep.equal({ entries: 600, hits: 10 });
    t.beginRound();
    t.update('0', 3, flat({ entries: 7, hits: 1 })); // slot 0 restarted; slot 1 did not answer
    expect(t.current('0')).to.equal(true);
    expect(t.current('1')).to.equal(false);
    expect(obj(t.sum())).to.deep.equal({ entries: 7, hits: 11 });
  });

  it('flattens nested counters to dotted keys, arrays by index, leaving out what is not a number', () => {
    expect(obj(flattenNumbers({ a: 1, b: { c: 2, d: [3, 4] }, e: 'x', f: null, g: NaN }))).to.deep.equal({ a: 1, 'b.c': 2, 'b.d.0': 3, 'b.d.1': 4 });
  });
});

describe('Histogram', () => {
  it('counts each observation in the first bucket whose bound it does not exceed, +Inf last', () => {
    const h = new Histogram([0.01, 0.1, 1]);
    for (const s of [0.001, 0.01, 0.05, 0.1, 0.5, 2, 30]) h.observe(s);
    const snap = h.snapshot();
    expect(snap.counts).to.deep.equal([2, 2, 1, 2]);
    expect(snap.count).to.equal(7);
    expect(snap.sum).to.be.closeTo(32.661, 1e-9);
    expect(cumulative(snap.counts, [0.01, 0.1, 1])).to.deep.equal([
      { le: '0.01', count: 2 },
      { le: '0.1', count: 4 },
      { le: '1', count: 5 },
      { le: '+Inf', count: 7 },
    ]);
  });
});
