import { expect } from 'chai';
import { sideBySide, summarize, summaryTable, type ForwardPeersResult, type ZonesRun } from '../../../bench/forward-zones-summary.js';

/** A run whose second server has `extraMb` more everywhere (PSS and heap), CPU `cpu` µs against 4. */
function run(extraMb: number, cpu: number, collected = true): ZonesRun {
  const kb = (mb: number): number => mb * 1024;
  const two = (a: number[]): number[][] => [a, a.map((x) => x + kb(extraMb))];
  const c = (pss: number, heap: number): { pssKb: number; heapUsedKb: number; heapTotalKb: number } => ({ pssKb: kb(pss), heapUsedKb: kb(heap), heapTotalKb: kb(heap + 2) });
  const gc = (pss: number, heap: number) => [[c(pss, heap), c(pss + 1, heap), c(pss + 50, heap)], [c(pss + extraMb, heap + extraMb), c(pss + 1 + extraMb, heap + extraMb), c(pss + extraMb - 3, heap + extraMb)]];
  return {
    cpuUs: [[4, 4, 4], [cpu, cpu, cpu]],
    pssKb: { atStart: two([kb(20), kb(21), kb(22)]), afterWarmUp: two([kb(30)]), underLoad: two([kb(30), kb(70)]), afterRuns: two([kb(40)]) },
    ...(collected ? { collectedKb: { atStart: gc(17, 6), afterWarmUp: gc(25, 12), underLoad: gc(30, 14), afterRuns: gc(30, 15) } } : {}),
  };
}

describe('bench forward-zones summary (several forward-peers runs)', () => {
  const results: ForwardPeersResult[] = [
    { when: 'a', options: { forwardZones: 10_000 }, zones: { answerCache20000: run(2, 4.4), answerCache0: run(12, 4) } },
    { when: 'b', options: { forwardZones: 0 }, zones: { answerCache20000: run(-1, 4), answerCache0: run(0.5, 4) } },
    { when: 'c', options: { forwardZones: 10_000 }, zones: { answerCache20000: run(4, 4.2, false), answerCache0: run(1, 4.8) } },
  ];
  const rows = summarize(results);
  const row = (cache: string, kind: string, measure: string) => rows.find((r) => r.answerCache === cache && r.kind === kind && r.measure === measure);

  it('takes each run as A/B or A/A by its --forward-zones and differences the second server from the first', () => {
    expect(row('20000', 'A/B', 'PSS at start')!.diffs.map((d) => +d.toFixed(6))).to.deep.equal([2, 4]);
    expect(row('20000', 'A/A', 'PSS at start')!.diffs.map((d) => +d.toFixed(6))).to.deep.equal([-1]);
    expect(row('0', 'A/B', 'PSS under load, peak')!.diffs.map((d) => +d.toFixed(6))).to.deep.equal([12, 1]);
  });

  it('takes the median of the forced collections of a point (one lagging sample does not move it)', () => {
    // Server 1's samples: pss, pss + 1, pss + 50 → median pss + 1; server 2's: pss + x, pss + 1 + x, pss + x - 3 → pss + x.
    expect(row('0', 'A/B', 'collected: PSS after runs')!.diffs.map((d) => +d.toFixed(6))).to.deep.equal([11, 0]);
    expect(row('0', 'A/B', 'collected: heap used under load')!.diffs.map((d) => +d.toFixed(6))).to.deep.equal([12, 1]);
  });

  it('leaves out runs made before forced collections existed, and gives the CPU ratio of the medians', () => {
    expect(row('20000', 'A/B', 'collected: PSS at start')!.diffs).to.have.length(1);
    expect(row('20000', 'A/B', 'CPU µs/query ratio')!.diffs.map((d) => +d.toFixed(6))).to.deep.equal([1.1, 1.05]);
  });

  it('puts A/B and A/A side by side per reply-cache setting, the runs over the limit counted', () => {
    const text = sideBySide(rows);
    expect(text).to.include('Reply cache off: 2 A/B runs, 1 A/A runs.');
    expect(text).to.include('| PSS at start | 6.5 (1.0 … 12.0) [1 over 10] | 0.5 (0.5 … 0.5) |');
    expect(text.indexOf('Reply cache on (20000)')).to.be.lessThan(text.indexOf('Reply cache off'));
  });

  it('prints the median, the range and the runs over the limit', () => {
    const table = summaryTable(rows.filter((r) => r.answerCache === '0' && r.kind === 'A/B'));
    expect(table).to.include('| 0 A/B | 2 | PSS at start | 6.5 (1.0 … 12.0) | 1 |');
    expect(table).to.include('| 0 A/B | 2 | CPU µs/query ratio | 1.100 (1.000 … 1.200) | — |');
  });
});
